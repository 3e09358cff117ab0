package export

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Table says how to read the rows of an entity's table.
type Table struct {
	Entity      string
	HashAttr    string
	RangeAttr   string // "" when the table has no range key
	VersionAttr string // "" when items carry no version
}

// PositionFunc returns the committed offset (lines applied) of a source id.
type PositionFunc func(source string) (int64, bool, error)

// Source yields one snapshot change per exported item.
type Source struct {
	fsys     fs.FS
	m        *Manifest
	table    Table
	workers  int
	position PositionFunc

	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	out    chan chunk
	cur    []change.Record
	err    error
	wg     sync.WaitGroup

	checked  bool
	checkErr error
	jobs     []job
	// Progress, if set, is called with the number of uncompressed bytes read.
	Progress func(bytes int64)
}

type chunk struct {
	recs []change.Record
	err  error
}

var _ change.Source = (*Source)(nil)

// NewSource reads the export described by m. Workers data files are decoded
// in parallel; each resumes after the lines its position says are applied.
func NewSource(fsys fs.FS, m *Manifest, t Table, workers int, pos PositionFunc) *Source {
	if workers < 1 {
		workers = 1
	}
	return &Source{fsys: fsys, m: m, table: t, workers: workers, position: pos}
}

// SourceID is the position id of one data file.
func (m *Manifest) SourceID(f DataFile) string {
	return "export:" + m.ID + "/" + f.Key[len(f.Key)-len(lastElem(f.Key)):]
}

func lastElem(p string) string {
	if i := bytes.LastIndexByte([]byte(p), '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// Next returns the next row.
func (s *Source) Next(ctx context.Context) (change.Record, error) {
	if err := ctx.Err(); err != nil {
		return change.Record{}, err
	}
	s.once.Do(func() { s.start(ctx) })
	for len(s.cur) == 0 {
		if s.err != nil {
			return change.Record{}, s.err
		}
		select {
		case c, ok := <-s.out:
			if !ok {
				s.err = io.EOF
				continue
			}
			if c.err != nil {
				s.err = c.err
				s.cancel()
				continue
			}
			s.cur = c.recs
		case <-ctx.Done():
			return change.Record{}, ctx.Err()
		}
	}
	r := s.cur[0]
	s.cur = s.cur[1:]
	return r, nil
}

// Close stops the readers.
func (s *Source) Close() error {
	s.once.Do(func() { s.out = make(chan chunk); close(s.out); s.cancel = func() {} })
	s.cancel()
	for range s.out {
	}
	s.wg.Wait()
	return nil
}

// ctxReader stops a long read when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type job struct {
	f    DataFile
	skip int64
}

func (s *Source) start(ctx context.Context) {
	// The readers live until Close or an error, not as long as the context
	// of the first Next: a Next that returns ctx.Err() must lose no row.
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.out = make(chan chunk, s.workers)
	err := s.Check(ctx)
	if err != nil {
		s.out <- chunk{err: err}
		close(s.out)
		return
	}
	jobs := s.jobs
	queue := make(chan job)
	for i := 0; i < s.workers; i++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for j := range queue {
				if err := s.readFile(j); err != nil {
					s.send(chunk{err: err})
					return
				}
			}
		}()
	}
	go func() {
		defer close(s.out)
		defer s.wg.Wait()
		defer close(queue)
		for _, j := range jobs {
			select {
			case queue <- j:
			case <-s.ctx.Done():
				return
			}
		}
	}()
}

// Check plans the data files still to read and verifies their md5 against
// the manifest, in parallel, before any row is yielded. Next calls it if the
// caller did not; it runs once.
func (s *Source) Check(ctx context.Context) error {
	if s.checked {
		return s.checkErr
	}
	s.checked = true
	s.jobs, s.checkErr = s.plan()
	if s.checkErr == nil {
		s.checkErr = s.checkAll(ctx, s.jobs)
	}
	return s.checkErr
}

// plan lists the data files still to read and how many lines to skip.
func (s *Source) plan() ([]job, error) {
	var jobs []job
	for _, f := range s.m.Files {
		done, _, err := s.position(s.m.SourceID(f))
		if err != nil {
			return nil, fmt.Errorf("reading position of %s: %w", f.Key, err)
		}
		switch {
		case done > f.ItemCount:
			return nil, fmt.Errorf("export data file %s: %w: %d lines were applied but the manifest says %d items",
				s.m.Path(f), ErrCount, done, f.ItemCount)
		case done == f.ItemCount && f.ItemCount > 0:
			continue
		}
		jobs = append(jobs, job{f: f, skip: done})
	}
	return jobs, nil
}

// checkAll verifies the md5 of every data file still to read, in parallel,
// before any row is applied.
func (s *Source) checkAll(ctx context.Context, jobs []job) error {
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, s.workers)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = s.checkMD5(ctx, j.f)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Source) checkMD5(ctx context.Context, f DataFile) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.m.Path(f)
	r, err := s.fsys.Open(p)
	if err != nil {
		return fmt.Errorf("opening export data file %s: %w", p, err)
	}
	defer r.Close()
	h := md5.New()
	if _, err := io.Copy(h, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("reading export data file %s: %w", p, err)
	}
	got := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if got != f.MD5Checksum {
		return fmt.Errorf("export data file %s: %w: manifest says %s, file has %s (the file is damaged or incomplete; copy it again)",
			p, ErrChecksum, f.MD5Checksum, got)
	}
	return nil
}

func (s *Source) send(c chunk) bool {
	select {
	case s.out <- c:
		return true
	case <-s.ctx.Done():
		return false
	}
}

const chunkRows = 64

func (s *Source) readFile(j job) error {
	p := s.m.Path(j.f)
	r, err := s.fsys.Open(p)
	if err != nil {
		return fmt.Errorf("opening export data file %s: %w", p, err)
	}
	defer r.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 256<<10))
	if err != nil {
		return fmt.Errorf("reading export data file %s: %w", p, err)
	}
	br := bufio.NewReaderSize(zr, 1<<20)
	src := s.m.SourceID(j.f)
	asOf := s.m.Summary.AsOf()
	var line int64
	var recs []change.Record
	var read int64
	for {
		b, err := readLine(br)
		if err != nil && err != io.EOF {
			// A damaged gzip stream: its error, not that of the partial line.
			return fmt.Errorf("reading export data file %s after line %d: %w", p, line, err)
		}
		if len(b) > 0 {
			line++
			read += int64(len(b))
			if line > j.f.ItemCount {
				return fmt.Errorf("export data file %s: %w: manifest says %d items, file has more", p, ErrCount, j.f.ItemCount)
			}
			if line > j.skip {
				next := change.Position{Source: src, Offset: line}
				c, cerr := s.row(b, asOf)
				if cerr != nil {
					// A bad item is kept, with its line number, and the
					// export goes on.
					recs = append(recs, change.Record{Next: next, Dead: &change.DeadLetter{
						Pos: change.Position{Source: src, Offset: line}, Raw: append([]byte(nil), b...),
						Reason: fmt.Sprintf("export data file %s line %d: %v", p, line, cerr)}})
				} else {
					c.Pos = next
					recs = append(recs, change.Record{Change: c, Next: next})
				}
				if len(recs) == chunkRows {
					if !s.send(chunk{recs: recs}) {
						return s.ctx.Err()
					}
					recs = nil
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if line != j.f.ItemCount {
		return fmt.Errorf("export data file %s: %w: manifest says %d items, file has %d", p, ErrCount, j.f.ItemCount, line)
	}
	if s.Progress != nil {
		s.Progress(read)
	}
	if len(recs) > 0 && !s.send(chunk{recs: recs}) {
		return s.ctx.Err()
	}
	return nil
}

// readLine returns the next line without its newline; blank lines are
// skipped. Lines may be longer than the reader's buffer.
func readLine(br *bufio.Reader) ([]byte, error) {
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long := append([]byte(nil), b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		line := bytes.TrimRight(b, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			if err == nil {
				continue
			}
			return nil, err // a blank last line without a newline
		}
		return line, err
	}
}

// row turns one export line into a snapshot change: an item of a full
// export, or a change of an incremental export (the new image, or a delete
// when there is none), true at its write time.
func (s *Source) row(line []byte, asOf time.Time) (*change.Change, error) {
	c := &change.Change{Entity: s.table.Entity, Op: change.OpUpsert, AsOf: asOf, EventTime: asOf,
		Origin: change.OriginSnapshot, SourceSystem: "export"}
	var keys ddbjson.Map
	if s.m.Summary.Incremental() {
		inc, err := ddbjson.DecodeIncrementalLine(line)
		if err != nil {
			return nil, err
		}
		keys, c.Image = inc.Keys, inc.NewImage
		if inc.NewImage == nil {
			c.Op = change.OpDelete
		}
		if !inc.WriteTime.IsZero() {
			c.AsOf, c.EventTime = inc.WriteTime, inc.WriteTime
		}
	} else {
		// A full export's item is read straight into the stored form.
		bin, err := ddbjson.TranscodeExportLine(make([]byte, 0, len(line)), line)
		if err != nil {
			return nil, err
		}
		c.ImageBin = bin
		if err := s.binKeys(c); err != nil {
			return nil, err
		}
		return c, nil
	}
	c.Key.Hash = keys[s.table.HashAttr]
	if s.table.RangeAttr != "" {
		c.Key.Range = keys[s.table.RangeAttr]
	}
	if err := c.Key.Validate(); err != nil {
		return nil, fmt.Errorf("item key (%s): %w", s.table.HashAttr, err)
	}
	if s.table.VersionAttr != "" && c.Image != nil {
		if v, ok := c.Image[s.table.VersionAttr]; ok && v.Kind == ddbjson.KindN {
			c.Version = v.Str
		}
	}
	return c, nil
}

// binKeys sets the key and version of a change from its binary image.
func (s *Source) binKeys(c *change.Change) error {
	get := func(name string) (ddbjson.Value, error) {
		rv, ok, err := ddbjson.RawGet(c.ImageBin, name)
		if err != nil || !ok {
			return ddbjson.Value{}, err
		}
		return rv.Value()
	}
	var err error
	if c.Key.Hash, err = get(s.table.HashAttr); err != nil {
		return fmt.Errorf("item key (%s): %w", s.table.HashAttr, err)
	}
	if s.table.RangeAttr != "" {
		if c.Key.Range, err = get(s.table.RangeAttr); err != nil {
			return fmt.Errorf("item key (%s): %w", s.table.RangeAttr, err)
		}
	}
	if err := c.Key.Validate(); err != nil {
		return fmt.Errorf("item key (%s): %w", s.table.HashAttr, err)
	}
	if s.table.VersionAttr != "" {
		v, err := get(s.table.VersionAttr)
		if err != nil {
			return fmt.Errorf("item version (%s): %w", s.table.VersionAttr, err)
		}
		if v.Kind == ddbjson.KindN {
			c.Version = v.Str
		}
	}
	return nil
}
