package file_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/change/changetest"
	"github.com/tidemark-dev/tidemark/internal/gen"
	"github.com/tidemark-dev/tidemark/internal/source/file"
)

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	sum, err := gen.Generate(context.Background(), gen.Options{Dir: dir, Tenures: 200, Events: 600, Seed: 3, BadLines: 12})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.FromSlash(sum.EventsFile))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := bytes.Count(b, []byte("\n"))
	if n != sum.Events+sum.Duplicates+sum.BadLines || sum.BadLines != 12 {
		t.Fatalf("events file has %d lines, summary %+v", n, sum)
	}
	mapper := testMapper(t)
	files, err := file.Glob(filepath.Join(dir, "events", "*.jsonl"), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("generated", func(t *testing.T) {
		changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
			return file.NewSource(files, mapper, maxBytes, pos)
		}, n)
	})

	// Three files: blank lines, CRLF, a dead letter, an oversize line and an
	// empty file.
	dir = t.TempDir()
	writeFile(t, dir, "a.jsonl", lines(updated(1), "", sns(updated(2)), "not json"))
	writeFile(t, dir, "b.jsonl", "")
	writeFile(t, dir, "c.jsonl", updated(3)+"\r\n  \r\n"+`{"big":"`+strings.Repeat("x", 300<<10)+`"}`+"\n"+updated(4)+"\n")
	files, err = file.Glob(filepath.Join(dir, "*.jsonl"), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("hand-made", func(t *testing.T) {
		changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
			return file.NewSource(files, mapper, maxBytes, pos)
		}, 8)
	})
	t.Run("read ahead", func(t *testing.T) {
		changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
			return change.ReadAhead(file.NewSource(files, mapper, maxBytes, pos), 3)
		}, 8)
	})
	t.Run("read ahead with stages", func(t *testing.T) {
		changetest.Run(t, func(t testing.TB, pos changetest.PositionFunc) change.Source {
			noop := func([]change.Record) {}
			return change.ReadAhead(file.NewSource(files, mapper, maxBytes, pos), 2, noop, noop)
		}, 8)
	})
}

func TestGlob(t *testing.T) {
	base := t.TempDir()
	for _, name := range []string{"events/tenure-2026-11-02.jsonl", "events/tenure-2026-11-01.jsonl", "events/tenure-2026-10-31.jsonl", "events/notes.txt"} {
		writeFile(t, base, name, "")
	}
	files, err := file.Glob(filepath.Join(base, "events", "*.jsonl"), base)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.ID)
		if want := filepath.Join(base, filepath.FromSlash(strings.TrimPrefix(f.ID, "events:"))); f.Path != want {
			t.Errorf("file %s: path %q, want %q", f.ID, f.Path, want)
		}
	}
	want := "events:events/tenure-2026-10-31.jsonl events:events/tenure-2026-11-01.jsonl events:events/tenure-2026-11-02.jsonl"
	if strings.Join(got, " ") != want {
		t.Errorf("Glob ids = %v, want %s", got, want)
	}

	// The ids stay when the folder moves: they are relative to the base.
	moved := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Rename(base, moved); err != nil {
		t.Fatal(err)
	}
	files2, err := file.Glob(filepath.Join(moved, "events", "tenure-*.jsonl"), moved)
	if err != nil || len(files2) != 3 || files2[0].ID != files[0].ID {
		t.Errorf("after a move: %v, %v", files2, err)
	}
	// A single file, not a pattern.
	single, err := file.Glob(filepath.Join(moved, "events", "notes.txt"), filepath.Join(moved, "events"))
	if err != nil || len(single) != 1 || single[0].ID != "events:notes.txt" {
		t.Errorf("single file: %v, %v", single, err)
	}

	for _, pattern := range []string{filepath.Join(moved, "events", "*.json"), filepath.Join(moved, "nowhere", "*.jsonl")} {
		if files, err := file.Glob(pattern, moved); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("events path %q matches no file", pattern)) {
			t.Errorf("Glob(%q) = %v, %v; want a no-match error naming the pattern", pattern, files, err)
		}
	}
	if _, err := file.Glob(filepath.Join(moved, "["), moved); err == nil || !strings.Contains(err.Error(), "syntax error in pattern") {
		t.Errorf("bad pattern: %v", err)
	}
}

// TestOffsets: each record's Next is the byte offset after its line; the
// last one is the file's size, whatever the line endings.
func TestOffsets(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content string
		kinds   string
		held    int // bytes of an unterminated last line, left for the next run
		keys    int
	}{
		{"LF", lines(updated(1), sns(updated(2)), updated(3)), "c%d c%d c%d", 0, 3},
		{"CRLF", updated(1) + "\r\n" + sns(updated(2)) + "\r\n" + updated(3) + "\r\n", "c%d c%d c%d", 0, 3},
		{"no final newline", updated(1) + "\n" + sns(updated(2)) + "\n" + updated(3), "c%d c%d", len(updated(3)), 2},
		{"blank lines", "\n" + updated(1) + "\n \t \n\r\n" + updated(2) + "\n" + updated(3) + "\n\n", "_%d c%d _%d _%d c%d c%d _%d", 0, 3},
		{"whitespace at the end", updated(1) + "\n" + updated(2) + "\n" + updated(3) + "\n   ", "c%d c%d c%d", 3, 3},
		{"dead letters", lines(updated(1), "{", updated(2), `{"eventType":"TenureUpdatedEvent"}`, updated(3)), "c%d d%d c%d d%d c%d", 0, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "e.jsonl", tt.content)
			recs := mustReadAll(t, file.NewSource(one(p), testMapper(t), maxBytes, noPositions))
			// The expected offsets: after each line, newline included.
			var offs []any
			var off int
			for _, l := range strings.SplitAfter(tt.content, "\n") {
				if l != "" {
					off += len(l)
					offs = append(offs, off)
				}
			}
			if tt.held > 0 {
				offs = offs[:len(offs)-1] // the held-back line yields no record
			}
			if got, want := kinds(recs), fmt.Sprintf(tt.kinds, offs...); got != want {
				t.Errorf("records = %s, want %s", got, want)
			}
			if last := recs[len(recs)-1].Next.Offset; last != int64(len(tt.content)-tt.held) {
				t.Errorf("last Next offset = %d, want the file size %d less the %d bytes held back", last, len(tt.content), tt.held)
			}
			var keys []string
			for i, r := range recs {
				if r.Next.Source != "events:e.jsonl" {
					t.Errorf("record %d: source %q", i, r.Next.Source)
				}
				if r.Change != nil {
					keys = append(keys, r.Change.Key.String())
					if r.Change.Pos != r.Next {
						t.Errorf("record %d: change position %+v, Next %+v", i, r.Change.Pos, r.Next)
					}
					if changetest.Image(t, r.Change)["isTenanted"].Kind == 0 {
						t.Errorf("record %d: image %v (the line ending reached the decoder?)", i, changetest.Image(t, r.Change))
					}
				}
				if r.Dead != nil && !strings.HasPrefix(tt.content[r.Dead.Pos.Offset:], string(r.Dead.Raw)+"\n") {
					t.Errorf("dead letter at %d: raw %q is not the line there", r.Dead.Pos.Offset, r.Dead.Raw)
				}
			}
			if want := strings.Join([]string{guid(1), guid(2), guid(3)}[:tt.keys], " "); strings.Join(keys, " ") != want {
				t.Errorf("keys = %v", keys)
			}
		})
	}
}

// TestResume: a source resumes from the committed offset of each file, and
// a file read to its end yields nothing more.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	content := lines(updated(1), updated(2), "", updated(3))
	a := writeFile(t, dir, "a.jsonl", content)
	b := writeFile(t, dir, "b.jsonl", lines(updated(4), updated(5)))
	c := writeFile(t, dir, "c.jsonl", "\n"+updated(6)+"\n")
	files := []file.File{{Path: a, ID: "events:a"}, {Path: b, ID: "events:b"}, {Path: c, ID: "events:c"}}
	mapper := testMapper(t)
	second := int64(len(updated(1)) + 1)
	tests := []struct {
		name string
		pos  map[string]int64
		want string
	}{
		{"from the start", nil, "a 1 a 2 a _ a 3 b 4 b 5 c _ c 6"},
		{"mid first file", map[string]int64{"events:a": second}, "a 2 a _ a 3 b 4 b 5 c _ c 6"},
		{"first file done", map[string]int64{"events:a": int64(len(content))}, "b 4 b 5 c _ c 6"},
		{"first done, second mid", map[string]int64{"events:a": int64(len(content)), "events:b": int64(len(updated(4)) + 1)}, "b 5 c _ c 6"},
		{"after a blank first line", map[string]int64{"events:a": int64(len(content)), "events:b": int64(2*len(updated(4)) + 2), "events:c": 1}, "c 6"},
		{"all done", map[string]int64{"events:a": int64(len(content)), "events:b": int64(2*len(updated(4)) + 2), "events:c": int64(len(updated(6)) + 2)}, ""},
		{"second before first (files are independent)", map[string]int64{"events:b": int64(len(updated(4)) + 1), "events:c": 1}, "a 1 a 2 a _ a 3 b 5 c 6"},
	}
	for _, tt := range tests {
		pos := func(id string) (int64, bool, error) { off, ok := tt.pos[id]; return off, ok, nil }
		recs := mustReadAll(t, file.NewSource(files, mapper, maxBytes, pos))
		var got []string
		for _, r := range recs {
			what := "_"
			if r.Change != nil {
				what = strings.TrimLeft(r.Change.Key.String()[24:], "0")
			}
			got = append(got, r.Next.Source[len("events:"):]+" "+what)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: read %q, want %q", tt.name, strings.Join(got, " "), tt.want)
		}
		if tt.name == "mid first file" && recs[0].Next.Offset != second+int64(len(updated(2))+1) {
			t.Errorf("%s: first Next offset %d", tt.name, recs[0].Next.Offset)
		}
	}
}

func TestSourceErrors(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.jsonl", lines(updated(1)))
	missing := filepath.Join(dir, "gone.jsonl")
	mapper := testMapper(t)

	recs, err := readAll(t, file.NewSource([]file.File{{Path: a, ID: "events:a"}, {Path: missing, ID: "events:gone"}}, mapper, maxBytes, noPositions))
	if len(recs) != 1 || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "opening events file") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %d records, error %v", len(recs), err)
	}
	bad := func(string) (int64, bool, error) { return 0, false, errors.New("store closed") }
	if _, err := readAll(t, file.NewSource(one(a), mapper, maxBytes, bad)); err == nil || err.Error() != "reading position of "+a+": store closed" {
		t.Errorf("position error = %v", err)
	}
	// A folder matched by a glob cannot be read.
	sub := filepath.Join(dir, "sub.jsonl")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, file.NewSource(one(sub), mapper, maxBytes, noPositions)); err == nil || !strings.Contains(err.Error(), sub) {
		t.Errorf("reading a folder: %v", err)
	}
	// No files: io.EOF at once.
	if recs, err := readAll(t, file.NewSource(nil, mapper, maxBytes, noPositions)); err != nil || len(recs) != 0 {
		t.Errorf("no files: %v, %v", recs, err)
	}
}

// TestProgress: the progress callback counts every byte of the files.
func TestProgress(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.jsonl", lines(updated(1), "", "oops"))
	b := writeFile(t, dir, "b.jsonl", updated(2)+"\r\n"+updated(3))
	src := file.NewSource([]file.File{{Path: a, ID: "a"}, {Path: b, ID: "b"}}, testMapper(t), maxBytes, noPositions)
	var n int64
	src.Progress = func(b int64) { n += b }
	mustReadAll(t, src)
	// b's last line has no newline: it is left for the next run, unread.
	if want := int64(len(updated(1)) + 1 + 1 + 5 + len(updated(2)) + 2); n != want {
		t.Errorf("progress = %d bytes, want %d", n, want)
	}
}

// TestCancel: a done context stops Next before it reads a line.
func TestCancel(t *testing.T) {
	p := writeFile(t, t.TempDir(), "a.jsonl", lines(updated(1), updated(2)))
	src := file.NewSource(one(p), testMapper(t), maxBytes, noPositions)
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := src.Next(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context = %v", err)
	}
	r, err := src.Next(context.Background())
	if err != nil || r.Change == nil || r.Change.Key.String() != guid(2) {
		t.Errorf("Next after the cancel = %+v, %v; want event 2", r, err)
	}
	if _, err := src.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("Next at the end = %v", err)
	}
}

// TestUnterminatedLastLine: a last line without its newline may still be
// being written; it is not consumed, and once completed it is read whole.
func TestUnterminatedLastLine(t *testing.T) {
	dir := t.TempDir()
	full := updated(2)
	p := writeFile(t, dir, "e.jsonl", updated(1)+"\n"+full[:100])
	pos := changetest.Positions{}
	var warned []string
	src := file.NewSource(one(p), testMapper(t), maxBytes, pos.Func())
	src.Warn = func(msg string, args ...any) { warned = append(warned, msg) }
	recs := mustReadAll(t, src)
	if len(recs) != 1 || recs[0].Change == nil || len(warned) != 1 || !strings.Contains(warned[0], "unterminated") {
		t.Fatalf("records %s, warnings %v; want one change and one warning", kinds(recs), warned)
	}
	pos.Commit(recs[0])
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(full[100:] + "\n")
	f.Close()
	recs = mustReadAll(t, file.NewSource(one(p), testMapper(t), maxBytes, pos.Func()))
	if len(recs) != 1 || recs[0].Change == nil || recs[0].Change.Key.String() != guid(2) {
		t.Fatalf("after completing the line: records %s, want the change of %s", kinds(recs), guid(2))
	}
}

// TestTruncatedFile: a file shorter than its committed position was
// truncated or replaced; reading it is an error, not a silent skip.
func TestTruncatedFile(t *testing.T) {
	p := writeFile(t, t.TempDir(), "e.jsonl", updated(1)+"\n")
	pos := func(string) (int64, bool, error) { return 1 << 20, true, nil }
	_, err := readAll(t, file.NewSource(one(p), testMapper(t), maxBytes, pos))
	if err == nil || !strings.Contains(err.Error(), "truncated or replaced") {
		t.Fatalf("err = %v, want a truncated-file error", err)
	}
}
