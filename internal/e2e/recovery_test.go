package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The operator's mistakes and the world's accidents: each leaves nothing
// lost, applied twice or silently skipped.

// TestFailedBootstrapHoldsEvents: a damaged export fails before the
// snapshot time is recorded, and events are not applied to an entity whose
// bootstrap did not finish.
func TestFailedBootstrapHoldsEvents(t *testing.T) {
	dir := generate(t, 200, 400, 0, 21)
	cfg := filepath.Join(dir, "tidemark.yaml")
	data, _ := filepath.Glob(filepath.Join(dir, "export", "AWSDynamoDB", "*", "data", "*.json.gz"))
	if len(data) == 0 {
		t.Fatal("no data files")
	}
	good, err := os.ReadFile(data[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data[0], good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	wantExit(t, 1, []string{"md5 checksum mismatch", filepath.Base(data[0])}, "run", "--config", cfg)
	// Without the export in the config, events would be judged against a
	// snapshot time that nothing loaded: the run must not apply them. The
	// damaged run recorded no snapshot time, so here they simply apply.
	noExport := filepath.Join(dir, "no-export.yaml")
	yml, _ := os.ReadFile(cfg)
	text := strings.Replace(string(yml), "  exports:\n    - entity: tenure\n      path: export\n", "", 1)
	if text == string(yml) {
		t.Fatal("could not remove the export from the config")
	}
	os.WriteFile(noExport, []byte(text), 0o644)
	out := summary(t, tidemark(t, "run", "--config", noExport, "--json"))
	if out["already_reflected_skipped"] != 0 {
		t.Fatalf("events skipped as reflected by a snapshot that was never loaded: %v", out)
	}
}

// TestInterruptedBootstrapBlocksEvents: once a bootstrap has started, the
// entity's events wait until it finishes.
func TestInterruptedBootstrapBlocksEvents(t *testing.T) {
	dir := generate(t, 3000, 100, 0, 22)
	cfg := filepath.Join(dir, "tidemark.yaml")
	appendFile(t, cfg, "batch_size: 100\n")
	landed := false
	for _, delay := range []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, time.Millisecond} {
		if _, landed = killIn(t, cfg, "bootstrap", delay); landed {
			break
		}
	}
	if !landed {
		t.Fatal("no kill landed in the bootstrap")
	}
	noExport := filepath.Join(dir, "no-export.yaml")
	yml, _ := os.ReadFile(cfg)
	os.WriteFile(noExport, []byte(strings.Replace(string(yml), "  exports:\n    - entity: tenure\n      path: export\n", "", 1)), 0o644)
	wantExit(t, 1, []string{"bootstrap of tenure", "did not finish"}, "run", "--config", noExport)
	tidemark(t, "run", "--config", cfg) // resumes and finishes
	tidemark(t, "run", "--config", noExport)
}

// TestConfigSpelledTwoWays: positions do not depend on how --config is
// written, so a second run reads nothing again.
func TestConfigSpelledTwoWays(t *testing.T) {
	dir := generate(t, 100, 300, 5, 23)
	tidemark(t, "run", "--config", filepath.Join(dir, "tidemark.yaml"))
	rel, err := filepath.Rel(mustGetwd(t), filepath.Join(dir, "tidemark.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := summary(t, tidemark(t, "run", "--config", rel, "--json"))
	if out["dead_letters"] != 0 || out["duplicates_skipped"] != 0 || out["events_applied"] != 0 {
		t.Fatalf("a second run through another spelling of the config re-read events: %v", out)
	}
}

// TestRepublishWhenLakeIsGone: a lake folder removed (or moved in the config)
// is published again although the state did not change.
func TestRepublishWhenLakeIsGone(t *testing.T) {
	dir := generate(t, 100, 200, 0, 24)
	cfg := filepath.Join(dir, "tidemark.yaml")
	tidemark(t, "run", "--config", cfg)
	if err := os.RemoveAll(filepath.Join(dir, "lake")); err != nil {
		t.Fatal(err)
	}
	if out := summary(t, tidemark(t, "run", "--config", cfg, "--json")); out["files_written"] != 2 {
		t.Fatalf("after removing the lake: %v files written, want 2", out["files_written"])
	}
	if out := summary(t, tidemark(t, "run", "--config", cfg, "--json")); out["files_written"] != 0 {
		t.Fatalf("nothing new: %v files written, want 0", out["files_written"])
	}
}

// TestExportFolderCleanedAway: once an export is loaded, its folder may be
// removed; the runs go on with events.
func TestExportFolderCleanedAway(t *testing.T) {
	dir := generate(t, 100, 200, 0, 25)
	cfg := filepath.Join(dir, "tidemark.yaml")
	tidemark(t, "run", "--config", cfg)
	if err := os.RemoveAll(filepath.Join(dir, "export")); err != nil {
		t.Fatal(err)
	}
	_, stderr := wantExit(t, 0, []string{"export folder is gone"}, "run", "--config", cfg)
	_ = stderr
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// TestSnapshotThenPublish: the steps of run one by one.
func TestSnapshotThenPublish(t *testing.T) {
	dir := generate(t, 100, 100, 0, 26)
	cfg := filepath.Join(dir, "tidemark.yaml")
	out := string(tidemark(t, "snapshot", "--config", cfg))
	if !strings.Contains(out, "items loaded from exports\t100") {
		t.Fatalf("snapshot: %q", out)
	}
	if out := string(tidemark(t, "snapshot", "--config", cfg)); !strings.Contains(out, "items loaded from exports\t0") {
		t.Fatalf("second snapshot: %q", out)
	}
	if out := string(tidemark(t, "publish", "--config", cfg)); !strings.Contains(out, "files written\t2") {
		t.Fatalf("publish: %q", out)
	}
	if out := string(tidemark(t, "publish", "--config", cfg)); !strings.Contains(out, "files written\t0") {
		t.Fatalf("second publish: %q", out)
	}
}
