package pipeline

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/sink/lake"
	"github.com/tidemark-dev/tidemark/internal/testutil/parquetrows"
)

// readTable reads the rows of a table's partition, part by part, as maps,
// with the part files' schema.
func readTable(t *testing.T, lakeDir string, kind lake.Kind, day time.Time) ([]map[string]any, string) {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(lake.PartitionDir(lakeDir, "tenure", kind, day), "part-*.parquet"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no %s parts in %s: %v", kind, lakeDir, err)
	}
	return parquetrows.Read(t, parts...)
}

// TestPublishOnLoad: a first bootstrap with PublishOnLoad writes the
// current table while its load merges, on every core: the same schema and
// the same rows, in the same order, as a publish afterwards writes. The
// table is marked published, so the publish that follows writes only the
// history; a bootstrap that is not a first load writes nothing.
func TestPublishOnLoad(t *testing.T) {
	cfg, dir := datasetOf(t, 3000, 0)
	day := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	p := open(t, cfg, dir, day)
	p.PublishOnLoad = true
	if err := p.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	lp := p.LoadPublished()
	if lp.Rows != p.Stats().SnapshotRows || lp.Files < 2 {
		t.Fatalf("published while loading: %+v; want the %d rows loaded, in a part per core", lp, p.Stats().SnapshotRows)
	}
	got, gotSchema := readTable(t, cfg.Lake.Dir, lake.Current, day)
	res, err := p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 {
		t.Fatalf("the publish after: %+v, want the history table alone", res)
	}
	if again, _ := readTable(t, cfg.Lake.Dir, lake.Current, day); !reflect.DeepEqual(again, got) {
		t.Fatal("the publish after the bootstrap rewrote the current table")
	}
	if err := p.Bootstrap(context.Background()); err != nil { // nothing new
		t.Fatal(err)
	}
	if lp2 := p.LoadPublished(); !reflect.DeepEqual(lp2, lp) {
		t.Fatalf("a bootstrap with nothing to load published %+v", lp2)
	}
	p.Close()

	ref := cfg
	ref.Lake.Dir = filepath.Join(dir, "lake-ref")
	q := open(t, ref, dir, day)
	if _, err := q.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, wantSchema := readTable(t, ref.Lake.Dir, lake.Current, day)
	if gotSchema != wantSchema {
		t.Fatalf("schema written while loading:\n%s\nby a publish:\n%s", gotSchema, wantSchema)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows written while loading, %d by a publish", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d written while loading:\n%v\nby a publish:\n%v", i, got[i], want[i])
		}
	}
}
