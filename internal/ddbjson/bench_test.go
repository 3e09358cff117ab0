package ddbjson

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func readTestdata(b *testing.B, name string) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return bytes.TrimSpace(data)
}

// BenchmarkDecodeExportLine decodes a realistic tenure export line (every
// attribute type, household members, charges).
func BenchmarkDecodeExportLine(b *testing.B) {
	line := readTestdata(b, "tenure_export.json")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeExportLine(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromJSON decodes a realistic TenureCreatedEvent.
func BenchmarkFromJSON(b *testing.B) {
	ev := readTestdata(b, "tenure_created_event.json")
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromJSON(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMap(b *testing.B) {
	m, err := DecodeExportLine(readTestdata(b, "tenure_export.json"))
	if err != nil {
		b.Fatal(err)
	}
	buf := AppendMap(nil, m)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMap(buf[:0], m)
	}
}

func BenchmarkAppendBinary(b *testing.B) {
	m, err := DecodeExportLine(readTestdata(b, "tenure_export.json"))
	if err != nil {
		b.Fatal(err)
	}
	buf := AppendBinary(nil, m)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBinary(buf[:0], m)
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	m, err := DecodeExportLine(readTestdata(b, "tenure_export.json"))
	if err != nil {
		b.Fatal(err)
	}
	buf := AppendBinary(nil, m)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeBinary(buf); err != nil {
			b.Fatal(err)
		}
	}
}
