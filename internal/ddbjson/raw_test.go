package ddbjson

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRawMembers: reading the binary form in place gives back every value,
// in key order, and the bytes after the map.
func TestRawMembers(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "tenure_export.json"))
	if err != nil {
		t.Fatal(err)
	}
	item, err := DecodeExportLine(data)
	if err != nil {
		t.Fatal(err)
	}
	item["sets"] = M(Map{"ss": SS("a", "b"), "ns": NS("1", "2.5"), "bs": BS([]byte{1}, nil), "b": B([]byte{9}),
		"t": Bool(true), "f": Bool(false), "null": Null(), "empty": M(Map{}), "l": L()})
	bin := AppendBinary(nil, item)
	ms, rest, err := RawMembers(nil, append(bin, 7, 7))
	if err != nil || len(rest) != 2 {
		t.Fatalf("RawMembers: %v, rest %v", err, rest)
	}
	keys := item.SortedKeys()
	if len(ms) != len(keys) {
		t.Fatalf("%d members, want %d", len(ms), len(keys))
	}
	for i, m := range ms {
		if m.Key != keys[i] {
			t.Fatalf("member %d is %q, want %q", i, m.Key, keys[i])
		}
		v, err := m.Val.Value()
		if err != nil || !Equal(v, item[m.Key]) {
			t.Errorf("%s: %#v (%v), want %#v", m.Key, v, err, item[m.Key])
		}
	}
	sets, _ := lookupRaw(ms, "sets").Members(nil)
	for _, m := range sets {
		want := item["sets"].Map[m.Key]
		switch m.Key {
		case "ss", "ns", "bs", "l":
			es, err := m.Val.Elems(nil)
			if err != nil || len(es) != m.Val.Len() || len(es) != len(want.Strs)+len(want.Bins)+len(want.List) {
				t.Errorf("%s: %d elements (%v)", m.Key, len(es), err)
			}
			for j, e := range es {
				switch m.Key {
				case "ss", "ns":
					if e.Str() != want.Strs[j] {
						t.Errorf("%s[%d] = %q", m.Key, j, e.Str())
					}
				case "bs":
					if string(e.Bytes()) != string(want.Bins[j]) || e.Kind != KindB {
						t.Errorf("%s[%d] = %v", m.Key, j, e.Bytes())
					}
				}
			}
		case "t", "f":
			if m.Val.Bool() != want.Bool {
				t.Errorf("%s = %v", m.Key, m.Val.Bool())
			}
		case "null":
			if !m.Val.IsNull() {
				t.Errorf("null is not null")
			}
		}
	}
	for n := range bin {
		if _, _, err := RawMembers(nil, bin[:n]); err == nil {
			t.Fatalf("RawMembers of %d of %d bytes: no error", n, len(bin))
		}
	}
}

func lookupRaw(ms []RawMember, k string) RawValue {
	for _, m := range ms {
		if m.Key == k {
			return m.Val
		}
	}
	return RawValue{}
}

// BenchmarkRawMembers reads a stored tenure in place, every nested map and
// list included (what a publish does instead of DecodeBinary).
func BenchmarkRawMembers(b *testing.B) {
	m, err := DecodeExportLine(readTestdata(b, "tenure_export.json"))
	if err != nil {
		b.Fatal(err)
	}
	buf := AppendBinary(nil, m)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var ms []RawMember
	var walk func(v RawValue)
	walk = func(v RawValue) {
		switch v.Kind {
		case KindM:
			sub, _ := v.Members(nil)
			for _, m := range sub {
				walk(m.Val)
			}
		case KindL:
			es, _ := v.Elems(nil)
			for _, e := range es {
				walk(e)
			}
		}
	}
	for b.Loop() {
		ms, _, _ = RawMembers(ms[:0], buf)
		for _, m := range ms {
			walk(m.Val)
		}
	}
}
