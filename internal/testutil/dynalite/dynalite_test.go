package dynalite_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tidemark-dev/tidemark/internal/testutil/dynalite"
)

func items(n, payload int) []map[string]types.AttributeValue {
	pad := strings.Repeat("x", payload)
	out := make([]map[string]types.AttributeValue, n)
	for i := range out {
		out[i] = map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: fmt.Sprintf("item-%06d", i)},
			"n":       &types.AttributeValueMemberN{Value: fmt.Sprint(i)},
			"payload": &types.AttributeValueMemberS{Value: pad},
		}
	}
	return out
}

type page struct {
	segment int32
	count   int
	units   float64
	hasNext bool
}

// TestParallelScan loads 2,000 items and reads them back with a parallel
// Scan (4 segments, 100 items a page), as the live-table source will.
func TestParallelScan(t *testing.T) {
	endpoint := dynalite.Start(t)
	c := dynalite.Client(t, endpoint)
	const table, total, segments, limit = "entities", 2000, 4, 100
	dynalite.CreateTable(t, c, table, "pk", 0)
	dynalite.Load(t, c, table, items(total, 10))

	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		pages []page
		wg    sync.WaitGroup
		errs  = make(chan error, segments)
	)
	for seg := range int32(segments) {
		wg.Go(func() {
			var start map[string]types.AttributeValue
			for {
				out, err := c.Scan(t.Context(), &dynamodb.ScanInput{
					TableName:              aws.String(table),
					Segment:                aws.Int32(seg),
					TotalSegments:          aws.Int32(segments),
					Limit:                  aws.Int32(limit),
					ExclusiveStartKey:      start,
					ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
				})
				if err != nil {
					errs <- fmt.Errorf("segment %d: %w", seg, err)
					return
				}
				if out.ConsumedCapacity == nil || out.ConsumedCapacity.CapacityUnits == nil {
					errs <- fmt.Errorf("segment %d: a page without ConsumedCapacity", seg)
					return
				}
				if got := aws.ToString(out.ConsumedCapacity.TableName); got != table {
					errs <- fmt.Errorf("segment %d: ConsumedCapacity.TableName = %q", seg, got)
					return
				}
				if len(out.Items) > limit || int(out.Count) != len(out.Items) {
					errs <- fmt.Errorf("segment %d: %d items, Count %d, Limit %d", seg, len(out.Items), out.Count, limit)
					return
				}
				mu.Lock()
				for _, it := range out.Items {
					seen[it["pk"].(*types.AttributeValueMemberS).Value]++
				}
				pages = append(pages, page{seg, len(out.Items), *out.ConsumedCapacity.CapacityUnits, out.LastEvaluatedKey != nil})
				mu.Unlock()
				if out.LastEvaluatedKey == nil {
					return
				}
				start = out.LastEvaluatedKey
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if len(seen) != total {
		t.Errorf("scan returned %d distinct items, want %d", len(seen), total)
	}
	for i := range total {
		key := fmt.Sprintf("item-%06d", i)
		if n := seen[key]; n != 1 {
			t.Errorf("item %s returned %d times, want once", key, n)
		}
	}
	perSegment := map[int32]int{}
	var units float64
	for _, p := range pages {
		perSegment[p.segment] += p.count
		units += p.units
		if p.count > 0 && p.units <= 0 {
			t.Errorf("segment %d: a page of %d items reports %v capacity units", p.segment, p.count, p.units)
		}
	}
	for seg := range int32(segments) {
		if perSegment[seg] == 0 {
			t.Errorf("segment %d returned no items", seg)
		}
	}
	t.Logf("%d pages, items per segment %v, %v capacity units in all", len(pages), perSegment, units)
	for _, p := range pages {
		if p.count < limit {
			t.Logf("short page: segment %d, %d items, %v units, LastEvaluatedKey %v", p.segment, p.count, p.units, p.hasNext)
		}
	}
}

// BenchmarkLoad20k measures Load with 20,000 items of about 2 KB. Run it
// once: go test -run '^$' -bench Load20k -benchtime 1x ./internal/testutil/dynalite/
func BenchmarkLoad20k(b *testing.B) {
	endpoint := dynalite.Start(b)
	c := dynalite.Client(b, endpoint)
	data := items(20000, 2000)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		table := fmt.Sprintf("load%d", i)
		dynalite.CreateTable(b, c, table, "pk", 0)
		b.StartTimer()
		start := time.Now()
		dynalite.Load(b, c, table, data)
		b.ReportMetric(float64(len(data))/time.Since(start).Seconds(), "items/s")
	}
}
