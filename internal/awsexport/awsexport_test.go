package awsexport

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDynamoDB answers DescribeTable, ExportTableToPointInTime and
// DescribeExport as the DynamoDB API reference documents them (JSON 1.0
// protocol, X-Amz-Target, epoch-second timestamps, typed errors): no local
// DynamoDB server implements exports.
type fakeDynamoDB struct {
	mu       sync.Mutex
	requests map[string][]map[string]any
	polls    int
	fail     bool
	noPITR   bool
}

const tableArn = "arn:aws:dynamodb:eu-west-2:123456789012:table/TenureInformation"
const exportArn = tableArn + "/export/01800000000000-abcdef12"

func (f *fakeDynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	json.Unmarshal(body, &in)
	f.mu.Lock()
	if f.requests == nil {
		f.requests = map[string][]map[string]any{}
	}
	f.requests[op] = append(f.requests[op], in)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	desc := map[string]any{"ExportArn": exportArn, "ExportStatus": "IN_PROGRESS", "StartTime": 1.7617e9,
		"TableArn": tableArn, "S3Bucket": in["S3Bucket"], "ExportFormat": "DYNAMODB_JSON"}
	switch op {
	case "DescribeTable":
		json.NewEncoder(w).Encode(map[string]any{"Table": map[string]any{"TableName": in["TableName"], "TableArn": tableArn, "TableStatus": "ACTIVE"}})
	case "ExportTableToPointInTime":
		if f.noPITR {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#PointInTimeRecoveryUnavailableException",
				"message": "Point in time recovery is not enabled for table 'TenureInformation'"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ExportDescription": desc})
	case "DescribeExport":
		f.mu.Lock()
		f.polls++
		done := f.polls >= 3
		f.mu.Unlock()
		if done && f.fail {
			desc["ExportStatus"], desc["FailureCode"], desc["FailureMessage"] = "FAILED", "S3NoSuchBucket", "The bucket does not exist"
		} else if done {
			desc["ExportStatus"], desc["EndTime"], desc["ItemCount"], desc["BilledSizeBytes"] = "COMPLETED", 1.7617e9+180, 2000, 2638797
			desc["ExportManifest"] = "tenure/AWSDynamoDB/01800000000000-abcdef12/manifest-summary.json"
		}
		json.NewEncoder(w).Encode(map[string]any{"ExportDescription": desc})
	default:
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]any{"__type": "com.amazon.coral.service#UnknownOperationException"})
	}
}

func client(t *testing.T, f *fakeDynamoDB) API {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	c, err := NewClient(context.Background(), "eu-west-2", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFullExport(t *testing.T) {
	f := &fakeDynamoDB{}
	api := client(t, f)
	at := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	st, err := Start(context.Background(), api, Request{Table: "TenureInformation", Bucket: "landing", Prefix: "/tenure/", At: at, ClientToken: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	if st.ARN != exportArn || st.State != "IN_PROGRESS" {
		t.Fatalf("start: %+v", st)
	}
	req := f.requests["ExportTableToPointInTime"][0]
	want := map[string]any{"TableArn": tableArn, "S3Bucket": "landing", "S3Prefix": "tenure", "ExportFormat": "DYNAMODB_JSON",
		"ExportType": "FULL_EXPORT", "ExportTime": float64(at.Unix()), "ClientToken": "run-1"}
	for k, v := range want {
		if req[k] != v {
			t.Errorf("request %s = %v (%T), want %v", k, req[k], req[k], v)
		}
	}
	var seen []string
	st, err = Wait(context.Background(), api, st.ARN, time.Millisecond, func(s Status) { seen = append(seen, s.State) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "IN_PROGRESS,IN_PROGRESS,COMPLETED" || st.Items != 2000 || st.Bytes != 2638797 ||
		!strings.HasSuffix(st.Manifest, "manifest-summary.json") || st.End.Sub(st.Start) != 3*time.Minute {
		t.Fatalf("wait: %v, %+v", seen, st)
	}
}

func TestIncrementalExport(t *testing.T) {
	f := &fakeDynamoDB{}
	api := client(t, f)
	from := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	if _, err := Start(context.Background(), api, Request{Table: tableArn, Bucket: "landing", From: from, To: from.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(f.requests["DescribeTable"]) != 0 {
		t.Error("a table ARN needs no DescribeTable")
	}
	req := f.requests["ExportTableToPointInTime"][0]
	spec, _ := req["IncrementalExportSpecification"].(map[string]any)
	if req["ExportType"] != "INCREMENTAL_EXPORT" || spec["ExportFromTime"] != float64(from.Unix()) ||
		spec["ExportToTime"] != float64(from.Add(time.Hour).Unix()) || spec["ExportViewType"] != "NEW_AND_OLD_IMAGES" {
		t.Fatalf("request %v", req)
	}
	if _, err := Start(context.Background(), api, Request{Table: tableArn, Bucket: "b", From: from}); err == nil {
		t.Error("an incremental export without --to started")
	}
}

func TestExportErrors(t *testing.T) {
	api := client(t, &fakeDynamoDB{noPITR: true})
	_, err := Start(context.Background(), api, Request{Table: "TenureInformation", Bucket: "landing"})
	if err == nil || !strings.Contains(err.Error(), "PointInTimeRecoveryUnavailable") || !strings.Contains(err.Error(), "point-in-time recovery must be on") {
		t.Fatalf("no PITR: %v", err)
	}
	api = client(t, &fakeDynamoDB{fail: true})
	_, err = Wait(context.Background(), api, exportArn, time.Millisecond, nil)
	if err == nil || !strings.Contains(err.Error(), "S3NoSuchBucket The bucket does not exist") {
		t.Fatalf("failed export: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Wait(ctx, client(t, &fakeDynamoDB{}), exportArn, time.Hour, nil); err == nil {
		t.Fatal("a cancelled wait returned no error")
	}
}
