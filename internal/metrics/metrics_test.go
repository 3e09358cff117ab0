package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestWriteTo(t *testing.T) {
	var r Registry
	r.Add(Metric{Name: "tidemark_lag", Help: "consumer lag", Kind: Gauge, Read: func() []Sample {
		return []Sample{{Labels: map[string]string{"topic": "t", "partition": "1"}, Value: 7},
			{Labels: map[string]string{"topic": `a"b`, "partition": "0"}, Value: 0}}
	}})
	r.Add(Metric{Name: "tidemark_events_applied_total", Help: "events\napplied", Kind: Counter, Read: Value(func() float64 { return 1.5e6 })})
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP tidemark_events_applied_total events\napplied
# TYPE tidemark_events_applied_total counter
tidemark_events_applied_total 1.5e+06
# HELP tidemark_lag consumer lag
# TYPE tidemark_lag gauge
tidemark_lag{partition="0",topic="a\"b"} 0
tidemark_lag{partition="1",topic="t"} 7
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestServe(t *testing.T) {
	var r Registry
	r.Add(Metric{Name: "up", Help: "1", Kind: Gauge, Read: Value(func() float64 { return 1 })})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := r.Serve(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), "\nup 1\n") || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("body %q, content type %q", body, res.Header.Get("Content-Type"))
	}
	if _, err := r.Serve(ctx, addr, nil); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Errorf("a second listener on %s: %v, want an error naming --metrics-addr", addr, err)
	}
}
