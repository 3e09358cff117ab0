package gen

import (
	"bufio"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

const (
	tableName = "TenureInformation"
	tableArn  = "arn:aws:dynamodb:eu-west-2:123456789012:table/" + tableName
	s3Bucket  = "lbh-tenure-information-exports"
)

// exportID returns an id shaped like DynamoDB's: 14 digits of the export's
// epoch milliseconds, a dash and 8 hex digits.
func exportID(seed uint64, at time.Time) string {
	return fmt.Sprintf("%014d-%08x", at.UnixMilli(), uint32(mix(seed^0xe4907)))
}

// dataFileName returns the random-looking name of export data file f.
func dataFileName(seed uint64, f int) string {
	r := newRnd(seed, streamExport, uint64(f)+1, 0)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 26)
	for i := range b {
		b[i] = alphabet[r.intn(len(alphabet))]
	}
	return string(b) + ".json.gz"
}

// gzFile writes one export data file: a gzip member whose deflate stream is
// the concatenation of the workers' sync-flushed segments. The MD5 of the
// bytes written is what S3 reports for the object.
type gzFile struct {
	f     *os.File
	w     *bufio.Writer
	md5   hash.Hash
	crc   uint32
	size  uint32
	items int
	key   string
}

// gzipHeader: magic, deflate, no flags, no mtime, fastest, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255}

func createGz(path, key string) (*gzFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating export data file: %w", err)
	}
	z := &gzFile{f: f, md5: md5.New(), key: key}
	z.w = bufio.NewWriterSize(io.MultiWriter(f, z.md5), 1<<20)
	z.w.Write(gzipHeader)
	return z, nil
}

func (z *gzFile) add(out batchOut) {
	z.crc = crc32.Update(z.crc, crc32.IEEETable, out.raw)
	z.size += uint32(len(out.raw))
	z.items += out.items
	z.w.Write(out.comp)
}

// close ends the deflate stream with an empty final block, writes the gzip
// trailer and returns the manifest entry of the file.
func (z *gzFile) close() (fileEntry, error) {
	z.w.Write([]byte{0x03, 0x00})
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], z.crc)
	binary.LittleEndian.PutUint32(trailer[4:], z.size)
	z.w.Write(trailer[:])
	err := z.w.Flush()
	if cerr := z.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fileEntry{}, fmt.Errorf("writing export data file %s: %w", z.f.Name(), err)
	}
	sum := z.md5.Sum(nil)
	return fileEntry{
		ItemCount:     z.items,
		MD5Checksum:   base64.StdEncoding.EncodeToString(sum),
		ETag:          hex.EncodeToString(sum),
		DataFileS3Key: z.key,
	}, nil
}

// fileEntry is one line of manifest-files.json.
type fileEntry struct {
	ItemCount     int    `json:"itemCount"`
	MD5Checksum   string `json:"md5Checksum"`
	ETag          string `json:"etag"`
	DataFileS3Key string `json:"dataFileS3Key"`
}

// manifestSummary is manifest-summary.json, field for field.
type manifestSummary struct {
	Version            string  `json:"version"`
	ExportArn          string  `json:"exportArn"`
	StartTime          string  `json:"startTime"`
	EndTime            string  `json:"endTime"`
	TableArn           string  `json:"tableArn"`
	TableID            string  `json:"tableId"`
	ExportTime         string  `json:"exportTime"`
	S3Bucket           string  `json:"s3Bucket"`
	S3Prefix           *string `json:"s3Prefix"`
	S3SseAlgorithm     string  `json:"s3SseAlgorithm"`
	S3SseKmsKeyID      *string `json:"s3SseKmsKeyId"`
	ManifestFilesS3Key string  `json:"manifestFilesS3Key"`
	BilledSizeBytes    int64   `json:"billedSizeBytes"`
	ItemCount          int     `json:"itemCount"`
	OutputFormat       string  `json:"outputFormat"`
}

// exportWriter writes the export folder and, alongside, truth.jsonl and
// expected.jsonl, from the rendered batches in order.
type exportWriter struct {
	seed            uint64
	at              time.Time
	id, dir         string
	cur             *gzFile
	curFile         int
	entries         []fileEntry
	truth, expected *lineFile
	billed, data    int64
}

func newExportWriter(root string, seed uint64, at time.Time) (*exportWriter, error) {
	id := exportID(seed, at)
	dir := filepath.Join(root, "AWSDynamoDB", id)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("creating export folder: %w", err)
	}
	return &exportWriter{seed: seed, at: at, id: id, dir: dir, curFile: -1}, nil
}

func (x *exportWriter) key(rel string) string { return "AWSDynamoDB/" + x.id + "/" + rel }

// add writes one rendered batch.
func (x *exportWriter) add(out batchOut) error {
	if out.file != x.curFile {
		if err := x.closeFile(); err != nil {
			return err
		}
		name := dataFileName(x.seed, out.file)
		z, err := createGz(filepath.Join(x.dir, "data", name), x.key("data/"+name))
		if err != nil {
			return err
		}
		x.cur, x.curFile = z, out.file
	}
	x.cur.add(out)
	x.billed += out.billed
	x.data += int64(len(out.raw))
	if x.truth != nil {
		x.truth.w.Write(out.truth)
		x.expected.w.Write(out.expected)
	}
	return nil
}

func (x *exportWriter) closeFile() error {
	if x.cur == nil {
		return nil
	}
	e, err := x.cur.close()
	x.cur = nil
	if err != nil {
		return err
	}
	x.entries = append(x.entries, e)
	return nil
}

// finish closes the last data file and writes both manifests.
func (x *exportWriter) finish() (items int, err error) {
	if err := x.closeFile(); err != nil {
		return 0, err
	}
	var files []byte
	for _, e := range x.entries {
		b, _ := json.Marshal(e)
		files = append(append(files, b...), '\n')
		items += e.ItemCount
	}
	if err := os.WriteFile(filepath.Join(x.dir, "manifest-files.json"), files, 0o644); err != nil {
		return 0, fmt.Errorf("writing export manifest: %w", err)
	}
	r := newRnd(x.seed, streamExport, 0, 0)
	start := x.at.Add(time.Duration(5+r.intn(40)) * time.Second)
	end := start.Add(3*time.Minute + time.Duration(items/2000)*time.Second)
	iso := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	sum := manifestSummary{
		Version:            "2020-06-30",
		ExportArn:          tableArn + "/export/" + x.id,
		StartTime:          iso(start),
		EndTime:            iso(end),
		TableArn:           tableArn,
		TableID:            r.guid(),
		ExportTime:         iso(x.at),
		S3Bucket:           s3Bucket,
		S3SseAlgorithm:     "AES256",
		ManifestFilesS3Key: x.key("manifest-files.json"),
		BilledSizeBytes:    x.billed,
		ItemCount:          items,
		OutputFormat:       "DYNAMODB_JSON",
	}
	b, _ := json.Marshal(sum)
	if err := os.WriteFile(filepath.Join(x.dir, "manifest-summary.json"), append(b, '\n'), 0o644); err != nil {
		return 0, fmt.Errorf("writing export manifest summary: %w", err)
	}
	return items, nil
}

// lineFile is a buffered output file.
type lineFile struct {
	f *os.File
	w *bufio.Writer
}

func createLineFile(path string) (*lineFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Base(path), err)
	}
	return &lineFile{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (l *lineFile) close() error {
	if l == nil {
		return nil
	}
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(l.f.Name()), err)
	}
	return nil
}
