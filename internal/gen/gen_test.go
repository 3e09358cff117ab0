package gen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// testOpts is the scenario most tests read: small, but with every feature.
var testOpts = Options{Tenures: 3000, Events: 6000, BadLines: 30, Seed: 7, Truth: true}

var (
	sharedOnce sync.Once
	sharedDir  string
	sharedSum  Summary
	sharedErr  error
)

// generated returns the output of testOpts, generated once per test binary.
func generated(t *testing.T) (string, Summary) {
	t.Helper()
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "tidemark-gen-")
		if sharedErr == nil {
			o := testOpts
			o.Dir = sharedDir
			sharedSum, sharedErr = Generate(context.Background(), o)
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedDir, sharedSum
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

func TestDeterministic(t *testing.T) {
	opts := Options{Tenures: 1500, Events: 3000, BadLines: 12, Seed: 42, Truth: true, Files: 3}
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		o := opts
		o.Dir = dir
		if _, err := Generate(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	fa, fb := readTree(t, a), readTree(t, b)
	if len(fa) != len(fb) {
		t.Fatalf("runs wrote %d and %d files", len(fa), len(fb))
	}
	for name, data := range fa {
		if !bytes.Equal(data, fb[name]) {
			t.Errorf("%s differs between two runs with the same options", name)
		}
	}
	// Another seed gives another source.
	o := opts
	o.Dir, o.Seed = t.TempDir(), 43
	if _, err := Generate(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(readTree(t, o.Dir)[TruthFile], fa[TruthFile]) {
		t.Error("seeds 42 and 43 gave the same truth")
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out[filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestManifest(t *testing.T) {
	dir, sum := generated(t)
	exportDir := filepath.Join(dir, filepath.FromSlash(sum.ExportDir))
	var ms manifestSummary
	readJSON(t, filepath.Join(exportDir, "manifest-summary.json"), &ms)
	if ms.ItemCount != sum.Items || sum.Items != testOpts.Tenures {
		t.Errorf("itemCount %d, summary %d, want %d", ms.ItemCount, sum.Items, testOpts.Tenures)
	}
	id := filepath.Base(exportDir)
	if ms.ExportArn != tableArn+"/export/"+id || ms.ManifestFilesS3Key != "AWSDynamoDB/"+id+"/manifest-files.json" ||
		ms.OutputFormat != "DYNAMODB_JSON" || ms.Version != "2020-06-30" || ms.ExportTime != "2026-11-01T02:00:00.000Z" {
		t.Errorf("manifest summary: %+v", ms)
	}
	items, ids := 0, map[string]bool{}
	for _, e := range readManifestFiles(t, exportDir) {
		data, err := os.ReadFile(filepath.Join(dir, "export", filepath.FromSlash(e.DataFileS3Key)))
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(data)
		if e.MD5Checksum != base64.StdEncoding.EncodeToString(sum[:]) || e.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: md5 does not match the manifest", e.DataFileS3Key)
		}
		n := 0
		forEachGzipLine(t, data, func(line []byte) {
			item, err := ddbjson.DecodeExportLine(line)
			if err != nil {
				t.Fatalf("%s line %d: %v", e.DataFileS3Key, n+1, err)
			}
			if id := item["id"].Str; id == "" || ids[id] || item["versionNumber"].Kind != ddbjson.KindN {
				t.Fatalf("%s line %d: bad or repeated id, or no versionNumber: %v", e.DataFileS3Key, n+1, id)
			}
			ids[item["id"].Str] = true
			n++
		})
		if n != e.ItemCount {
			t.Errorf("%s has %d items, manifest says %d", e.DataFileS3Key, n, e.ItemCount)
		}
		items += n
	}
	if items != sum.Items {
		t.Errorf("data files hold %d items, summary says %d", items, sum.Items)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readManifestFiles(t *testing.T, exportDir string) []fileEntry {
	t.Helper()
	var out []fileEntry
	forEachLine(t, filepath.Join(exportDir, "manifest-files.json"), func(line []byte) {
		var e fileEntry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	})
	return out
}

// forEachGzipLine reads a gzip file as one member (as the export writes it).
func forEachGzipLine(t *testing.T, data []byte, fn func([]byte)) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fn(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := zr.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("data after the gzip member's end: %v", err)
	}
}

func forEachLine(t *testing.T, path string, fn func([]byte)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			fn(bytes.TrimSuffix(line, []byte("\n")))
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSummaryFile(t *testing.T) {
	dir, sum := generated(t)
	var onDisk Summary
	readJSON(t, filepath.Join(dir, SummaryFile), &onDisk)
	if onDisk != sum {
		t.Errorf("summary.json %+v, Generate returned %+v", onDisk, sum)
	}
	if sum.BadLines != testOpts.BadLines || sum.Duplicates == 0 || sum.OverlapEvents == 0 ||
		sum.SilentWrites == 0 || sum.MismatchedPatches == 0 {
		t.Errorf("a feature of the scenario is missing: %+v", sum)
	}
	if d := sum.Events - testOpts.Events; d < -testOpts.Events/10 || d > testOpts.Events/10 {
		t.Errorf("%d events, asked for about %d", sum.Events, testOpts.Events)
	}
}

func TestEdgeCases(t *testing.T) {
	for _, o := range []Options{
		{},
		{Tenures: 1, Events: 50, BadLines: 3},
		{Tenures: 3, Files: 5, Truth: true},
		{Events: 20, BadLines: 11, Truth: true},
		{Tenures: 10, Events: 400, Seed: -3, Truth: true},
	} {
		o.Dir = t.TempDir()
		sum, err := Generate(context.Background(), o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if sum.Items != o.Tenures || sum.BadLines != o.BadLines {
			t.Errorf("%+v: summary %+v", o, sum)
		}
		entries := readManifestFiles(t, filepath.Join(o.Dir, filepath.FromSlash(sum.ExportDir)))
		if o.Files > 0 && len(entries) != o.Files {
			t.Errorf("%+v: %d data files", o, len(entries))
		}
		if o.Truth {
			checkConsumer(t, o.Dir, sum)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Generate(ctx, Options{Dir: t.TempDir(), Tenures: 5000, Events: 20000})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := Generate(context.Background(), Options{Tenures: 1}); err == nil {
		t.Error("no error without a folder")
	}
}

// TestExportOrder checks that exportIndex is a bijection on [0, total) for
// many sizes and that the export does not list tenures in id order: most
// neighbours in a data file are far apart in the key space.
func TestExportOrder(t *testing.T) {
	for _, total := range []int{0, 1, 2, 3, 4, 10, 97, 100, 1000, 4096, 10007, 100000} {
		m := &model{seed: 12345, total: total}
		step := m.exportStep()
		seen := make([]bool, total)
		for pos := range total {
			idx := m.exportIndex(pos, step)
			if idx < 0 || idx >= total || seen[idx] {
				t.Fatalf("total %d: position %d gives %d, out of range or twice", total, pos, idx)
			}
			seen[idx] = true
		}
		if total < 100 {
			continue
		}
		far := 0
		for pos := 1; pos < total; pos++ {
			d := m.exportIndex(pos, step) - m.exportIndex(pos-1, step)
			if d > total/10 || d < -total/10 {
				far++
			}
		}
		if far < total*9/10 {
			t.Errorf("total %d: only %d of %d neighbours are more than a tenth of the ids apart", total, far, total-1)
		}
	}
}
