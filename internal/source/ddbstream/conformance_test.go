package ddbstream

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/change/changetest"
)

// tokenBook remembers the token of every position a source yielded, so
// that the conformance suite's offset-only position store can stand in for
// the state store's offset-and-token one: a committed offset always is the
// Next of a yielded record.
type tokenBook struct {
	mu sync.Mutex
	m  map[string]string // source + "\x00" + offset → token
}

func (b *tokenBook) add(p change.Position) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[fmt.Sprintf("%s\x00%d", p.Source, p.Offset)] = p.Token
}

func (b *tokenBook) fn(pos changetest.PositionFunc) PositionTokenFunc {
	return func(source string) (int64, []byte, bool, error) {
		off, ok, err := pos(source)
		if !ok || err != nil {
			return off, nil, ok, err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		tok, found := b.m[fmt.Sprintf("%s\x00%d", source, off)]
		if !found {
			return 0, nil, false, fmt.Errorf("no token recorded for %s at %d", source, off)
		}
		return off, []byte(tok), true, nil
	}
}

// booked wraps a source for the suite: it records tokens, and drops bare
// flush records (they carry no position, and their number depends on
// timing).
type booked struct {
	*Source
	book *tokenBook
}

func (b booked) Next(ctx context.Context) (change.Record, error) {
	for {
		r, err := b.Source.Next(ctx)
		if err != nil {
			return r, err
		}
		if isFlush(r) {
			continue
		}
		b.book.add(r.Next)
		return r, nil
	}
}

// conformanceOpener opens a source through the token book.
func conformanceOpener(open func(t testing.TB, pos PositionTokenFunc) *Source) changetest.Opener {
	book := &tokenBook{m: map[string]string{}}
	return func(t testing.TB, pos changetest.PositionFunc) change.Source {
		return booked{open(t, book.fn(pos)), book}
	}
}

// TestConformance runs the change.Source suite on a split shard: a closed
// parent with 7 records and two children (one closed).
func TestConformance(t *testing.T) {
	f := newFake("tab")
	f.addShard("shard-p", "")
	f.addShard("shard-c1", "shard-p")
	f.addShard("shard-c2", "shard-p")
	for i := range 7 {
		f.put("shard-p", types.OperationTypeInsert, fmt.Sprintf("k%d", i), map[string]types.AttributeValue{"versionNumber": n("1")})
	}
	for i := range 4 {
		f.put("shard-c1", types.OperationTypeModify, fmt.Sprintf("k%d", i), map[string]types.AttributeValue{"versionNumber": n("2")})
		f.put("shard-c2", types.OperationTypeRemove, fmt.Sprintf("k%d", 4+i), nil)
	}
	f.closeShard("shard-p")
	f.closeShard("shard-c2")
	// meta + 7 + closed + 4 + 4 + closed
	const want = 1 + 7 + 1 + 4 + 4 + 1
	opts := fakeOptions("tab")
	opts.IdleTimeout = 150 * time.Millisecond
	changetest.Run(t, conformanceOpener(func(t testing.TB, pos PositionTokenFunc) *Source {
		s, err := New(context.Background(), opts, f, pos)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}), want)
}
