package lake

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Temp files are hidden (Athena, Spark and DuckDB's *.parquet globs skip
// them) and never end in .parquet.
const (
	tempPrefix = ".tmp-"
	partPrefix = "part-"
	partSuffix = ".parquet"
)

// PartitionDir returns the folder of the partition a publish at now writes:
// <dir>/<entity>/<kind>/import_year=YYYY/import_month=MM/import_day=DD/import_date=YYYYMMDD.
func PartitionDir(dir, entity string, kind Kind, now time.Time) string {
	now = now.UTC()
	return filepath.Join(dir, entity, string(kind),
		"import_year="+now.Format("2006"),
		"import_month="+now.Format("01"),
		"import_day="+now.Format("02"),
		"import_date="+now.Format("20060102"))
}

// partName is the name of the i-th part file.
func partName(i int) string { return fmt.Sprintf("%s%05d%s", partPrefix, i, partSuffix) }

// partWriter writes the parts of one publish to temp files, then renames
// them into place (commit) or removes them (abort).
type partWriter struct {
	dir      string
	fileRows int
	opts     []parquet.WriterOption
	w        *parquet.GenericWriter[any]
	f        *os.File
	rows     int      // rows in the current file
	temps    []string // temp files, in part order
}

// preparePartition creates the partition's folder and removes the temp
// files an interrupted publish left there; it comes before the first
// partWriter of a publish.
func preparePartition(opts Options) error {
	dir := PartitionDir(opts.Dir, opts.Entity, opts.Kind, opts.Now)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating partition folder %s: %w", dir, err)
	}
	return removeStaleTemps(dir)
}

// zstdPages compresses the pages of every part (its encoders are pooled).
var zstdPages = &pageCodec{}

func newPartWriter(opts Options, t *table) *partWriter {
	p := &partWriter{dir: PartitionDir(opts.Dir, opts.Entity, opts.Kind, opts.Now), fileRows: opts.FileRows}
	p.opts = []parquet.WriterOption{
		t.schema,
		// A row group's compressed pages wait in hidden temp files beside
		// the parts (removed when the row group is written; a crash leaves
		// them to removeStaleTemps), not in memory: a row group of 100,000
		// tenures is about 32 MB compressed.
		parquet.ColumnPageBuffers(pageFiles{p.dir}),
		parquet.Compression(zstdPages),
		parquet.MaxRowsPerRowGroup(int64(opts.RowGroupRows)),
		parquet.KeyValueMetadata("tidemark.entity", opts.Entity),
		parquet.KeyValueMetadata("tidemark.kind", string(opts.Kind)),
	}
	return p
}

// writeBatch writes a batch's rows to the current file, or first to the
// part that starts with it, or after ending the row group before it. Each
// column writer gets the batch's values for its column in one call.
func (p *partWriter) writeBatch(b *rowBatch) error {
	if b.file != nil {
		if err := p.switchTo(b.file); err != nil {
			return err
		}
	} else if b.group {
		if err := p.w.Flush(); err != nil {
			return fmt.Errorf("writing a row group of %s: %w", p.f.Name(), err)
		}
	}
	cws := p.w.ColumnWriters()
	if len(cws) != len(b.cols) {
		return fmt.Errorf("writing %s: %d columns of values for %d columns", p.f.Name(), len(b.cols), len(cws))
	}
	for i, cw := range cws {
		if _, err := cw.WriteRowValues(b.cols[i]); err != nil {
			return fmt.Errorf("writing column %d of %s: %w", i, p.f.Name(), err)
		}
	}
	p.rows += b.rows
	return nil
}

// next closes the current file and opens the next one.
func (p *partWriter) next() error {
	f, err := p.createTemp()
	if err != nil {
		return err
	}
	return p.switchTo(f)
}

// createTemp creates the next part's temp file.
func (p *partWriter) createTemp() (*os.File, error) {
	f, err := os.CreateTemp(p.dir, tempPrefix+partName(len(p.temps))+"-*")
	if err != nil {
		return nil, fmt.Errorf("creating temp file in %s: %w", p.dir, err)
	}
	p.temps = append(p.temps, f.Name())
	return f, nil
}

// switchTo finishes the current file and writes the next rows to f.
func (p *partWriter) switchTo(f *os.File) error {
	if err := p.closeFile(); err != nil {
		f.Close()
		return err
	}
	p.f, p.rows = f, 0
	p.w = parquet.NewGenericWriter[any](f, p.opts...)
	return nil
}

// pageFiles keeps a row group's compressed pages in temp files that are
// unlinked as soon as they are created, so that nothing is left behind,
// even by a crash, and no reader of the partition ever sees them.
type pageFiles struct{ dir string }

type pageFile struct {
	*os.File
	name string // still to remove when it could not be unlinked while open
}

func (pf pageFiles) GetBuffer() io.ReadWriteSeeker {
	f, err := os.CreateTemp(pf.dir, tempPrefix+"pages-*")
	if err != nil {
		return errBuffer{err}
	}
	b := &pageFile{File: f}
	if os.Remove(f.Name()) != nil {
		b.name = f.Name()
	}
	return b
}

func (pf pageFiles) PutBuffer(buf io.ReadWriteSeeker) {
	if b, ok := buf.(*pageFile); ok {
		b.Close()
		if b.name != "" {
			os.Remove(b.name)
		}
	}
}

type errBuffer struct{ err error }

func (e errBuffer) Read([]byte) (int, error)       { return 0, e.err }
func (e errBuffer) Write([]byte) (int, error)      { return 0, e.err }
func (e errBuffer) Seek(int64, int) (int64, error) { return 0, e.err }

// closeFile finishes the current file: footer, fsync, close.
func (p *partWriter) closeFile() error {
	if p.f == nil {
		return nil
	}
	f := p.f
	p.f = nil
	if err := p.w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	return nil
}

// commit renames the temp files into place and removes the partition's
// part files this publish did not write. A table without rows still gets
// one (empty) part, so a re-publish replaces the day's files.
func (p *partWriter) commit() ([]string, error) {
	if err := p.finish(); err != nil {
		p.abort()
		return nil, err
	}
	files, err := commitParts(p.dir, p.temps)
	p.temps = nil
	return files, err
}

// finish completes the last part (or writes an empty one when there is
// none); its temp files are then ready for commitParts.
func (p *partWriter) finish() error {
	if p.f == nil && len(p.temps) == 0 {
		if err := p.next(); err != nil {
			return err
		}
	}
	return p.closeFile()
}

// commitParts renames completed temp files, in part order, into the
// partition's part files, then removes the part files of the partition it
// did not write. On an error the temp files are removed.
func commitParts(dir string, temps []string) ([]string, error) {
	files := make([]string, len(temps))
	for i, tmp := range temps {
		files[i] = filepath.Join(dir, partName(i))
		if err := os.Rename(tmp, files[i]); err != nil {
			for _, t := range temps[i:] {
				os.Remove(t)
			}
			return nil, fmt.Errorf("renaming %s to %s: %w", tmp, files[i], err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return files, removeStale(dir, files)
}

// abort removes the temp files; the partition keeps its previous files.
func (p *partWriter) abort() {
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
	for _, tmp := range p.temps {
		os.Remove(tmp)
	}
	p.temps = nil
}

// removeStale removes the part files of the partition in dir that are not
// in keep, and temp files an interrupted publish left behind.
func removeStale(dir string, keep []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	kept := make(map[string]bool, len(keep))
	for _, k := range keep {
		kept[filepath.Base(k)] = true
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		stale := strings.HasPrefix(name, partPrefix) && strings.HasSuffix(name, partSuffix) && !kept[name]
		if stale || strings.HasPrefix(name, tempPrefix+partPrefix) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing old part %s: %w", name, err))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s to sync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// removeStaleTemps removes the temp files a publish killed before its
// commit left behind. Publishes of one lake folder run one at a time (the
// state store admits one process), so any temp file found is stale.
func removeStaleTemps(dir string) error {
	stale, err := filepath.Glob(filepath.Join(dir, tempPrefix+"*"))
	if err != nil {
		return err
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing stale temp file %s: %w", f, err)
		}
	}
	return nil
}
