package event

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
)

// badCase is one row of testdata/bad/reasons.tsv.
type badCase struct {
	file     string
	stage    string // "decode" or "map"
	maxBytes int
	reason   string
}

func readBadCases(t *testing.T) []badCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "bad", "reasons.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []badCase
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if sc.Text() == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			t.Fatalf("reasons.tsv:%d: %d columns, want 4", line, len(cols))
		}
		n, err := strconv.Atoi(cols[2])
		if err != nil {
			t.Fatalf("reasons.tsv:%d: max_bytes: %v", line, err)
		}
		if cols[1] != "decode" && cols[1] != "map" {
			t.Fatalf("reasons.tsv:%d: stage %q, want decode or map", line, cols[1])
		}
		cases = append(cases, badCase{file: cols[0], stage: cols[1], maxBytes: n, reason: cols[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestBadCorpusIsComplete: every file has a row, every row a file, the
// README names every file, and there are enough distinct kinds.
func TestBadCorpusIsComplete(t *testing.T) {
	cases := readBadCases(t)
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk, inTable []string
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
	}
	reasons := map[string]bool{}
	for _, c := range cases {
		inTable = append(inTable, c.file)
		reasons[c.stage+" "+c.reason] = true
	}
	sort.Strings(inTable)
	if strings.Join(onDisk, " ") != strings.Join(inTable, " ") {
		t.Errorf("files and reasons.tsv rows differ:\nfiles: %q\nrows:  %q", onDisk, inTable)
	}
	if len(cases) < 22 {
		t.Errorf("%d bad kinds, want at least 22", len(cases))
	}
	// Most kinds have their own reason; a few share one on purpose.
	if len(reasons) < 40 {
		t.Errorf("only %d distinct reasons in %d cases", len(reasons), len(cases))
	}
	readme := string(readFile(t, "bad", "README.md"))
	for _, c := range cases {
		if !strings.Contains(readme, "`"+c.file+"`") {
			t.Errorf("README.md does not list %s", c.file)
		}
	}
}

// TestBadCorpus: each bad message fails at its stage with an *Error whose
// reason contains the expected text, and passes the stages before it.
func TestBadCorpus(t *testing.T) {
	m := testMapper(t)
	for _, c := range readBadCases(t) {
		t.Run(strings.TrimSuffix(c.file, ".json"), func(t *testing.T) {
			raw := readFile(t, "bad", c.file)
			env, err := Decode(raw, c.maxBytes)
			if c.stage == "decode" {
				checkReason(t, "Decode", err, c.reason)
				if env != nil {
					t.Errorf("Decode returned an envelope with its error: %+v", env)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v; the case is for the mapping stage", err)
			}
			ch, err := m.Change(env, change.Position{Source: "events:bad", Offset: 1})
			checkReason(t, "Mapper.Change", err, c.reason)
			if ch != nil {
				t.Errorf("Change returned a change with its error: %+v", ch)
			}
		})
	}
}

func checkReason(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want reason %q", what, want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s error %v (%T) is not an *event.Error", what, err, err)
	}
	if !strings.Contains(e.Reason, want) {
		t.Errorf("%s reason %q, want it to contain %q", what, e.Reason, want)
	}
	if e.Error() != e.Reason {
		t.Errorf("Error() %q differs from Reason %q", e.Error(), e.Reason)
	}
}

// TestBadCorpusOversizeUnderDefaultLimit: oversize.json is bad only for its
// small limit; under the default 256 KiB it is a good event.
func TestBadCorpusOversizeUnderDefaultLimit(t *testing.T) {
	raw := readFile(t, "bad", "oversize.json")
	if _, err := Decode(raw, 256<<10); err != nil {
		t.Errorf("oversize.json under the default 256 KiB limit: %v", err)
	}
}
