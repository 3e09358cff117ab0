package lake

import (
	"os"

	"github.com/parquet-go/parquet-go"
)

// rowPipe hands shredded rows to a goroutine that writes them, so that
// reading and shredding the rows and encoding them into Parquet run on
// two cores. Rows are copied into batches (values and bytes in reused
// buffers: the shredder's rows point into its own buffers and into the
// scanner's row, both reused). Each part's temp file is created on the
// adding side when its first row is added (every fileRows rows); the
// writer finishes the previous part and writes the rows in order.
type rowPipe struct {
	pw   *partWriter
	free chan *rowBatch
	full chan *rowBatch
	done chan struct{}
	cur  *rowBatch
	rows int   // rows added
	err  error // the writer's first error; read after done is closed
}

type rowBatch struct {
	vals  []parquet.Value
	ends  []int // where each row's values end in vals
	bytes []byte
	rows  []parquet.Row
	files []fileAt // the parts that start in this batch
}

// fileAt is a part's temp file, whose first row is the batch's row at.
type fileAt struct {
	at int
	f  *os.File
}

const (
	pipeBatchRows = 256
	pipeBatches   = 4
)

func newRowPipe(pw *partWriter) *rowPipe {
	p := &rowPipe{pw: pw, free: make(chan *rowBatch, pipeBatches), full: make(chan *rowBatch, pipeBatches), done: make(chan struct{})}
	for range pipeBatches {
		p.free <- &rowBatch{}
	}
	go func() {
		defer close(p.done)
		for b := range p.full {
			if p.err == nil {
				b.rows = b.rows[:0]
				start := 0
				for _, end := range b.ends {
					b.rows = append(b.rows, b.vals[start:end:end])
					start = end
				}
				// The rows go in runs, each ending where a part starts.
				rows, files, at := b.rows, b.files, 0
				for p.err == nil && len(rows) > 0 {
					end := len(rows)
					if len(files) > 0 {
						if files[0].at == at {
							p.err = pw.switchTo(files[0].f)
							files = files[1:]
							continue
						}
						end = files[0].at - at
					}
					p.err = pw.writeRows(rows[:end])
					rows, at = rows[end:], at+end
				}
			}
			for _, f := range b.files {
				if pw.f != f.f {
					f.f.Close() // not reached (an error) or already closed: a no-op
				}
			}
			clear(b.files)
			b.vals, b.ends, b.bytes, b.files = b.vals[:0], b.ends[:0], b.bytes[:0], b.files[:0]
			clear(b.rows)
			p.free <- b
		}
	}()
	return p
}

// add copies row into the current batch, sending the batch when it is
// full. It returns the writer's error once the writer has stopped.
func (p *rowPipe) add(row parquet.Row) error {
	if p.cur == nil {
		select {
		case p.cur = <-p.free:
		case <-p.done:
			return p.err
		}
	}
	b := p.cur
	if p.rows%p.pw.fileRows == 0 {
		f, err := p.pw.createTemp()
		if err != nil {
			return err
		}
		b.files = append(b.files, fileAt{len(b.ends), f})
	}
	p.rows++
	for _, v := range row {
		switch v.Kind() {
		case parquet.ByteArray, parquet.FixedLenByteArray:
			if !v.IsNull() {
				// A slice of b.bytes stays valid when it grows (the old
				// array is not written again until the batch is reused).
				src := v.ByteArray()
				n := len(b.bytes)
				b.bytes = append(b.bytes, src...)
				cp := b.bytes[n:len(b.bytes):len(b.bytes)]
				if v.Kind() == parquet.ByteArray {
					v = parquet.ByteArrayValue(cp).Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column())
				} else {
					v = parquet.FixedLenByteArrayValue(cp).Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column())
				}
			}
		}
		b.vals = append(b.vals, v)
	}
	b.ends = append(b.ends, len(b.vals))
	if len(b.ends) == pipeBatchRows {
		return p.send()
	}
	return nil
}

func (p *rowPipe) send() error {
	b := p.cur
	p.cur = nil
	select {
	case p.full <- b:
		return nil
	case <-p.done:
		return p.err
	}
}

// close writes what is left and waits for the writer; it returns the
// writer's error.
func (p *rowPipe) close() error {
	if p.cur != nil && len(p.cur.ends) > 0 {
		_ = p.send()
	}
	close(p.full)
	<-p.done
	return p.err
}
