package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tidemark-dev/tidemark/internal/testutil/dynalite"
)

// TestRunFromScan: `run` bootstraps from a parallel Scan of a
// DynamoDB-compatible server (dynalite) under a read budget; SIGKILLed
// mid-scan and restarted, it ends with every item exactly once: one history
// row per item, as an uninterrupted scan gives.
func TestRunFromScan(t *testing.T) {
	const n = 6000
	items := make([]map[string]types.AttributeValue, n)
	for i := range items {
		items[i] = map[string]types.AttributeValue{
			"id":               &types.AttributeValueMemberS{Value: fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i)},
			"paymentReference": &types.AttributeValueMemberS{Value: fmt.Sprintf("%010d", i)},
			"versionNumber":    &types.AttributeValueMemberN{Value: "1"},
			"notes":            &types.AttributeValueMemberS{Value: fmt.Sprintf("%01800d", i)},
		}
	}
	c, dir, cfg := scanSetup(t, items, "batch_size: 100\n", "segments: 4\n      budget_rcu: 600")
	kills := 0
	for _, delay := range []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 400 * time.Millisecond} {
		if _, ok := killIn(t, cfg, "bootstrap", delay); ok {
			kills++
		}
	}
	if kills < 2 {
		t.Fatalf("only %d kills landed in the scan", kills)
	}
	raw := tidemark(t, "run", "--config", cfg, "--json")
	var full struct {
		Scans []struct {
			Table     string  `json:"table"`
			Segments  int     `json:"segments"`
			Done      int     `json:"segments_done"`
			RCUPerSec float64 `json:"rcu_per_s"`
			Budget    float64 `json:"budget_rcu"`
		} `json:"scans"`
	}
	if err := json.Unmarshal(raw, &full); err != nil || len(full.Scans) != 1 || full.Scans[0].Done != 4 ||
		full.Scans[0].Budget != 600 || full.Scans[0].RCUPerSec > 600*1.1 {
		t.Fatalf("summary scans %+v (%v): want 4/4 segments within the 600 RCU/s budget", full.Scans, err)
	}
	out := summary(t, raw)
	d := readDump(t, filepath.Join(dir, "state"))
	if len(d.Current) != n || len(d.History) != n {
		t.Fatalf("after %d kills: %d keys, %d history rows; want %d of each (summary %v)", kills, len(d.Current), len(d.History), n, out)
	}
	if out := summary(t, tidemark(t, "run", "--config", cfg, "--json")); out["items"] != 0 {
		t.Fatalf("a finished scan ran again: %v", out)
	}

	// A writer changes the table without events: one item changed, one
	// deleted, one created. verify --against scan finds exactly those.
	ctx := context.Background()
	changed := items[10]
	changed["paymentReference"] = &types.AttributeValueMemberS{Value: "9999999999"}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("TenureInformation"), Item: changed}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("TenureInformation"),
		Key: map[string]types.AttributeValue{"id": items[20]["id"]}}); err != nil {
		t.Fatal(err)
	}
	created := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "aaaaaaaa-0000-4000-8000-000000000001"},
		"versionNumber": &types.AttributeValueMemberN{Value: "1"}}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("TenureInformation"), Item: created}); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.jsonl")
	res := summary(t, tidemarkExit(t, 1, "verify", "--config", cfg, "--entity", "tenure", "--against", "scan", "--report", report, "--repair", "--json"))
	if res["differing"] != 1 || res["extra_in_copy"] != 1 || res["missing_in_copy"] != 1 || res["repaired"] != 3 || res["matching"] != n-2 {
		t.Fatalf("verify against the scan: %v", res)
	}
	res = summary(t, tidemarkExit(t, 0, "verify", "--config", cfg, "--entity", "tenure", "--against", "scan", "--report", report, "--json"))
	if res["matching"] != n {
		t.Fatalf("after repair: %v", res)
	}
}

// TestScanFreshLoad: a first, uninterrupted scan bootstrap is a fresh load
// in bulk mode that ends with one compaction of the store, and loads every
// item once.
func TestScanFreshLoad(t *testing.T) {
	const n = 500
	_, dir, cfg := scanSetup(t, tenureItems(n, "5d1e7c40-2b9a-4f3e-8a61-"), "", "budget_rcu: 100000")
	stdout, stderr, code := cli(t, "run", "--config", cfg, "-v", "--json")
	if code != 0 {
		t.Fatalf("run exited %d:\n%s", code, stderr)
	}
	if got := strings.Count(stderr, "state store compacted"); got != 1 {
		t.Fatalf("a first scan compacted the store %d times, want once; log:\n%s", got, stderr)
	}
	if out := summary(t, []byte(stdout)); out["items"] != n {
		t.Fatalf("summary %v: want %d items", out, n)
	}
	if d := readDump(t, filepath.Join(dir, "state")); len(d.Current) != n {
		t.Fatalf("%d keys in the copy, want %d", len(d.Current), n)
	}
}

// TestScanSnapshotPublish: `snapshot --publish` on a first scan writes
// the current table while the load merges, then publishes the history
// alone; a publish right after has nothing to write.
func TestScanSnapshotPublish(t *testing.T) {
	const n = 400
	items := tenureItems(n, "6e2f8d51-3c0b-4a4f-9b72-")
	for i, it := range items {
		it["paymentReference"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("PR%06d", i)}
	}
	_, _, cfg := scanSetup(t, items, "", "budget_rcu: 100000")
	stdout, stderr, code := cli(t, "snapshot", "--publish", "--config", cfg, "-v")
	if code != 0 {
		t.Fatalf("snapshot --publish exited %d:\n%s", code, stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("table=current rows=%d", n), "while=loading", fmt.Sprintf("table=history rows=%d", n),
	} {
		if !strings.Contains(stderr, want) {
			t.Fatalf("snapshot --publish logged no %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, fmt.Sprintf("rows published\t%d", 2*n)) {
		t.Fatalf("snapshot --publish printed:\n%s\nwant %d rows published (current and history)", stdout, 2*n)
	}
	if stdout, stderr, code = cli(t, "publish", "--config", cfg); code != 0 || !strings.Contains(stdout, "files written\t0") {
		t.Fatalf("publish after snapshot --publish exited %d:\n%s\n%s", code, stdout, stderr)
	}
}

// tenureItems returns n items with a GUID id (idPrefix and a 12-digit
// number) and a versionNumber of 1.
func tenureItems(n int, idPrefix string) []map[string]types.AttributeValue {
	items := make([]map[string]types.AttributeValue, n)
	for i := range items {
		items[i] = map[string]types.AttributeValue{
			"id":            &types.AttributeValueMemberS{Value: fmt.Sprintf("%s%012d", idPrefix, i)},
			"versionNumber": &types.AttributeValueMemberN{Value: "1"},
		}
	}
	return items
}

// scanSetup starts dynalite with a TenureInformation table holding items,
// sets static credentials (hiding the developer's AWS files) so that a
// tidemark subprocess reaches it, and writes a config in a new folder that
// bootstraps the tenure entity from a scan of the table: extra is put at
// the top of the config, scanOpts under the scan source. It returns the
// table's client, the folder and the config's path.
func scanSetup(t *testing.T, items []map[string]types.AttributeValue, extra, scanOpts string) (*dynamodb.Client, string, string) {
	t.Helper()
	endpoint := dynalite.Start(t)
	c := dynalite.Client(t, endpoint)
	dynalite.CreateTable(t, c, "TenureInformation", "id", 0)
	dynalite.Load(t, c, "TenureInformation", items)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tidemark.yaml")
	if err := os.WriteFile(cfg, []byte(`state_dir: state
lake: {dir: lake}
`+extra+`entities:
  - name: tenure
    table: TenureInformation
    hash_key: {name: id, format: uuid}
    version: versionNumber
    events: {TenureUpdatedEvent: patch}
sources:
  scans:
    - entity: tenure
      `+scanOpts+`
aws:
  region: eu-west-2
  dynamodb_endpoint: `+endpoint+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return c, dir, cfg
}
