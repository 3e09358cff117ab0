package e2e

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/testutil/parquetrows"
)

// TestSnapshotPublishKilled: `snapshot --publish` SIGKILLed at random
// instants (loading, merging while it writes the current table, committing
// it), then run to its end, leaves the state of an uninterrupted run, the
// same current table, and nothing else in the lake.
func TestSnapshotPublishKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary a dozen times")
	}
	src := generate(t, 20000, 0, 0, 5)
	ref := copyDir(t, src)
	start := time.Now()
	tidemark(t, "snapshot", "--publish", "--config", filepath.Join(ref, "tidemark.yaml"))
	length := time.Since(start)
	want, wantRows := readDump(t, stateDir(ref)), currentRows(t, filepath.Join(ref, "lake"))

	work := copyDir(t, src)
	cfg := filepath.Join(work, "tidemark.yaml")
	rng := rand.New(rand.NewPCG(3, 9))
	finished := 0
	for range 10 {
		cmd := exec.Command(binary, "snapshot", "--publish", "--config", cfg)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-time.After(time.Duration(rng.Int64N(int64(length)))):
			cmd.Process.Kill() // SIGKILL
			<-done
		case err := <-done:
			if err != nil {
				t.Fatalf("snapshot --publish between kills: %v", err)
			}
			finished++
		}
	}
	if finished == 10 {
		t.Fatal("no kill landed before the command ended")
	}
	tidemark(t, "snapshot", "--publish", "--config", cfg)
	compareDumps(t, readDump(t, stateDir(work)), want)
	got := currentRows(t, filepath.Join(work, "lake"))
	if len(got) != len(wantRows) {
		t.Fatalf("current table after the kills: %d rows, want %d", len(got), len(wantRows))
	}
	for k, w := range wantRows {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Fatalf("current table after the kills, key %s:\n%v\nwant\n%v", k, g, w)
		}
	}
	assertNoTempFiles(t, filepath.Join(work, "lake"))
}

// currentRows reads the current table of the tenure entity by key, without
// the columns that hold the time of the run (ingestion, publish).
func currentRows(t *testing.T, lakeDir string) map[string]map[string]any {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(lakeDir, "tenure", "current", "*", "*", "*", "*", "part-*.parquet"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no current table under %s: %v", lakeDir, err)
	}
	sort.Strings(parts)
	all, _ := parquetrows.Read(t, parts...)
	rows := map[string]map[string]any{}
	for _, m := range all {
		for _, c := range []string{"_ingested_at", "import_year", "import_month", "import_day", "import_date", "import_datetime", "import_timestamp"} {
			delete(m, c)
		}
		k := fmt.Sprint(m["_key"])
		if _, dup := rows[k]; dup {
			t.Fatalf("key %s twice in the current table", k)
		}
		rows[k] = m
	}
	return rows
}
