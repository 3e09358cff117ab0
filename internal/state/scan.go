package state

import (
	"runtime"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Decoding stored records costs far more than reading them, so long scans
// decode in parallel: one goroutine reads batches of raw pairs in key order,
// workers decode them, and the caller receives them in key order.

const scanBatch = 64

type rawPair struct{ k, v []byte }

type scanJob struct {
	pairs []rawPair
	buf   []byte // the bytes of the pairs, copied from the iterator
	recs  []*Record
	imgs  [][]byte
	err   error
	done  chan struct{}
}

// scanDecoded calls fn for every pair under prefix p, in key order, with the
// record and image decode(k, v) returned. It stops at the first error.
func (s *Store) scanDecoded(p []byte, decode func(k, v []byte) (*Record, []byte, error), fn func(k []byte, r *Record, img []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
	if err != nil {
		return err
	}
	workers := max(runtime.GOMAXPROCS(0), 1)
	ordered := make(chan *scanJob, 2*workers)
	work := make(chan *scanJob, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				j.recs = make([]*Record, len(j.pairs))
				j.imgs = make([][]byte, len(j.pairs))
				for i, pr := range j.pairs {
					if j.recs[i], j.imgs[i], j.err = decode(pr.k, pr.v); j.err != nil {
						break
					}
				}
				close(j.done)
			}
		}()
	}
	var iterErr error
	go func() { // the reader
		defer close(ordered)
		defer close(work)
		j := &scanJob{done: make(chan struct{})}
		send := func() bool {
			select {
			case ordered <- j:
			case <-stop:
				return false
			}
			select {
			case work <- j:
			case <-stop:
				close(j.done) // never decoded: the caller only drains it
				return false
			}
			j = &scanJob{done: make(chan struct{})}
			return true
		}
		for ok := it.First(); ok; ok = it.Next() {
			// One buffer holds the job's pairs: it is never reused, so
			// the slices stay valid for the caller.
			k, v := it.Key(), it.Value()
			if j.buf == nil {
				j.buf = make([]byte, 0, scanBatch*(len(k)+len(v))*5/4)
			}
			if cap(j.buf)-len(j.buf) < len(k)+len(v) {
				j.buf = make([]byte, 0, max(cap(j.buf), len(k)+len(v)))
			}
			n := len(j.buf)
			j.buf = append(append(j.buf, k...), v...)
			j.pairs = append(j.pairs, rawPair{j.buf[n : n+len(k) : n+len(k)], j.buf[n+len(k) : len(j.buf) : len(j.buf)]})
			if len(j.pairs) == scanBatch && !send() {
				return
			}
		}
		iterErr = it.Error()
		if len(j.pairs) > 0 {
			send()
		}
	}()
	var ferr error
	for j := range ordered {
		<-j.done
		if ferr == nil && j.err != nil {
			ferr = j.err
		}
		for i := 0; ferr == nil && i < len(j.pairs); i++ {
			ferr = fn(j.pairs[i].k, j.recs[i], j.imgs[i])
		}
		if ferr != nil {
			break
		}
	}
	close(stop)
	for j := range ordered { // drain so the reader can finish
		<-j.done
	}
	wg.Wait()
	cerr := it.Close()
	switch {
	case ferr != nil:
		return ferr
	case iterErr != nil:
		return iterErr
	}
	return cerr
}
