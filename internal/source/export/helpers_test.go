package export_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/gen"
	"github.com/tidemark-dev/tidemark/internal/source/export"
)

// The hand-made export of the tests: one table export as DynamoDB writes it.
const (
	testID  = "01793498400000-7992c77e"
	testDir = "AWSDynamoDB/" + testID
)

var (
	testTime  = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	testTable = export.Table{Entity: "tenure", HashAttr: "id", VersionAttr: "versionNumber"}
)

// guid returns the i-th tenure id.
func guid(i int) string { return fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i) }

// item returns an export line of tenure i at version v.
func item(i, v int) string {
	return fmt.Sprintf(`{"Item":{"id":{"S":"%s"},"versionNumber":{"N":"%d"},"paymentReference":{"S":"%010d"},"isTenanted":{"BOOL":true},"charges":{"M":{"rent":{"N":"112.54"}}}}}`,
		guid(i), v, 228000000+i)
}

// items returns export lines for tenures from..to-1.
func items(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, item(i, 1+i%5))
	}
	return out
}

// dataFile is one data file of a hand-made export.
type dataFile struct {
	name  string   // base name under data/
	lines []string // written one per line, each ending in "\n"
	raw   []byte   // the file's bytes instead of gzip(lines), when set
	count int64    // itemCount in the manifest; -1 counts the non-blank lines
	md5   string   // md5Checksum in the manifest; "" is the right one
	omit  bool     // listed in the manifest but absent
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func md5sum(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// summary returns manifest-summary.json's fields for items items.
func summary(items int64) map[string]any {
	return map[string]any{
		"version": "2020-06-30", "exportArn": "arn:aws:dynamodb:eu-west-2:123456789012:table/TenureInformation/export/" + testID,
		"startTime": "2026-11-01T02:00:12.000Z", "endTime": "2026-11-01T02:03:40.000Z",
		"exportTime": testTime.Format(time.RFC3339Nano), "tableArn": "arn:aws:dynamodb:eu-west-2:123456789012:table/TenureInformation",
		"itemCount": items, "outputFormat": "DYNAMODB_JSON", "exportType": "FULL_EXPORT",
		"manifestFilesS3Key": testDir + "/manifest-files.json",
	}
}

// buildExport writes an export of files into a memory file system; edit,
// if set, changes the summary before it is written.
func buildExport(t testing.TB, edit func(map[string]any), files ...dataFile) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	var manifest bytes.Buffer
	var total int64
	for _, f := range files {
		raw := f.raw
		if raw == nil {
			var s strings.Builder
			for _, l := range f.lines {
				s.WriteString(l + "\n")
			}
			raw = gz(t, s.String())
		}
		count := f.count
		if count < 0 {
			count = 0
			for _, l := range f.lines {
				if strings.TrimSpace(l) != "" {
					count++
				}
			}
		}
		sum := f.md5
		if sum == "" {
			sum = md5sum(raw)
		}
		key := testDir + "/data/" + f.name
		line, _ := json.Marshal(map[string]any{"itemCount": count, "md5Checksum": sum, "etag": "x", "dataFileS3Key": key})
		manifest.Write(append(line, '\n'))
		total += count
		if !f.omit {
			fsys[key] = &fstest.MapFile{Data: raw}
		}
	}
	s := summary(total)
	if edit != nil {
		edit(s)
	}
	b, _ := json.Marshal(s)
	fsys[testDir+"/manifest-summary.json"] = &fstest.MapFile{Data: b}
	fsys[testDir+"/manifest-files.json"] = &fstest.MapFile{Data: manifest.Bytes()}
	return fsys
}

// file is a data file whose count is that of its non-blank lines.
func file(name string, lines ...string) dataFile {
	return dataFile{name: name, lines: lines, count: -1}
}

// open reads the manifest of the export in fsys and opens a source on it.
func open(t testing.TB, fsys fs.FS, workers int, pos export.PositionFunc) *export.Source {
	t.Helper()
	m, err := export.ReadManifest(fsys, testDir)
	if err != nil {
		t.Fatal(err)
	}
	if pos == nil {
		pos = noPositions
	}
	return export.NewSource(fsys, m, testTable, workers, pos)
}

func noPositions(string) (int64, bool, error) { return 0, false, nil }

// readAll reads src to io.EOF or the first error, and closes it.
func readAll(t testing.TB, src change.Source) ([]change.Record, error) {
	t.Helper()
	defer src.Close()
	var recs []change.Record
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		r, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, r)
	}
}

// generated is an export written by the generator.
type generated struct {
	fsys  fs.FS
	m     *export.Manifest
	sum   gen.Summary
	items int
}

// generate writes a generated export of n tenures in files data files.
func generate(t testing.TB, n, files int) generated {
	t.Helper()
	dir := t.TempDir()
	sum, err := gen.Generate(context.Background(), gen.Options{Dir: dir, Tenures: n, Seed: 7, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(filepath.Join(dir, "export"))
	d, err := export.Find(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	m, err := export.ReadManifest(fsys, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != files || sum.Items != n {
		t.Fatalf("generated %d items in %d files, want %d in %d", sum.Items, len(m.Files), n, files)
	}
	return generated{fsys: fsys, m: m, sum: sum, items: sum.Items}
}

// fullImage is a row's image as a Map (a full export's row carries it in
// the binary form), failing the test unless it has one.
func fullImage(t testing.TB, c *change.Change) ddbjson.Map {
	t.Helper()
	img, err := c.FullImage()
	if err != nil {
		t.Fatal(err)
	}
	if img == nil {
		t.Fatalf("row %s has no image", c.Key)
	}
	return img
}
