package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/tidemark-dev/tidemark/internal/pipeline"
)

// bar is a progress line redrawn on stderr at most 10 times a second; it
// draws nothing when stderr is not a terminal.
type bar struct {
	w     io.Writer
	mu    sync.Mutex
	label string
	unit  string
	total int64
	n     int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer) pipeline.Progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &bar{w: w}
}

func (b *bar) Start(label string, total int64, unit string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.label, b.total, b.unit, b.n = label, total, unit, 0
	b.start = time.Now()
	b.last = time.Time{}
}

func (b *bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += n
	if time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	b.draw()
}

func (b *bar) draw() {
	el := time.Since(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.n) / el
	}
	n, total, unit := float64(b.n), float64(b.total), b.unit
	if unit == "bytes" {
		n, total, rate, unit = n/(1<<20), total/(1<<20), rate/(1<<20), "MiB"
	}
	if b.total > 0 {
		const width = 30
		done := int(float64(width) * n / total)
		done = min(max(done, 0), width)
		fmt.Fprintf(b.w, "\r\033[K%s [%-*s] %.0f/%.0f %s %.0f/s", b.label, width, bar30[:done], n, total, unit, rate)
		return
	}
	fmt.Fprintf(b.w, "\r\033[K%s %.0f %s %.0f/s", b.label, n, unit, rate)
}

const bar30 = "=============================="

func (b *bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw()
	fmt.Fprintf(b.w, " (%.1fs)\n", time.Since(b.start).Seconds())
}
