package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// resyncSetup runs a generated dataset with resync_policy delete, then
// writes a re-sync of "the source": the copy's entities less three, one of
// them changed. It returns the folder, the config, the removed keys, the
// changed key and the re-sync file's lines.
func resyncSetup(t *testing.T, seed int) (dir, cfg string, removed []string, changed string, lines []string) {
	t.Helper()
	dir = generate(t, 300, 600, 0, seed)
	cfg = filepath.Join(dir, "tidemark.yaml")
	yml, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(yml), "    version: versionNumber\n", "    version: versionNumber\n    resync_policy: delete\n", 1)), 0o644)
	tidemark(t, "run", "--config", cfg)
	d := readDump(t, stateDir(dir))
	keys := make([]string, 0, len(d.Current))
	for k, v := range d.Current {
		if v != "<deleted>" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	removed, changed = keys[:3], keys[3]
	var src bytes.Buffer
	for _, k := range keys[3:] {
		img := d.Current[k]
		if k == changed {
			img = strings.Replace(img, `"paymentReference":"`, `"paymentReference":"R`, 1)
		}
		src.WriteString(img + "\n")
	}
	srcFile := filepath.Join(dir, "source.jsonl")
	os.WriteFile(srcFile, src.Bytes(), 0o644)
	writeExport(t, srcFile, filepath.Join(dir, "source-export"), "2026-11-01T04:10:00Z")
	out := filepath.Join(dir, "resync.jsonl")
	tidemark(t, "resync", "emit", "--config", cfg, "--entity", "tenure", "--from", "export:"+filepath.Join(dir, "source-export"), "--to", "file:"+out)
	b, _ := os.ReadFile(out)
	return dir, cfg, removed, changed, splitLines(b)
}

func writeEvents(t *testing.T, dir string, lines []string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "events", "zz-resync.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

type shownCurrent struct {
	Current struct {
		Live  bool            `json:"live"`
		Op    string          `json:"op"`
		Image json.RawMessage `json:"image"`
	} `json:"current"`
}

// TestResyncSweep: a complete re-sync with the delete policy applies its
// images and tombstones exactly the entities absent from it.
func TestResyncSweep(t *testing.T) {
	dir, cfg, removed, changed, lines := resyncSetup(t, 61)
	writeEvents(t, dir, lines)
	sum := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
	if sum["resyncs_complete"] != 1 || sum["absent_at_source"] != 3 || sum["resyncs_incomplete"] != 0 {
		t.Fatalf("run with the re-sync: %v", sum)
	}
	for _, k := range removed {
		var s shownCurrent
		json.Unmarshal(tidemark(t, "show", "--config", cfg, "tenure", k), &s)
		if s.Current.Live || s.Current.Op != "resync" {
			t.Errorf("absent key %s: %+v, want a resync tombstone", k, s.Current)
		}
	}
	var s shownCurrent
	json.Unmarshal(tidemark(t, "show", "--config", cfg, "tenure", changed), &s)
	var img bytes.Buffer
	json.Compact(&img, s.Current.Image)
	if !s.Current.Live || s.Current.Op != "resync" || !strings.Contains(img.String(), `"paymentReference":"R`) {
		t.Errorf("changed key %s: live %v, op %s, image %s", changed, s.Current.Live, s.Current.Op, img.String())
	}
	d := readDump(t, stateDir(dir))
	live := 0
	for _, v := range d.Current {
		if v != "<deleted>" {
			live++
		}
	}
	if live != len(lines)-2 {
		t.Errorf("%d live entities, want the %d the re-sync sent", live, len(lines)-2)
	}
	// The report of the sweep: three absent entities.
	absent := 0
	for _, in := range d.Inconsistencies {
		if strings.Contains(in, "(absent)") {
			absent++
		}
	}
	if absent != 3 {
		t.Errorf("%d absent reports, want 3", absent)
	}
	// Nothing new: nothing more.
	if sum := summary(t, tidemark(t, "run", "--config", cfg, "--json")); sum["absent_at_source"] != 0 || sum["resyncs_complete"] != 0 {
		t.Fatalf("second run: %v", sum)
	}
}

// TestIncompleteResyncSweepsNothing: without its completion marker, or with
// an event missing, a re-sync sweeps nothing (its images still apply).
func TestIncompleteResyncSweepsNothing(t *testing.T) {
	for name, cut := range map[string]func([]string) []string{
		"no completion marker": func(l []string) []string { return l[:len(l)-1] },
		"an event missing":     func(l []string) []string { return append(append([]string{}, l[:5]...), l[6:]...) },
	} {
		t.Run(name, func(t *testing.T) {
			dir, cfg, removed, _, lines := resyncSetup(t, 62)
			writeEvents(t, dir, cut(lines))
			sum := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
			if sum["absent_at_source"] != 0 || sum["resyncs_complete"] != 0 {
				t.Fatalf("incomplete re-sync swept: %v", sum)
			}
			for _, k := range removed {
				var s shownCurrent
				json.Unmarshal(tidemark(t, "show", "--config", cfg, "tenure", k), &s)
				if !s.Current.Live {
					t.Errorf("key %s was removed by an incomplete re-sync", k)
				}
			}
		})
	}
}
