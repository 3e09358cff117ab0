package change_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
)

// numbered yields n records whose Next offsets are 1..n, then io.EOF; with
// live set it blocks after them instead, until its context ends.
type numbered struct {
	n, i int
	live bool
}

func (s *numbered) Next(ctx context.Context) (change.Record, error) {
	if s.i < s.n {
		s.i++
		return change.Record{Next: change.Position{Source: "s", Offset: int64(s.i)}}, nil
	}
	if s.live {
		<-ctx.Done()
		return change.Record{}, ctx.Err()
	}
	return change.Record{}, io.EOF
}

func (s *numbered) Close() error { return nil }

// TestReadAheadStages: every stage sees every chunk once, in order, after
// the stages before it and before the consumer gets its records; the
// records keep their order and io.EOF ends them.
func TestReadAheadStages(t *testing.T) {
	for _, tc := range []struct{ n, chunk, stages int }{
		{0, 4, 1}, {1, 4, 1}, {10, 3, 1}, {10, 3, 2}, {100, 7, 3}, {64, 64, 2},
	} {
		t.Run(fmt.Sprintf("n%d-chunk%d-stages%d", tc.n, tc.chunk, tc.stages), func(t *testing.T) {
			var mu sync.Mutex
			seen := make([][]int64, tc.stages) // offsets each stage saw
			var stages []func([]change.Record)
			for i := range tc.stages {
				stages = append(stages, func(recs []change.Record) {
					mu.Lock()
					defer mu.Unlock()
					for _, r := range recs {
						if i > 0 && len(seen[i-1]) <= len(seen[i]) {
							t.Errorf("stage %d saw offset %d before stage %d", i, r.Next.Offset, i-1)
						}
						seen[i] = append(seen[i], r.Next.Offset)
					}
				})
			}
			src := change.ReadAhead(&numbered{n: tc.n}, tc.chunk, stages...)
			defer src.Close()
			for want := int64(1); ; want++ {
				rec, err := src.Next(context.Background())
				if errors.Is(err, io.EOF) {
					if want != int64(tc.n)+1 {
						t.Fatalf("io.EOF after %d records, want %d", want-1, tc.n)
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Next.Offset != want {
					t.Fatalf("record %d has offset %d", want, rec.Next.Offset)
				}
				mu.Lock()
				last := seen[tc.stages-1]
				if len(last) < int(want) {
					t.Errorf("record %d reached the consumer before the last stage", want)
				}
				mu.Unlock()
			}
			for i, offs := range seen {
				if len(offs) != tc.n {
					t.Errorf("stage %d saw %d records, want %d", i, len(offs), tc.n)
				}
				for j, o := range offs {
					if o != int64(j+1) {
						t.Errorf("stage %d saw offset %d at %d", i, o, j)
						break
					}
				}
			}
		})
	}
}

// TestReadAheadStagesClose: Close returns while a stage is held up and the
// source blocks, and leaves no goroutine running a stage.
func TestReadAheadStagesClose(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	slow := func([]change.Record) {
		mu.Lock()
		calls++
		mu.Unlock()
		select {
		case <-release:
		case <-time.After(50 * time.Millisecond):
		}
	}
	src := change.ReadAhead(&numbered{n: 50, live: true}, 4, slow, func([]change.Record) {})
	if _, err := src.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- src.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("Close did not return")
	}
	mu.Lock()
	after := calls
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	if calls != after {
		t.Errorf("a stage ran %d times after Close returned", calls-after)
	}
	mu.Unlock()
	if _, err := src.Next(context.Background()); !errors.Is(err, change.ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
}
