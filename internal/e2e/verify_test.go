package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// writeExport writes the items of a plain-JSON lines file as a DynamoDB
// export taken at exportTime (two data files, manifests with md5s).
func writeExport(t *testing.T, jsonl, dir, exportTime string) {
	t.Helper()
	b, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	id := "01800000000000-verify01"
	base := filepath.Join(dir, "AWSDynamoDB", id)
	if err := os.MkdirAll(filepath.Join(base, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	lines := splitLines(b)
	var manifest bytes.Buffer
	for part, half := range [][]string{lines[:len(lines)/2], lines[len(lines)/2:]} {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		for _, l := range half {
			v, err := ddbjson.FromJSON([]byte(l))
			if err != nil || v.Kind != ddbjson.KindM {
				t.Fatalf("truth line %q: %v", l, err)
			}
			zw.Write(append(ddbjson.AppendMap([]byte(`{"Item":`), v.Map), "}\n"...))
		}
		zw.Close()
		name := fmt.Sprintf("part%d.json.gz", part)
		if err := os.WriteFile(filepath.Join(base, "data", name), gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(gz.Bytes())
		fmt.Fprintf(&manifest, `{"itemCount":%d,"md5Checksum":"%s","etag":"%s","dataFileS3Key":"AWSDynamoDB/%s/data/%s"}`+"\n",
			len(half), base64.StdEncoding.EncodeToString(sum[:]), hex.EncodeToString(sum[:]), id, name)
	}
	os.WriteFile(filepath.Join(base, "manifest-files.json"), manifest.Bytes(), 0o644)
	summary := fmt.Sprintf(`{"version":"2020-06-30","exportTime":"%s","itemCount":%d,"outputFormat":"DYNAMODB_JSON",`+
		`"manifestFilesS3Key":"AWSDynamoDB/%s/manifest-files.json"}`, exportTime, len(lines), id)
	os.WriteFile(filepath.Join(base, "manifest-summary.json"), []byte(summary), 0o644)
}

type verifyEntry struct {
	Key    string `json:"key"`
	Status string `json:"status"`
	Fields []struct {
		Field string `json:"field"`
	} `json:"fields"`
	Causes []string `json:"likely_causes"`
}

func readReport(t *testing.T, path string) map[string]verifyEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]verifyEntry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e verifyEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("report line %q: %v", sc.Text(), err)
		}
		out[e.Key] = e
	}
	return out
}

// driftedFields returns, per key, the top-level fields (versionNumber aside)
// in which two plain-JSON lines files differ.
func driftedFields(t *testing.T, a, b string) map[string][]string {
	t.Helper()
	ma, mb := readMaps(t, a), readMaps(t, b)
	out := map[string][]string{}
	for k, x := range ma {
		y := mb[k]
		for f := range union(x, y) {
			if f != "versionNumber" && !ddbjson.Equal(x[f], y[f]) {
				out[k] = append(out[k], f)
			}
		}
		sort.Strings(out[k])
	}
	return out
}

func readMaps(t *testing.T, path string) map[string]ddbjson.Map {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ddbjson.Map{}
	for _, l := range splitLines(b) {
		v, _ := ddbjson.FromJSON([]byte(l))
		out[v.Map["id"].Str] = v.Map
	}
	return out
}

func union(a, b ddbjson.Map) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// TestVerifyAndRepair: a silent writer changed tenures after the snapshot
// and one mapped event type is withheld (unmapped): verify names exactly the
// drifted keys, with the fields and a cause; repair fixes exactly those;
// a second verify is clean.
func TestVerifyAndRepair(t *testing.T) {
	dir := generate(t, 600, 2500, 0, 31)
	cfg := filepath.Join(dir, "tidemark.yaml")
	yml, _ := os.ReadFile(cfg)
	withheld := strings.Replace(string(yml), "      PersonRemovedFromTenureEvent: patch\n", "", 1)
	if withheld == string(yml) {
		t.Fatal("could not unmap PersonRemovedFromTenureEvent")
	}
	os.WriteFile(cfg, []byte(withheld), 0o644)
	tidemark(t, "run", "--config", cfg)

	final := filepath.Join(dir, "final-export")
	writeExport(t, filepath.Join(dir, "truth.jsonl"), final, "2026-11-01T04:10:00Z")
	// What the copy holds: the state, read through show would be slow; the
	// generator's expected.jsonl is snapshot + every event, and the copy
	// lacks the unmapped events too, so compute the drift from the store.
	d := readDump(t, stateDir(dir))
	copyFile := filepath.Join(dir, "copy.jsonl")
	var cp bytes.Buffer
	for _, img := range d.Current {
		cp.WriteString(img + "\n")
	}
	os.WriteFile(copyFile, cp.Bytes(), 0o644)
	want := driftedFields(t, filepath.Join(dir, "truth.jsonl"), copyFile)
	silent := driftedFields(t, filepath.Join(dir, "truth.jsonl"), filepath.Join(dir, "expected.jsonl"))
	if len(want) == 0 || len(silent) == 0 {
		t.Fatalf("no drift to find (%d keys, %d by the silent writer)", len(want), len(silent))
	}

	report := filepath.Join(dir, "report.jsonl")
	wantExit(t, 1, []string{"drift found"}, "verify", "--config", cfg, "--entity", "tenure", "--against", "export:"+final, "--report", report)
	got := readReport(t, report)
	if len(got) != len(want) {
		t.Errorf("report names %d keys, want %d", len(got), len(want))
	}
	unmappedCause := 0
	for k, fields := range want {
		e, ok := got[k]
		if !ok {
			t.Errorf("drifted key %s (fields %v) missing from the report", k, fields)
			continue
		}
		var gotFields []string
		for _, f := range e.Fields {
			gotFields = append(gotFields, f.Field)
		}
		if e.Status != "differs" || strings.Join(gotFields, ",") != strings.Join(fields, ",") || len(e.Causes) == 0 {
			t.Errorf("key %s: %+v, want differs in %v with a cause", k, e, fields)
		}
		for _, c := range e.Causes {
			if strings.Contains(c, "PersonRemovedFromTenureEvent") {
				unmappedCause++
			}
		}
	}
	if unmappedCause == 0 {
		t.Error("no drifted key names the unmapped PersonRemovedFromTenureEvent as its likely cause")
	}

	out := tidemarkExit(t, 1, "verify", "--config", cfg, "--entity", "tenure", "--against", "export:"+final, "--report", report, "--repair", "--json")
	var res map[string]float64
	json.Unmarshal(out, &res)
	if int(res["repaired"]) != len(want) {
		t.Fatalf("repaired %v keys, want %d (%s)", res["repaired"], len(want), out)
	}
	for k := range want {
		var shown struct {
			History []struct {
				Op string `json:"op"`
			} `json:"history"`
		}
		json.Unmarshal(tidemark(t, "show", "--config", cfg, "--history", "tenure", k), &shown)
		if n := len(shown.History); n == 0 || shown.History[n-1].Op != "repair" {
			t.Fatalf("key %s: last history row %+v, want a repair", k, shown.History)
		}
		break
	}
	out = tidemark(t, "verify", "--config", cfg, "--entity", "tenure", "--against", "export:"+final, "--report", report, "--json")
	json.Unmarshal(out, &res)
	if res["differing"] != 0 || res["missing_in_copy"] != 0 || res["extra_in_copy"] != 0 {
		t.Fatalf("after repair: %s", out)
	}
}

// tidemarkExit runs the binary, wants exit code code and returns stdout.
func tidemarkExit(t *testing.T, code int, args ...string) []byte {
	t.Helper()
	stdout, stderr, got := cli(t, args...)
	if got != code {
		t.Fatalf("tidemark %v: exit %d, want %d\n%s%s", args, got, code, stdout, stderr)
	}
	return []byte(stdout)
}

// TestVerifyMissingAndExtra: keys deleted at the source without an event are
// extra in the copy, keys created without an event are missing from it;
// repair tombstones the first and creates the second.
func TestVerifyMissingAndExtra(t *testing.T) {
	dir := generate(t, 200, 300, 0, 32)
	cfg := filepath.Join(dir, "tidemark.yaml")
	tidemark(t, "run", "--config", cfg)
	// The source now: the copy's own state, less three keys, plus two new.
	d := readDump(t, stateDir(dir))
	keys := make([]string, 0, len(d.Current))
	for k := range d.Current {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var src bytes.Buffer
	for _, k := range keys[3:] {
		src.WriteString(d.Current[k] + "\n")
	}
	added := []string{"aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"}
	for _, k := range added {
		fmt.Fprintf(&src, `{"id":"%s","paymentReference":"0000000001","isTenanted":true}`+"\n", k)
	}
	srcFile := filepath.Join(dir, "source.jsonl")
	os.WriteFile(srcFile, src.Bytes(), 0o644)
	final := filepath.Join(dir, "final-export")
	writeExport(t, srcFile, final, "2026-11-01T04:10:00Z")

	report := filepath.Join(dir, "report.jsonl")
	out := tidemarkExit(t, 1, "verify", "--config", cfg, "--entity", "tenure", "--against", "export:"+final,
		"--report", report, "--repair", "--json")
	var res map[string]float64
	json.Unmarshal(out, &res)
	if res["extra_in_copy"] != 3 || res["missing_in_copy"] != 2 || res["differing"] != 0 || res["repaired"] != 5 {
		t.Fatalf("verify: %s, want 3 extra, 2 missing, 5 repaired", out)
	}
	got := readReport(t, report)
	for _, k := range keys[:3] {
		if got[k].Status != "extra_in_copy" || !strings.Contains(strings.Join(got[k].Causes, ";"), "deleted at the source") {
			t.Errorf("key %s: %+v", k, got[k])
		}
		var shown struct {
			Current struct {
				Live bool   `json:"live"`
				Op   string `json:"op"`
			} `json:"current"`
		}
		json.Unmarshal(tidemark(t, "show", "--config", cfg, "tenure", k), &shown)
		if shown.Current.Live || shown.Current.Op != "repair" {
			t.Errorf("key %s after repair: %+v, want a repair tombstone", k, shown.Current)
		}
	}
	for _, k := range added {
		if got[k].Status != "missing_in_copy" {
			t.Errorf("key %s: %+v", k, got[k])
		}
		tidemark(t, "show", "--config", cfg, "tenure", k)
	}
	tidemark(t, "verify", "--config", cfg, "--entity", "tenure", "--against", "export:"+final, "--report", report)
}

// TestDLQReplay: events of a type the config did not map are dead letters;
// once mapped, a replay applies those newer than their entity's last change
// and removes them, and keeps the older ones (applying them would undo newer
// changes), which verify --repair then settles.
func TestDLQReplay(t *testing.T) {
	dir := generate(t, 300, 1500, 0, 33)
	cfg := filepath.Join(dir, "tidemark.yaml")
	yml, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(yml), "      PersonRemovedFromTenureEvent: patch\n", "", 1)), 0o644)
	sum := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
	if sum["dead_letters"] == 0 {
		t.Fatal("no dead letters from the unmapped event type")
	}
	os.WriteFile(cfg, yml, 0o644)
	out := tidemark(t, "dlq", "replay", "--config", cfg, "--reason", "unknown event type")
	var res map[string]float64
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if res["replayed"] == 0 || res["still_bad"] != 0 || res["replayed"]+res["kept_stale"] != sum["dead_letters"] {
		t.Fatalf("replay: %s, from %v dead letters", out, sum["dead_letters"])
	}
	var left int
	for _, l := range splitLines(tidemark(t, "dlq", "list", "--config", cfg, "--json")) {
		if strings.Contains(l, "unknown event type") {
			left++
		}
	}
	if float64(left) != res["kept_stale"] {
		t.Fatalf("%d dead letters left, want the %v stale ones", left, res["kept_stale"])
	}
	// A second replay changes nothing.
	out = tidemark(t, "dlq", "replay", "--config", cfg)
	json.Unmarshal(out, &res)
	if res["replayed"] != 0 {
		t.Fatalf("second replay: %s", out)
	}
}

// TestResyncEmit: a complete re-sync of an export, bracketed by markers
// whose count and digest are those of the keys sent.
func TestResyncEmit(t *testing.T) {
	dir := generate(t, 250, 10, 0, 34)
	cfg := filepath.Join(dir, "tidemark.yaml")
	out := filepath.Join(dir, "resync.jsonl")
	msg := string(tidemark(t, "resync", "emit", "--config", cfg, "--entity", "tenure", "--from", "export:"+filepath.Join(dir, "export"), "--to", "file:"+out))
	if !strings.Contains(msg, "re-sync of 250 tenure entities") {
		t.Fatalf("emit: %q", msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(b)
	if len(lines) != 252 {
		t.Fatalf("%d lines, want 250 events and 2 markers", len(lines))
	}
	type ev struct {
		EventType string `json:"eventType"`
		EntityID  string `json:"entityId"`
		Resync    struct {
			ResyncID      string `json:"resyncId"`
			Sequence      int    `json:"sequence"`
			ExpectedCount *int   `json:"expectedCount"`
			Count         *int   `json:"count"`
			KeysDigest    string `json:"keysDigest"`
		} `json:"resync"`
	}
	var first, last ev
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if first.EventType != "ResyncStarted" || first.Resync.ExpectedCount == nil || *first.Resync.ExpectedCount != 250 ||
		last.EventType != "ResyncCompleted" || last.Resync.Count == nil || *last.Resync.Count != 250 || last.Resync.ResyncID != first.Resync.ResyncID {
		t.Fatalf("markers %+v %+v", first, last)
	}
	keys := map[string]bool{}
	for i, l := range lines[1 : len(lines)-1] {
		var e ev
		json.Unmarshal([]byte(l), &e)
		if e.EventType != "CurrentStateEvent" || e.Resync.Sequence != i+1 || keys[e.EntityID] {
			t.Fatalf("event %d: %+v", i, e)
		}
		keys[e.EntityID] = true
	}
	if len(last.Resync.KeysDigest) != 16 {
		t.Fatalf("digest %q", last.Resync.KeysDigest)
	}
}
