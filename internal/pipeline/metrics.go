package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark-dev/tidemark/internal/apply"
	"github.com/tidemark-dev/tidemark/internal/metrics"
)

// Lagger is a live source that knows how far behind its stream it is: the
// records not yet read, per stream (a Kafka partition, a shard).
type Lagger interface {
	Lag() map[string]int64
}

// gauges are what the metrics endpoint reads while the pipeline works: a
// copy of the materializer's counts taken at each commit, and the lag of
// the live sources.
type gauges struct {
	stats      atomic.Pointer[apply.Stats]
	lastCommit atomic.Int64 // unix nanoseconds

	mu      sync.Mutex
	laggers []Lagger
}

func (p *Pipeline) committed() {
	st := p.mat.Stats
	p.gauges.stats.Store(&st)
	p.gauges.lastCommit.Store(time.Now().UnixNano())
}

func (p *Pipeline) addLagger(l Lagger) {
	p.gauges.mu.Lock()
	defer p.gauges.mu.Unlock()
	p.gauges.laggers = append(p.gauges.laggers, l)
}

// ServeMetrics serves /metrics on addr (Prometheus text format) until ctx
// ends, and returns the address it listens on.
func (p *Pipeline) ServeMetrics(ctx context.Context, addr string) (string, error) {
	var r metrics.Registry
	g := &p.gauges
	stat := func(f func(*apply.Stats) int64) func() []metrics.Sample {
		return metrics.Value(func() float64 {
			if st := g.stats.Load(); st != nil {
				return float64(f(st))
			}
			return 0
		})
	}
	for _, m := range []struct {
		name, help string
		f          func(*apply.Stats) int64
	}{
		{"tidemark_snapshot_rows_total", "Export and scan rows applied.", func(s *apply.Stats) int64 { return s.SnapshotRows }},
		{"tidemark_events_applied_total", "Events that changed the state.", func(s *apply.Stats) int64 { return s.EventsApplied }},
		{"tidemark_events_reflected_total", "Events the snapshot already reflected (skipped).", func(s *apply.Stats) int64 { return s.Reflected }},
		{"tidemark_duplicates_skipped_total", "Events skipped as already applied (same event id).", func(s *apply.Stats) int64 { return s.Duplicates }},
		{"tidemark_redelivered_skipped_total", "Messages skipped as redelivered (same message id).", func(s *apply.Stats) int64 { return s.Redelivered }},
		{"tidemark_stale_skipped_total", "Changes older than the state (by version).", func(s *apply.Stats) int64 { return s.Stale }},
		{"tidemark_inconsistencies_total", "Patches whose oldData did not match the copy.", func(s *apply.Stats) int64 { return s.Inconsistencies }},
		{"tidemark_dead_letters_total", "Records kept in the dead-letter store.", func(s *apply.Stats) int64 { return s.DeadLetters }},
	} {
		r.Add(metrics.Metric{Name: m.name, Help: m.help, Kind: metrics.Counter, Read: stat(m.f)})
	}
	r.Add(metrics.Metric{Name: "tidemark_last_commit_timestamp_seconds", Help: "When the last batch was committed.", Kind: metrics.Gauge,
		Read: metrics.Value(func() float64 { return float64(g.lastCommit.Load()) / 1e9 })})
	r.Add(metrics.Metric{Name: "tidemark_source_lag_records", Help: "Records of a live stream not read yet (a Kafka partition, a stream shard).", Kind: metrics.Gauge,
		Read: func() []metrics.Sample {
			g.mu.Lock()
			ls := append([]Lagger(nil), g.laggers...)
			g.mu.Unlock()
			var out []metrics.Sample
			for _, l := range ls {
				for stream, n := range l.Lag() {
					out = append(out, metrics.Sample{Labels: map[string]string{"stream": stream}, Value: float64(n)})
				}
			}
			return out
		}})
	return r.Serve(ctx, addr, p.log)
}
