package lake

import (
	"bytes"
	"os"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// TestImageBinSameFiles: rows given in the stored binary form (ImageBin,
// as the pipeline publishes) make the same files, byte for byte, as the
// same rows given as maps, for every kind of value, leftovers included.
func TestImageBinSameFiles(t *testing.T) {
	S, N := ddbjson.S, ddbjson.N
	images := []ddbjson.Map{
		{
			"tags": ddbjson.SS("a", "b"), "nums": ddbjson.NS("1", "2.5"), "blobs": ddbjson.BS([]byte("x"), nil),
			"bin": ddbjson.B([]byte{0, 1, 2}), "empty": ddbjson.M(ddbjson.Map{}), "nothing": ddbjson.Null(),
			"when": S("2021-03-04T10:11:12.1234567Z"), "ok": ddbjson.Bool(true),
			"list":    ddbjson.L(ddbjson.M(ddbjson.Map{"id": S("p1")}), S("junk"), ddbjson.M(ddbjson.Map{"id": S("p2"), "x": N("1")})),
			"charges": ddbjson.M(ddbjson.Map{"rent": N("1.5"), "deep": ddbjson.M(ddbjson.Map{"a": ddbjson.L(N("1"), ddbjson.L(S("z")))})}),
			"s":       S(""),
		},
		{
			"tags": ddbjson.SS(), "list": ddbjson.L(ddbjson.M(ddbjson.Map{"id": S("p3")})),
			"charges": ddbjson.M(ddbjson.Map{"rent": S("n/a")}), "when": S(""), "empty": ddbjson.M(ddbjson.Map{}),
			"ok": S("yes"), "mixed": ddbjson.M(ddbjson.Map{"k": ddbjson.NS("7")}),
		},
		{},
		nil, // a delete row
		{"charges": ddbjson.M(ddbjson.Map{"rent": N("2")}), "when": ddbjson.Null(), "bin": S("not binary")},
	}
	for i := range 50 {
		images = append(images, tenureRow(i).Image)
	}
	for _, kind := range []Kind{Current, History} {
		var maps, bins []Row
		for i, img := range images {
			r := Row{Key: string(rune('a' + i%26)), Op: "update", Version: "3", Image: img, ValidFrom: testNow}
			maps = append(maps, r)
			if img != nil {
				r.ImageBin = ddbjson.AppendBinary(nil, img)
			}
			r.Image = nil
			bins = append(bins, r)
		}
		a, _ := publish(t, kind, maps)
		b, _ := publish(t, kind, bins)
		if len(a.Files) != len(b.Files) || a.Rows != b.Rows || a.Leftovers != b.Leftovers || a.Leftovers == 0 {
			t.Fatalf("%s: maps wrote %d files, %d rows, %d leftovers; binary %d, %d, %d", kind,
				len(a.Files), a.Rows, a.Leftovers, len(b.Files), b.Rows, b.Leftovers)
		}
		for i := range a.Files {
			fa, err := os.ReadFile(a.Files[i])
			if err != nil {
				t.Fatal(err)
			}
			fb, err := os.ReadFile(b.Files[i])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fa, fb) {
				t.Errorf("%s: part %d differs between map and binary images", kind, i)
			}
		}
	}
}
