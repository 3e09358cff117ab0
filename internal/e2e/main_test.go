// Package e2e runs the tidemark binary end to end: on generated data, with
// SIGKILLs at random instants, and with a corpus of bad input.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// binary is the tidemark binary built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tidemark-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tidemark")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, "github.com/tidemark-dev/tidemark/cmd/tidemark")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tidemark:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tidemark runs the binary and fails the test on a non-zero exit.
func tidemark(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := tidemarkErr(args...)
	if err != nil {
		t.Fatalf("tidemark %v: %v\n%s", args, err, out)
	}
	return out
}

func tidemarkErr(args ...string) ([]byte, error) {
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

// generate writes a generated dataset (with its tidemark.yaml) into a new
// folder and returns the folder.
func generate(t *testing.T, tenures, events, bad int, seed int) string {
	t.Helper()
	dir := t.TempDir()
	tidemark(t, "gen", "--out", dir, "--tenures", fmt.Sprint(tenures), "--events", fmt.Sprint(events),
		"--bad-lines", fmt.Sprint(bad), "--seed", fmt.Sprint(seed))
	return dir
}
