package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tidemark-dev/tidemark/internal/testutil/ddblocal"
)

func streamItem(i, version int, ref string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"id":               &types.AttributeValueMemberS{Value: fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i)},
		"paymentReference": &types.AttributeValueMemberS{Value: ref},
		"versionNumber":    &types.AttributeValueMemberN{Value: fmt.Sprint(version)},
		"tenureType":       &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"code": &types.AttributeValueMemberS{Value: "SEC"}}},
	}
}

// writeTable puts, updates (a new version) and deletes items of the table.
func writeTable(t *testing.T, c *dynamodb.Client, puts []map[string]types.AttributeValue, deletes []int) {
	t.Helper()
	ctx := context.Background()
	for _, it := range puts {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("TenureInformation"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range deletes {
		if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("TenureInformation"),
			Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// streamSetup starts DynamoDB Local with a streamed tenure table of n items
// and writes a config that bootstraps it by a scan and follows its stream.
func streamSetup(t *testing.T, n int) (c *dynamodb.Client, cfg string, env []string) {
	t.Helper()
	endpoint := ddblocal.Start(t)
	c = ddblocal.Client(t, endpoint)
	ddblocal.CreateTable(t, c, ddblocal.Table{Name: "TenureInformation", HashAttr: "id", StreamView: types.StreamViewTypeNewAndOldImages})
	var items []map[string]types.AttributeValue
	for i := range n {
		items = append(items, streamItem(i, 1, fmt.Sprintf("ref-%d", i)))
	}
	writeTable(t, c, items, nil)
	dir := t.TempDir()
	cfg = filepath.Join(dir, "tidemark.yaml")
	if err := os.WriteFile(cfg, []byte(`state_dir: state
lake: {dir: lake}
batch_size: 100
entities:
  - name: tenure
    table: TenureInformation
    hash_key: {name: id, format: uuid}
    version: versionNumber
    events: {TenureUpdatedEvent: patch}
sources:
  scans:
    - entity: tenure
      segments: 2
      budget_rcu: 5000
  events:
    - dynamodb_stream: {entity: tenure, poll_interval: 200ms}
aws:
  region: eu-west-2
  dynamodb_endpoint: `+endpoint+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return c, cfg, sqsEnv()
}

// TestFollowDynamoDBStream: a copy bootstrapped by a scan and kept by the
// table's stream (puts, new versions, deletes; a SIGKILL in between) equals
// the table: verify against a scan finds no drift.
func TestFollowDynamoDBStream(t *testing.T) {
	c, cfg, env := streamSetup(t, 150)
	sum := summary(t, tidemarkEnv(t, env, "run", "--config", cfg, "--json", "--until-idle", "3s"))
	if sum["items"] != 150 {
		t.Fatalf("run: %v", sum)
	}
	var puts []map[string]types.AttributeValue
	for i := range 40 {
		puts = append(puts, streamItem(i, 2, fmt.Sprintf("ref-%d-v2", i)))
	}
	for i := 150; i < 170; i++ {
		puts = append(puts, streamItem(i, 1, fmt.Sprintf("ref-%d", i)))
	}
	writeTable(t, c, puts, []int{100, 101, 102, 103, 104})
	// A follow killed while it applies, then one until the stream is idle.
	cmd := exec.Command(binary, "follow", "--config", cfg, "--no-progress")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	writeTable(t, c, []map[string]types.AttributeValue{streamItem(5, 3, "ref-5-v3")}, []int{150})
	sum = summary(t, tidemarkEnv(t, env, "follow", "--config", cfg, "--json", "--until-idle", "3s"))
	t.Logf("follow after the kill: %v", sum)
	out, code := verifyScan(t, env, cfg)
	if code != 0 {
		t.Fatalf("verify against a scan: exit %d\n%s", code, out)
	}
	var s shownCurrent
	if err := json.Unmarshal(tidemarkEnv(t, env, "show", "--config", cfg, "tenure", "8f0c3a52-6d2e-4b1a-9c7e-000000000005"), &s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s.Current.Image), `"ref-5-v3"`) {
		t.Errorf("tenure 5: %s, want ref-5-v3", s.Current.Image)
	}
}

func verifyScan(t *testing.T, env []string, cfg string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, "verify", "--config", cfg, "--entity", "tenure", "--against", "scan",
		"--report", filepath.Join(t.TempDir(), "report.jsonl"))
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestDynamoDBStreamChangedRefusesToContinue: when the table's stream is
// replaced (disabled, enabled again), follow refuses with the fix; after
// --reset-stream it reads the new stream and the copy matches the table.
func TestDynamoDBStreamChangedRefusesToContinue(t *testing.T) {
	c, cfg, env := streamSetup(t, 30)
	tidemarkEnv(t, env, "run", "--config", cfg, "--until-idle", "2s")
	ddblocal.SetStream(t, c, "TenureInformation", "")
	ddblocal.SetStream(t, c, "TenureInformation", types.StreamViewTypeNewAndOldImages)
	writeTable(t, c, []map[string]types.AttributeValue{streamItem(3, 2, "ref-3-v2")}, []int{7})
	cmd := exec.Command(binary, "follow", "--config", cfg, "--until-idle", "2s")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--reset-stream tenure") || !strings.Contains(string(out), "events were lost") {
		t.Fatalf("follow on a replaced stream: %v\n%s", err, out)
	}
	// The operator re-bootstraps (here the copy missed only what the new
	// stream holds) and resets the stream.
	tidemarkEnv(t, env, "follow", "--config", cfg, "--until-idle", "2s", "--reset-stream", "tenure")
	if out, code := verifyScan(t, env, cfg); code != 0 {
		t.Fatalf("verify after the reset: exit %d\n%s", code, out)
	}
}

// TestDynamoDBStreamLostRepairs: with on_lost: repair, a replaced stream
// (whose events the copy missed) is repaired from a scan of the table and
// then followed from its oldest record, without the operator.
func TestDynamoDBStreamLostRepairs(t *testing.T) {
	c, cfg, env := streamSetup(t, 30)
	yml, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, []byte(strings.Replace(string(yml), "poll_interval: 200ms}", "poll_interval: 200ms, on_lost: repair}", 1)), 0o644)
	tidemarkEnv(t, env, "run", "--config", cfg, "--until-idle", "2s")
	// Writes the copy never sees in a stream: the stream is off.
	ddblocal.SetStream(t, c, "TenureInformation", "")
	writeTable(t, c, []map[string]types.AttributeValue{streamItem(3, 2, "ref-3-v2"), streamItem(40, 1, "ref-40")}, []int{7})
	ddblocal.SetStream(t, c, "TenureInformation", types.StreamViewTypeNewAndOldImages)
	writeTable(t, c, []map[string]types.AttributeValue{streamItem(4, 2, "ref-4-v2")}, nil)
	cmd := exec.Command(binary, "follow", "--config", cfg, "--until-idle", "2s", "-v")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "repaired the copy after the stream was lost") {
		t.Fatalf("follow with on_lost: repair: %v\n%s", err, out)
	}
	reports, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "stream-repair-tenure-*.jsonl"))
	if len(reports) != 1 {
		t.Fatalf("repair reports: %v", reports)
	}
	if out, code := verifyScan(t, env, cfg); code != 0 {
		t.Fatalf("verify after the repair: exit %d\n%s", code, out)
	}
}
