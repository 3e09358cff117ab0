package change

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("source closed")

// ReadAhead runs src in its own goroutine, chunk records ahead of the
// consumer, so that decoding (in the source) and applying (in the consumer)
// use two cores. Records keep their order. The inner source sees a context
// that ends only with Close; a cancelled context of Next returns at once and
// loses nothing (the records stay queued for the next call).
//
// Each of stages runs on a goroutine of its own and sees every chunk, in
// order, before the consumer gets its records: a stage does work the
// consumer would otherwise do itself (read the state the records will
// need). A stage must not change the records.
func ReadAhead(src Source, chunk int, stages ...func([]Record)) Source {
	if chunk < 1 {
		chunk = 1
	}
	return &readAhead{src: src, chunk: chunk, stages: stages}
}

type readAhead struct {
	src    Source
	chunk  int
	stages []func([]Record)

	once   sync.Once
	cancel context.CancelFunc
	out    chan raChunk
	done   chan struct{}
	cur    []Record
	err    error
	closed bool
}

type raChunk struct {
	recs []Record
	err  error
}

func (r *readAhead) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	var wg sync.WaitGroup
	first := make(chan raChunk, 2)
	wg.Go(func() { r.read(ctx, first) })
	r.out = first
	for _, stage := range r.stages {
		in, out := r.out, make(chan raChunk, 2)
		wg.Go(func() { runStage(ctx, stage, in, out) })
		r.out = out
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
}

// runStage calls stage on every chunk from in, then passes it on.
func runStage(ctx context.Context, stage func([]Record), in <-chan raChunk, out chan<- raChunk) {
	defer close(out)
	for c := range in {
		if len(c.recs) > 0 {
			stage(c.recs)
		}
		select {
		case out <- c:
		case <-ctx.Done():
			return
		}
	}
}

// read reads the inner source into chunks.
func (r *readAhead) read(ctx context.Context, out chan<- raChunk) {
	defer close(out)
	buf := make([]Record, 0, r.chunk)
	for {
		rec, err := r.src.Next(ctx)
		if err == nil {
			buf = append(buf, rec)
			// A flush hint goes out at once: a live source has
			// nothing more at hand.
			if len(buf) < r.chunk && !rec.Flush {
				continue
			}
		}
		select {
		case out <- raChunk{recs: buf, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
		buf = make([]Record, 0, r.chunk)
	}
}

// Next returns the next record of the inner source.
func (r *readAhead) Next(ctx context.Context) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	if r.closed {
		return Record{}, ErrClosed
	}
	r.once.Do(r.start)
	for len(r.cur) == 0 {
		if r.err != nil {
			return Record{}, r.err
		}
		select {
		case c, ok := <-r.out:
			if !ok {
				r.err = ErrClosed
				continue
			}
			r.cur, r.err = c.recs, c.err
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
	rec := r.cur[0]
	r.cur = r.cur[1:]
	return rec, nil
}

// Close stops the reader goroutine and closes the inner source.
func (r *readAhead) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.once.Do(func() { r.cancel = func() {}; r.done = make(chan struct{}); close(r.done) })
	r.cancel()
	<-r.done
	return r.src.Close()
}
