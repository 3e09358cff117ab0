package gen

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"sync"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// batchSize is the number of tenures one worker renders and compresses at a
// time: big enough for good compression, small enough to keep memory flat.
const batchSize = 512

// batch is a range of export positions (model.exportIndex) within one
// export file.
type batch struct {
	file, lo, hi int
	out          chan batchOut
}

// batchOut is a rendered batch: the export lines (raw and as a deflate
// segment), and the truth and expected lines.
type batchOut struct {
	file            int
	raw, comp       []byte
	truth, expected []byte
	items           int
	billed          int64
	err             error
}

// renderer turns tenure indexes into output lines; each worker has its own.
type renderer struct {
	m     *model
	s     *schedule
	truth bool
	chain []int32
	base  ddbjson.Map // reused for each tenure's base image
	fw    *flate.Writer
}

func newRenderer(m *model, s *schedule, truth bool) (*renderer, error) {
	fw, err := flate.NewWriter(nil, flate.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("creating deflate writer: %w", err)
	}
	return &renderer{m: m, s: s, truth: truth, fw: fw}, nil
}

// renderBatch renders the tenures of b and compresses their export lines as
// one sync-flushed deflate segment (segments concatenate into one stream).
func (rd *renderer) renderBatch(b batch) batchOut {
	out := batchOut{file: b.file}
	out.raw, out.comp = getBuf(), getBuf()
	if rd.truth {
		out.truth, out.expected = getBuf(), getBuf()
	}
	step := rd.m.exportStep()
	for pos := b.lo; pos < b.hi; pos++ {
		rd.render(rd.m.exportIndex(pos, step), &out)
	}
	cb := bytes.NewBuffer(out.comp)
	rd.fw.Reset(cb)
	if _, err := rd.fw.Write(out.raw); err != nil {
		out.err = fmt.Errorf("compressing export data: %w", err)
	} else if err := rd.fw.Flush(); err != nil {
		out.err = fmt.Errorf("compressing export data: %w", err)
	}
	out.comp = cb.Bytes()
	return out
}

// bufs recycles the batches' buffers once written.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

func getBuf() []byte { return (*bufs.Get().(*[]byte))[:0] }

func putBufs(bs ...[]byte) {
	for _, b := range bs {
		if cap(b) > 0 {
			bufs.Put(&b)
		}
	}
}

// render appends tenure idx to the export (if it exists at the snapshot),
// the truth (its final state) and the expected copy (snapshot + events).
func (rd *renderer) render(idx int, out *batchOut) {
	m, s := rd.m, rd.s
	if rd.base == nil {
		rd.base = make(ddbjson.Map, len(fields)+2)
	}
	base := m.itemInto(rd.base, idx)
	inExport := true
	if c := m.createAt[idx]; c >= 0 && afterSnapshot(s.time(int(c))) {
		inExport = false
	}
	if s.head[idx] < 0 {
		rd.appendExport(out, base)
		if rd.truth {
			start := len(out.truth)
			out.truth = appendPlainItem(out.truth, base)
			out.expected = append(out.expected, out.truth[start:]...)
		}
		return
	}
	rd.chain = s.chain(idx, rd.chain)
	st, snap := m.replay(s, idx, rd.chain)
	if inExport {
		rd.appendExport(out, overlay(maps.Clone(base), snap.over, snap.version))
	}
	if !rd.truth {
		return
	}
	item := overlay(base, st.over, st.version())
	out.truth = appendPlainItem(out.truth, item)
	for f, v := range st.div {
		if v.Kind == ddbjson.KindInvalid {
			delete(item, f)
		} else {
			item[f] = v
		}
	}
	if inExport {
		item["versionNumber"] = versionValue(snap.version)
	} else {
		delete(item, "versionNumber")
	}
	out.expected = appendPlainItem(out.expected, item)
}

// billedShare is about the share of an item's DynamoDB JSON that DynamoDB
// bills as item size (names and values, not the type descriptors).
const billedShare = 55

func (rd *renderer) appendExport(out *batchOut, item ddbjson.Map) {
	start := len(out.raw)
	out.raw = append(out.raw, `{"Item":`...)
	out.raw = ddbjson.AppendMap(out.raw, item)
	out.raw = append(out.raw, "}\n"...)
	out.items++
	out.billed += int64(len(out.raw)-start) * billedShare / 100
}

// overlay sets the written fields and the version on a base image.
func overlay(item, over ddbjson.Map, version int) ddbjson.Map {
	for f, v := range over {
		item[f] = v
	}
	item["versionNumber"] = versionValue(version)
	return item
}

func versionValue(v int) ddbjson.Value { return ddbjson.N(strconv.Itoa(v)) }

// appendPlainItem appends an item as one plain JSON line, id first.
func appendPlainItem(dst []byte, item ddbjson.Map) []byte {
	dst = append(dst, `{"id":`...)
	dst = ddbjson.AppendPlain(dst, item["id"])
	for _, k := range item.SortedKeys() {
		if k == "id" {
			continue
		}
		dst = append(dst, ',')
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = ddbjson.AppendPlain(dst, item[k])
	}
	return append(dst, "}\n"...)
}

// batches splits the export positions into export files and batches; every
// file gets at least one (possibly empty) batch.
func batches(total, files int) []batch {
	var out []batch
	for f := 0; f < files; f++ {
		lo, hi := f*total/files, (f+1)*total/files
		out = append(out, batch{file: f, lo: lo, hi: min(lo+batchSize, hi)})
		for lo += batchSize; lo < hi; lo += batchSize {
			out = append(out, batch{file: f, lo: lo, hi: min(lo+batchSize, hi)})
		}
	}
	return out
}

// renderAll renders every batch on a pool of workers and hands the results
// to emit in order. At most a few batches per worker are in memory.
func renderAll(ctx context.Context, m *model, s *schedule, truth bool, files int, emit func(batchOut) error) error {
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan batch, workers)
	futures := make(chan chan batchOut, 2*workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < workers; w++ {
		rd, err := newRenderer(m, s, truth)
		if err != nil {
			return err
		}
		go func() {
			for b := range jobs {
				b.out <- rd.renderBatch(b)
			}
		}()
	}
	go func() {
		defer close(jobs)
		defer close(futures)
		for _, b := range batches(m.total, files) {
			b.out = make(chan batchOut, 1)
			select {
			case futures <- b.out:
			case <-ctx.Done():
				return
			}
			jobs <- b
		}
	}()
	var first error
	for fut := range futures {
		out := <-fut
		if first == nil && out.err != nil {
			first = out.err
		}
		if first == nil {
			first = emit(out)
		}
		putBufs(out.raw, out.comp, out.truth, out.expected)
		if first == nil {
			first = ctx.Err()
		}
		if first != nil {
			cancel()
		}
	}
	return first
}
