package gen

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGenerate measures tenures written per second for 100,000 tenures
// and 20,000 events, and the peak heap while generating.
func BenchmarkGenerate(b *testing.B) {
	for _, truth := range []bool{false, true} {
		name := "export+events"
		if truth {
			name += "+truth"
		}
		b.Run(name, func(b *testing.B) {
			benchGenerate(b, Options{Tenures: 100_000, Events: 20_000, BadLines: 50, Seed: 1, Truth: truth})
		})
	}
}

func benchGenerate(b *testing.B, opts Options) {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	var sum Summary
	for i := 0; i < b.N; i++ {
		opts.Dir = b.TempDir()
		var err error
		if sum, err = Generate(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(opts.Tenures*b.N)/elapsed.Seconds(), "tenures/s")
	b.ReportMetric(float64(sum.DataBytes)/float64(sum.Items), "bytes/item")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
