package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusDir is the bad-input corpus of the event package.
var corpusDir = filepath.Join("..", "event", "testdata", "bad")

// contactDetailsEntity is the second entity of the corpus's mapping
// (internal/event/testdata/tidemark.yaml): the corpus's contact-detail
// cases (range key missing or not a GUID, target differs) need it.
const contactDetailsEntity = `  - name: contact_details
    table: ContactDetails
    hash_key: {name: targetId, format: uuid}
    range_key: {name: id, from: eventData.newData.id, format: uuid}
    events:
      ContactDetailAddedEvent: create
      ContactDetailEditedEvent: patch
      ContactDetailDeletedEvent: delete
`

// badLine is one bad line inserted into an events file.
type badLine struct {
	kind   string // the corpus file, or a synthetic kind
	raw    []byte
	reason string // a substring of the dead letter's reason
	offset int64  // where the line starts in the events file
}

type corpusCase struct {
	file, stage, reason string
	maxBytes            int
}

func readCorpus(t *testing.T) []corpusCase {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "reasons.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 4 {
			t.Fatalf("reasons.tsv:%d: %d columns, want 4", n, len(cols))
		}
		mb, err := strconv.Atoi(cols[2])
		if err != nil {
			t.Fatalf("reasons.tsv:%d: %v", n, err)
		}
		out = append(out, corpusCase{file: cols[0], stage: cols[1], maxBytes: mb, reason: cols[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBadInputCorpus inserts every applicable kind of the bad-input corpus
// (and two oversize lines) into a generated events file and checks that
// each lands in the dead-letter store once, byte for byte, at the start of
// its line and with the corpus's reason, while the state, history and
// inconsistencies equal those of a run over the clean file.
func TestBadInputCorpus(t *testing.T) {
	src := generate(t, 300, 800, 0, 5)
	cfgText, err := os.ReadFile(filepath.Join(src, "tidemark.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cfgText, []byte("\nsources:\n")) {
		t.Fatalf("generated config has no sources: section:\n%s", cfgText)
	}
	// Both copies map the corpus's second entity, so that only the
	// inserted lines differ between them.
	cfgText = bytes.Replace(cfgText, []byte("\nsources:\n"), []byte("\n"+contactDetailsEntity+"sources:\n"), 1)
	if err := os.WriteFile(filepath.Join(src, "tidemark.yaml"), cfgText, 0o644); err != nil {
		t.Fatal(err)
	}
	const maxMessageBytes = 262144 // the config's default

	var bad []badLine
	var skipped []string
	for _, c := range readCorpus(t) {
		raw, err := os.ReadFile(filepath.Join(corpusDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.maxBytes != 0 && c.maxBytes != maxMessageBytes:
			// A smaller max_message_bytes would dead-letter the generated
			// events too; the synthetic oversize lines below cover the limit.
			skipped = append(skipped, fmt.Sprintf("%s (max_bytes %d)", c.file, c.maxBytes))
			continue
		case bytes.ContainsAny(raw, "\n"):
			skipped = append(skipped, c.file+" (holds a newline: not one line)")
			continue
		case bytes.HasSuffix(raw, []byte("\r")):
			skipped = append(skipped, c.file+" (ends in CR, which a line reader strips)")
			continue
		case len(bytes.TrimSpace(raw)) == 0:
			skipped = append(skipped, c.file+" (blank: a blank line is not a message)")
			continue
		}
		bad = append(bad, badLine{kind: c.file, raw: raw, reason: c.reason})
	}
	if len(skipped) > 0 {
		t.Logf("corpus files not inserted: %s", strings.Join(skipped, ", "))
	}
	if len(bad) < 20 {
		t.Fatalf("only %d corpus kinds apply, want at least 20", len(bad))
	}
	corpusKinds := len(bad)

	cleanEvents, err := os.ReadFile(filepath.Join(src, "events", "tenure-events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(cleanEvents, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if len(lines) < 500 {
		t.Fatalf("generated events file has %d lines", len(lines))
	}
	// Two valid events made too large: one over max_message_bytes, one also
	// over the reader's 1 MiB buffer. Each gets a new event id, so that if
	// it were applied it would not pass for a duplicate.
	for i, size := range []int{maxMessageBytes + 1, 1<<20 + 4096} {
		raw := oversizeEvent(t, lines, size, i)
		bad = append(bad, badLine{kind: fmt.Sprintf("synthetic oversize %d bytes", size), raw: raw,
			reason: fmt.Sprintf("message of %d bytes is over the limit of %d (max_message_bytes)", size, maxMessageBytes)})
	}

	// The bad lines at spread-out places: the first before every event, the
	// last at the end of the file, the others evenly between events. (A last
	// line without its newline would be left for the next run: it may still
	// be being written.)
	var buf bytes.Buffer
	at := make([]int, len(bad)) // bad line j goes before clean line at[j]
	for j := range bad {
		at[j] = j * len(lines) / (len(bad) - 1)
	}
	j := 0
	for i := 0; i <= len(lines); i++ {
		for j < len(bad) && at[j] == i {
			bad[j].offset = int64(buf.Len())
			buf.Write(bad[j].raw)
			buf.WriteByte('\n')
			j++
		}
		if i < len(lines) {
			buf.Write(lines[i])
		}
	}
	if j != len(bad) {
		t.Fatalf("placed %d of %d bad lines", j, len(bad))
	}

	clean := copyDir(t, src)
	dirty := copyDir(t, src)
	if err := os.WriteFile(filepath.Join(dirty, "events", "tenure-events.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cleanCfg, dirtyCfg := filepath.Join(clean, "tidemark.yaml"), filepath.Join(dirty, "tidemark.yaml")
	cleanSum := summary(t, tidemark(t, "run", "--config", cleanCfg, "--json"))
	dirtySum := summary(t, tidemark(t, "run", "--config", dirtyCfg, "--json"))
	if cleanSum["dead_letters"] != 0 {
		t.Fatalf("clean run: %v dead letters", cleanSum["dead_letters"])
	}
	if dirtySum["dead_letters"] != float64(len(bad)) {
		t.Errorf("run with the corpus: %v dead letters, want %d", dirtySum["dead_letters"], len(bad))
	}
	for _, k := range []string{"items", "events_applied", "already_reflected_skipped", "duplicates_skipped",
		"stale_skipped", "unchanged", "orphans", "inconsistencies", "rows_published", "leftovers"} {
		if dirtySum[k] != cleanSum[k] {
			t.Errorf("summary %s: %v with the corpus, %v without", k, dirtySum[k], cleanSum[k])
		}
	}

	// The dead letters, as the CLI lists them.
	out := tidemark(t, "dlq", "list", "--config", dirtyCfg, "--json")
	type dead struct {
		Seq    uint64 `json:"seq"`
		Source string `json:"source"`
		Offset int64  `json:"offset"`
		Reason string `json:"reason"`
		Raw    []byte `json:"raw"`
	}
	var got []dead
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var d dead
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("dlq list --json: %v\n%s", err, out)
		}
		got = append(got, d)
	}
	if len(got) != len(bad) {
		t.Errorf("dlq list: %d dead letters, want %d (one per inserted line)", len(got), len(bad))
	}
	byOffset := map[int64]dead{}
	for i, d := range got {
		if _, dup := byOffset[d.Offset]; dup {
			t.Errorf("two dead letters at offset %d", d.Offset)
		}
		byOffset[d.Offset] = d
		if d.Source != "events:events/tenure-events.jsonl" {
			t.Errorf("dead letter %d: source %q, want events:events/tenure-events.jsonl", d.Seq, d.Source)
		}
		if i > 0 && (d.Seq <= got[i-1].Seq || d.Offset <= got[i-1].Offset) {
			t.Errorf("dead letters out of order: seq %d offset %d after seq %d offset %d",
				d.Seq, d.Offset, got[i-1].Seq, got[i-1].Offset)
		}
	}
	kinds := map[string]bool{}
	for _, b := range bad {
		d, ok := byOffset[b.offset]
		if !ok {
			t.Errorf("%s (offset %d): no dead letter", b.kind, b.offset)
			continue
		}
		if !bytes.Equal(d.Raw, b.raw) {
			t.Errorf("%s (offset %d): raw bytes differ: %d bytes stored, %d inserted\n got %q\nwant %q",
				b.kind, b.offset, len(d.Raw), len(b.raw), clip(d.Raw), clip(b.raw))
		}
		if !strings.Contains(d.Reason, b.reason) {
			t.Errorf("%s (offset %d): reason %q, want it to contain %q", b.kind, b.offset, d.Reason, b.reason)
			continue
		}
		if bytes.Equal(d.Raw, b.raw) {
			kinds[b.kind] = true
		}
	}
	corpusOK := 0
	for _, b := range bad[:corpusKinds] {
		if kinds[b.kind] {
			corpusOK++
		}
	}
	if corpusOK < 20 {
		t.Errorf("%d corpus kinds dead-lettered as expected, want at least 20", corpusOK)
	}

	// Everything else is as if the bad lines were not there.
	want := readDump(t, stateDir(clean))
	dump := readDump(t, stateDir(dirty))
	if len(want.DeadLetters) != 0 {
		t.Fatalf("clean run stored dead letters: %v", want.DeadLetters)
	}
	if len(dump.DeadLetters) != len(bad) {
		t.Errorf("state store: %d dead letters, want %d", len(dump.DeadLetters), len(bad))
	}
	dump.DeadLetters = nil
	compareDumps(t, dump, want)
	if len(want.Current) < 300 || len(want.History) <= len(want.Current) {
		t.Fatalf("clean run has %d keys and %d history rows", len(want.Current), len(want.History))
	}
	t.Logf("%d corpus kinds and %d synthetic lines dead-lettered; state of %d keys, %d history rows unaffected",
		corpusOK, len(bad)-corpusKinds, len(want.Current), len(want.History))
}

// oversizeEvent returns a copy of a TenureUpdatedEvent of lines with a new
// event id, padded with spaces inside the JSON object to exactly size bytes.
func oversizeEvent(t *testing.T, lines [][]byte, size, n int) []byte {
	t.Helper()
	for _, l := range lines {
		l = bytes.TrimSuffix(l, []byte("\n"))
		if !bytes.Contains(l, []byte(`"eventType":"TenureUpdatedEvent"`)) || !bytes.HasPrefix(l, []byte(`{"id":"`)) {
			continue
		}
		const idLen = 36
		ev := append([]byte(nil), l...)
		copy(ev[len(`{"id":"`):], fmt.Sprintf("0badf00d-0000-4000-8000-%012d", n))
		if ev[len(`{"id":"`)+idLen] != '"' || len(ev)+1 > size {
			continue
		}
		pad := bytes.Repeat([]byte(" "), size-len(ev))
		out := append(append(append([]byte(nil), ev[:len(ev)-1]...), pad...), '}')
		if !json.Valid(out) || len(out) != size {
			t.Fatalf("synthetic oversize event is not valid JSON of %d bytes", size)
		}
		return out
	}
	t.Fatal("no TenureUpdatedEvent in the generated events")
	return nil
}

// clip shortens bytes for a failure message.
func clip(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "..."...)
	}
	return b
}
