package gen

import (
	"container/heap"
	"context"
	"fmt"
)

// router decides, in time order, which tenure each write touches. It needs
// no tenure state, only who exists and when each was last written, so it is
// fast; it records the chain of writes of every tenure, from which the
// events and the outputs are then built in parallel.
type router struct {
	m          *model
	s          *schedule
	ring       []int32 // recently written tenures, to make several writes on one likely
	ringAt     int
	follow     followHeap
	nextCreate int
	silent     int
}

// route routes every write of s.
func route(ctx context.Context, m *model, s *schedule) (silent int, err error) {
	rt := &router{m: m, s: s, ring: make([]int32, 0, 1024)}
	for k := 0; k < s.writes; k++ {
		if k&16383 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("routing writes: %w", err)
			}
		}
		rt.write(k)
	}
	return rt.silent, nil
}

func (rt *router) write(k int) {
	t := rt.s.time(k)
	kind := rt.s.kinds[k]
	var idx int
	if kind == kindCreate {
		idx = int(rt.s.createOrder[rt.nextCreate])
		rt.nextCreate++
	} else {
		var ok bool
		if idx, kind, ok = rt.target(k, t, kind); !ok {
			rt.s.kinds[k] = kindNone
			return
		}
	}
	rt.s.kinds[k], rt.s.target[k] = kind, int32(idx)
	rt.s.prev[k], rt.s.head[idx] = rt.s.head[idx], int32(k)
	rt.remember(idx)
	if kind == kindSilent {
		rt.silent++
		rt.planFollowUp(k, t, idx, silentForce(rt.m.seed, k))
	}
}

// target chooses the tenure of write k: a due follow-up of a silent write,
// a recently written tenure (30%), or any tenure. A tenure qualifies if it
// exists and was not written in the last second (so its events keep their
// order whatever their publish delays).
func (rt *router) target(k int, t int64, kind uint8) (int, uint8, bool) {
	r := newRnd(rt.m.seed, streamPick, uint64(k), 0)
	if len(rt.follow) > 0 && rt.follow[0].due <= t && rt.eligible(int(rt.follow[0].idx), k, t) {
		f := heap.Pop(&rt.follow).(followUp)
		if f.force == forceAsset {
			return int(f.idx), kindUpdate | forceAsset<<4, true
		}
		return int(f.idx), pick(&r, []uint8{kindAdd, kindRemove}) | forceMembers<<4, true
	}
	if len(rt.ring) > 0 && r.chance(0.3) {
		for i := 0; i < 4; i++ {
			if idx := int(rt.ring[r.intn(len(rt.ring))]); rt.eligible(idx, k, t) {
				return idx, kind, true
			}
		}
	}
	for i := 0; i < 32 && rt.m.total > 0; i++ {
		if idx := r.intn(rt.m.total); rt.eligible(idx, k, t) {
			return idx, kind, true
		}
	}
	return 0, kind, false
}

func (rt *router) eligible(idx, k int, t int64) bool {
	if c := rt.m.createAt[idx]; c >= 0 && int(c) >= k {
		return false
	}
	h := rt.s.head[idx]
	return h < 0 || t-rt.s.time(int(h)) >= minGap
}

func (rt *router) remember(idx int) {
	if len(rt.ring) < cap(rt.ring) {
		rt.ring = append(rt.ring, int32(idx))
		return
	}
	rt.ring[rt.ringAt] = int32(idx)
	rt.ringAt = (rt.ringAt + 1) % len(rt.ring)
}

// planFollowUp makes a later evented write of the same field likely: that
// is what turns a silent write into a visible inconsistency.
func (rt *router) planFollowUp(k int, t int64, idx int, force uint8) {
	r := newRnd(rt.m.seed, streamPick, uint64(k), 1)
	if !r.chance(0.6) {
		return
	}
	due := t + minGap + int64(r.u64()%uint64(10*60*minGap))
	heap.Push(&rt.follow, followUp{due: due, k: int32(k), idx: int32(idx), force: force})
}

// followUp is an evented write planned on a field a silent write changed.
type followUp struct {
	due   int64
	k     int32
	idx   int32
	force uint8
}

type followHeap []followUp

func (h followHeap) Len() int { return len(h) }
func (h followHeap) Less(i, j int) bool {
	return h[i].due < h[j].due || h[i].due == h[j].due && h[i].k < h[j].k
}
func (h followHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *followHeap) Push(x any)   { *h = append(*h, x.(followUp)) }
func (h *followHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	*h = old[:len(old)-1]
	return f
}
