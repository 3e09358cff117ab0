// Package file reads newline-delimited Hackney entity events (raw, or
// wrapped in SNS notifications) from files. A position is the byte offset
// after a line, so a restart resumes exactly where the last commit ended.
package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/event"
)

// hardLimit bounds the raw bytes kept of one oversize line in the
// dead-letter store; the reason still gives its full length.
const hardLimit = 16 << 20

// PositionFunc returns the committed offset of a source id.
type PositionFunc func(source string) (int64, bool, error)

// File is one events file and the position id it commits under.
type File struct {
	Path string
	ID   string
}

// Glob expands pattern into files in name order. Each file's id is
// "events:" and its path relative to base (the config file's folder), so
// that moving the folder keeps the positions.
func Glob(pattern, base string) ([]File, error) {
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("events path %q: %w", pattern, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("events path %q matches no file", pattern)
	}
	sort.Strings(paths)
	files := make([]File, len(paths))
	for i, p := range paths {
		id := p
		if rel, err := filepath.Rel(base, p); err == nil {
			id = filepath.ToSlash(rel)
		}
		files[i] = File{Path: p, ID: "events:" + id}
	}
	return files, nil
}

// Source yields a change or a dead letter per line of its files.
type Source struct {
	files    []File
	mapper   *event.Mapper
	maxBytes int
	position PositionFunc

	i      int
	f      *os.File
	br     *bufio.Reader
	offset int64
	// Progress, if set, is called with the bytes read per line.
	Progress func(bytes int64)
	// Warn, if set, is told of what is skipped for now (slog-style args).
	Warn func(msg string, args ...any)
}

func (s *Source) warn(msg string, args ...any) {
	if s.Warn != nil {
		s.Warn(msg, args...)
	}
}

var _ change.Source = (*Source)(nil)

// NewSource reads files in order through mapper; lines over maxBytes are
// dead letters.
func NewSource(files []File, mapper *event.Mapper, maxBytes int, pos PositionFunc) *Source {
	return &Source{files: files, mapper: mapper, maxBytes: maxBytes, position: pos, i: -1}
}

// Next returns the record of the next non-blank line.
func (s *Source) Next(ctx context.Context) (change.Record, error) {
	for {
		if err := ctx.Err(); err != nil {
			return change.Record{}, err
		}
		if s.br == nil {
			if err := s.openNext(); err != nil {
				return change.Record{}, err
			}
			continue
		}
		start := s.offset
		line, n, err := readLine(s.br)
		if errors.Is(err, io.EOF) {
			if n > 0 {
				// A last line without its newline may still be being
				// written: leave it for the next run, which resumes at its
				// start. Nothing is consumed, so nothing can be lost.
				s.warn("events file ends with an unterminated line; it is left for the next run",
					"file", s.files[s.i].Path, "offset", start, "bytes", n)
			}
			s.closeFile()
			continue
		}
		s.offset += n
		if s.Progress != nil && n > 0 {
			s.Progress(n)
		}
		if err != nil {
			return change.Record{}, fmt.Errorf("reading events file %s at offset %d: %w", s.files[s.i].Path, s.offset, err)
		}
		id := s.files[s.i].ID
		next := change.Position{Source: id, Offset: s.offset}
		if line.size <= len(line.data) && len(bytes.TrimSpace(line.data)) == 0 {
			return change.Record{Next: next}, nil // a blank line: only move the position
		}
		return s.decode(line, change.Position{Source: id, Offset: start}, next), nil
	}
}

func (s *Source) decode(line rawLine, at, next change.Position) change.Record {
	if line.size > len(line.data) || (s.maxBytes > 0 && line.size > s.maxBytes) {
		reason := fmt.Sprintf("message of %d bytes is over the limit of %d (max_message_bytes)", line.size, s.maxBytes)
		if s.maxBytes <= 0 || line.size <= s.maxBytes {
			reason = fmt.Sprintf("message of %d bytes is over the limit of %d bytes a line may have", line.size, hardLimit)
		}
		return change.Record{Next: next, Dead: &change.DeadLetter{Pos: at, Raw: line.data, Reason: reason}}
	}
	env, err := event.Decode(line.data, s.maxBytes)
	if err == nil {
		var c *change.Change
		if c, err = s.mapper.Change(env, next); err == nil {
			return change.Record{Change: c, Next: next}
		}
	}
	return change.Record{Next: next, Dead: &change.DeadLetter{Pos: at, Raw: line.data, Reason: err.Error()}}
}

func (s *Source) openNext() error {
	s.i++
	if s.i >= len(s.files) {
		return io.EOF
	}
	file := s.files[s.i]
	off, _, err := s.position(file.ID)
	if err != nil {
		return fmt.Errorf("reading position of %s: %w", file.Path, err)
	}
	f, err := os.Open(file.Path)
	if err != nil {
		return fmt.Errorf("opening events file: %w", err)
	}
	if off > 0 {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("events file: %w", err)
		}
		if fi.Size() < off {
			f.Close()
			return fmt.Errorf("events file %s has %d bytes but %d were already applied from it: it was truncated "+
				"or replaced; give new events a new file name (files are read in name order)", file.Path, fi.Size(), off)
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return fmt.Errorf("seeking events file %s to %d: %w", file.Path, off, err)
		}
	}
	s.f, s.br, s.offset = f, bufio.NewReaderSize(f, 1<<20), off
	return nil
}

func (s *Source) closeFile() {
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.br = nil, nil
}

// Close closes the open file.
func (s *Source) Close() error {
	s.closeFile()
	s.i = len(s.files)
	return nil
}

type rawLine struct {
	data []byte // the line without its newline, at most hardLimit bytes
	size int    // the line's full length
}

// readLine reads one line; n is the bytes consumed including the newline.
func readLine(br *bufio.Reader) (rawLine, int64, error) {
	b, err := br.ReadSlice('\n')
	n := int64(len(b))
	if !errors.Is(err, bufio.ErrBufferFull) {
		data := bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		return rawLine{data: append([]byte(nil), data...), size: len(data)}, n, err
	}
	long := append([]byte(nil), b...)
	var last [2]byte // the line's last two bytes, for its ending
	track := func(c []byte) {
		for _, x := range c[max(0, len(c)-2):] {
			last[0], last[1] = last[1], x
		}
	}
	track(b)
	for errors.Is(err, bufio.ErrBufferFull) {
		b, err = br.ReadSlice('\n')
		n += int64(len(b))
		track(b)
		if len(long) < hardLimit {
			long = append(long, b[:min(len(b), hardLimit-len(long))]...)
		}
	}
	size := int(n)
	if last[1] == '\n' {
		size--
		last[1] = last[0]
	}
	if last[1] == '\r' {
		size--
	}
	return rawLine{data: long[:min(len(long), size)], size: size}, n, err
}
