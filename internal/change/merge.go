package change

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Merge reads several sources at once, each in its own goroutine, and
// yields their records as they arrive: each source's records keep their
// order, which is all the apply rules need (a key lives in one stream). It
// returns io.EOF once every source has, and the first other error of any
// source. Live sources that never end are merged the same way; the merge
// then ends with its context or Close.
func Merge(srcs ...Source) Source {
	if len(srcs) == 1 {
		return srcs[0]
	}
	return &merged{srcs: srcs}
}

type merged struct {
	srcs []Source

	once   sync.Once
	cancel context.CancelFunc
	out    chan mergedRec
	wg     sync.WaitGroup
	live   int
	err    error
	closed bool
}

type mergedRec struct {
	rec Record
	err error
}

func (m *merged) start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.out = make(chan mergedRec, 64)
	m.live = len(m.srcs)
	for _, s := range m.srcs {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			for {
				rec, err := s.Next(ctx)
				select {
				case m.out <- mergedRec{rec, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// Next returns the next record of any source.
func (m *merged) Next(ctx context.Context) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	if m.closed {
		return Record{}, ErrClosed
	}
	m.once.Do(m.start)
	for {
		if m.err != nil {
			return Record{}, m.err
		}
		if m.live == 0 {
			return Record{}, io.EOF
		}
		select {
		case r := <-m.out:
			switch {
			case r.err == nil:
				return r.rec, nil
			case errors.Is(r.err, io.EOF):
				m.live--
			default:
				m.err = r.err
			}
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
}

// Close stops the readers and closes every source.
func (m *merged) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.once.Do(func() { m.cancel = func() {} })
	m.cancel()
	m.wg.Wait()
	var errs []error
	for _, s := range m.srcs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
