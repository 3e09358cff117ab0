package lake

import (
	"os"

	"github.com/parquet-go/parquet-go"
)

// rowPipe hands shredded rows to a goroutine that writes them, so that
// reading and shredding the rows and encoding them into Parquet run on
// two cores. The shredder writes each row's values straight into the
// current batch, column by column (byte arrays copied into the batch's
// buffer: they point into reused buffers), and the writer hands each
// column writer all of a batch's values for it in one call. A batch never
// spans two parts or two row groups: each part's temp file is created on
// the adding side when its first row is added (every fileRows rows), and
// a row group ends every groupRows rows of a part.
type rowPipe struct {
	pw        *partWriter
	columns   int
	groupRows int
	free      chan *rowBatch
	full      chan *rowBatch
	done      chan struct{}
	cur       *rowBatch
	rows      int   // rows added
	err       error // the writer's first error; read after done is closed
}

// rowBatch holds the shredded values of up to pipeBatchRows rows.
type rowBatch struct {
	cols  [][]parquet.Value // per leaf column, the rows' values in order
	bytes []byte            // the byte arrays the values point to
	rows  int
	file  *os.File // a part's temp file that starts with this batch (nil: none)
	group bool     // a row group ends before this batch
}

const (
	pipeBatchRows = 256
	pipeBatches   = 4
	// pipeBatchBytes sends a batch of large rows sooner.
	pipeBatchBytes = 4 << 20
)

func newRowPipe(pw *partWriter, columns, groupRows int) *rowPipe {
	p := &rowPipe{pw: pw, columns: columns, groupRows: groupRows,
		free: make(chan *rowBatch, pipeBatches), full: make(chan *rowBatch, pipeBatches), done: make(chan struct{})}
	for range pipeBatches {
		p.free <- &rowBatch{cols: make([][]parquet.Value, columns)}
	}
	go func() {
		defer close(p.done)
		for b := range p.full {
			if p.err == nil {
				p.err = pw.writeBatch(b)
			}
			if b.file != nil && pw.f != b.file {
				b.file.Close() // not reached (an error) or already closed: a no-op
			}
			for i := range b.cols {
				clear(b.cols[i]) // drop the pointers into old buffers
				b.cols[i] = b.cols[i][:0]
			}
			b.bytes, b.rows, b.file, b.group = b.bytes[:0], 0, nil, false
			if cap(b.bytes) > spoolKeepBytes {
				b.bytes = nil
			}
			p.free <- b
		}
	}()
	return p
}

// next returns the batch the next row's values go into; added must follow
// once they are in.
func (p *rowPipe) next() (*rowBatch, error) {
	inFile := p.rows % p.pw.fileRows // row groups count from each part's start
	newFile, newGroup := inFile == 0, inFile%p.groupRows == 0
	if p.cur != nil && p.cur.rows > 0 && (newFile || newGroup) {
		if err := p.send(); err != nil {
			return nil, err
		}
	}
	if p.cur == nil {
		select {
		case p.cur = <-p.free:
		case <-p.done:
			return nil, p.err
		}
	}
	b := p.cur
	if b.rows == 0 {
		switch {
		case newFile:
			f, err := p.pw.createTemp()
			if err != nil {
				return nil, err
			}
			b.file = f
		case newGroup:
			b.group = p.rows > 0
		}
	}
	return b, nil
}

// added counts the row just written into the current batch, and sends the
// batch when it is full. It returns the writer's error once the writer
// has stopped.
func (p *rowPipe) added() error {
	p.rows++
	p.cur.rows++
	if p.cur.rows == pipeBatchRows || len(p.cur.bytes) >= pipeBatchBytes {
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
	if p.cur != nil && p.cur.rows > 0 {
		_ = p.send()
	}
	close(p.full)
	<-p.done
	return p.err
}
