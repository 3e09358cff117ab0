package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRunConvergesToTheSource loads a generated export, applies its events
// (overlap, duplicates, silent writes, bad lines) and checks the state
// against what the generator says the snapshot and events yield.
func TestRunConvergesToTheSource(t *testing.T) {
	dir := generate(t, 1500, 4000, 25, 7)
	cfg := filepath.Join(dir, "tidemark.yaml")
	sum := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
	if sum["items"] != 1500 {
		t.Fatalf("items loaded: %v, want 1500", sum["items"])
	}
	if sum["events_applied"] == 0 || sum["already_reflected_skipped"] == 0 || sum["duplicates_skipped"] == 0 {
		t.Fatalf("summary lacks applied, reflected or duplicate events: %v", sum)
	}
	if sum["dead_letters"] != 25 {
		t.Fatalf("dead letters: %v, want 25", sum["dead_letters"])
	}
	if sum["files_written"] < 2 {
		t.Fatalf("files written: %v", sum["files_written"])
	}
	d := readDump(t, stateDir(dir))
	want := readJSONL(t, filepath.Join(dir, "expected.jsonl"))
	got := map[string]string{}
	for k, v := range d.Current {
		got[k] = v
	}
	compareLines(t, "state vs expected.jsonl", sortedLines(got), sortedLines(want))
	incons := readJSONL2(t, filepath.Join(dir, "inconsistencies.jsonl"))
	if len(d.Inconsistencies) != len(incons) {
		t.Fatalf("inconsistencies: %d, generator says %d:\n%v\n%v", len(d.Inconsistencies), len(incons), d.Inconsistencies, incons)
	}

	// A second run with nothing new changes nothing and publishes nothing.
	before := readDump(t, stateDir(dir))
	sum2 := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
	for _, k := range []string{"items", "events_applied", "dead_letters", "files_written", "inconsistencies"} {
		if sum2[k] != 0 {
			t.Fatalf("second run: %s = %v, want 0 (%v)", k, sum2[k], sum2)
		}
	}
	compareDumps(t, readDump(t, stateDir(dir)), before)
}

func readJSONL2(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return splitLines(b)
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, string(b[start:]))
	}
	return out
}
