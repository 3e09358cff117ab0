// Package metrics serves tidemark's metrics in the Prometheus text format
// (version 0.0.4) on /metrics, with no dependency: a scrape calls the
// registered collectors, each of which writes its current values.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is a metric's type.
type Kind string

// The kinds used.
const (
	Counter Kind = "counter"
	Gauge   Kind = "gauge"
)

// Sample is one value of a metric, with its labels.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Metric is a named metric and how to read its samples.
type Metric struct {
	Name, Help string
	Kind       Kind
	Read       func() []Sample
}

// Registry holds the metrics to serve. It is safe for concurrent use; Read
// functions must be too.
type Registry struct {
	mu      sync.Mutex
	metrics []Metric
}

// Add registers a metric.
func (r *Registry) Add(m Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.metrics = append(r.metrics, m)
}

// Value is a helper for a metric with one unlabelled sample.
func Value(f func() float64) func() []Sample {
	return func() []Sample { return []Sample{{Value: f()}} }
}

// WriteTo writes every metric in the text format, sorted by name.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	ms := append([]Metric(nil), r.metrics...)
	r.mu.Unlock()
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.Name, escapeHelp(m.Help), m.Name, m.Kind)
		samples := m.Read()
		sort.SliceStable(samples, func(i, j int) bool { return labelString(samples[i].Labels) < labelString(samples[j].Labels) })
		for _, s := range samples {
			b.WriteString(m.Name)
			b.WriteString(labelString(s.Labels))
			b.WriteByte(' ')
			b.WriteString(strconv.FormatFloat(s.Value, 'g', -1, 64))
			b.WriteByte('\n')
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func labelString(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(l[k]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// ServeHTTP serves the metrics.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = r.WriteTo(w)
}

// Serve listens on addr and serves /metrics until ctx ends. It returns the
// address it listens on (addr may ask for port 0) once it listens.
func (r *Registry) Serve(ctx context.Context, addr string, log *slog.Logger) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics: listening on %s (--metrics-addr): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", r)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Warn("metrics server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return l.Addr().String(), nil
}
