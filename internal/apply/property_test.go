package apply

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// The property tests simulate a source table over time: writes that emit
// events, writes that do not (a silent writer), a point-in-time snapshot in
// the middle, an event stream that starts before the snapshot and delivers
// some events twice. Whatever the interleaving and wherever the commits and
// crashes fall, the copy must converge to what the snapshot and the events
// reveal, record exactly the inconsistencies the silent writes cause, and
// never resurrect a deleted entity.

const skew = 2 * time.Second

var fields = []string{"a", "b", "c", "d"}

type write struct {
	key    string
	at     time.Time // write time at the source
	pub    time.Time // event publish time
	op     change.Op
	silent bool
	newV   ddbjson.Map // patch: the new values; upsert: the whole image
	oldV   ddbjson.Map // patch: the old values of the changed fields
	id     string
}

type model struct {
	rng    *rand.Rand
	t0     time.Time
	snapT  time.Time
	items  map[string]ddbjson.Map // source table now
	writes []write
}

func newModel(seed uint64) *model {
	return &model{
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		t0:    time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		items: map[string]ddbjson.Map{},
	}
}

func (m *model) value() ddbjson.Value {
	if m.rng.IntN(5) == 0 {
		return ddbjson.N(strconv.Itoa(m.rng.IntN(50)) + ".5")
	}
	return ddbjson.S(fmt.Sprintf("v%d", m.rng.IntN(1000)))
}

func (m *model) image(key string) ddbjson.Map {
	img := ddbjson.Map{"id": ddbjson.S(key)}
	for _, f := range fields {
		if m.rng.IntN(4) > 0 {
			img[f] = m.value()
		}
	}
	return img
}

// inWindow reports whether t is within the clock-skew window of the snapshot.
func (m *model) inWindow(t time.Time) bool {
	return !t.Before(m.snapT.Add(-skew-time.Second)) && !t.After(m.snapT.Add(skew+time.Second))
}

// simulate generates nWrites writes over keys keys, the snapshot at a random
// write, and returns the snapshot (the table at snapT, with versions).
func (m *model) simulate(keys, nWrites int, silentRate float64, deletes bool) (snap map[string]ddbjson.Map) {
	versions := map[string]int{}
	snapAt := nWrites/4 + m.rng.IntN(nWrites/2+1)
	times := make([]time.Time, nWrites)
	now := m.t0
	for i := range times {
		now = now.Add(time.Duration(200+m.rng.IntN(1500)) * time.Millisecond)
		if i == snapAt {
			m.snapT = now
			now = now.Add(time.Duration(1+m.rng.IntN(300)) * time.Millisecond)
		}
		times[i] = now
	}
	for i := 0; i < nWrites; i++ {
		now = times[i]
		if i == snapAt {
			snap = map[string]ddbjson.Map{}
			for k, img := range m.items {
				c := img.Clone()
				c["versionNumber"] = ddbjson.N(strconv.Itoa(versions[k]))
				snap[k] = c
			}
		}
		key := fmt.Sprintf("k%02d", m.rng.IntN(keys))
		w := write{key: key, at: now, pub: now.Add(time.Duration(1+m.rng.IntN(800)) * time.Millisecond),
			id: fmt.Sprintf("e%05d", i)}
		cur, exists := m.items[key]
		switch {
		case !exists:
			w.op, w.newV = change.OpUpsert, m.image(key)
			m.items[key] = w.newV.Clone()
		case deletes && m.rng.IntN(12) == 0 && !m.inWindow(w.at):
			// A delete and a re-create both inside the clock-skew window are
			// indistinguishable from a re-create after it (without versions
			// on events); the data converges, the version attribute is lost.
			// The generator keeps deletes out of the window.
			w.op = change.OpDelete
			delete(m.items, key)
		default:
			w.op = change.OpPatch
			w.newV, w.oldV = ddbjson.Map{}, ddbjson.Map{}
			for _, f := range fields {
				if m.rng.IntN(3) == 0 || len(w.newV) == 0 && f == fields[len(fields)-1] {
					w.oldV[f] = cur[f]
					if w.oldV[f].Kind == ddbjson.KindInvalid {
						w.oldV[f] = ddbjson.Null()
					}
					w.newV[f] = m.value()
					cur[f] = w.newV[f]
				}
			}
			w.silent = m.rng.Float64() < silentRate && !m.inWindow(w.at) && !m.inWindow(w.pub)
		}
		versions[key]++
		m.writes = append(m.writes, w)
	}
	if snap == nil {
		m.snapT = now
		snap = map[string]ddbjson.Map{}
		for k, img := range m.items {
			snap[k] = img.Clone()
		}
	}
	return snap
}

// expect replays what the snapshot and the events reveal: the snapshot at
// snapT, then every evented write after it. It returns the expected images
// and the expected inconsistencies (key/field/event id).
func (m *model) expect(snap map[string]ddbjson.Map) (map[string]ddbjson.Map, map[string]bool) {
	copyState := map[string]ddbjson.Map{}
	for k, v := range snap {
		copyState[k] = v.Clone()
	}
	incons := map[string]bool{}
	for _, w := range m.writes {
		if w.silent || !w.at.After(m.snapT) {
			continue
		}
		switch w.op {
		case change.OpUpsert:
			copyState[w.key] = w.newV.Clone()
		case change.OpDelete:
			delete(copyState, w.key)
		case change.OpPatch:
			cur := copyState[w.key]
			same := true
			for f, v := range w.newV {
				same = same && ddbjson.Equal(cur[f], v)
			}
			if same {
				continue
			}
			for f, v := range w.oldV {
				if !ddbjson.Equal(cur[f], v) {
					incons[w.key+"/"+f+"/"+w.id] = true
				}
			}
			for f, v := range w.newV {
				cur[f] = v
			}
		}
	}
	return copyState, incons
}

// stream builds the changes a consumer sees: snapshot rows in random order,
// then the events from the overlap on, some delivered twice.
func (m *model) stream(snap map[string]ddbjson.Map, overlap time.Duration, dupRate float64) (rows, events []*change.Change) {
	keys := make([]string, 0, len(snap))
	for k := range snap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m.rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys {
		c := &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(k)}, Op: change.OpUpsert,
			Image: snap[k].Clone(), Version: snap[k]["versionNumber"].Str, AsOf: m.snapT, EventTime: m.snapT,
			Origin: change.OriginSnapshot}
		if m.rng.IntN(2) == 0 {
			// Half the rows come in the binary form, as an export's do.
			c.ImageBin, c.Image = ddbjson.AppendBinary(nil, c.Image), nil
		}
		rows = append(rows, c)
	}
	due := map[int][]*change.Change{} // redeliveries, by the index they come before
	i := 0
	for _, w := range m.writes {
		if w.silent || w.pub.Before(m.snapT.Add(-overlap)) {
			continue
		}
		events = append(events, due[i]...)
		c := &change.Change{Entity: "t", Key: change.Key{Hash: ddbjson.S(w.key)}, Op: w.op, Image: w.newV.Clone(),
			Old: w.oldV.Clone(), EventTime: w.pub, Origin: change.OriginEvent, EventID: w.id, EventType: w.op.String()}
		if m.rng.IntN(2) == 0 {
			// Half the events come in the binary form, as event.Decode
			// gives them.
			if c.Image != nil {
				c.ImageBin, c.Image = ddbjson.AppendBinary(nil, c.Image), nil
			}
			if c.Old != nil {
				c.OldBin, c.Old = ddbjson.AppendBinary(nil, c.Old), nil
			}
		}
		events = append(events, c)
		if m.rng.Float64() < dupRate {
			dup := *c
			at := i + 1 + m.rng.IntN(5)
			due[at] = append(due[at], &dup)
		}
		i++
	}
	for j := i; j <= i+5; j++ {
		events = append(events, due[j]...)
	}
	return rows, events
}

func openStore(t testing.TB, dir string) *state.Store {
	t.Helper()
	s, err := state.Open(dir, state.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newMat(s *state.Store) *Materializer {
	clock := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	return New(s, map[string]Entity{"t": {HashAttr: "id"}},
		Options{ClockSkew: skew, Now: func() time.Time { return clock }})
}

// feed applies changes in random batches. With crashes, some batches are
// discarded instead of committed, and the feed restarts from the last
// committed change, as a restarted process would.
func feed(t *testing.T, rng *rand.Rand, mat *Materializer, snapT time.Time, all []*change.Change, crashes bool) {
	t.Helper()
	if snapT.IsZero() {
		t.Fatal("no snapshot time")
	}
	txn := mat.Begin()
	if err := mat.SetSnapshotAsOf(txn, "t", snapT); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	for committed < len(all) {
		n := 1 + rng.IntN(20)
		end := min(committed+n, len(all))
		txn := mat.Begin()
		for _, c := range all[committed:end] {
			cc := *c
			if _, err := mat.Apply(txn, &cc); err != nil {
				t.Fatal(err)
			}
		}
		if crashes && rng.IntN(4) == 0 {
			txn.Discard() // the process died before this batch committed
			continue
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
		committed = end
	}
}

type scenario struct {
	name       string
	silentRate float64
	deletes    bool
	crashes    bool
}

func TestPropertyConverges(t *testing.T) {
	scenarios := []scenario{
		{"events only", 0, false, false},
		{"silent writes", 0.1, false, false},
		{"deletes", 0, true, false},
		{"everything with crashes", 0.1, true, true},
	}
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for seed := 1; seed <= seeds; seed++ {
				checkScenario(t, uint64(seed), sc)
			}
		})
	}
}

func checkScenario(t *testing.T, seed uint64, sc scenario) {
	m := newModel(seed)
	snap := m.simulate(8, 120, sc.silentRate, sc.deletes)
	want, wantIncons := m.expect(snap)
	rows, events := m.stream(snap, 30*time.Second, 0.1)
	store := openStore(t, t.TempDir())
	defer store.Close()
	mat := newMat(store)
	feed(t, m.rng, mat, m.snapT, append(rows, events...), sc.crashes)

	got := map[string]ddbjson.Map{}
	err := store.ScanRecords("t", func(key []byte, r *state.Record) error {
		k, _ := change.ParseKeyBytes(key)
		if r.Live {
			got[k.String()] = r.Image
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if !ddbjson.EqualMaps(got[k], w) {
			t.Fatalf("seed %d: key %s\n got %s\nwant %s", seed, k, ddbjson.AppendPlainMap(nil, got[k]), ddbjson.AppendPlainMap(nil, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Fatalf("seed %d: key %s is live in the copy but not at the source (resurrected?)", seed, k)
		}
	}
	if sc.silentRate == 0 {
		// No silent writer: the copy equals the source, field for field.
		for k, src := range m.items {
			img := got[k].Clone()
			delete(img, "versionNumber")
			if !ddbjson.EqualMaps(img, src) {
				t.Fatalf("seed %d: key %s differs from the source", seed, k)
			}
		}
	}
	gotIncons := map[string]bool{}
	err = store.Inconsistencies(func(in *state.Inconsistency) error {
		gotIncons[in.Key+"/"+in.Field+"/"+in.EventID] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sortedKeys(gotIncons)) != fmt.Sprint(sortedKeys(wantIncons)) {
		t.Fatalf("seed %d: inconsistencies\n got %v\nwant %v", seed, sortedKeys(gotIncons), sortedKeys(wantIncons))
	}
	checkIdempotent(t, seed, store, mat, rows, events)
}

// checkIdempotent feeds everything again: nothing may change, no history
// row may be added, and no snapshot row may resurrect a deleted entity.
func checkIdempotent(t *testing.T, seed uint64, store *state.Store, mat *Materializer, rows, events []*change.Change) {
	before := historyCount(t, store)
	gen, _ := store.Generation("t")
	mat.Stats = Stats{}
	txn := mat.Begin()
	for _, c := range append(append([]*change.Change{}, rows...), events...) {
		cc := *c
		if o, err := mat.Apply(txn, &cc); err != nil {
			t.Fatal(err)
		} else if o == Applied {
			t.Fatalf("seed %d: re-applying %s %s %s changed the state", seed, cc.Label(), cc.Key, cc.EventID)
		}
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if after := historyCount(t, store); after != before {
		t.Fatalf("seed %d: history grew from %d to %d rows on a replay", seed, before, after)
	}
	if g, _ := store.Generation("t"); g != gen {
		t.Fatalf("seed %d: generation moved on a replay", seed)
	}
}

func historyCount(t *testing.T, s *state.Store) int {
	n := 0
	ids := map[string]bool{}
	err := s.ScanHistory("t", func(_ []byte, _ uint64, r *state.Record) error {
		n++
		if r.EventID != "" {
			if ids[r.EventID] {
				t.Fatalf("event %s has two history rows", r.EventID)
			}
			ids[r.EventID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
