package apply

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// TestStreamConvergesProperty: a table written over time (puts with a
// growing version, deletes, re-creates starting again at version 1), a
// snapshot taken at a random instant, and its DynamoDB stream read from a
// random record before the snapshot, with the record times rounded down to
// the minute (as DynamoDB Local gives them) and batches committed or
// crashed at random: the copy always ends equal to the table.
func TestStreamConvergesProperty(t *testing.T) {
	for seed := uint64(1); seed <= 80; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			table := map[string]ddbjson.Map{}
			var log []*change.Change
			var snapshot map[string]ddbjson.Map
			var snapAt time.Time
			snapIdx := 40 + rng.IntN(80)
			for i := range 160 {
				at := t0.Add(time.Duration(i) * 7 * time.Second)
				if i == snapIdx {
					snapshot, snapAt = map[string]ddbjson.Map{}, at
					for k, v := range table {
						snapshot[k] = v
					}
				}
				key := fmt.Sprintf("k%d", rng.IntN(12))
				c := &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(key)}, Origin: change.OriginStream,
					EventID: fmt.Sprintf("s%d", i), EventTime: at.Truncate(time.Minute)}
				if _, ok := table[key]; ok && rng.IntN(5) == 0 {
					delete(table, key)
					c.Op, c.EventType = change.OpDelete, "REMOVE"
				} else {
					v := 1
					if prev, ok := table[key]; ok {
						fmt.Sscan(prev["versionNumber"].Str, &v)
						v++
					}
					img := ddbjson.Map{"id": ddbjson.S(key), "versionNumber": ddbjson.N(fmt.Sprint(v)), "a": ddbjson.S(fmt.Sprintf("w%d", i))}
					table[key] = img
					c.Op, c.EventType, c.Image, c.Version = change.OpUpsert, "MODIFY", img, fmt.Sprint(v)
				}
				log = append(log, c)
			}
			// The snapshot as export rows, then the stream from a record
			// up to 30 before the snapshot, delivered in order.
			var all []*change.Change
			for k, img := range snapshot {
				all = append(all, &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(k)}, Op: change.OpUpsert, Image: img,
					Version: img["versionNumber"].Str, AsOf: snapAt, EventTime: snapAt, Origin: change.OriginSnapshot})
			}
			from := max(snapIdx-rng.IntN(30), 0)
			all = append(all, log[from:]...)
			store := openStore(t, t.TempDir())
			defer store.Close()
			mat := newMat(store)
			txn := mat.Begin()
			if err := mat.SetSnapshotAsOf(txn, "t", snapAt); err != nil {
				t.Fatal(err)
			}
			if err := txn.Commit(); err != nil {
				t.Fatal(err)
			}
			// Apply in random batches; a crashed batch is re-applied.
			for i := 0; i < len(all); {
				n := 1 + rng.IntN(10)
				txn := mat.Begin()
				for _, c := range all[i:min(i+n, len(all))] {
					if _, err := mat.Apply(txn, c); err != nil {
						t.Fatal(err)
					}
				}
				if rng.IntN(4) == 0 {
					txn.Discard()
					continue
				}
				if err := txn.Commit(); err != nil {
					t.Fatal(err)
				}
				i += n
			}
			for i := range 12 {
				key := fmt.Sprintf("k%d", i)
				rec, err := store.Get("t", change.Key{Hash: ddbjson.S(key)}.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				want, live := table[key]
				switch {
				case !live && rec != nil && rec.Live:
					t.Fatalf("%s: live %s, want absent", key, ddbjson.AppendPlainMap(nil, rec.Image))
				case live && (rec == nil || !rec.Live):
					t.Fatalf("%s: absent, want %s", key, ddbjson.AppendPlainMap(nil, want))
				case live && !ddbjson.EqualMaps(rec.Image, want):
					t.Fatalf("%s: %s, want %s", key, ddbjson.AppendPlainMap(nil, rec.Image), ddbjson.AppendPlainMap(nil, want))
				}
			}
		})
	}
}
