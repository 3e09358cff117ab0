package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cli runs the binary and returns its stdout, stderr and exit code.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("tidemark %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// wantExit runs the binary and checks its exit code and that stderr holds
// every one of want.
func wantExit(t *testing.T, code int, want []string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, got := cli(t, args...)
	if got != code {
		t.Errorf("tidemark %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, stdout, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("tidemark %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, stderr)
		}
	}
	if strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("tidemark %s: panicked:\n%s", strings.Join(args, " "), stderr)
	}
	return stdout, stderr
}

func TestCLIUsage(t *testing.T) {
	usage := []string{"Usage:", "tidemark run", "tidemark show", "tidemark dlq list", "tidemark gen"}
	t.Run("no arguments", func(t *testing.T) {
		out, _ := wantExit(t, 2, usage)
		if out != "" {
			t.Errorf("usage went to stdout: %q", out)
		}
	})
	t.Run("help", func(t *testing.T) { wantExit(t, 0, usage, "help") })
	t.Run("unknown command", func(t *testing.T) {
		wantExit(t, 2, append([]string{`unknown command "frobnicate"`}, usage...), "frobnicate")
	})
	t.Run("run without --config", func(t *testing.T) {
		_, stderr := wantExit(t, 2, []string{"--config is required", "--config examples/tenure/tidemark.yaml"}, "run")
		if strings.Count(stderr, "\n") > 2 {
			t.Errorf("want a one-line hint, got:\n%s", stderr)
		}
	})
	t.Run("dlq without list", func(t *testing.T) { wantExit(t, 2, []string{"tidemark dlq list --config FILE"}, "dlq") })
	t.Run("dlq list without --config", func(t *testing.T) { wantExit(t, 2, []string{"--config is required"}, "dlq", "list") })
	t.Run("show without key", func(t *testing.T) {
		wantExit(t, 2, []string{"want ENTITY KEY"}, "show", "--config", "x.yaml", "tenure")
	})
	t.Run("gen without --out", func(t *testing.T) { wantExit(t, 2, []string{"--out is required"}, "gen") })
	t.Run("run -h", func(t *testing.T) { wantExit(t, 0, []string{"-config", "-json"}, "run", "-h") })
	t.Run("missing config file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.yaml")
		wantExit(t, 1, []string{missing, "--config"}, "run", "--config", missing)
	})
}

func TestCLIConfigErrors(t *testing.T) {
	dir := generate(t, 20, 30, 0, 3)
	base, err := os.ReadFile(filepath.Join(dir, "tidemark.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// variant writes the generated config with old replaced by new.
	variant := func(t *testing.T, old, new string) string {
		t.Helper()
		if !bytes.Contains(base, []byte(old)) {
			t.Fatalf("generated config lacks %q:\n%s", old, base)
		}
		p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".yaml")
		if err := os.WriteFile(p, bytes.Replace(base, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("unknown key", func(t *testing.T) {
		cfg := variant(t, "clock_skew: 2s\n", "clock_skew: 2s\nclock_skw: 3s\n")
		wantExit(t, 1, []string{cfg, "clock_skw"}, "run", "--config", cfg)
	})
	t.Run("unknown nested key", func(t *testing.T) {
		cfg := variant(t, "  dir: lake\n", "  dir: lake\n  row_groups: 5\n")
		wantExit(t, 1, []string{"row_groups"}, "run", "--config", cfg)
	})
	t.Run("unknown nested key names its path", func(t *testing.T) {
		cfg := variant(t, "  dir: lake\n", "  dir: lake\n  row_groups: 5\n")
		_, stderr, code := cli(t, "run", "--config", cfg)
		if code != 1 || !strings.Contains(stderr, "lake.row_groups") || strings.Contains(stderr, "config.Lake") {
			t.Errorf("an unknown key is reported as yaml.v3 words it (%q): README says every config error names "+
				"the key (here lake.row_groups) and the fix, with no Go type names", strings.TrimSpace(stderr))
		}
	})
	t.Run("hash key name missing", func(t *testing.T) {
		cfg := variant(t, "hash_key: {name: id, format: uuid}", "hash_key: {format: uuid}")
		_, stderr := wantExit(t, 1, []string{"entities[0].hash_key.name"}, "run", "--config", cfg)
		if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("want one error, got:\n%s", stderr)
		}
	})
	t.Run("several errors at once", func(t *testing.T) {
		cfg := variant(t, "hash_key: {name: id, format: uuid}", "hash_key: {format: guid}")
		wantExit(t, 1, []string{"entities[0].hash_key.name", "entities[0].hash_key.format", `"guid"`}, "run", "--config", cfg)
	})
	t.Run("missing export folder", func(t *testing.T) {
		cfg := variant(t, "path: export\n", "path: no-such-export\n")
		wantExit(t, 1, []string{filepath.Join(dir, "no-such-export"), "tenure"}, "run", "--config", cfg)
	})
	t.Run("events glob matching nothing", func(t *testing.T) {
		// An empty landing folder is not an error: the run goes on and warns.
		cfg := variant(t, "path: events/*.jsonl\n", "path: no-events/*.jsonl\n")
		wantExit(t, 0, []string{"WARN", "no events to read", "no-events/*.jsonl", "matches no file"}, "run", "--config", cfg)
	})
	t.Run("bad key type", func(t *testing.T) {
		cfg := variant(t, "hash_key: {name: id, format: uuid}", "hash_key: {name: id, type: X}")
		wantExit(t, 1, []string{"entities[0].hash_key.type", `"X"`}, "run", "--config", cfg)
	})
}

// shownRecord is one record of `tidemark show` output.
type shownRecord struct {
	Live      bool            `json:"live"`
	Op        string          `json:"op"`
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	Source    string          `json:"source"`
	ValidFrom time.Time       `json:"valid_from"`
	ValidTo   *time.Time      `json:"valid_to"`
	Image     json.RawMessage `json:"image"`
}

type shown struct {
	Entity  string        `json:"entity"`
	Key     string        `json:"key"`
	Current shownRecord   `json:"current"`
	History []shownRecord `json:"history"`
}

// TestCLIShowAndDLQ runs a generated dataset with bad lines and reads it
// back with show and dlq list.
func TestCLIShowAndDLQ(t *testing.T) {
	dir := generate(t, 300, 800, 7, 13)
	cfg := filepath.Join(dir, "tidemark.yaml")
	sum := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
	if sum["dead_letters"] != 7 {
		t.Fatalf("dead letters %v, want 7", sum["dead_letters"])
	}
	st := readStore(t, stateDir(dir))

	t.Run("show unknown entity", func(t *testing.T) {
		wantExit(t, 2, []string{`unknown entity "person"`}, "show", "--config", cfg, "person", "8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10")
	})
	t.Run("show unknown key", func(t *testing.T) {
		key := "00000000-0000-4000-8000-000000000000"
		if st.live[key] != nil {
			t.Fatal("the generator made the zero GUID")
		}
		out, _ := wantExit(t, 1, []string{"tenure " + key, "not in the state"}, "show", "--config", cfg, "tenure", key)
		if out != "" {
			t.Errorf("stdout: %q", out)
		}
	})

	t.Run("show --history", func(t *testing.T) {
		// The first key (in order) that was in the export and changed by
		// at least two events.
		var key string
		keys := make([]string, 0, len(st.history))
		for k := range st.history {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			h := st.history[k]
			if len(h) >= 3 && h[0].op == "snapshot" && st.live[k] != nil && h[len(h)-1].eventID != "" {
				key = k
				break
			}
		}
		if key == "" {
			t.Fatal("no key with a snapshot row and two events")
		}
		out, _ := wantExit(t, 0, nil, "show", "--config", cfg, "--history", "tenure", key)
		var got shown
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("show --history: %v\n%s", err, out)
		}
		rec, hist := st.live[key], st.history[key]
		if got.Entity != "tenure" || got.Key != key {
			t.Errorf("entity %q key %q, want tenure %s", got.Entity, got.Key, key)
		}
		if !got.Current.Live || got.Current.Op != rec.op || got.Current.EventID != rec.eventID ||
			got.Current.EventType != rec.eventType || got.Current.Source != rec.source || !got.Current.ValidFrom.Equal(rec.changed) {
			t.Errorf("current %+v, state op %s event %s type %s source %s changed %s", got.Current, rec.op, rec.eventID,
				rec.eventType, rec.source, rec.changed)
		}
		if got.Current.ValidTo != nil {
			t.Errorf("current has valid_to %s", got.Current.ValidTo)
		}
		var img map[string]any
		if err := decodeJSON(got.Current.Image, &img); err != nil || !jsonEqual(img, rec.image) {
			t.Errorf("current image differs from the state (%v):\n got %s\nwant %s", err, got.Current.Image, plainJSON(rec.image))
		}
		if len(got.History) != len(hist) {
			t.Fatalf("%d history rows, the store has %d", len(got.History), len(hist))
		}
		for i, h := range got.History {
			w := hist[i]
			if h.Op != w.op || h.EventID != w.eventID || !h.ValidFrom.Equal(w.changed) || !h.Live {
				t.Errorf("history row %d: %s %s %s live %v, store %s %s %s", i, h.Op, h.EventID, h.ValidFrom, h.Live, w.op, w.eventID, w.changed)
			}
			if i+1 < len(got.History) {
				if h.ValidTo == nil || !h.ValidTo.Equal(got.History[i+1].ValidFrom) {
					t.Errorf("history row %d: valid_to %v, next valid_from %s", i, h.ValidTo, got.History[i+1].ValidFrom)
				}
			} else if h.ValidTo != nil {
				t.Errorf("last history row has valid_to %s", h.ValidTo)
			}
			if len(h.Image) == 0 || string(h.Image) == "null" {
				t.Errorf("history row %d has no image", i)
			}
		}
		last := got.History[len(got.History)-1]
		var lastImg map[string]any
		if decodeJSON(last.Image, &lastImg) != nil || !jsonEqual(lastImg, img) || !last.ValidFrom.Equal(got.Current.ValidFrom) {
			t.Errorf("last history row differs from current:\n%s\n%s", last.Image, got.Current.Image)
		}
		var first map[string]any
		if decodeJSON(got.History[0].Image, &first) != nil || jsonEqual(first, img) {
			t.Errorf("the snapshot row's image equals the current image although events changed it")
		}

		// Without --history, no history.
		out, _ = wantExit(t, 0, nil, "show", "--config", cfg, "tenure", key)
		var plain map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &plain); err != nil {
			t.Fatal(err)
		}
		if _, ok := plain["history"]; ok {
			t.Errorf("show without --history printed a history")
		}
		if _, ok := plain["current"]; !ok {
			t.Errorf("show printed no current record: %s", out)
		}
	})

	t.Run("dlq list", func(t *testing.T) {
		out, stderr := wantExit(t, 0, []string{"7 dead letters\n"}, "dlq", "list", "--config", cfg)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 8 {
			t.Fatalf("dlq list: %d lines, want a header and 7 rows:\n%s", len(lines), out)
		}
		if h := strings.Fields(lines[0]); !reflect.DeepEqual(h, []string{"SEQ", "TIME", "SOURCE", "OFFSET", "BYTES", "REASON", "RAW"}) {
			t.Errorf("header %q", lines[0])
		}
		if strings.TrimSpace(stderr) != "7 dead letters" {
			t.Errorf("stderr %q, want the count line only", stderr)
		}
		// The table agrees with the JSON listing.
		js := tidemark(t, "dlq", "list", "--config", cfg, "--json")
		dec := json.NewDecoder(bytes.NewReader(js))
		for i := 1; i < len(lines); i++ {
			var d struct {
				Seq    uint64 `json:"seq"`
				Source string `json:"source"`
				Offset int64  `json:"offset"`
				Reason string `json:"reason"`
				Raw    []byte `json:"raw"`
			}
			if err := dec.Decode(&d); err != nil {
				t.Fatalf("dlq list --json row %d: %v", i, err)
			}
			f := strings.Fields(lines[i])
			if len(f) < 7 {
				t.Errorf("row %q", lines[i])
				continue
			}
			want := []string{strconv.FormatUint(d.Seq, 10), f[1], "events:events/tenure-events.jsonl",
				strconv.FormatInt(d.Offset, 10), strconv.Itoa(len(d.Raw))}
			if !reflect.DeepEqual(f[:5], want) || d.Seq != uint64(i) {
				t.Errorf("row %d: %q, want %q", i, f[:5], want)
			}
			if _, err := time.Parse(time.RFC3339, f[1]); err != nil {
				t.Errorf("row %d: time %q: %v", i, f[1], err)
			}
			if !strings.Contains(lines[i], d.Reason) {
				t.Errorf("row %d lacks the reason %q: %s", i, d.Reason, lines[i])
			}
			if d.Reason == "" || len(d.Raw) == 0 {
				t.Errorf("row %d: empty reason or raw bytes", i)
			}
		}
		if dec.More() {
			t.Errorf("dlq list --json has more rows than the table")
		}
	})

	t.Run("dlq list with none", func(t *testing.T) {
		clean := generate(t, 20, 30, 0, 3)
		ccfg := filepath.Join(clean, "tidemark.yaml")
		tidemark(t, "run", "--config", ccfg)
		out, stderr := wantExit(t, 0, nil, "dlq", "list", "--config", ccfg)
		if !strings.HasPrefix(out, "SEQ ") || strings.Count(out, "\n") != 1 {
			t.Errorf("dlq list with no dead letters: %q", out)
		}
		if strings.TrimSpace(stderr) != "0 dead letters" {
			t.Errorf("stderr %q", stderr)
		}
	})
}

// TestGenIsDeterministic: the same seed gives the same files byte for byte;
// another seed gives other events.
func TestGenIsDeterministic(t *testing.T) {
	args := []string{"--tenures", "150", "--events", "400", "--bad-lines", "6", "--files", "2"}
	gen := func(seed string) (string, string) {
		dir := filepath.Join(t.TempDir(), "out")
		out, stderr, code := cli(t, append([]string{"gen", "--out", dir, "--seed", seed}, args...)...)
		if code != 0 {
			t.Fatalf("gen: exit %d: %s", code, stderr)
		}
		return dir, out
	}
	a, outA := gen("17")
	b, outB := gen("17")
	c, _ := gen("18")
	if outA != outB {
		t.Errorf("gen printed different summaries:\n%s\n%s", outA, outB)
	}
	fa, fb := readTree(t, a), readTree(t, b)
	if len(fa) < 6 {
		t.Fatalf("gen wrote only %d files: %v", len(fa), fa)
	}
	for name, data := range fa {
		other, ok := fb[name]
		switch {
		case !ok:
			t.Errorf("%s: only in the first output", name)
		case !bytes.Equal(data, other):
			t.Errorf("%s: differs between two runs with the same seed (%d and %d bytes)", name, len(data), len(other))
		}
	}
	for name := range fb {
		if _, ok := fa[name]; !ok {
			t.Errorf("%s: only in the second output", name)
		}
	}
	fc := readTree(t, c)
	if bytes.Equal(fa["events/tenure-events.jsonl"], fc["events/tenure-events.jsonl"]) {
		t.Errorf("seeds 17 and 18 gave the same events")
	}
}

// readTree returns every file under dir by its slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
