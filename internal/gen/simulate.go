package gen

import (
	"bufio"
	"context"
	"fmt"
	"maps"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// sim replays the routed writes in time order on the tenures' states and
// writes the events file (and the inconsistencies) as it goes. It runs
// alongside the rendering of the export, which only reads the chains.
type sim struct {
	m     *model
	s     *schedule
	cache stateCache
	out   *eventsOut
	inc   *bufio.Writer // inconsistencies.jsonl, or nil

	mismatched int
	chainBuf   []int32
}

func newSim(m *model, s *schedule, out *eventsOut, inc *bufio.Writer) *sim {
	return &sim{m: m, s: s, out: out, inc: inc, cache: newStateCache(1 << 12)}
}

// run simulates every write.
func (g *sim) run(ctx context.Context) error {
	for k := 0; k < g.s.writes; k++ {
		if k&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("simulating writes: %w", err)
			}
		}
		g.write(k)
	}
	g.out.finish()
	return nil
}

func (g *sim) write(k int) {
	kind := g.s.kinds[k]
	if kind == kindNone {
		return
	}
	t := g.s.time(k)
	g.out.flushUntil(t)
	idx := int(g.s.target[k])
	var st *tstate
	if kind == kindCreate {
		st = g.m.newState(idx)
	} else {
		st = g.state(idx, k)
	}
	res := g.m.step(st, k, kind, afterSnapshot(t))
	g.cache.put(int32(idx), st)
	if kind != kindSilent {
		g.emit(k, t, kind, st, res)
	}
}

// emit queues the event of write k and records its mismatches.
func (g *sim) emit(k int, t int64, kind uint8, st *tstate, res result) {
	id := tenureID(g.m.seed, st.idx, g.m.total)
	e, r := g.m.newEnvelope(k, t, kind, id)
	if e.pub < g.out.fileStart {
		return
	}
	newData := res.new
	if kind == kindCreate {
		newData = g.m.item(st.idx)
		delete(newData, "versionNumber")
	}
	line := &eventLine{pub: e.pub, k: k, before: !afterSnapshot(t), sns: r.chance(0.1)}
	if r.chance(0.01) {
		line.dupAfter = 1 + r.intn(5)
	}
	line.line = g.m.appendEvent(make([]byte, 0, 512), &e, res.old, newData)
	g.out.push(line)
	if len(res.mismatches) > 0 {
		g.mismatched++
		g.writeInconsistencies(&e, res.mismatches)
	}
}

func (g *sim) writeInconsistencies(e *envelope, ms []mismatch) {
	if g.inc == nil {
		return
	}
	var b []byte
	for _, mm := range ms {
		b = append(b[:0], `{"eventId":"`...)
		b = append(b, e.id...)
		b = append(b, `","eventType":"`+e.eventType+`","entityId":"`...)
		b = append(b, e.entityID...)
		b = append(b, `","field":`...)
		b = appendJSONString(b, mm.field)
		b = append(b, `,"expected":`...)
		b = ddbjson.AppendPlain(b, mm.expected)
		b = append(b, `,"found":`...)
		b = ddbjson.AppendPlain(b, mm.found)
		b = append(b, "}\n"...)
		g.inc.Write(b)
	}
}

// state returns the state of tenure idx before write k, from the cache or
// by replaying its earlier writes.
func (g *sim) state(idx, k int) *tstate {
	if st := g.cache.get(int32(idx)); st != nil {
		return st
	}
	g.chainBuf = g.s.chainTo(g.s.prev[k], g.chainBuf)
	st, _ := g.m.replay(g.s, idx, g.chainBuf)
	return st
}

// snapshotState is a tenure as the export holds it.
type snapshotState struct {
	over    ddbjson.Map
	version int
}

// replay rebuilds tenure idx from its base by applying its writes, and
// returns its state at the end and at the snapshot.
func (m *model) replay(s *schedule, idx int, chain []int32) (*tstate, snapshotState) {
	st := m.newState(idx)
	var snap *snapshotState
	for _, k := range chain {
		t := s.time(int(k))
		if snap == nil && afterSnapshot(t) {
			snap = &snapshotState{over: maps.Clone(st.over), version: st.version()}
		}
		m.step(st, int(k), s.kinds[k], afterSnapshot(t))
	}
	if snap == nil {
		snap = &snapshotState{over: st.over, version: st.version()}
	}
	return st, *snap
}

// stateCache keeps the states of recently written tenures in two
// generations, so memory stays bounded; an evicted state is rebuilt by
// replay.
type stateCache struct {
	cur, old map[int32]*tstate
	limit    int
}

func newStateCache(limit int) stateCache {
	return stateCache{cur: make(map[int32]*tstate), limit: limit}
}

func (c *stateCache) get(idx int32) *tstate {
	if st, ok := c.cur[idx]; ok {
		return st
	}
	if st, ok := c.old[idx]; ok {
		c.put(idx, st)
		return st
	}
	return nil
}

func (c *stateCache) put(idx int32, st *tstate) {
	if _, ok := c.cur[idx]; !ok && len(c.cur) >= c.limit {
		c.old, c.cur = c.cur, make(map[int32]*tstate, c.limit)
	}
	c.cur[idx] = st
}
