package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/tidemark-dev/tidemark/internal/testutil/fauxqs"
)

// sqsDataset generates a dataset, sends its event lines in order to a new
// FIFO queue (one message group, as the council's topics use), and points
// its config at the queue instead of the events file. It returns the folder
// and a copy of it that still reads the events file, for comparison.
func sqsDataset(t *testing.T, srv *fauxqs.Server, tenures, events, seed int) (dir, fileDir string) {
	t.Helper()
	dir = generate(t, tenures, events, 0, seed)
	fileDir = copyDir(t, dir)
	url := srv.CreateQueue(t, "tenure.fifo", nil)
	lines := readJSONL2(t, filepath.Join(dir, "events", "tenure-events.jsonl"))
	c := srv.SQS()
	for i := 0; i < len(lines); i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j, l := range lines[i:min(i+10, len(lines))] {
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(l),
				MessageGroupId: aws.String("fake"), MessageDeduplicationId: aws.String(fmt.Sprintf("line-%d", i+j)),
			})
		}
		out, err := c.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("sending events: %v %v", err, out)
		}
	}
	cfgPath := filepath.Join(dir, "tidemark.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "    - path: events/*.jsonl",
		"    - sqs:\n        queue_url: "+url+"\n        endpoint: "+srv.Endpoint+"\n        wait: 1s\n        visibility_timeout: 10s", 1)
	if cfg == string(b) {
		t.Fatal("generated config has no events path to replace")
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "events")); err != nil {
		t.Fatal(err)
	}
	return dir, fileDir
}

// sqsEnv gives the binary static credentials for the test server.
func sqsEnv() []string {
	return append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=eu-west-2",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PROFILE=")
}

func tidemarkEnv(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tidemark %v: %v\n%s%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// TestRunFollowsSQS: a run that follows a FIFO queue until it is idle ends
// with exactly the state and history of a run over the same events from a
// file, and leaves the queue empty.
func TestRunFollowsSQS(t *testing.T) {
	srv := fauxqs.Start(t)
	dir, fileDir := sqsDataset(t, srv, 300, 900, 41)
	sum := summary(t, tidemarkEnv(t, sqsEnv(), "run", "--config", filepath.Join(dir, "tidemark.yaml"), "--json", "--until-idle", "2s"))
	if sum["events_applied"] == 0 || sum["duplicates_skipped"] == 0 || sum["files_written"] < 2 {
		t.Fatalf("summary: %v", sum)
	}
	tidemark(t, "run", "--config", filepath.Join(fileDir, "tidemark.yaml"))
	got, want := readDump(t, stateDir(dir)), readDump(t, stateDir(fileDir))
	compareDumps(t, got, want)
	compareLines(t, "state vs expected.jsonl", sortedLines(got.Current), sortedLines(readJSONL(t, filepath.Join(dir, "expected.jsonl"))))
	assertQueueEmpty(t, srv, dir)
}

func assertQueueEmpty(t *testing.T, srv *fauxqs.Server, dir string) {
	t.Helper()
	out, err := srv.SQS().GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL(t, dir)),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Attributes["ApproximateNumberOfMessages"] != "0" || out.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("queue not empty after the run: %v", out.Attributes)
	}
}

func queueURL(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "tidemark.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "queue_url: ")
	url, _, _ := strings.Cut(rest, "\n")
	return url
}

// TestFollowSQSKilledMidBatch: SIGKILLs of `tidemark follow` at several
// instants while it applies a queue, then a follow until idle: the state
// and history equal those of an uninterrupted run from a file (nothing lost,
// nothing applied twice), and the queue ends empty.
func TestFollowSQSKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the binary several times")
	}
	srv := fauxqs.Start(t)
	dir, fileDir := sqsDataset(t, srv, 300, 3000, 43)
	cfg := filepath.Join(dir, "tidemark.yaml")
	env := sqsEnv()
	tidemarkEnv(t, env, "snapshot", "--config", cfg)
	for i, delay := range []time.Duration{300 * time.Millisecond, 700 * time.Millisecond, 1100 * time.Millisecond} {
		cmd := exec.Command(binary, "follow", "--config", cfg, "--no-progress")
		cmd.Env = env
		var logs syncBuffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
		t.Logf("kill %d after %v", i+1, delay)
	}
	sum := summary(t, tidemarkEnv(t, env, "follow", "--config", cfg, "--json", "--until-idle", "12s"))
	t.Logf("last follow: %v", sum)
	tidemark(t, "run", "--config", filepath.Join(fileDir, "tidemark.yaml"))
	compareDumps(t, readDump(t, stateDir(dir)), readDump(t, stateDir(fileDir)))
	assertQueueEmpty(t, srv, dir)
}

// TestFollowSQSStopsGracefully: SIGTERM makes `tidemark follow` commit the
// batch in flight and exit 0.
func TestFollowSQSStopsGracefully(t *testing.T) {
	srv := fauxqs.Start(t)
	dir, _ := sqsDataset(t, srv, 100, 200, 44)
	cfg := filepath.Join(dir, "tidemark.yaml")
	env := sqsEnv()
	tidemarkEnv(t, env, "snapshot", "--config", cfg)
	cmd := exec.Command(binary, "follow", "--config", cfg, "--no-progress", "--metrics-addr", "127.0.0.1:0")
	cmd.Env = env
	var stdout, logs syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the queue is drained, then stop it.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := srv.SQS().GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
			QueueUrl: aws.String(queueURL(t, dir)),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
				types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The metrics endpoint counts what was applied.
	_, rest, ok := strings.Cut(logs.String(), "metrics on ")
	addr, _, _ := strings.Cut(rest, "\n")
	if !ok {
		t.Fatalf("follow did not say where its metrics are:\n%s", logs.String())
	}
	var body []byte
	for time.Now().Before(deadline) {
		res, err := http.Get(addr)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(body), "tidemark_events_applied_total 0\n") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(string(body), "# TYPE tidemark_events_applied_total counter") || strings.Contains(string(body), "tidemark_events_applied_total 0\n") {
		t.Errorf("metrics do not count the applied events:\n%s", body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("follow after SIGTERM: %v (want exit 0)\n%s", err, logs.String())
	}
	if !strings.Contains(stdout.String(), "stopped by a signal") {
		t.Errorf("summary does not say it was stopped:\n%s", stdout.String())
	}
	got := readDump(t, stateDir(dir))
	compareLines(t, "state vs expected.jsonl", sortedLines(got.Current), sortedLines(readJSONL(t, filepath.Join(dir, "expected.jsonl"))))
}

// TestResyncThroughSQS: `resync emit --to sqs:` sends a whole re-sync to a
// FIFO queue, and a run following that queue applies it and sweeps exactly
// the entities absent from it.
func TestResyncThroughSQS(t *testing.T) {
	srv := fauxqs.Start(t)
	dir, cfg, removed, _, _ := resyncSetup(t, 62)
	url := srv.CreateQueue(t, "tenure-resync.fifo", nil)
	env := sqsEnv()
	out := string(tidemarkEnv(t, env, "resync", "emit", "--config", cfg, "--entity", "tenure",
		"--from", "export:"+filepath.Join(dir, "source-export"), "--to", "sqs:"+url))
	if !strings.HasPrefix(out, "re-sync of ") || !strings.Contains(out, " tenure entities sent to sqs:") {
		t.Fatalf("emit: %q", out)
	}
	yml, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Follow the queue (its endpoint comes from the queue URL).
	os.WriteFile(cfg, []byte(strings.Replace(string(yml), "    - path: events/*.jsonl",
		"    - path: events/*.jsonl\n    - sqs:\n        queue_url: "+url+"\n        wait: 1s", 1)), 0o644)
	sum := summary(t, tidemarkEnv(t, env, "run", "--config", cfg, "--json", "--until-idle", "2s"))
	if sum["resyncs_complete"] != 1 || sum["absent_at_source"] != 3 || sum["resyncs_incomplete"] != 0 {
		t.Fatalf("run with the re-sync from SQS: %v", sum)
	}
	for _, k := range removed {
		var s shownCurrent
		json.Unmarshal(tidemark(t, "show", "--config", cfg, "tenure", k), &s)
		if s.Current.Live || s.Current.Op != "resync" {
			t.Errorf("absent key %s: %+v, want a resync tombstone", k, s.Current)
		}
	}
}
