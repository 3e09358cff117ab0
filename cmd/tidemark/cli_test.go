package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// call runs the command in-process, as main does.
func call(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestUsagePaths(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr []string // substrings
		usage  bool     // stderr is exactly the usage text
	}{
		{name: "no arguments", args: nil, code: 2, usage: true},
		{name: "help", args: []string{"help"}, code: 0, usage: true},
		{name: "-h", args: []string{"-h"}, code: 0, usage: true},
		{name: "--help", args: []string{"--help"}, code: 0, usage: true},
		{name: "unknown command", args: []string{"replay"}, code: 2,
			stderr: []string{"error: unknown command \"replay\"\n", usage}},
		{name: "run without --config", args: []string{"run"}, code: 2,
			stderr: []string{"--config is required", "e.g. --config examples/tenure/tidemark.yaml"}},
		{name: "run with an empty --config", args: []string{"run", "--config="}, code: 2,
			stderr: []string{"--config is required"}},
		{name: "run -h", args: []string{"run", "-h"}, code: 0, stderr: []string{"-config", "-json", "-v"}},
		{name: "run with a missing config", args: []string{"run", "--config", missing}, code: 1,
			stderr: []string{"opening config", missing, "pass --config with the path of a tidemark YAML file"}},
		{name: "show without arguments", args: []string{"show"}, code: 2, stderr: []string{"want ENTITY KEY"}},
		{name: "show with one argument", args: []string{"show", "--config", missing, "tenure"}, code: 2,
			stderr: []string{"want ENTITY KEY"}},
		{name: "show without --config", args: []string{"show", "tenure", "k"}, code: 2,
			stderr: []string{"--config is required"}},
		{name: "dlq alone", args: []string{"dlq"}, code: 2, stderr: []string{"want 'tidemark dlq list --config FILE'"}},
		{name: "dlq with another verb", args: []string{"dlq", "purge"}, code: 2,
			stderr: []string{"want 'tidemark dlq list --config FILE'"}},
		{name: "dlq list without --config", args: []string{"dlq", "list"}, code: 2, stderr: []string{"--config is required"}},
		{name: "gen without --out", args: []string{"gen"}, code: 2, stderr: []string{"--out is required"}},
		{name: "gen with a bad --export-time", args: []string{"gen", "--out", t.TempDir(), "--export-time", "yesterday"},
			code: 2, stderr: []string{"--export-time", "yesterday"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := call(c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, c.code, stderr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if c.usage && stderr != usage {
				t.Errorf("stderr is not the usage:\n%s", stderr)
			}
			for _, w := range c.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if c.code == 2 && !c.usage && !strings.Contains(c.name, "unknown") && strings.Count(stderr, "error:") != 1 {
				t.Errorf("want one error line, got:\n%s", stderr)
			}
		})
	}
}

// TestUnknownFlagIsAUsageError: a flag the command does not define is a
// usage error like a missing --config, so it exits 2.
func TestUnknownFlagIsAUsageError(t *testing.T) {
	var wrong []string
	for _, args := range [][]string{{"run", "--nope"}, {"show", "--nope"}, {"dlq", "list", "--nope"}, {"gen", "--nope"}} {
		_, stderr, code := call(args...)
		if !strings.Contains(stderr, "flag provided but not defined: -nope") {
			t.Errorf("%v: stderr lacks the flag error:\n%s", args, stderr)
		}
		if code != 2 {
			wrong = append(wrong, fmt.Sprintf("%q exits %d", strings.Join(args, " "), code))
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%s, want 2: cmd/tidemark/main.go run() maps only errUsage to exit 2, and the flag "+
			"parse errors the subcommands return are not wrapped in errUsage", strings.Join(wrong, ", "))
	}
}

func TestConfigErrorsInProcess(t *testing.T) {
	write := func(dir, text string) string {
		p := filepath.Join(dir, "tidemark.yaml")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := exampleConfig
	cases := []struct {
		name, config string
		want         []string
	}{
		{"unknown key", good + "max_mesage_bytes: 10\n", []string{"max_mesage_bytes"}},
		{"hash key name missing", strings.Replace(good, "{name: id, format: uuid}", "{format: uuid}", 1),
			[]string{"entities[0].hash_key.name", "is empty"}},
		{"bad event op", strings.Replace(good, "TenureUpdatedEvent: patch", "TenureUpdatedEvent: merge", 1),
			[]string{"entities[0].events.TenureUpdatedEvent", `unknown operation "merge"`}},
		{"no entities", "state_dir: s\n", []string{"entities", "is empty"}},
		{"undefined variable", strings.Replace(good, "dir: lake", "dir: ${TIDEMARK_TEST_UNSET_VAR}", 1),
			[]string{"TIDEMARK_TEST_UNSET_VAR"}},
	}
	os.Unsetenv("TIDEMARK_TEST_UNSET_VAR")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.config == good {
				t.Fatal("the replacement did not apply")
			}
			dir := t.TempDir()
			cfg := write(dir, c.config)
			out, stderr, code := call("run", "--config", cfg)
			if code != 1 {
				t.Errorf("exit %d, want 1\nstderr: %s", code, stderr)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			for _, w := range append(c.want, cfg) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			// A config error opens no state store.
			for _, sd := range []string{".tidemark", "s"} {
				if _, err := os.Stat(filepath.Join(dir, sd)); err == nil {
					t.Errorf("a bad config created the state folder %s", sd)
				}
			}
		})
	}
}

// TestGenThenRunInProcess generates a small dataset and runs it in-process;
// gen keeps a config the user edited.
func TestGenThenRunInProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	out, stderr, code := call("gen", "--out", dir, "--tenures", "40", "--events", "120", "--seed", "4")
	if code != 0 {
		t.Fatalf("gen: exit %d: %s", code, stderr)
	}
	var gsum map[string]any
	if err := json.Unmarshal([]byte(out), &gsum); err != nil || gsum["items"] != float64(40) {
		t.Fatalf("gen summary %q: %v", out, err)
	}
	cfg := filepath.Join(dir, "tidemark.yaml")
	if b, err := os.ReadFile(cfg); err != nil || string(b) != exampleConfig {
		t.Fatalf("gen wrote config %q (%v), want the example config", b, err)
	}
	out, stderr, code = call("run", "--config", cfg, "--json", "--no-progress")
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	var sum map[string]float64
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("run summary %q: %v", out, err)
	}
	if sum["items"] != 40 || sum["events_applied"] == 0 || sum["files_written"] < 2 {
		t.Errorf("run summary %v", sum)
	}
	if stderr != "" {
		t.Errorf("run --json --no-progress wrote to stderr: %q", stderr)
	}

	// A second gen into the same folder keeps an edited config.
	edited := exampleConfig + "batch_size: 7\n"
	if err := os.WriteFile(cfg, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := call("gen", "--out", dir, "--tenures", "40", "--events", "120", "--seed", "4"); code != 0 {
		t.Fatalf("second gen: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(cfg); string(b) != edited {
		t.Errorf("gen overwrote the edited config:\n%s", b)
	}
}
