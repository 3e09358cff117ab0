package scan_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/source/scan"
)

// throttler is a table in memory that throttles every third Scan call:
// dynalite reports capacity but never throttles, so this path needs a fake.
type throttler struct {
	mu    sync.Mutex
	items []map[string]types.AttributeValue
	calls int
	errs  int
}

func (f *throttler) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableName: aws.String("T"),
		ProvisionedThroughput: &types.ProvisionedThroughputDescription{ReadCapacityUnits: aws.Int64(1000)}}}, nil
}

func (f *throttler) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls%3 == 0 {
		f.errs++
		codes := []string{"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
		return nil, &smithy.GenericAPIError{Code: codes[f.errs%3], Message: "slow down"}
	}
	seg, total := int(aws.ToInt32(in.Segment)), int(aws.ToInt32(in.TotalSegments))
	start := 0
	if k, ok := in.ExclusiveStartKey["i"]; ok {
		fmt.Sscan(k.(*types.AttributeValueMemberN).Value, &start)
		start++
	}
	out := &dynamodb.ScanOutput{ConsumedCapacity: &types.ConsumedCapacity{}}
	n := 0
	for i := start; i < len(f.items) && n < int(aws.ToInt32(in.Limit)); i++ {
		if i%total != seg {
			continue
		}
		out.Items = append(out.Items, f.items[i])
		out.LastEvaluatedKey = map[string]types.AttributeValue{"i": &types.AttributeValueMemberN{Value: fmt.Sprint(i)}}
		n++
	}
	if n < int(aws.ToInt32(in.Limit)) {
		out.LastEvaluatedKey = nil
	}
	out.ConsumedCapacity.CapacityUnits = aws.Float64(0.5 * float64(n))
	return out, nil
}

// TestThrottlingIsRetried: throttled pages are retried with backoff and
// counted, nothing is lost or read twice, and a fractional budget of a
// provisioned table works.
func TestThrottlingIsRetried(t *testing.T) {
	f := &throttler{}
	for i := 0; i < 600; i++ {
		f.items = append(f.items, map[string]types.AttributeValue{"i": &types.AttributeValueMemberN{Value: fmt.Sprint(i)},
			"id": &types.AttributeValueMemberS{Value: fmt.Sprintf("k%04d", i)}})
	}
	pos := &positions{m: map[string]change.Position{}}
	src, err := scan.New(context.Background(), f, scan.Options{Table: "T", Entity: "t", HashAttr: "id", Segments: 3,
		BudgetFraction: 0.5, Limit: 20}, pos.get)
	if err != nil {
		t.Fatal(err)
	}
	keys := drain(t, src, pos, 0)
	src.Close()
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("%s read twice", k)
		}
		seen[k] = true
	}
	st := src.Stats()
	if len(seen) != 600 || st.Throttles == 0 || st.Budget != 500 {
		t.Fatalf("%d items, stats %+v; want 600 items, throttles counted, a budget of 500", len(seen), st)
	}
}
