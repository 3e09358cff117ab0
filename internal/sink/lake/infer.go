package lake

import (
	"strings"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// The schema pass gathers, for every attribute path, how many values of
// each DynamoDB kind it saw and what their column type depends on. Its
// memory grows with the number of distinct paths, never with the rows.

const numKinds = int(ddbjson.KindBS) + 1

// stat describes the values seen at one attribute path.
type stat struct {
	counts [numKinds]int64  // values per DynamoDB kind (absent counts as NULL)
	str    strStat          // S values
	num    numStat          // N values
	setNum numStat          // NS elements
	fields map[string]*stat // M: one per key seen
	elem   *stat            // L: the elements
}

// strStat gathers what makes a string column a timestamp column.
type strStat struct {
	nonEmpty int64
	notTime  bool // a non-empty value is not a date-time
	times    timeStat
}

func (s *strStat) add(v string) {
	if v == "" {
		return
	}
	s.nonEmpty++
	if s.notTime {
		return
	}
	t, ok := parseDateTime(v)
	if !ok {
		s.notTime = true
		return
	}
	s.times.add(t)
}

// isTime reports whether the strings make a timestamp column: at least one
// non-empty value, every one a date-time, and one unit that keeps them all.
func (s *strStat) isTime() bool {
	return s.nonEmpty > 0 && !s.notTime && s.times.exact()
}

func (s *stat) add(v ddbjson.RawValue, sc *scratch) {
	k := v.Kind
	if k == ddbjson.KindInvalid || int(k) >= numKinds {
		k = ddbjson.KindNULL
	}
	s.counts[k]++
	switch k {
	case ddbjson.KindS:
		s.str.add(v.Str())
	case ddbjson.KindN:
		s.num.add(v.Str())
	case ddbjson.KindM:
		ms, err := v.Members(sc.members())
		sc.fail(err)
		s.addMembers(ms, sc)
		sc.releaseMembers(ms)
	case ddbjson.KindL:
		e := s.elemStat()
		es, err := v.Elems(sc.elems())
		sc.fail(err)
		for _, x := range es {
			e.add(x, sc)
		}
		sc.releaseElems(es)
	case ddbjson.KindNS:
		es, err := v.Elems(sc.elems())
		sc.fail(err)
		for _, x := range es {
			s.setNum.add(x.Str())
		}
		sc.releaseElems(es)
	}
}

func (s *stat) addMembers(ms []ddbjson.RawMember, sc *scratch) {
	if s.fields == nil {
		s.fields = make(map[string]*stat, len(ms))
	}
	for _, m := range ms {
		f := s.fields[m.Key]
		if f == nil {
			f = new(stat)
			// The key points into the stored bytes: keep a copy.
			s.fields[strings.Clone(m.Key)] = f
		}
		f.add(m.Val, sc)
	}
}

func (s *stat) elemStat() *stat {
	if s.elem == nil {
		s.elem = new(stat)
	}
	return s.elem
}

// kindOrder breaks ties between kinds seen equally often.
var kindOrder = []ddbjson.Kind{
	ddbjson.KindS, ddbjson.KindN, ddbjson.KindBOOL, ddbjson.KindM, ddbjson.KindL,
	ddbjson.KindB, ddbjson.KindSS, ddbjson.KindNS, ddbjson.KindBS,
}

// winner is the kind with the most values at the path: it gives the column
// its type. NULL wins only when nothing else was seen.
func (s *stat) winner() ddbjson.Kind {
	best := ddbjson.KindNULL
	var n int64
	for _, k := range kindOrder {
		if s.counts[k] > n {
			best, n = k, s.counts[k]
		}
	}
	return best
}

// total is the number of values seen at the path, NULLs included.
func (s *stat) total() int64 {
	var n int64
	for _, c := range s.counts {
		n += c
	}
	return n
}

// tableStats gathers the statistics of a whole table.
type tableStats struct {
	attrs   stat // the image, as the fields of a map
	version numStat
	event   timeStat
	from    timeStat
	to      timeStat
	sc      scratch
}

func newTableStats() *tableStats {
	return &tableStats{attrs: stat{fields: map[string]*stat{}}}
}

func (t *tableStats) add(r *Row, kind Kind) error {
	sc := &t.sc
	ms, err := sc.rowMembers(r)
	if err != nil {
		return err
	}
	t.attrs.addMembers(ms, sc)
	sc.releaseMembers(ms)
	if sc.err != nil {
		return sc.err
	}
	if r.Version != "" {
		t.version.add(r.Version)
	}
	addTime(&t.event, r.EventTime)
	if kind == History {
		addTime(&t.from, r.ValidFrom)
		addTime(&t.to, r.ValidTo)
	}
	return nil
}

func addTime(s *timeStat, t time.Time) {
	if !t.IsZero() {
		s.add(t)
	}
}
