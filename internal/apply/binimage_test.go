package apply

import (
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// binRow is row with its image in the binary form only, as an export's
// rows come.
func binRow(c *change.Change) *change.Change {
	c.ImageBin, c.Image = ddbjson.AppendBinary(nil, c.Image), nil
	return c
}

// TestBinaryImages: snapshot rows carrying only the binary form of their
// image apply exactly as rows with a Map do, whether the key's state is in
// the store, in the open transaction, or absent.
func TestBinaryImages(t *testing.T) {
	later := snapT.Add(60e9)
	num := func(c *change.Change, n string) *change.Change {
		c.Image["amount"] = ddbjson.N(n)
		return c
	}
	tests := []struct {
		name    string
		batches [][]step // each batch is one transaction
		image   ddbjson.Map
		rows    int // history rows, the current one included
	}{
		{name: "a new key is stored as it came",
			batches: [][]step{{{binRow(row("k", "1", snapT, "a", "x")), Applied}}},
			image:   ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("x"), "versionNumber": ddbjson.N("1")}, rows: 1},
		{name: "the same bytes again, from the store, are unchanged",
			batches: [][]step{{{binRow(row("k", "1", snapT, "a", "x")), Applied}}, {{binRow(row("k", "1", later, "a", "x")), Unchanged}}},
			image:   ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("x"), "versionNumber": ddbjson.N("1")}, rows: 1},
		{name: "an equal number written differently is unchanged",
			batches: [][]step{{{num(row("k", "", snapT), "1.50"), Applied}}, {{binRow(num(row("k", "", later), "1.5")), Unchanged}}},
			image:   ddbjson.Map{"id": ddbjson.S("k"), "amount": ddbjson.N("1.50")}, rows: 1},
		{name: "a different image applies over the stored one, which becomes history",
			batches: [][]step{{{binRow(row("k", "1", snapT, "a", "x")), Applied}}, {{binRow(row("k", "2", later, "a", "y")), Applied}}},
			image:   ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("y"), "versionNumber": ddbjson.N("2")}, rows: 2},
		{name: "an older version is stale",
			batches: [][]step{{{binRow(row("k", "2", snapT, "a", "y")), Applied}}, {{binRow(row("k", "1", later, "a", "x")), Stale}}},
			image:   ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("y"), "versionNumber": ddbjson.N("2")}, rows: 1},
		{name: "two rows of a key in one transaction chain their history",
			batches: [][]step{{{binRow(row("k", "1", snapT, "a", "x")), Applied}, {binRow(row("k", "2", later, "a", "y")), Applied}}},
			image:   ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("y"), "versionNumber": ddbjson.N("2")}, rows: 2},
		{name: "the same row twice in one transaction is unchanged",
			batches: [][]step{{{binRow(row("k", "1", snapT, "a", "x")), Applied}, {binRow(row("k", "1", snapT, "a", "x")), Unchanged}}},
			image:   ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("x"), "versionNumber": ddbjson.N("1")}, rows: 1},
		{name: "an event patches a binary row of the same transaction",
			batches: [][]step{{{binRow(row("k", "1", snapT, "a", "x", "b", "keep")), Applied},
				{ev("e1", "k", change.OpPatch, later, kv("a", "x"), kv("a", "z")), Applied}}},
			image: ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("z"), "b": ddbjson.S("keep"), "versionNumber": ddbjson.N("1")}, rows: 2},
		{name: "a map row over a binary one compares by value",
			batches: [][]step{{{binRow(row("k", "1", snapT, "a", "x")), Applied}}, {{row("k", "1", later, "a", "x"), Unchanged}}},
			image:   ddbjson.Map{"id": ddbjson.S("k"), "a": ddbjson.S("x"), "versionNumber": ddbjson.N("1")}, rows: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openStore(t, t.TempDir())
			defer store.Close()
			mat := newMat(store)
			for b, batch := range tt.batches {
				txn := mat.Begin()
				if b == 0 {
					if err := mat.SetSnapshotAsOf(txn, "t", snapT); err != nil {
						t.Fatal(err)
					}
				}
				for i, s := range batch {
					got, err := mat.Apply(txn, s.c)
					if err != nil {
						t.Fatal(err)
					}
					if got != s.want {
						t.Fatalf("batch %d step %d: got %s, want %s", b, i, got, s.want)
					}
				}
				if err := txn.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			rec, err := store.Get("t", change.Key{Hash: ddbjson.S("k")}.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if rec == nil || !rec.Live || !ddbjson.EqualMaps(rec.Image, tt.image) {
				t.Fatalf("record %+v, want image %s", rec, ddbjson.AppendPlainMap(nil, tt.image))
			}
			n := 0
			err = store.ScanHistory("t", func(_ []byte, _ uint64, r *state.Record) error {
				if !r.Live || r.Image == nil {
					t.Errorf("history row %+v has no image", r)
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.rows {
				t.Fatalf("%d history rows, want %d", n, tt.rows)
			}
		})
	}
}

// TestFreshLoadFindsEarlierRows: in a fresh load (a first bootstrap, which
// does not read the store for keys it has not written), a key a later
// batch sends again is still found: the second row supersedes the first,
// which becomes a history row.
func TestFreshLoadFindsEarlierRows(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	if fresh, err := store.BeginFreshLoad("t", 10); err != nil || !fresh {
		t.Fatalf("BeginFreshLoad = %v, %v", fresh, err)
	}
	mat := newMat(store)
	later := snapT.Add(60e9)
	for i, s := range []step{
		{binRow(row("k", "1", snapT, "a", "x")), Applied},
		{binRow(row("other", "1", snapT, "a", "x")), Applied},
		{binRow(row("k", "2", later, "a", "y")), Applied},
		{binRow(row("k", "2", later, "a", "y")), Unchanged},
	} {
		txn := mat.Begin()
		got, err := mat.Apply(txn, s.c)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Fatalf("row %d: got %s, want %s", i, got, s.want)
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.EndFreshLoad("t"); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := store.ScanHistory("t", func(key []byte, _ uint64, _ *state.Record) error {
		if string(key) == string(change.Key{Hash: ddbjson.S("k")}.Bytes()) {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("key k has %d history rows, want 2", n)
	}
}
