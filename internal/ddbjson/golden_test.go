package ddbjson

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files from the current output")

// goldenInputs lists the testdata inputs: export lines (DynamoDB JSON) and
// events (plain JSON).
func goldenInputs(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d golden inputs in testdata, want at least 2", len(files))
	}
	return files
}

// decodeInput decodes a testdata input by its name: *_export.json holds one
// export line, *_event.json one plain JSON event.
func decodeInput(t testing.TB, path string) Map {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasSuffix(path, "_export.json"):
		m, err := DecodeExportLine(bytes.TrimSpace(data))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return m
	case strings.HasSuffix(path, "_event.json"):
		v, err := FromJSON(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if v.Kind != KindM {
			t.Fatalf("%s: decoded to %v, want M", path, v.Kind)
		}
		return v.Map
	}
	t.Fatalf("%s: name must end in _export.json or _event.json", path)
	return nil
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/ddbjson -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n got: %s\nwant: %s", path, got, want)
	}
}

// TestGolden re-encodes every input as DynamoDB JSON with sorted keys and as
// plain JSON and compares with testdata/<name>.ddb.golden and .plain.golden.
func TestGolden(t *testing.T) {
	for _, path := range goldenInputs(t) {
		base := strings.TrimSuffix(path, ".json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			m := decodeInput(t, path)
			ddb := AppendMap(nil, m)
			plain := AppendPlainMap(nil, m)
			checkGolden(t, base+".ddb.golden", ddb)
			checkGolden(t, base+".plain.golden", plain)

			// The DynamoDB JSON golden decodes to the same item.
			back, err := DecodeMap(ddb)
			if err != nil {
				t.Fatalf("decoding the DynamoDB JSON output: %v", err)
			}
			if !EqualMaps(back, m) {
				t.Error("DynamoDB JSON output does not decode to the input")
			}
			// The plain golden is JSON that encoding/json accepts.
			if !json.Valid(plain) {
				t.Errorf("plain output is not valid JSON")
			}
			// Encoding is stable: twice gives the same bytes.
			if !bytes.Equal(AppendMap(nil, back), ddb) {
				t.Error("encoding the decoded output again gives other bytes")
			}
		})
	}
}

// TestGoldenTenureExport checks concrete values of the realistic tenure
// export line, so the golden files cannot drift unnoticed.
func TestGoldenTenureExport(t *testing.T) {
	m := decodeInput(t, filepath.Join("testdata", "tenure_export.json"))
	kinds := map[Kind]bool{}
	var walk func(v Value)
	walk = func(v Value) {
		kinds[v.Kind] = true
		for _, e := range v.Map {
			walk(e)
		}
		for _, e := range v.List {
			walk(e)
		}
	}
	walk(M(m))
	for k := KindS; k <= KindBS; k++ {
		if !kinds[k] {
			t.Errorf("the tenure export has no %v attribute; it must hold every type", k)
		}
	}
	checks := []struct {
		got  Value
		want Value
	}{
		{m["id"], S("8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10")},
		{m["versionNumber"], N("7")},
		{m["charges"].Map["rent"], N("112.54")},
		{m["charges"].Map["currentBalance"], N("-23.10")},
		{m["arrearsExact"], N("12345678901234567890123456789012345678")},
		{m["interestRate"], N("0.1")},
		{m["ceilingValue"], N("1E+3")},
		{m["endOfTenureDate"], Null()},
		{m["isTenanted"], Bool(true)},
		{m["tenureType"].Map["code"], S("SEC")},
		{m["householdMembers"].List[1].Map["personTenureType"], S("HouseholdMember")},
		{m["householdMembers"].List[0].Map["isResponsible"], Bool(true)},
		{m["legacyReferences"].List[0].Map["value"], S("012345/01")},
		{m["tempAccommodationInfo"].Map["assignedOfficer"].Map["lastName"], S("Ó Briain")},
		{m["furtherAccountInformation"].Map["notes"], S("Tenant prefers contact by email; \"no calls\" after 6pm.\nSee file.")},
		{m["alertCodes"], SS("DIS", "CV")},
		{m["rentWeeks"], NS("48.5", "52", "53.0")},
		{m["scanChecksum"], B([]byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3})},
		{m["attachmentDigests"], BS([]byte{0xff, 0xfe}, []byte("tenancy-agreement.pdf"))},
	}
	for i, c := range checks {
		if !Equal(c.got, c.want) {
			t.Errorf("check %d: got %#v, want %#v", i, c.got, c.want)
		}
	}
	if n := len(m); n != 35 {
		t.Errorf("the tenure has %d attributes, want 35", n)
	}
	if n := len(m["householdMembers"].List); n != 2 {
		t.Errorf("%d household members, want 2", n)
	}

	// encoding/json reads the plain form with the exact numbers.
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(AppendPlainMap(nil, m)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if got := doc["arrearsExact"]; got != json.Number("12345678901234567890123456789012345678") {
		t.Errorf("plain arrearsExact = %v", got)
	}
	if got := doc["charges"].(map[string]any)["currentBalance"]; got != json.Number("-23.10") {
		t.Errorf("plain currentBalance = %v", got)
	}
}

// TestGoldenEventAgreesWithExport: the TenureCreatedEvent carries the same
// tenure as the export line, so the attributes both hold must be Equal once
// decoded, one from plain JSON and one from DynamoDB JSON.
func TestGoldenEventAgreesWithExport(t *testing.T) {
	item := decodeInput(t, filepath.Join("testdata", "tenure_export.json"))
	ev := decodeInput(t, filepath.Join("testdata", "tenure_created_event.json"))
	if ev["eventType"].Str != "TenureCreatedEvent" {
		t.Fatalf("eventType = %q", ev["eventType"].Str)
	}
	newData := ev["eventData"].Map["newData"].Map
	if len(newData) != 26 {
		t.Fatalf("newData has %d attributes, want 26", len(newData))
	}
	for k, v := range newData {
		if !Equal(v, item[k]) {
			t.Errorf("%s: event %s, export %s", k, AppendPlain(nil, v), AppendPlain(nil, item[k]))
		}
	}
}
