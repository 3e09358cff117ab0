package export_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tidemark-dev/tidemark/internal/source/export"
)

// summaryAt is a manifest-summary.json with the given export time.
func summaryAt(t time.Time) *fstest.MapFile {
	s := summary(0)
	s["exportTime"] = t.Format(time.RFC3339Nano)
	b, _ := json.Marshal(s)
	return &fstest.MapFile{Data: b}
}

func TestFind(t *testing.T) {
	t1 := time.Date(2026, 10, 30, 2, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	t3 := time.Date(2026, 10, 31, 2, 0, 0, 0, time.UTC)
	several := fstest.MapFS{
		// Names do not sort by time: the latest export is the middle one.
		"exports/AWSDynamoDB/01793325600000-aaaaaaaa/manifest-summary.json": summaryAt(t1),
		"exports/AWSDynamoDB/01793498400000-bbbbbbbb/manifest-summary.json": summaryAt(t2),
		"exports/AWSDynamoDB/01793412000000-cccccccc/manifest-summary.json": summaryAt(t3),
		// Not exports: a folder with a broken summary, one without, a file.
		"exports/AWSDynamoDB/99999999999999-broken/manifest-summary.json": {Data: []byte("{not json")},
		"exports/AWSDynamoDB/99999999999999-empty/data/x.json.gz":         {Data: []byte("x")},
		"exports/AWSDynamoDB/_started":                                    {Data: nil},
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		root string
		want string
	}{
		{"root is the export", fstest.MapFS{"e/manifest-summary.json": summaryAt(t1)}, "e", "e"},
		{"root is the export, dot", fstest.MapFS{"manifest-summary.json": summaryAt(t1)}, ".", "."},
		{"one export below", fstest.MapFS{"AWSDynamoDB/x/manifest-summary.json": summaryAt(t1)}, ".", "AWSDynamoDB/x"},
		{"latest of several", several, "exports", "exports/AWSDynamoDB/01793498400000-bbbbbbbb"},
		{"root is AWSDynamoDB", several, "exports/AWSDynamoDB", "exports/AWSDynamoDB/01793498400000-bbbbbbbb"},
		{"unclean root", several, "exports/./", "exports/AWSDynamoDB/01793498400000-bbbbbbbb"},
	}
	for _, tt := range tests {
		got, err := export.Find(tt.fsys, tt.root)
		if err != nil || got != tt.want {
			t.Errorf("%s: Find(%q) = %q, %v; want %q", tt.name, tt.root, got, err, tt.want)
		}
	}
}

func TestFindErrors(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		root string
		want []string
		is   error
	}{
		{"nothing there", fstest.MapFS{"other/x": {}}, "exports",
			[]string{"looking for an export under exports", "no manifest-summary.json there"}, fs.ErrNotExist},
		{"AWSDynamoDB without exports", fstest.MapFS{"exports/AWSDynamoDB/x/data/a.json.gz": {}}, "exports",
			[]string{"no export (AWSDynamoDB/<exportId>/manifest-summary.json) under exports"}, nil},
		{"only a broken summary", fstest.MapFS{"exports/AWSDynamoDB/x/manifest-summary.json": {Data: []byte("[")}}, "exports",
			[]string{"no export", "under exports"}, nil},
	}
	for _, tt := range tests {
		got, err := export.Find(tt.fsys, tt.root)
		if err == nil {
			t.Errorf("%s: Find = %q, want an error", tt.name, got)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tt.name, err, w)
			}
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: error %v is not %v", tt.name, err, tt.is)
		}
	}
}

func TestReadManifest(t *testing.T) {
	fsys := buildExport(t, nil,
		file("zzzz.json.gz", items(0, 3)...),
		file("aaaa.json.gz", items(3, 5)...),
		dataFile{name: "mmmm.json.gz", count: 0, raw: gz(t, "")})
	// A blank line in manifest-files.json is skipped.
	mf := fsys[testDir+"/manifest-files.json"]
	mf.Data = append([]byte("\n"), mf.Data...)
	m, err := export.ReadManifest(fsys, testDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir != testDir || m.ID != testID || !m.Summary.ExportTime.Equal(testTime) || m.Summary.ItemCount != 5 {
		t.Errorf("manifest = dir %q id %q time %v items %d", m.Dir, m.ID, m.Summary.ExportTime, m.Summary.ItemCount)
	}
	var keys []string
	for _, f := range m.Files {
		keys = append(keys, f.Key)
	}
	want := []string{testDir + "/data/aaaa.json.gz", testDir + "/data/mmmm.json.gz", testDir + "/data/zzzz.json.gz"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("files = %v, want them in key order %v", keys, want)
	}
	if f := m.Files[2]; f.ItemCount != 3 || f.MD5Checksum != md5sum(fsys[f.Key].Data) || f.ETag != "x" {
		t.Errorf("file entry = %+v", f)
	}
	if got := m.Path(m.Files[0]); got != testDir+"/data/aaaa.json.gz" {
		t.Errorf("Path = %q", got)
	}
	if got := m.SourceID(m.Files[0]); got != "export:"+testID+"/aaaa.json.gz" {
		t.Errorf("SourceID = %q", got)
	}
	// The data file is found in the export folder even when the S3 key
	// names another prefix (the export was copied elsewhere).
	if got := m.Path(export.DataFile{Key: "other/prefix/AWSDynamoDB/x/data/b.json.gz"}); got != testDir+"/data/b.json.gz" {
		t.Errorf("Path of a foreign key = %q", got)
	}
}

func TestReadManifestErrors(t *testing.T) {
	two := func(edit func(map[string]any)) fstest.MapFS {
		return buildExport(t, edit, file("a.json.gz", items(0, 3)...), file("b.json.gz", items(3, 5)...))
	}
	summaryPath := testDir + "/manifest-summary.json"
	filesPath := testDir + "/manifest-files.json"
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string
		is   error
	}{
		{"item count sum mismatch", two(func(s map[string]any) { s["itemCount"] = 6 }),
			[]string{"export " + testDir + ": data files hold 5 items but manifest-summary.json says 6"}, nil},
		{"incremental export without its window", two(func(s map[string]any) { s["exportType"] = "INCREMENTAL_EXPORT" }),
			[]string{"nor exportToTime for an incremental export"}, nil},
		{"ION output", two(func(s map[string]any) { s["outputFormat"] = "ION" }),
			[]string{"export manifest " + summaryPath + ": outputFormat ION is not supported", "DYNAMODB_JSON"}, nil},
		{"no export time", two(func(s map[string]any) { delete(s, "exportTime") }),
			[]string{"export manifest " + summaryPath + " has no exportTime"}, nil},
		{"bad export time", two(func(s map[string]any) { s["exportTime"] = "yesterday" }),
			[]string{"decoding export manifest " + summaryPath}, nil},
		{"missing md5", func() fstest.MapFS {
			fsys := two(nil)
			fsys[filesPath].Data = append(fsys[filesPath].Data, `{"itemCount":0,"etag":"x","dataFileS3Key":"`+testDir+`/data/c.json.gz"}`+"\n"...)
			return fsys
		}(), []string{filesPath + " line 3: dataFileS3Key and md5Checksum are required"}, nil},
		{"missing key", func() fstest.MapFS {
			fsys := two(nil)
			fsys[filesPath].Data = append([]byte(`{"itemCount":0,"md5Checksum":"1B2M2Y8AsgTpgAmY7PhCfg=="}`+"\n"), fsys[filesPath].Data...)
			return fsys
		}(), []string{filesPath + " line 1: dataFileS3Key and md5Checksum are required"}, nil},
		{"bad files line", func() fstest.MapFS {
			fsys := two(nil)
			fsys[filesPath].Data = append(fsys[filesPath].Data, "{\"itemCount\":\"two\"}\n"...)
			return fsys
		}(), []string{"decoding " + filesPath + " line 3"}, nil},
		{"no manifest-files.json", func() fstest.MapFS {
			fsys := two(nil)
			delete(fsys, filesPath)
			return fsys
		}(), []string{"reading export manifest " + filesPath}, fs.ErrNotExist},
		{"no summary", func() fstest.MapFS {
			fsys := two(nil)
			delete(fsys, summaryPath)
			return fsys
		}(), []string{"reading export manifest " + summaryPath}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		m, err := export.ReadManifest(tt.fsys, testDir)
		if err == nil {
			t.Errorf("%s: ReadManifest = %+v, want an error", tt.name, m)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tt.name, err, w)
			}
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: error %v is not %v", tt.name, err, tt.is)
		}
	}
	// A summary without an item count (older exports) is not checked.
	if _, err := export.ReadManifest(two(func(s map[string]any) { delete(s, "itemCount") }), testDir); err != nil {
		t.Errorf("summary without itemCount: %v", err)
	}
}
