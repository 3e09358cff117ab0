package state

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// historyKeys are entity keys as the materializer writes them
// (change.Key.Bytes: prefix-free within an entity), for values where one is
// a prefix of another, with 0 and 0xff bytes, and one long enough for a
// two-byte length.
var historyKeys = func() [][]byte {
	var out [][]byte
	for _, v := range []string{"a", "ab", "b", "a\x00", "a\xff", "\x00", "\xff\xff", strings.Repeat("k", 200),
		strings.Repeat("k", 200) + "z", tenureID} {
		out = append(out, change.Key{Hash: ddbjson.S(v)}.Bytes())
	}
	return out
}()

var historySeqs = []uint64{1, 2, 255, 256, 1 << 32, 1<<64 - 1}

// TestHistoryKeyOrder: in byte order, history keys group each key's rows
// together, in seq order, and splitHistoryKey reads back key and seq.
func TestHistoryKeyOrder(t *testing.T) {
	type row struct {
		k   []byte
		key []byte
		seq uint64
	}
	var rows []row
	for _, key := range historyKeys {
		for _, seq := range historySeqs {
			rows = append(rows, row{historyKey("tenure", key, seq), key, seq})
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return bytes.Compare(a.k, b.k) })
	p := len(prefix(pHistory, "tenure"))
	seen := map[string]bool{}
	for i, r := range rows {
		key, seq, ok := splitHistoryKey(r.k, p)
		if !ok || !bytes.Equal(key, r.key) || seq != r.seq {
			t.Errorf("splitHistoryKey(%x) = %q, %d, %v; want %q, %d", r.k, key, seq, ok, r.key, r.seq)
		}
		if i > 0 && bytes.Equal(rows[i-1].key, r.key) {
			if rows[i-1].seq >= r.seq {
				t.Errorf("key %q: seq %d sorts after %d", r.key, rows[i-1].seq, r.seq)
			}
			continue
		}
		if seen[string(r.key)] {
			t.Errorf("rows of key %q are not contiguous", r.key)
		}
		seen[string(r.key)] = true
		if r.seq != historySeqs[0] {
			t.Errorf("key %q starts at seq %d", r.key, r.seq)
		}
	}
	// Keys of one length sort in byte order.
	if bytes.Compare(historyKey("e", []byte("ab"), 9), historyKey("e", []byte("ac"), 1)) >= 0 {
		t.Error("history of ab does not sort before that of ac")
	}
}

func TestSplitHistoryKeyRejects(t *testing.T) {
	p := len(prefix(pHistory, "tenure"))
	for _, k := range [][]byte{
		prefix(pHistory, "tenure"),                                 // nothing after the prefix
		append(prefix(pHistory, "tenure"), 0, 0, 0, 0, 0, 0, 0, 1), // a seq and no key
	} {
		if key, seq, ok := splitHistoryKey(k, p); ok {
			t.Errorf("splitHistoryKey(%x) = %q, %d, true; want false", k, key, seq)
		}
	}
}

func TestKeyLayout(t *testing.T) {
	tests := []struct {
		got, want []byte
	}{
		{recordKey("tenure", []byte("k")), []byte("s\x00tenure\x00k")},
		{historyKey("tenure", []byte("k"), 258), []byte("h\x00tenure\x00k\x00\x00\x00\x00\x00\x00\x01\x02")},
		{eventKey("tenure", "id-1"), []byte("e\x00tenure\x00id-1")},
		{prefix(pPos, "events:a.jsonl"), []byte("p\x00events:a.jsonl\x00")},
		{prefix(pMeta, "gen/tenure"), []byte("m\x00gen/tenure\x00")},
		{seqKey(pDead, 3), []byte("d\x00\x00\x00\x00\x00\x00\x00\x00\x03")},
		{seqKey(pIncons, 1<<56), []byte("i\x00\x01\x00\x00\x00\x00\x00\x00\x00")},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("key %q, want %q", tt.got, tt.want)
		}
	}
}

func TestUpperBound(t *testing.T) {
	tests := []struct{ in, want []byte }{
		{[]byte("s\x00t\x00"), []byte("s\x00t\x01")},
		{[]byte{1, 2, 0xff}, []byte{1, 3}},
		{[]byte{1, 0xff, 0xff}, []byte{2}},
		{[]byte{0xff, 0xff}, nil},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := upperBound(in); !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("upperBound(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if !bytes.Equal(in, tt.in) {
			t.Errorf("upperBound changed its argument to %v", in)
		}
	}
	// Entity prefixes: every key of entity t sorts under t's bound, no key
	// of tenure does.
	for _, k := range [][]byte{recordKey("t", nil), recordKey("t", []byte{0xff, 0xff})} {
		if bytes.Compare(k, upperBound(prefix(pRecord, "t"))) >= 0 {
			t.Errorf("%q is past the bound of entity t", k)
		}
	}
	if k := recordKey("tenure", []byte{0}); bytes.Compare(k, upperBound(prefix(pRecord, "t"))) < 0 {
		t.Errorf("%q sorts under the bound of entity t", k)
	}
}

// TestEntityPrefixes: no key of one entity starts with the prefix of
// another, whatever their names share.
func TestEntityPrefixes(t *testing.T) {
	entities := []string{"t", "te", "tenure", "tenure_2", "tenures", "contact_details"}
	for _, a := range entities {
		for _, b := range entities {
			if a == b {
				continue
			}
			for _, key := range historyKeys {
				for _, mk := range []func(string) ([]byte, []byte){
					func(e string) ([]byte, []byte) { return recordKey(e, key), prefix(pRecord, e) },
					func(e string) ([]byte, []byte) { return historyKey(e, key, 1), prefix(pHistory, e) },
					func(e string) ([]byte, []byte) { return eventKey(e, string(key)), prefix(pEvent, e) },
				} {
					k, _ := mk(a)
					_, p := mk(b)
					if bytes.HasPrefix(k, p) {
						t.Errorf("a key of %s (%q) is under the prefix of %s", a, k, b)
					}
				}
			}
		}
	}
}
