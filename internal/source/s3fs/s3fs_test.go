package s3fs_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tidemark-dev/tidemark/internal/gen"
	"github.com/tidemark-dev/tidemark/internal/source/export"
	"github.com/tidemark-dev/tidemark/internal/source/s3fs"
	"github.com/tidemark-dev/tidemark/internal/testutil/s3server"
)

func server(t testing.TB) (*s3.Client, string) { return s3server.Start(t) }

// upload copies the files under dir to s3://bucket/prefix/, in a new bucket.
func upload(t testing.TB, c *s3.Client, dir, bucket, prefix string) {
	t.Helper()
	s3server.CreateBucket(t, c, bucket)
	s3server.PutDir(t, c, dir, bucket, prefix)
}

func generated(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := gen.Generate(context.Background(), gen.Options{Dir: dir, Tenures: 3000, Events: 0, Seed: 8, Files: 3}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "export")
}

func readAll(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	dir, err := export.Find(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	m, err := export.ReadManifest(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	src := export.NewSource(fsys, m, export.Table{Entity: "tenure", HashAttr: "id", VersionAttr: "versionNumber"}, 2,
		func(string) (int64, bool, error) { return 0, false, nil })
	defer src.Close()
	var out []string
	for {
		rec, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Change.Key.String()+" "+rec.Change.Version+" "+rec.Next.Source+" "+itoa(rec.Next.Offset))
	}
	sort.Strings(out)
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestExportFromS3: the export reader yields the same rows from S3 as from
// the local folder, with the export at the prefix or in a folder above it.
func TestExportFromS3(t *testing.T) {
	local := generated(t)
	client, _ := server(t)
	upload(t, client, local, "lake-landing", "tenure/exports/")
	want := readAll(t, os.DirFS(local))
	if len(want) != 3000 {
		t.Fatalf("local export: %d rows", len(want))
	}
	for _, url := range []string{"s3://lake-landing/tenure/exports/", "s3://lake-landing/tenure/exports"} {
		bucket, prefix, err := s3fs.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, s3fs.New(context.Background(), client, bucket, prefix))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: %d rows differ from the local folder's %d", url, len(got), len(want))
		}
	}
	// The export folder itself as the prefix.
	ids, _ := filepath.Glob(filepath.Join(local, "AWSDynamoDB", "*"))
	got := readAll(t, s3fs.New(context.Background(), client, "lake-landing", "tenure/exports/AWSDynamoDB/"+filepath.Base(ids[0])))
	if len(got) != len(want) {
		t.Fatalf("export folder as prefix: %d rows", len(got))
	}
}

// TestBadObjects: a damaged data file, a missing one, a missing export.
func TestBadObjects(t *testing.T) {
	local := generated(t)
	client, _ := server(t)
	upload(t, client, local, "bad-objects", "x/")
	ctx := context.Background()
	fsys := s3fs.New(ctx, client, "bad-objects", "x")
	dir, err := export.Find(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	m, err := export.ReadManifest(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	damaged := m.Path(m.Files[1])
	client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bad-objects"), Key: aws.String("x/" + damaged), Body: strings.NewReader("not gzip")})
	src := export.NewSource(fsys, m, export.Table{Entity: "tenure", HashAttr: "id"}, 2, func(string) (int64, bool, error) { return 0, false, nil })
	err = src.Check(ctx)
	src.Close()
	if !errors.Is(err, export.ErrChecksum) || !strings.Contains(err.Error(), damaged) {
		t.Fatalf("damaged object: %v", err)
	}
	client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bad-objects"), Key: aws.String("x/" + damaged)})
	src = export.NewSource(fsys, m, export.Table{Entity: "tenure", HashAttr: "id"}, 2, func(string) (int64, bool, error) { return 0, false, nil })
	err = src.Check(ctx)
	src.Close()
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "s3://bad-objects/x/"+damaged) {
		t.Fatalf("missing object: %v", err)
	}
	if _, err := export.Find(s3fs.New(ctx, client, "bad-objects", "nothing-here"), "."); err == nil {
		t.Fatal("no export under an empty prefix, and no error")
	}
}

// TestFSConformance runs the standard library's file system checks.
func TestFSConformance(t *testing.T) {
	client, _ := server(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "one.txt"), []byte("one"), 0o644)
	os.WriteFile(filepath.Join(dir, "a", "b", "two.txt"), []byte("two two"), 0o644)
	upload(t, client, dir, "conf", "root/")
	fsys := s3fs.New(context.Background(), client, "conf", "root")
	if err := fstest.TestFS(fsys, "a/one.txt", "a/b/two.txt"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkExportFromS3 reads a 20,000-tenure export from the in-process
// S3-compatible server and from the local folder.
func BenchmarkExportFromS3(b *testing.B) {
	dir := b.TempDir()
	if _, err := gen.Generate(context.Background(), gen.Options{Dir: dir, Tenures: 20000, Seed: 8, Files: 4}); err != nil {
		b.Fatal(err)
	}
	local := filepath.Join(dir, "export")
	client, _ := server(b)
	upload(b, client, local, "bench-bucket", "x/")
	for _, fsys := range []struct {
		name string
		fs   fs.FS
	}{{"local", os.DirFS(local)}, {"s3", s3fs.New(context.Background(), client, "bench-bucket", "x")}} {
		b.Run(fsys.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				start := time.Now()
				n := countRows(b, fsys.fs)
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "items/s")
			}
		})
	}
}

func countRows(b testing.TB, fsys fs.FS) int {
	dir, err := export.Find(fsys, ".")
	if err != nil {
		b.Fatal(err)
	}
	m, err := export.ReadManifest(fsys, dir)
	if err != nil {
		b.Fatal(err)
	}
	src := export.NewSource(fsys, m, export.Table{Entity: "tenure", HashAttr: "id"}, 2,
		func(string) (int64, bool, error) { return 0, false, nil })
	defer src.Close()
	n := 0
	for {
		if _, err := src.Next(context.Background()); err != nil {
			return n
		}
		n++
	}
}
