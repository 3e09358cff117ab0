package scan_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/source/scan"
	"github.com/tidemark-dev/tidemark/internal/testutil/dynalite"
)

// tenures makes n realistic-sized items (about 2 KB each).
func tenures(n int) []map[string]types.AttributeValue {
	pad := make([]byte, 1800)
	for i := range pad {
		pad[i] = 'a' + byte(i%26)
	}
	out := make([]map[string]types.AttributeValue, n)
	for i := range out {
		out[i] = map[string]types.AttributeValue{
			"id":               &types.AttributeValueMemberS{Value: fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i)},
			"paymentReference": &types.AttributeValueMemberS{Value: fmt.Sprintf("%010d", 228000000+i)},
			"versionNumber":    &types.AttributeValueMemberN{Value: "3"},
			"isTenanted":       &types.AttributeValueMemberBOOL{Value: i%3 != 0},
			"charges": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"rent": &types.AttributeValueMemberN{Value: "112.54"}}},
			"notes": &types.AttributeValueMemberS{Value: string(pad)},
		}
	}
	return out
}

// positions is a committed-position store, as the state store would be.
type positions struct {
	mu sync.Mutex
	m  map[string]change.Position
}

func (p *positions) get(id string) (int64, []byte, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos, ok := p.m[id]
	if !ok {
		return 0, nil, false, nil
	}
	var tok []byte
	if pos.Token != "" {
		tok = []byte(pos.Token)
	}
	return pos.Offset, tok, true, nil
}

func (p *positions) commit(pos change.Position) {
	p.mu.Lock()
	p.m[pos.Source] = pos
	p.mu.Unlock()
}

// drain reads up to limit records (0: all), committing every position.
func drain(t *testing.T, src *scan.Source, pos *positions, limit int) []string {
	t.Helper()
	var keys []string
	for limit == 0 || len(keys) < limit {
		rec, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Change != nil {
			keys = append(keys, rec.Change.Key.String())
		}
		pos.commit(rec.Next)
	}
	return keys
}

func TestScanWithinBudget(t *testing.T) {
	endpoint := dynalite.Start(t)
	c := dynalite.Client(t, endpoint)
	dynalite.CreateTable(t, c, "TenureInformation", "id", 0)
	const n = 20000
	dynalite.Load(t, c, "TenureInformation", tenures(n))

	const budget = 2000.0 // RCU/s
	pos := &positions{m: map[string]change.Position{}}
	src, err := scan.New(context.Background(), c, scan.Options{Table: "TenureInformation", Entity: "tenure", HashAttr: "id",
		VersionAttr: "versionNumber", Segments: 4, BudgetRCU: budget}, pos.get)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	keys := drain(t, src, pos, 0)
	el := time.Since(start).Seconds()
	src.Close()
	st := src.Stats()
	if len(keys) != n || st.Items != n {
		t.Fatalf("read %d items (stats %d), want %d", len(keys), st.Items, n)
	}
	sort.Strings(keys)
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			t.Fatalf("item %s read twice", keys[i])
		}
	}
	rate := st.Consumed / el
	t.Logf("%d items in %.1fs: %.0f items/s, %.0f RCU consumed, %.0f RCU/s against a budget of %.0f, %d pages",
		n, el, float64(n)/el, st.Consumed, rate, budget, st.Pages)
	if st.Consumed < budget*2 {
		t.Fatalf("the scan consumed only %.0f RCU: too little to judge the rate", st.Consumed)
	}
	if rate > budget*1.1 {
		t.Errorf("consumed %.0f RCU/s, over the budget of %.0f by more than 10%%", rate, budget)
	}
	if rate < budget*0.9 {
		t.Errorf("consumed %.0f RCU/s, under the budget of %.0f by more than 10%% (the budget should be the bound)", rate, budget)
	}
	for seg := 0; seg < 4; seg++ {
		if p := pos.m[src.SourceID(seg)]; p.Offset != -1 {
			t.Errorf("segment %d: position %+v, want done", seg, p)
		}
	}
}

// TestScanResumes: stopped mid-scan, a new scan from the committed
// positions reads every item not read yet and no committed page again.
func TestScanResumes(t *testing.T) {
	endpoint := dynalite.Start(t)
	c := dynalite.Client(t, endpoint)
	dynalite.CreateTable(t, c, "Tenures", "id", 0)
	const n = 3000
	dynalite.Load(t, c, "Tenures", tenures(n))
	pos := &positions{m: map[string]change.Position{}}
	open := func() *scan.Source {
		s, err := scan.New(context.Background(), c, scan.Options{Table: "Tenures", Entity: "tenure", HashAttr: "id",
			Segments: 3, BudgetRCU: 400, Limit: 50}, pos.get) // pages of about 50 items at this budget
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	seen := map[string]int{}
	var pages int64
	for _, stopAfter := range []int{700, 900, 0} {
		s := open()
		for _, k := range drain(t, s, pos, stopAfter) {
			seen[k]++
		}
		s.Close()
		pages += s.Stats().Pages
	}
	if len(seen) != n {
		t.Fatalf("read %d distinct items, want %d", len(seen), n)
	}
	// Rows of a page whose last row was not committed are read again
	// (harmless: the same images); a committed page never is.
	again := 0
	for _, c := range seen {
		again += c - 1
	}
	if again > 2*3*60 {
		t.Errorf("%d rows read again, more than the pages in flight at the two stops", again)
	}
	if pages > int64(n/40+3+2*3*2) {
		t.Errorf("%d pages read, want about %d", pages, n/50+3)
	}
}

func TestOnDemandNeedsBudget(t *testing.T) {
	endpoint := dynalite.Start(t)
	c := dynalite.Client(t, endpoint)
	dynalite.CreateTable(t, c, "Tenures", "id", 0)
	_, err := scan.New(context.Background(), c, scan.Options{Table: "Tenures", HashAttr: "id", BudgetFraction: 0.5},
		func(string) (int64, []byte, bool, error) { return 0, nil, false, nil })
	if !errors.Is(err, scan.ErrNoBudget) {
		t.Fatalf("on-demand table with a fractional budget: %v", err)
	}
}
