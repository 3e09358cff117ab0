package main

import (
	"os"
	"runtime/debug"
	"syscall"
)

// cgoBuild is set by memory_cgo.go when the binary is built with cgo, which
// makes pebble allocate its block cache and memtables with C malloc.
var cgoBuild bool

// defaultMemoryLimit is the Go heap's soft limit when GOMEMLIMIT is not
// set: the state lives on disk, and the process needs batches, pebble's
// cache and memtables and one Parquet row group; a limit makes the garbage
// collector work harder near it instead of letting the heap double.
const defaultMemoryLimit = 200 << 20

// tuneMemory sets the soft memory limit, and in a cgo build makes sure glibc
// keeps one malloc arena: pebble mallocs from whichever thread reads or
// flushes, and glibc gives each thread its own arena (up to 8 per core),
// each holding on to freed blocks (on a 1M-entity publish, 150 MiB of
// resident memory beyond the cache). glibc reads MALLOC_ARENA_MAX before
// any Go code runs, so the process execs itself once with it set (same pid,
// same arguments). Setting MALLOC_ARENA_MAX or GOMEMLIMIT yourself wins.
func tuneMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if _, set := os.LookupEnv("MALLOC_ARENA_MAX"); !cgoBuild || set {
		return // set by the user, or by the exec below: never exec twice
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	// One arena: with two, a publish whose schema pass reads on one thread
	// and gathers on another held 90 MiB more, and one costs no time here
	// (pebble's allocations are few and large).
	env := append(os.Environ(), "MALLOC_ARENA_MAX=1")
	_ = syscall.Exec(exe, os.Args, env) // on failure, go on as we are
}
