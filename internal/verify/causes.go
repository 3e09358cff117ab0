package verify

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// causes knows, per key, what the store recorded that can explain drift:
// inconsistencies (patches whose oldData did not match: a silent writer) and
// dead letters of event types that are not mapped. Both are small next to
// the table (they are exceptions), so they are held in memory.
type causes struct {
	incons   map[string]int
	unmapped map[string]map[string]bool
}

func loadCauses(s *state.Store, entity string) (*causes, error) {
	c := &causes{incons: map[string]int{}, unmapped: map[string]map[string]bool{}}
	err := s.Inconsistencies(func(in *state.Inconsistency) error {
		if in.Entity == entity {
			c.incons[in.Key]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading inconsistencies: %w", err)
	}
	err = s.DeadLetters(func(d *state.DeadLetter) error {
		typ, ok := strings.CutPrefix(d.Reason, "unknown event type ")
		if !ok {
			return nil
		}
		typ, _, _ = strings.Cut(typ, " ")
		typ = strings.Trim(typ, `"`)
		if key := entityID(d.Raw); key != "" {
			if c.unmapped[key] == nil {
				c.unmapped[key] = map[string]bool{}
			}
			c.unmapped[key][typ] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	return c, nil
}

// entityID reads the entityId of a dead letter's raw event (raw or SNS).
func entityID(raw []byte) string {
	v, err := ddbjson.FromJSON(raw)
	if err != nil || v.Kind != ddbjson.KindM {
		return ""
	}
	if msg, ok := v.Map["Message"]; ok && msg.Kind == ddbjson.KindS {
		if v, err = ddbjson.FromJSON([]byte(msg.Str)); err != nil || v.Kind != ddbjson.KindM {
			return ""
		}
	}
	if id := v.Map["entityId"]; id.Kind == ddbjson.KindS {
		return id.Str
	}
	return ""
}

func (c *causes) common(key string) []string {
	var out []string
	if n := c.incons[key]; n > 0 {
		out = append(out, fmt.Sprintf("silent writer: %d patch(es) of this key had an oldData that did not match the copy", n))
	}
	if types := c.unmapped[key]; len(types) > 0 {
		names := make([]string, 0, len(types))
		for t := range types {
			names = append(names, t)
		}
		sort.Strings(names)
		out = append(out, "unmapped event types seen for this key: "+strings.Join(names, ", "))
	}
	return out
}

func (c *causes) differs(key string, r *state.Record) []string {
	out := c.common(key)
	if r.EventID == "" {
		out = append(out, "no event changed this key since "+sinceText(r)+": a writer that emits no event, or dropped events")
	}
	if len(out) == 0 {
		out = append(out, "changed at the source after its last event here without an event (silent writer or dropped event)")
	}
	return out
}

func (c *causes) missing(key string) []string {
	return append(c.common(key), "created at the source without an event reaching tidemark (or its create event was dropped)")
}

func (c *causes) extra(key string, r *state.Record) []string {
	return append(c.common(key), "deleted at the source without an event reaching tidemark (or its delete event was dropped)")
}

func sinceText(r *state.Record) string {
	if r.Op == "snapshot" && !r.AsOf.IsZero() {
		return "the snapshot of " + r.AsOf.Format(time.RFC3339)
	}
	return "its last " + r.Op
}

// timeMin keeps the earliest time added (safe for concurrent use).
type timeMin struct {
	mu sync.Mutex
	t  time.Time
}

func (m *timeMin) add(t time.Time) {
	m.mu.Lock()
	if m.t.IsZero() || t.Before(m.t) {
		m.t = t
	}
	m.mu.Unlock()
}
