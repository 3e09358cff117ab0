package gen

import (
	"math/bits"
	"time"
)

// Times are kept as ticks of 100 ns (the 7 fractional digits of the events'
// dateTime) relative to the export time: negative before the snapshot.
const tick = 100 * time.Nanosecond

const (
	window     = int64(2 * time.Hour / tick)    // the history runs from -window to +window
	overlap    = int64(30 * time.Minute / tick) // the events file starts this long before the snapshot
	skew       = int64(5 * time.Second / tick)  // no silent write this close to the snapshot
	minGap     = int64(time.Second / tick)      // between two writes to one tenure
	maxDelay   = int64(800 * time.Millisecond / tick)
	minDelay   = int64(time.Millisecond / tick)
	pSilent    = 0.02
	pCreateMax = 0.10
)

// eventedShare is the expected share of writes that end up as events in the
// file: the file covers 2.5 of the 4 hours, and 2% of writes are silent.
const eventedShare = float64(window+overlap) / float64(2*window) * (1 - pSilent)

// schedule is the plan of writes: their kinds and, once simulated, the chain
// of writes of each tenure. It costs 9 bytes per write and 8 per tenure.
type schedule struct {
	seed        uint64
	writes      int
	kinds       []uint8 // per write
	prev        []int32 // per write: the previous write to the same tenure, or -1
	target      []int32 // per write: the tenure it writes
	head        []int32 // per tenure: its last write, or -1
	createOrder []int32 // the tenure created by the j-th create
	preCreates  int     // creates before the snapshot
	postCreates int
	fileWrites  int // evented writes expected in the events file
}

// writesFor returns the number of writes that gives about events events.
func writesFor(events int) int {
	if events <= 0 {
		return 0
	}
	w := int(float64(events)/eventedShare + 0.5)
	return min(w, int(window)) // at least 2 ticks per write
}

// time returns the write time of write k: strictly increasing, one write in
// each of writes equal slots of the window, at a random place in its slot.
func (s *schedule) time(k int) int64 {
	span := uint64(2 * window)
	lo, hi := s.slot(k, span), s.slot(k+1, span)
	jitter := mix(s.seed^mix(uint64(k)+0x5151)) % (hi - lo)
	return int64(lo+jitter) - window
}

func (s *schedule) slot(k int, span uint64) uint64 {
	h, l := bits.Mul64(uint64(k), span)
	q, _ := bits.Div64(h, l, uint64(s.writes))
	return q
}

// plan decides the kind of every write and which tenure indexes are created
// during the window. tenures is the number of items at the snapshot.
func plan(seed uint64, tenures, events int, export time.Time) (*model, *schedule) {
	s := &schedule{seed: seed, writes: writesFor(events)}
	s.kinds = make([]uint8, s.writes)
	s.prev = make([]int32, s.writes)
	s.target = make([]int32, s.writes)
	// About 10% of writes create a tenure, but no more than keep about 95%
	// of the snapshot's tenures older than the window (half the creates fall
	// before the snapshot).
	pCreate := pCreateMax
	if s.writes > 0 {
		pCreate = min(pCreateMax, 0.1*float64(tenures)/float64(s.writes))
	}
	for k := range s.kinds {
		s.kinds[k] = s.baseKind(k, pCreate, tenures)
	}
	m := &model{seed: seed, export: export, total: tenures + s.postCreates}
	m.createAt = make([]int32, m.total)
	s.head = make([]int32, m.total)
	for i := range m.createAt {
		m.createAt[i], s.head[i] = -1, -1
	}
	s.assignCreates(m)
	return m, s
}

// baseKind draws the kind of write k before any tenure is chosen. Creates
// before the snapshot are capped at half the tenures, silent writes are kept
// out of the clock-skew window.
func (s *schedule) baseKind(k int, pCreate float64, tenures int) uint8 {
	r := newRnd(s.seed, streamSchedule, uint64(k), 0)
	t := s.time(k)
	u := r.float()
	kind := kindUpdate
	switch {
	case u < pCreate:
		kind = kindCreate
	case u < pCreate+pSilent:
		kind = kindSilent
	default:
		kind = []uint8{kindUpdate, kindAdd, kindRemove}[r.weighted([]int{60, 20, 10})]
	}
	switch {
	case kind == kindCreate && !afterSnapshot(t) && (s.preCreates+1)*2 > tenures:
		kind = kindUpdate
	case kind == kindCreate && !afterSnapshot(t):
		s.preCreates++
	case kind == kindCreate:
		s.postCreates++
	case kind == kindSilent && t >= -skew && t <= skew:
		kind = kindUpdate
	}
	if kind != kindSilent && t >= -overlap {
		s.fileWrites++
	}
	return kind
}

// assignCreates picks the indexes of the tenures created during the window
// (a random subset, so ids of new tenures are spread among the old ones) and
// gives them to the creates in a random order.
func (s *schedule) assignCreates(m *model) {
	n := s.preCreates + s.postCreates
	if n == 0 {
		return
	}
	r := newRnd(s.seed, streamCreates, 0, 0)
	chosen := make([]int32, 0, n)
	for idx := 0; idx < m.total && len(chosen) < n; idx++ {
		if r.intn(m.total-idx) < n-len(chosen) { // selection sampling (Knuth's algorithm S)
			chosen = append(chosen, int32(idx))
		}
	}
	for i := len(chosen) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		chosen[i], chosen[j] = chosen[j], chosen[i]
	}
	s.createOrder = chosen
	j := 0
	for k, kind := range s.kinds {
		if kind == kindCreate {
			m.createAt[chosen[j]] = int32(k)
			j++
		}
	}
}

// chain returns the writes of tenure idx in order, reusing buf.
func (s *schedule) chain(idx int, buf []int32) []int32 {
	return s.chainTo(s.head[idx], buf)
}

// chainTo returns the writes of a tenure up to and including write last.
func (s *schedule) chainTo(last int32, buf []int32) []int32 {
	buf = buf[:0]
	for k := last; k >= 0; k = s.prev[k] {
		buf = append(buf, k)
	}
	for i, j := 0, len(buf)-1; i < j; i, j = i+1, j-1 {
		buf[i], buf[j] = buf[j], buf[i]
	}
	return buf
}

// afterSnapshot reports whether a write at t is too late for the export: the
// export holds every write at or before the export time.
func afterSnapshot(t int64) bool { return t > 0 }
