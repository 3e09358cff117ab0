package scan_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/source/scan"
	"github.com/tidemark-dev/tidemark/internal/testutil/dynalite"
)

// BenchmarkScan scans 20,000 tenure-sized items from dynalite at two
// budgets and reports items/s and the consumed RCU/s (the budget holds when
// it, not the server, is the bound).
func BenchmarkScan(b *testing.B) {
	endpoint := dynalite.Start(b)
	c := dynalite.Client(b, endpoint)
	dynalite.CreateTable(b, c, "TenureInformation", "id", 0)
	const n = 20000
	dynalite.Load(b, c, "TenureInformation", tenures(n))
	for _, budget := range []float64{1000, 4000} {
		b.Run(fmt.Sprintf("budget=%.0f", budget), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				pos := &positions{m: map[string]change.Position{}}
				src, err := scan.New(context.Background(), c, scan.Options{Table: "TenureInformation", Entity: "tenure",
					HashAttr: "id", Segments: 4, BudgetRCU: budget}, pos.get)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				got := 0
				for {
					rec, err := src.Next(context.Background())
					if err != nil {
						break
					}
					if rec.Change != nil {
						got++
					}
				}
				el := time.Since(start).Seconds()
				src.Close()
				if got != n {
					b.Fatalf("%d items", got)
				}
				b.ReportMetric(float64(n)/el, "items/s")
				b.ReportMetric(src.Stats().Consumed/el, "RCU/s")
			}
		})
	}
}
