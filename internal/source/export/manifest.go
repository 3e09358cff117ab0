// Package export reads a DynamoDB table export as ExportTableToPointInTime
// writes it (manifest-summary.json, manifest-files.json, data/*.json.gz in
// DynamoDB JSON) from any fs.FS: a local folder today, S3 through the same
// interface. Every data file's md5 is checked against the manifest before a
// row of the export is applied, and every file's item count as it is read.
package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// Summary is manifest-summary.json.
type Summary struct {
	Version    string    `json:"version"`
	ExportArn  string    `json:"exportArn"`
	StartTime  time.Time `json:"startTime"`
	EndTime    time.Time `json:"endTime"`
	ExportTime time.Time `json:"exportTime"`
	// An incremental export covers the writes of [ExportFromTime,
	// ExportToTime) instead of the table at ExportTime.
	ExportFromTime time.Time `json:"exportFromTime"`
	ExportToTime   time.Time `json:"exportToTime"`
	TableArn       string    `json:"tableArn"`
	ItemCount      int64     `json:"itemCount"`
	OutputFormat   string    `json:"outputFormat"`
	ExportType     string    `json:"exportType"`
	ManifestFiles  string    `json:"manifestFilesS3Key"`
	BilledSizeByte int64     `json:"billedSizeBytes"`
}

// DataFile is one line of manifest-files.json.
type DataFile struct {
	Key         string `json:"dataFileS3Key"`
	ItemCount   int64  `json:"itemCount"`
	MD5Checksum string `json:"md5Checksum"`
	ETag        string `json:"etag"`
}

// Incremental reports whether the export is an incremental one.
func (s Summary) Incremental() bool { return s.ExportType == "INCREMENTAL_EXPORT" }

// AsOf is the time the export reflects the table at: the export time of a
// full export, the end of the window of an incremental one.
func (s Summary) AsOf() time.Time {
	if s.Incremental() {
		return s.ExportToTime.UTC()
	}
	return s.ExportTime.UTC()
}

// Manifest is a whole export's description.
type Manifest struct {
	// Dir is the export folder within the file system (…/AWSDynamoDB/<id>).
	Dir     string
	ID      string
	Summary Summary
	Files   []DataFile
}

// Path returns the path of a data file within the file system.
func (m *Manifest) Path(f DataFile) string {
	return path.Join(m.Dir, "data", path.Base(f.Key))
}

// Find locates the export under root: root itself when it holds
// manifest-summary.json, else the AWSDynamoDB/<exportId> folder below it.
// With several exports it takes the latest exportTime.
func Find(fsys fs.FS, root string) (string, error) {
	root = path.Clean(root)
	if _, err := fs.Stat(fsys, path.Join(root, "manifest-summary.json")); err == nil {
		return root, nil
	}
	base := path.Join(root, "AWSDynamoDB")
	if path.Base(root) == "AWSDynamoDB" {
		base = root
	}
	entries, err := fs.ReadDir(fsys, base)
	if err != nil {
		return "", fmt.Errorf("looking for an export under %s: no manifest-summary.json there and %w", root, err)
	}
	var best string
	var bestTime time.Time
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := path.Join(base, e.Name())
		s, err := readSummary(fsys, dir)
		if err != nil {
			continue
		}
		if best == "" || s.AsOf().After(bestTime) {
			best, bestTime = dir, s.AsOf()
		}
	}
	if best == "" {
		return "", fmt.Errorf("no export (AWSDynamoDB/<exportId>/manifest-summary.json) under %s", root)
	}
	return best, nil
}

func readSummary(fsys fs.FS, dir string) (Summary, error) {
	var s Summary
	p := path.Join(dir, "manifest-summary.json")
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return s, fmt.Errorf("reading export manifest %s: %w", p, err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decoding export manifest %s: %w", p, err)
	}
	return s, nil
}

// ReadManifest reads the manifests of the export in dir and checks them.
func ReadManifest(fsys fs.FS, dir string) (*Manifest, error) {
	s, err := readSummary(fsys, dir)
	if err != nil {
		return nil, err
	}
	p := path.Join(dir, "manifest-summary.json")
	switch {
	case s.AsOf().IsZero():
		return nil, fmt.Errorf("export manifest %s has no exportTime (nor exportToTime for an incremental export)", p)
	case s.OutputFormat != "" && s.OutputFormat != "DYNAMODB_JSON":
		return nil, fmt.Errorf("export manifest %s: outputFormat %s is not supported (export with DYNAMODB_JSON)", p, s.OutputFormat)
	}
	m := &Manifest{Dir: dir, ID: path.Base(dir), Summary: s}
	fp := path.Join(dir, "manifest-files.json")
	f, err := fsys.Open(fp)
	if err != nil {
		return nil, fmt.Errorf("reading export manifest %s: %w", fp, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var total int64
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var df DataFile
		if err := json.Unmarshal(sc.Bytes(), &df); err != nil {
			return nil, fmt.Errorf("decoding %s line %d: %w", fp, line, err)
		}
		if df.Key == "" || df.MD5Checksum == "" {
			return nil, fmt.Errorf("%s line %d: dataFileS3Key and md5Checksum are required", fp, line)
		}
		total += df.ItemCount
		m.Files = append(m.Files, df)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", fp, err)
	}
	if s.ItemCount != 0 && total != s.ItemCount {
		return nil, fmt.Errorf("export %s: data files hold %d items but manifest-summary.json says %d", dir, total, s.ItemCount)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Key < m.Files[j].Key })
	return m, nil
}

// ErrChecksum is wrapped by errors about a data file whose md5 does not match.
var ErrChecksum = errors.New("md5 checksum mismatch")

// ErrCount is wrapped by errors about a data file whose item count does not
// match the manifest.
var ErrCount = errors.New("item count mismatch")
