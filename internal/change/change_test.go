package change

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

const tenureID = "8f0c3a52-6d2e-4b1a-9c7e-2f5d1e8a4b10"

func TestOpString(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{OpUpsert, "upsert"},
		{OpPatch, "patch"},
		{OpDelete, "delete"},
		{Op(0), "invalid"},
		{Op(4), "invalid"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String() = %q, want %q", tt.op, got, tt.want)
		}
	}
}

func TestParseOp(t *testing.T) {
	tests := []struct {
		in   string
		want Op
	}{
		{"create", OpUpsert},
		{"upsert", OpUpsert},
		{"patch", OpPatch},
		{"update", OpPatch},
		{"delete", OpDelete},
	}
	for _, tt := range tests {
		got, err := ParseOp(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseOp(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "Create", "PATCH", "remove", "insert", " create", "create "} {
		op, err := ParseOp(in)
		if err == nil {
			t.Errorf("ParseOp(%q) = %v, want an error", in, op)
			continue
		}
		if op != 0 {
			t.Errorf("ParseOp(%q) returned op %v with its error", in, op)
		}
		want := `unknown operation "` + in + `" (want create, patch or delete)`
		if err.Error() != want {
			t.Errorf("ParseOp(%q) error = %q, want %q", in, err, want)
		}
	}
}

func TestLabel(t *testing.T) {
	tests := []struct {
		origin Origin
		op     Op
		want   string
	}{
		{OriginSnapshot, OpUpsert, "snapshot"},
		{OriginSnapshot, OpDelete, "snapshot"},
		{OriginRepair, OpUpsert, "repair"},
		{OriginRepair, OpDelete, "repair"},
		{OriginResync, OpUpsert, "resync"},
		{OriginEvent, OpUpsert, "create"},
		{OriginEvent, OpPatch, "update"},
		{OriginEvent, OpDelete, "delete"},
		{OriginEvent, Op(0), "invalid"},
		{"", OpPatch, "update"},
		{"", Op(9), "invalid"},
	}
	for _, tt := range tests {
		c := &Change{Origin: tt.origin, Op: tt.op}
		if got := c.Label(); got != tt.want {
			t.Errorf("Label() of origin %q op %v = %q, want %q", tt.origin, tt.op, got, tt.want)
		}
	}
}

func TestKeyBytesRoundTrip(t *testing.T) {
	keys := []Key{
		{Hash: ddbjson.S(tenureID)},
		{Hash: ddbjson.S("a")},
		{Hash: ddbjson.S("with|pipe and ünïcode 😀")},
		{Hash: ddbjson.S(strings.Repeat("k", 300))},
		{Hash: ddbjson.N("42")},
		{Hash: ddbjson.N("-1.5")},
		{Hash: ddbjson.B([]byte{0, 1, 2, 0xff})},
		{Hash: ddbjson.S(tenureID), Range: ddbjson.S("3c1e2d4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f")},
		{Hash: ddbjson.S("target"), Range: ddbjson.N("7")},
		{Hash: ddbjson.N("1"), Range: ddbjson.B([]byte("r"))},
		{Hash: ddbjson.B([]byte("h")), Range: ddbjson.S("")},
	}
	for _, k := range keys {
		b := k.Bytes()
		got, err := ParseKeyBytes(b)
		if err != nil {
			t.Errorf("ParseKeyBytes(%v of %s): %v", b, k, err)
			continue
		}
		if !ddbjson.Equal(got.Hash, k.Hash) || got.Hash.Kind != k.Hash.Kind {
			t.Errorf("hash %#v came back as %#v", k.Hash, got.Hash)
		}
		if !ddbjson.Equal(got.Range, k.Range) || got.Range.Kind != k.Range.Kind {
			t.Errorf("range %#v came back as %#v", k.Range, got.Range)
		}
		if !bytes.Equal(got.Bytes(), b) {
			t.Errorf("%s: Bytes after a round trip = %v, want %v", k, got.Bytes(), b)
		}
	}
}

func TestKeyBytesLayout(t *testing.T) {
	tests := []struct {
		k    Key
		want []byte
	}{
		{Key{Hash: ddbjson.S("ab")}, []byte{byte(ddbjson.KindS), 2, 'a', 'b'}},
		{Key{Hash: ddbjson.N("1.50")}, []byte{byte(ddbjson.KindN), 5, '1', '5', 'e', '-', '1'}},
		{Key{Hash: ddbjson.B([]byte{9})}, []byte{byte(ddbjson.KindB), 1, 9}},
		{Key{Hash: ddbjson.S("h"), Range: ddbjson.S("r")}, []byte{byte(ddbjson.KindS), 1, 'h', byte(ddbjson.KindS), 1, 'r'}},
	}
	for _, tt := range tests {
		if got := tt.k.Bytes(); !bytes.Equal(got, tt.want) {
			t.Errorf("%s: Bytes() = %v, want %v", tt.k, got, tt.want)
		}
	}
}

// TestKeyBytesCanonicalNumbers: numbers that are equal are one key.
func TestKeyBytesCanonicalNumbers(t *testing.T) {
	same := [][]string{
		{"1", "1.0", "1.00", "+1", "10e-1", "0.1E1"},
		{"0", "-0", "0.0", "-0.0e5"},
		{"100", "1e2", "1E+2", "100.000"},
	}
	for _, group := range same {
		want := Key{Hash: ddbjson.N(group[0])}.Bytes()
		for _, n := range group[1:] {
			if got := (Key{Hash: ddbjson.N(n)}).Bytes(); !bytes.Equal(got, want) {
				t.Errorf("N %q encodes as %v, N %q as %v; want one key", n, got, group[0], want)
			}
		}
	}
	if bytes.Equal(Key{Hash: ddbjson.N("1")}.Bytes(), Key{Hash: ddbjson.N("10")}.Bytes()) {
		t.Error("1 and 10 are one key")
	}
	// An S "1" and an N "1" are different keys.
	if bytes.Equal(Key{Hash: ddbjson.S("1")}.Bytes(), Key{Hash: ddbjson.N("1")}.Bytes()) {
		t.Error("S 1 and N 1 are one key")
	}
	// Hash "ab" + range "c" is not hash "a" + range "bc".
	a := Key{Hash: ddbjson.S("ab"), Range: ddbjson.S("c")}.Bytes()
	b := Key{Hash: ddbjson.S("a"), Range: ddbjson.S("bc")}.Bytes()
	if bytes.Equal(a, b) {
		t.Error("key parts are not delimited")
	}
}

func TestParseKeyBytesErrors(t *testing.T) {
	valid := Key{Hash: ddbjson.S("h"), Range: ddbjson.S("r")}.Bytes()
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "key truncated"},
		{"one byte", []byte{byte(ddbjson.KindS)}, "key truncated"},
		{"length past the end", []byte{byte(ddbjson.KindS), 5, 'a'}, "key truncated"},
		{"bad uvarint", []byte{byte(ddbjson.KindS), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "key truncated"},
		{"huge length", []byte{byte(ddbjson.KindS), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'a'}, "key truncated"},
		{"kind not a key type", []byte{byte(ddbjson.KindBOOL), 1, 1}, "bad key kind 4"},
		{"kind zero", []byte{0, 0}, "bad key kind 0"},
		{"range truncated", valid[:len(valid)-1], "key truncated"},
		{"range kind bad", append(Key{Hash: ddbjson.S("h")}.Bytes(), byte(ddbjson.KindM), 0), "bad key kind 6"},
		{"trailing bytes", append(append([]byte(nil), valid...), 'x'), "trailing bytes after key"},
	}
	for _, tt := range tests {
		_, err := ParseKeyBytes(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ParseKeyBytes(%v) error = %v, want it to contain %q", tt.name, tt.in, err, tt.want)
		}
	}
}

func TestParseKeyBytesDoesNotAlias(t *testing.T) {
	b := Key{Hash: ddbjson.B([]byte("abc"))}.Bytes()
	k, err := ParseKeyBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	b[2] = 'X'
	if string(k.Hash.Bin) != "abc" {
		t.Errorf("key changed with its buffer: %q", k.Hash.Bin)
	}
}

func TestKeyString(t *testing.T) {
	tests := []struct {
		k    Key
		want string
	}{
		{Key{Hash: ddbjson.S(tenureID)}, tenureID},
		{Key{Hash: ddbjson.N("1.0")}, "1.0"},
		{Key{Hash: ddbjson.B([]byte{0xff, 0, 1})}, "/wAB"},
		{Key{Hash: ddbjson.S("t"), Range: ddbjson.S("r")}, "t|r"},
		{Key{Hash: ddbjson.S("a|b"), Range: ddbjson.N("2")}, "a|b|2"},
		{Key{Hash: ddbjson.S("t"), Range: ddbjson.B([]byte("x"))}, "t|eA=="},
		{Key{}, ""},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		in                  string
		hashType, rangeType ddbjson.Kind
		want                Key
	}{
		{tenureID, ddbjson.KindS, ddbjson.KindInvalid, Key{Hash: ddbjson.S(tenureID)}},
		{"a|b", ddbjson.KindS, ddbjson.KindInvalid, Key{Hash: ddbjson.S("a|b")}},
		{"1.0", ddbjson.KindN, ddbjson.KindInvalid, Key{Hash: ddbjson.N("1.0")}},
		{"-2e3", ddbjson.KindN, ddbjson.KindInvalid, Key{Hash: ddbjson.N("-2e3")}},
		{"/wAB", ddbjson.KindB, ddbjson.KindInvalid, Key{Hash: ddbjson.B([]byte{0xff, 0, 1})}},
		{"t|r", ddbjson.KindS, ddbjson.KindS, Key{Hash: ddbjson.S("t"), Range: ddbjson.S("r")}},
		{"a|b|2", ddbjson.KindS, ddbjson.KindN, Key{Hash: ddbjson.S("a|b"), Range: ddbjson.N("2")}},
		{"7|eA==", ddbjson.KindN, ddbjson.KindB, Key{Hash: ddbjson.N("7"), Range: ddbjson.B([]byte("x"))}},
	}
	for _, tt := range tests {
		got, err := ParseKey(tt.in, tt.hashType, tt.rangeType)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", tt.in, err)
			continue
		}
		if !bytes.Equal(got.Bytes(), tt.want.Bytes()) || got.Hash.Kind != tt.want.Hash.Kind || got.Range.Kind != tt.want.Range.Kind {
			t.Errorf("ParseKey(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("ParseKey(%q).String() = %q", tt.in, s)
		}
	}
}

// TestParseKeyNumbersAreOneKey: "1.0" and "1" name the same entity.
func TestParseKeyNumbersAreOneKey(t *testing.T) {
	a, err := ParseKey("1.0", ddbjson.KindN, ddbjson.KindInvalid)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKey("1", ddbjson.KindN, ddbjson.KindInvalid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("1.0 and 1 are two keys: %v %v", a.Bytes(), b.Bytes())
	}
	c, err := ParseKey("t|1.50", ddbjson.KindS, ddbjson.KindN)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseKey("t|15e-1", ddbjson.KindS, ddbjson.KindN)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Bytes(), d.Bytes()) {
		t.Error("range 1.50 and 15e-1 are two keys")
	}
}

func TestParseKeyErrors(t *testing.T) {
	tests := []struct {
		in                  string
		hashType, rangeType ddbjson.Kind
		want                string
	}{
		{"", ddbjson.KindS, ddbjson.KindInvalid, "hash key: key attribute must be a non-empty S, N or B value"},
		{"abc", ddbjson.KindN, ddbjson.KindInvalid, `key part "abc" is not a number`},
		{"1.2.3", ddbjson.KindN, ddbjson.KindInvalid, `key part "1.2.3" is not a number`},
		{"", ddbjson.KindN, ddbjson.KindInvalid, `key part "" is not a number`},
		{"%%", ddbjson.KindB, ddbjson.KindInvalid, `key part "%%" is not base64`},
		{"", ddbjson.KindB, ddbjson.KindInvalid, "hash key: key attribute must be"},
		{"no-range", ddbjson.KindS, ddbjson.KindS, `key "no-range": want HASH|RANGE for a table with a range key`},
		{"t|", ddbjson.KindS, ddbjson.KindS, "range key: key attribute must be"},
		{"|r", ddbjson.KindS, ddbjson.KindS, "hash key: key attribute must be"},
		{"t|x", ddbjson.KindS, ddbjson.KindN, `key part "x" is not a number`},
	}
	for _, tt := range tests {
		_, err := ParseKey(tt.in, tt.hashType, tt.rangeType)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseKey(%q, %v, %v) error = %v, want it to contain %q", tt.in, tt.hashType, tt.rangeType, err, tt.want)
		}
	}
}

func TestKeyValidate(t *testing.T) {
	tests := []struct {
		name string
		k    Key
		want string // "" for valid
	}{
		{"S", Key{Hash: ddbjson.S("x")}, ""},
		{"N", Key{Hash: ddbjson.N("0")}, ""},
		{"B", Key{Hash: ddbjson.B([]byte{0})}, ""},
		{"hash and range", Key{Hash: ddbjson.S("x"), Range: ddbjson.N("1")}, ""},
		{"zero hash", Key{}, "hash key: "},
		{"empty S", Key{Hash: ddbjson.S("")}, "hash key: "},
		{"empty N", Key{Hash: ddbjson.N("")}, "hash key: "},
		{"empty B", Key{Hash: ddbjson.B(nil)}, "hash key: "},
		{"BOOL", Key{Hash: ddbjson.Bool(true)}, "hash key: "},
		{"NULL", Key{Hash: ddbjson.Null()}, "hash key: "},
		{"M", Key{Hash: ddbjson.M(ddbjson.Map{"a": ddbjson.S("b")})}, "hash key: "},
		{"SS", Key{Hash: ddbjson.SS("a")}, "hash key: "},
		{"NULL range", Key{Hash: ddbjson.S("x"), Range: ddbjson.Null()}, "range key: "},
		{"empty range", Key{Hash: ddbjson.S("x"), Range: ddbjson.S("")}, "range key: "},
		{"list range", Key{Hash: ddbjson.S("x"), Range: ddbjson.L(ddbjson.S("y"))}, "range key: "},
	}
	for _, tt := range tests {
		err := tt.k.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: Validate() = %v, want ErrBadKey prefixed %q", tt.name, err, tt.want)
		}
	}
}

func TestRecordAndDeadLetter(t *testing.T) {
	// A record carries exactly one of a change and a dead letter, and the
	// position to resume from.
	pos := Position{Source: "events:events/tenure.jsonl", Offset: 2048}
	r := Record{
		Dead: &DeadLetter{Pos: Position{Source: pos.Source, Offset: 1024}, Reason: "not valid JSON", Raw: []byte("{")},
		Next: pos,
	}
	if r.Change != nil || r.Dead.Pos.Offset != 1024 || r.Next.Offset != 2048 || r.Dead.Reason != "not valid JSON" {
		t.Errorf("record = %+v", r)
	}
	if OriginSnapshot != "snapshot" || OriginEvent != "event" || OriginRepair != "repair" || OriginResync != "resync" {
		t.Error("origin names changed: they are written to the state store and the lake")
	}
}

// FuzzParseKeyBytes: ParseKeyBytes never panics on stored bytes, and a key
// it reads encodes to bytes that read back as the same key.
func FuzzParseKeyBytes(f *testing.F) {
	f.Add(Key{Hash: ddbjson.S(tenureID)}.Bytes())
	f.Add(Key{Hash: ddbjson.N("1.50"), Range: ddbjson.B([]byte{1})}.Bytes())
	f.Add([]byte{byte(ddbjson.KindN), 3, '1', '.', '0'})
	f.Add([]byte{byte(ddbjson.KindS), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKeyBytes(b)
		if err != nil {
			return
		}
		enc := k.Bytes()
		k2, err := ParseKeyBytes(enc)
		if err != nil {
			t.Fatalf("re-encoded key %v does not parse: %v", enc, err)
		}
		if !bytes.Equal(k2.Bytes(), enc) {
			t.Fatalf("key bytes are not stable: %v then %v", enc, k2.Bytes())
		}
		if !ddbjson.Equal(k.Hash, k2.Hash) || !ddbjson.Equal(k.Range, k2.Range) {
			t.Fatalf("key %#v came back as %#v", k, k2)
		}
	})
}
