package e2e

import (
	"bytes"
	"context"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/tidemark-dev/tidemark/internal/source/s3fs"
)

// TestRunFromS3: `run` bootstraps from an export in an S3-compatible server
// (the real HTTP protocol, through the AWS SDK) and ends with exactly the
// state of a run from the same export in a local folder; verify reads S3 too.
func TestRunFromS3(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()
	client, err := s3fs.NewClient(ctx, s3fs.ClientOptions{Region: "eu-west-2", Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	src := generate(t, 800, 1500, 5, 41)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("landing-zone")}); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(filepath.Join(src, "export"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(filepath.Join(src, "export"), p)
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("landing-zone"),
			Key: aws.String("tenure/" + filepath.ToSlash(rel)), Body: bytes.NewReader(b)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	local := copyDir(t, src)
	tidemark(t, "run", "--config", filepath.Join(local, "tidemark.yaml"))

	remote := copyDir(t, src)
	os.RemoveAll(filepath.Join(remote, "export"))
	cfg := filepath.Join(remote, "tidemark.yaml")
	yml, _ := os.ReadFile(cfg)
	text := strings.Replace(string(yml), "      path: export\n", "      path: s3://landing-zone/tenure/\n", 1)
	text += "aws:\n  region: eu-west-2\n  endpoint: " + srv.URL + "\n"
	os.WriteFile(cfg, []byte(text), 0o644)
	out := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
	if out["items"] != 800 {
		t.Fatalf("run from S3: %v", out)
	}
	compareDumps(t, readDump(t, stateDir(remote)), readDump(t, stateDir(local)))

	// verify against the S3 export: the keys changed after it are skipped,
	// the rest match.
	report := filepath.Join(remote, "report.jsonl")
	stdout := tidemarkExit(t, 0, "verify", "--config", cfg, "--entity", "tenure", "--against", "s3://landing-zone/tenure/",
		"--report", report, "--json")
	if !strings.Contains(string(stdout), `"matching"`) {
		t.Fatalf("verify: %s", stdout)
	}
}
