package pipeline

import (
	"os"
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	v := debug.SetGCPercent(100)
	debug.SetGCPercent(v)
	return v
}

// TestWithGCPercent: the setting holds until restored, and GOGC set by the
// user is never overridden.
func TestWithGCPercent(t *testing.T) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		t.Cleanup(func() { os.Setenv("GOGC", v) })
	}
	os.Unsetenv("GOGC")
	before := gcPercent()
	restore := withGCPercent(applyGCPercent)
	if got := gcPercent(); got != applyGCPercent {
		t.Fatalf("GC percent %d while applying, want %d", got, applyGCPercent)
	}
	inner := withGCPercent(publishGCPercent) // a publish inside follow
	if got := gcPercent(); got != publishGCPercent {
		t.Fatalf("GC percent %d while publishing, want %d", got, publishGCPercent)
	}
	inner()
	if got := gcPercent(); got != applyGCPercent {
		t.Fatalf("GC percent %d after the publish, want %d again", got, applyGCPercent)
	}
	restore()
	if got := gcPercent(); got != before {
		t.Fatalf("GC percent %d after follow, want %d", got, before)
	}

	t.Setenv("GOGC", "300")
	withGCPercent(applyGCPercent)()
	restore = withGCPercent(applyGCPercent)
	if got := gcPercent(); got != before {
		t.Fatalf("with GOGC set, GC percent %d, want it untouched (%d)", got, before)
	}
	restore()
}
