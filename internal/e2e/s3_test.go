package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/testutil/s3server"
)

// TestRunFromS3: `run` bootstraps from an export in an S3-compatible server
// (the real HTTP protocol, through the AWS SDK) and ends with exactly the
// state of a run from the same export in a local folder; verify reads S3 too.
// s3Server starts an in-process S3-compatible server with a bucket; the
// binary finds it through the config's aws.endpoint.
func s3Server(t *testing.T, bucket string) (string, *s3.Client) {
	t.Helper()
	client, url := s3server.Start(t)
	s3server.CreateBucket(t, client, bucket)
	return url, client
}

func putDir(t *testing.T, client *s3.Client, dir, bucket, prefix string) {
	t.Helper()
	s3server.PutDir(t, client, dir, bucket, prefix)
}

func TestRunFromS3(t *testing.T) {
	url, client := s3Server(t, "landing-zone")
	src := generate(t, 800, 1500, 5, 41)
	putDir(t, client, filepath.Join(src, "export"), "landing-zone", "tenure/")

	local := copyDir(t, src)
	tidemark(t, "run", "--config", filepath.Join(local, "tidemark.yaml"))

	remote := copyDir(t, src)
	os.RemoveAll(filepath.Join(remote, "export"))
	cfg := filepath.Join(remote, "tidemark.yaml")
	yml, _ := os.ReadFile(cfg)
	text := strings.Replace(string(yml), "      path: export\n", "      path: s3://landing-zone/tenure/\n", 1)
	text += "aws:\n  region: eu-west-2\n  endpoint: " + url + "\n"
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

// TestIncrementalFromS3: a full and an incremental export read from S3 give
// the table at the end of the window, as from local folders.
func TestIncrementalFromS3(t *testing.T) {
	url, client := s3Server(t, "exports")
	dir := generate(t, 300, 900, 0, 52)
	after := map[string]ddbjson.Map{}
	for k, line := range readJSONL(t, filepath.Join(dir, "truth.jsonl")) {
		v, _ := ddbjson.FromJSON([]byte(line))
		after[k] = v.Map
	}
	from := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	if writeIncremental(t, filepath.Join(dir, "incremental"), exportItems(t, filepath.Join(dir, "export")), after, from, from.Add(3*time.Hour)) == 0 {
		t.Fatal("no change to export incrementally")
	}
	putDir(t, client, filepath.Join(dir, "export"), "exports", "full/")
	putDir(t, client, filepath.Join(dir, "incremental"), "exports", "incremental/")
	cfg := filepath.Join(dir, "tidemark.yaml")
	yml, _ := os.ReadFile(cfg)
	text := strings.Replace(string(yml), "      path: export\n", "      path: s3://exports/full/\n    - entity: tenure\n      path: s3://exports/incremental/\n", 1)
	text = strings.Replace(text, "  events:\n    - path: events/*.jsonl\n", "", 1)
	text += "aws:\n  endpoint: " + url + "\n"
	os.WriteFile(cfg, []byte(text), 0o644)
	tidemark(t, "run", "--config", cfg)
	got := map[string]string{}
	for k, v := range readDump(t, stateDir(dir)).Current {
		got[k] = v
	}
	compareLines(t, "state vs truth", sortedLines(got), sortedLines(readJSONL(t, filepath.Join(dir, "truth.jsonl"))))
}
