package ddbjson

import (
	"testing"
	"unsafe"
)

// TestValueSize guards the layout: above 128 bytes Go stores map values out
// of line and every Map insert allocates.
func TestValueSize(t *testing.T) {
	if n := unsafe.Sizeof(Value{}); n > 128 {
		t.Fatalf("Value is %d bytes, want at most 128", n)
	}
}
