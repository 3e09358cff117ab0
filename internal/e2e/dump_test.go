package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// dump is everything a run leaves in the state store that must not depend
// on when or how often it was interrupted (ingestion times excluded).
type dump struct {
	Current         map[string]string // key -> plain JSON image (live) or "<deleted>"
	History         []string          // key, seq, op, event id, valid from, image
	DeadLetters     []string          // source, offset, reason, raw
	Inconsistencies []string
}

func readDump(t *testing.T, stateDir string) dump {
	t.Helper()
	s, err := state.Open(stateDir, state.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := dump{Current: map[string]string{}}
	err = s.ScanRecords("tenure", func(key []byte, r *state.Record) error {
		k, err := change.ParseKeyBytes(key)
		if err != nil {
			return err
		}
		if r.Live {
			d.Current[k.String()] = string(ddbjson.AppendPlainMap(nil, r.Image))
		} else {
			d.Current[k.String()] = "<deleted>"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.ScanHistory("tenure", func(key []byte, seq uint64, r *state.Record) error {
		k, _ := change.ParseKeyBytes(key)
		d.History = append(d.History, fmt.Sprintf("%s %d %s %s %s %s", k, seq, r.Op, r.EventID,
			r.Changed.Format("2006-01-02T15:04:05.0000000Z"), ddbjson.AppendPlainMap(nil, r.Image)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.DeadLetters(func(dl *state.DeadLetter) error {
		d.DeadLetters = append(d.DeadLetters, fmt.Sprintf("%s %d %s %q", dl.Source, dl.Offset, dl.Reason, dl.Raw))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Inconsistencies(func(in *state.Inconsistency) error {
		d.Inconsistencies = append(d.Inconsistencies, fmt.Sprintf("%d %s %s %s %s %s", in.Seq, in.Key, in.Field, in.EventID, in.Expected, in.Found))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// compareDumps fails with the first difference.
func compareDumps(t *testing.T, got, want dump) {
	t.Helper()
	if len(got.Current) != len(want.Current) {
		t.Fatalf("current: %d keys, want %d", len(got.Current), len(want.Current))
	}
	for k, w := range want.Current {
		if got.Current[k] != w {
			t.Fatalf("current %s:\n got %s\nwant %s", k, got.Current[k], w)
		}
	}
	compareLines(t, "history", got.History, want.History)
	compareLines(t, "dead letters", got.DeadLetters, want.DeadLetters)
	compareLines(t, "inconsistencies", got.Inconsistencies, want.Inconsistencies)
}

func compareLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			t.Fatalf("%s row %d:\n got %s\nwant %s", what, i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
}

// readJSONL reads a generated .jsonl of plain JSON objects keyed by "id".
func readJSONL(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		v, err := ddbjson.FromJSON(sc.Bytes())
		if err != nil || v.Kind != ddbjson.KindM {
			t.Fatalf("%s: bad line %q: %v", path, sc.Text(), err)
		}
		out[v.Map["id"].Str] = string(ddbjson.AppendPlainMap(nil, v.Map))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// summary reads the numbers of a run's JSON summary.
func summary(t *testing.T, out []byte) map[string]float64 {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	m := map[string]float64{}
	for k, v := range raw {
		if f, ok := v.(float64); ok {
			m[k] = f
		}
	}
	return m
}

func stateDir(dir string) string { return filepath.Join(dir, ".tidemark", "state") }

func sortedLines(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+" "+v)
	}
	sort.Strings(out)
	return out
}

var _ = strings.TrimSpace
