package ddbjson

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkTranscode fails unless TranscodeExportLine agrees with
// AppendBinary(DecodeExportLine): the same bytes for a good line, the same
// error for a bad one, and dst kept as it was.
func checkTranscode(t *testing.T, line []byte) {
	t.Helper()
	m, derr := DecodeExportLine(line)
	prefix := []byte("prefix")
	got, terr := TranscodeExportLine(bytes.Clone(prefix), line)
	switch {
	case derr != nil || terr != nil:
		if derr == nil || terr == nil || derr.Error() != terr.Error() {
			t.Fatalf("line %q:\n decode error: %v\n transcode error: %v", line, derr, terr)
		}
		if !bytes.Equal(got, prefix) {
			t.Fatalf("line %q: a failed transcoding changed dst to %q", line, got)
		}
	default:
		want := AppendBinary(bytes.Clone(prefix), m)
		if !bytes.Equal(got, want) {
			t.Fatalf("line %q:\n transcoded %x\n want       %x", line, got, want)
		}
	}
}

func TestTranscodeExportLine(t *testing.T) {
	deep := strings.Repeat(`{"L":[`, MaxDepth) + `{"S":"x"}` + strings.Repeat(`]}`, MaxDepth)
	tooDeep := strings.Repeat(`{"L":[`, MaxDepth+1) + `{"S":"x"}` + strings.Repeat(`]}`, MaxDepth+1)
	for _, line := range []string{
		// good lines
		`{"Item":{}}`,
		`{"Item":{"id":{"S":"a"}}}`,
		` { "Item" : { "b" : { "N" : "1.50" } , "a" : { "S" : "x" } } } `,
		`{"Item":{"z":{"S":"1"},"a":{"S":"2"},"m":{"S":"3"},"a":{"S":"4"}}}`, // a repeated name keeps its last value
		`{"Item":{"a":{"M":{"y":{"N":"1"},"x":{"M":{"q":{"NULL":true},"p":{"BOOL":false}}}}}}}`,
		`{"Item":{"l":{"L":[{"S":"x"},{"M":{"b":{"S":"1"},"a":{"S":"2"}}},{"L":[]},{"M":{}}]}}}`,
		`{"Item":{"ss":{"SS":["b","a","b"]},"ns":{"NS":["2","1e3","-0.5"]},"bs":{"BS":["AQ==","","AgM="]}}}`,
		`{"Item":{"b":{"B":"aGVsbG8="},"e":{"B":""},"t":{"BOOL":true},"n":{"NULL":true}}}`,
		`{"Item":{"s":{"S":"tab\there \"quoted\" \u00e9 \ud83d\ude00 \\ \/"},"k\u00e9y":{"S":""}}}`,
		`{"Item":{"` + strings.Repeat("k", 300) + `":{"L":[` + strings.TrimSuffix(strings.Repeat(`{"N":"1"},`, 200), ",") + `]}}}`,
		`{"Item":{"d":` + deep + `}}`,
		// bad lines: the same error as DecodeExportLine
		``, `[]`, `{}`, `{"Item":{}`, `{"Item":{},"Item":{}}`, `{"Keys":{}}`, `{"Item":[]}`,
		`{"Item":{"a":{"S":"x","N":"1"}}}`, `{"Item":{"a":{}}}`, `{"Item":{"a":{"X":"1"}}}`,
		`{"Item":{"a":{"N":"1.2.3"}}}`, `{"Item":{"a":{"NS":["1","x"]}}}`, `{"Item":{"a":{"NULL":false}}}`,
		`{"Item":{"a":{"B":"!!"}}}`, `{"Item":{"a":{"BS":["AQ==","%"]}}}`, `{"Item":{"a":{"S":"\ud800"}}}`,
		"{\"Item\":{\"a\":{\"S\":\"\xff\"}}}", `{"Item":{"a":{"S":"x"}}} x`, "{\"Item\":{}}\x00",
		`{"Item":{"a":{"L":[{"S":"x"} {"S":"y"}]}}}`, `{"Item":{"a":{"M":{"b":{"S":"x"}}}`,
		`{"Item":{"a":{"BOOL":"true"}}}`, `{"Item":{"a":{"S":"unterminated}}}`, `{"Item":{"a":{"S":"\q"}}}`,
		`{"Item":{"d":` + tooDeep + `}}`,
	} {
		checkTranscode(t, []byte(line))
	}
}

func TestTranscodeGoldenItem(t *testing.T) {
	line, err := os.ReadFile(filepath.Join("testdata", "tenure_export.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkTranscode(t, bytes.TrimSpace(line))
	// Reusing one buffer line after line gives each line's own bytes.
	buf := make([]byte, 0, 64)
	for _, l := range []string{`{"Item":{"id":{"S":"a"}}}`, string(bytes.TrimSpace(line)), `{"Item":{"id":{"S":"b"}}}`} {
		got, err := TranscodeExportLine(buf[:0], []byte(l))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := DecodeExportLine([]byte(l))
		if !bytes.Equal(got, AppendBinary(nil, m)) {
			t.Fatalf("reused buffer: line %.40q transcoded wrong", l)
		}
		buf = got
	}
}

func TestRawGet(t *testing.T) {
	bin, err := TranscodeExportLine(nil, []byte(`{"Item":{"id":{"S":"k1"},"version":{"N":"7"},"m":{"M":{"id":{"S":"inner"}}},"a":{"NULL":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ok   bool
		want Value
	}{
		{"id", true, S("k1")},
		{"version", true, N("7")},
		{"a", true, Null()},
		{"m", true, M(Map{"id": S("inner")})},
		{"absent", false, Value{}},
		{"", false, Value{}},
		{"zzz", false, Value{}},
	} {
		v, ok, err := RawGet(bin, tc.name)
		if err != nil || ok != tc.ok {
			t.Fatalf("RawGet(%q) = ok %v, err %v; want ok %v", tc.name, ok, err, tc.ok)
		}
		got, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		if ok && !Equal(got, tc.want) || !ok && v.Kind != KindInvalid {
			t.Fatalf("RawGet(%q) = %#v, want %#v", tc.name, got, tc.want)
		}
	}
	if _, _, err := RawGet(bin[:len(bin)-3], "version"); err == nil {
		// "version" sits after "m", whose bytes are cut: the walk must see it
		t.Fatal("RawGet of a truncated map found no error")
	}
}

// FuzzTranscodeExportLine: the transcoder and the decoder agree on every
// input, good or bad.
func FuzzTranscodeExportLine(f *testing.F) {
	for _, s := range ddbSeeds {
		f.Add([]byte(`{"Item":` + s + `}`))
	}
	f.Add([]byte(`{"Item":{"b":{"S":"1"},"a":{"S":"2"},"b":{"N":"3"}}}`))
	f.Add([]byte(`{"Item":{},"Item":{}}`))
	f.Add([]byte(`{"Keys":{}}`))
	seedFiles(f, func(b []byte) []byte { return b })
	f.Fuzz(func(t *testing.T, data []byte) {
		checkTranscode(t, data)
	})
}

// BenchmarkTranscodeExportLine reads the realistic tenure export line into
// the stored form; compare BenchmarkDecodeExportLine plus encoding.
func BenchmarkTranscodeExportLine(b *testing.B) {
	line := readTestdata(b, "tenure_export.json")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = TranscodeExportLine(buf[:0], line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEncodeExportLine is what a bootstrap did before the
// transcoder: decode into a Map, then encode the Map's binary form.
func BenchmarkDecodeEncodeExportLine(b *testing.B) {
	line := readTestdata(b, "tenure_export.json")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		m, err := DecodeExportLine(line)
		if err != nil {
			b.Fatal(err)
		}
		buf = AppendBinary(buf[:0], m)
	}
}

// TestSpecial8: the eight-byte test never misses a quote, a backslash or a
// control character, in any position and beside any other byte, and
// passes words of only plain bytes.
func TestSpecial8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(b [8]byte) uint64 { return binary.LittleEndian.Uint64(b[:]) }
	for range 200_000 {
		var b [8]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(3) > 0 { // mostly plain bytes, ASCII or not
				b[i] = byte(0x20 + rng.IntN(0xe0))
			}
		}
		special := false
		for _, c := range b {
			special = special || !plainByte[c]
		}
		if got := special8(word(b)); special && !got {
			t.Fatalf("special8(%q) = false, but it holds a quote, a backslash or a control character", b[:])
		}
		if !special && special8(word(b)) {
			t.Fatalf("special8(%q) = true for plain bytes only", b[:])
		}
	}
	for pos := range 8 {
		for c := range 256 {
			b := [8]byte{'a', 'b', 0xc3, 0xa9, 'x', 0x7f, 0xff, 'z'}
			b[pos] = byte(c)
			hasSpecial := false
			for _, x := range b {
				hasSpecial = hasSpecial || !plainByte[x]
			}
			if special8(word(b)) != hasSpecial {
				t.Fatalf("special8(%q) = %v", b[:], !hasSpecial)
			}
		}
	}
}
