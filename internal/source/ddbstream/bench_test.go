package ddbstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tidemark-dev/tidemark/internal/apply"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// benchEvents is the number of stream records one benchmark iteration
// follows: every tenure inserted, then a quarter of them modified.
const benchEvents = 5000

func benchTenure(i, version int) map[string]dbtypes.AttributeValue {
	s := func(v string) dbtypes.AttributeValue { return &dbtypes.AttributeValueMemberS{Value: v} }
	item := map[string]dbtypes.AttributeValue{
		"id":                s(fmt.Sprintf("%08d-1b2c-4d5e-8f90-%012d", i, i)),
		"versionNumber":     &dbtypes.AttributeValueMemberN{Value: fmt.Sprint(version)},
		"paymentReference":  s(fmt.Sprintf("%010d", 1900000000+i)),
		"startOfTenureDate": s("2019-04-01T00:00:00.0000000Z"),
		"isTenanted":        &dbtypes.AttributeValueMemberBOOL{Value: true},
		"tenureType": &dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{
			"code": s("SEC"), "description": s("Secure")}},
		"tenuredAsset": &dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{
			"id": s(fmt.Sprintf("asset-%d", i)), "type": s("Dwelling"), "fullAddress": s(fmt.Sprintf("Flat %d, 1 Mare Street, London E8", i)),
			"uprn": s(fmt.Sprint(100021000000 + i)), "propertyReference": s(fmt.Sprintf("%08d", i))}},
		"charges": &dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{
			"rent": &dbtypes.AttributeValueMemberN{Value: "112.35"}, "serviceCharge": &dbtypes.AttributeValueMemberN{Value: "8.10"},
			"billingFrequency": s("Weekly")}},
		"householdMembers": &dbtypes.AttributeValueMemberL{Value: []dbtypes.AttributeValue{
			&dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{"id": s(fmt.Sprintf("person-%d", i)),
				"type": s("Person"), "fullName": s("A Tenant"), "isResponsible": &dbtypes.AttributeValueMemberBOOL{Value: true},
				"personTenureType": s("Tenant")}}}},
	}
	return item
}

// benchLoad writes the items with BatchWriteItem, 4 calls in flight.
func benchLoad(b *testing.B, c *dynamodb.Client, table string, items []map[string]dbtypes.AttributeValue) {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	next := make(chan []map[string]dbtypes.AttributeValue)
	for range 4 {
		wg.Go(func() {
			for batch := range next {
				req := map[string][]dbtypes.WriteRequest{}
				for _, it := range batch {
					req[table] = append(req[table], dbtypes.WriteRequest{PutRequest: &dbtypes.PutRequest{Item: it}})
				}
				for len(req[table]) > 0 {
					out, err := c.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: req})
					if err != nil {
						errs <- err
						return
					}
					req = out.UnprocessedItems
				}
			}
		})
	}
	for i := 0; i < len(items); i += 25 {
		next <- items[i:min(i+25, len(items))]
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("loading %s: %v", table, err)
	default:
	}
}

// BenchmarkStreamFollow measures stream records applied per second: read
// from DynamoDB Local's stream (GetRecords, 1000 records a call), converted
// and applied by apply.Consume into a pebble state store, committed (with
// the shard positions) every 1000 records. The table is written before the
// clock starts; the clock stops when the last record is committed.
func BenchmarkStreamFollow(b *testing.B) {
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		l := newLocal(b, dbtypes.StreamViewTypeNewAndOldImages)
		inserts := benchEvents * 4 / 5
		items := make([]map[string]dbtypes.AttributeValue, 0, benchEvents)
		for k := range inserts {
			items = append(items, benchTenure(k, 1))
		}
		for k := range benchEvents - inserts {
			items = append(items, benchTenure(k, 2))
		}
		benchLoad(b, l.db, l.table, items[:inserts])
		benchLoad(b, l.db, l.table, items[inserts:])
		store, err := state.Open(b.TempDir(), state.Options{})
		if err != nil {
			b.Fatal(err)
		}
		mat := apply.New(store, map[string]apply.Entity{"tenure": {HashAttr: "id"}}, apply.Options{})
		opts := l.options()
		opts.IdleTimeout = 0
		src, err := New(context.Background(), opts, l.api, store.PositionToken)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		applied := 0
		b.StartTimer()
		start := time.Now()
		err = mat.Consume(ctx, src, 1000, func(k int) {
			if applied += k; applied >= benchEvents+1 { // + the stream position
				cancel()
			}
		})
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		if !errors.Is(err, context.Canceled) {
			b.Fatalf("Consume: %v (applied %d)", err, applied)
		}
		_ = src.Close()
		if mat.Stats.Applied < int64(benchEvents) {
			b.Fatalf("applied %d changes, want %d (stats %+v)", mat.Stats.Applied, benchEvents, mat.Stats)
		}
		_ = store.Close()
		total += elapsed
	}
	b.ReportMetric(float64(benchEvents*b.N)/total.Seconds(), "events/s")
}
