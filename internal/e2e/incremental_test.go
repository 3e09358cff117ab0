package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// exportItems reads every item of a full export folder.
func exportItems(t *testing.T, exportDir string) map[string]ddbjson.Map {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(exportDir, "AWSDynamoDB", "*", "data", "*.json.gz"))
	out := map[string]ddbjson.Map{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			item, err := ddbjson.DecodeExportLine(sc.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			out[item["id"].Str] = item
		}
		fh.Close()
	}
	return out
}

// writeIncremental writes, as a DynamoDB incremental export of the window
// [from, to), the changes that turn the items before into the items after.
func writeIncremental(t *testing.T, dir string, before, after map[string]ddbjson.Map, from, to time.Time) int {
	t.Helper()
	id := "01800000000000-incr0001"
	base := filepath.Join(dir, "AWSDynamoDB", id)
	os.MkdirAll(filepath.Join(base, "data"), 0o755)
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	n := 0
	for i, k := range sorted {
		b, a := before[k], after[k]
		if b != nil && a != nil && ddbjson.EqualMaps(a, b) {
			continue
		}
		wt := from.Add(time.Duration(i) * time.Millisecond).UnixMicro()
		line := fmt.Sprintf(`{"Metadata":{"WriteTime":{"N":"%d"}},"Keys":{"id":{"S":%q}}`, wt, k)
		if a != nil {
			line += `,"NewImage":` + string(ddbjson.AppendMap(nil, a))
		}
		if b != nil {
			line += `,"OldImage":` + string(ddbjson.AppendMap(nil, b))
		}
		zw.Write([]byte(line + "}\n"))
		n++
	}
	zw.Close()
	os.WriteFile(filepath.Join(base, "data", "incr.json.gz"), gz.Bytes(), 0o644)
	sum := md5.Sum(gz.Bytes())
	os.WriteFile(filepath.Join(base, "manifest-files.json"), []byte(fmt.Sprintf(
		`{"itemCount":%d,"md5Checksum":"%s","etag":"%s","dataFileS3Key":"AWSDynamoDB/%s/data/incr.json.gz"}`+"\n",
		n, base64.StdEncoding.EncodeToString(sum[:]), hex.EncodeToString(sum[:]), id)), 0o644)
	os.WriteFile(filepath.Join(base, "manifest-summary.json"), []byte(fmt.Sprintf(
		`{"version":"2023-08-01","exportType":"INCREMENTAL_EXPORT","exportFromTime":"%s","exportToTime":"%s","itemCount":%d,"outputFormat":"DYNAMODB_JSON"}`,
		from.Format(time.RFC3339), to.Format(time.RFC3339), n)), 0o644)
	return n
}

// TestIncrementalExportOverlay: a full export, then an incremental export
// of the writes after it (silent ones included), applied as an overlay,
// give exactly the table at the end of the window, version numbers and all.
func TestIncrementalExportOverlay(t *testing.T) {
	dir := generate(t, 500, 1500, 0, 51)
	before := exportItems(t, filepath.Join(dir, "export"))
	after := map[string]ddbjson.Map{}
	for k, line := range readJSONL(t, filepath.Join(dir, "truth.jsonl")) {
		v, _ := ddbjson.FromJSON([]byte(line))
		after[k] = v.Map
	}
	from := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	n := writeIncremental(t, filepath.Join(dir, "incremental"), before, after, from, from.Add(3*time.Hour))
	if n == 0 {
		t.Fatal("no change between the export and the truth")
	}
	cfg := filepath.Join(dir, "tidemark.yaml")
	yml, _ := os.ReadFile(cfg)
	text := strings.Replace(string(yml), "      path: export\n", "      path: export\n    - entity: tenure\n      path: incremental\n", 1)
	text = strings.Replace(text, "  events:\n    - path: events/*.jsonl\n", "", 1)
	os.WriteFile(cfg, []byte(text), 0o644)
	out := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
	if out["items"] != float64(500+n) {
		t.Fatalf("run: %v, want %d rows (500 + %d changes)", out, 500+n, n)
	}
	got := map[string]string{}
	for k, v := range readDump(t, stateDir(dir)).Current {
		got[k] = v
	}
	compareLines(t, "state vs truth", sortedLines(got), sortedLines(readJSONL(t, filepath.Join(dir, "truth.jsonl"))))
	// Applied again, the incremental export changes nothing.
	if out := summary(t, tidemark(t, "run", "--config", cfg, "--json")); out["items"] != 0 {
		t.Fatalf("second run: %v", out)
	}
}
