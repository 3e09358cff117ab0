package e2e

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCrashSafety SIGKILLs `tidemark run` at random instants (bootstrap,
// follow, publish), restarts it each time, and checks that the final state,
// history, dead letters and inconsistencies equal those of an uninterrupted
// run: nothing lost, nothing applied twice.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs the binary dozens of times")
	}
	src := generate(t, 3000, 8000, 25, 11)
	// Small batches: many commit points for the kills to fall between.
	appendFile(t, filepath.Join(src, "tidemark.yaml"), "batch_size: 250\n")

	ref := copyDir(t, src)
	phaseAt := timedRun(t, filepath.Join(ref, "tidemark.yaml"))
	want := readDump(t, stateDir(ref))

	work := copyDir(t, src)
	cfg := filepath.Join(work, "tidemark.yaml")
	rng := rand.New(rand.NewPCG(42, 7))
	kills := map[string]int{} // the phase each kill landed in
	total := 0
	// Phase by phase, each run is killed at a random instant after it
	// enters the phase (within a sixth of the phase's reference length, so
	// that one run does not finish it); the restarts resume the unfinished
	// work, so the kills walk through bootstrap, follow and publish.
	for _, phase := range []string{"bootstrap", "follow", "publish"} {
		length := phaseAt[next(phase)] - phaseAt[phase]
		for try := 0; try < 40 && kills[phase] < 9; try++ {
			delay := time.Duration(rng.Int64N(int64(length)/6 + 1))
			landed, ok := killIn(t, cfg, phase, delay)
			if !ok {
				break // the run went past the phase: its work is done
			}
			kills[landed]++
			total++
		}
	}
	if total < 20 {
		t.Fatalf("only %d kills landed; want at least 20 (by phase: %v)", total, kills)
	}
	for _, ph := range []string{"bootstrap", "follow", "publish"} {
		if kills[ph] < 5 {
			t.Errorf("only %d kills landed in %s (by phase: %v)", kills[ph], ph, kills)
		}
	}
	tidemark(t, "run", "--config", cfg)
	compareDumps(t, readDump(t, stateDir(work)), want)
	assertNoTempFiles(t, filepath.Join(work, "lake"))
	t.Logf("%d SIGKILLs by phase %v; reference phases at %v", total, kills, phaseAt)
}

var order = map[string]int{"start": 0, "bootstrap": 1, "follow": 2, "publish": 3}

func next(phase string) string {
	return map[string]string{"bootstrap": "follow", "follow": "publish", "publish": "end"}[phase]
}

// timedRun runs tidemark to the end and returns when each phase started,
// counted from the process start.
func timedRun(t *testing.T, cfg string) map[string]time.Duration {
	t.Helper()
	cmd := exec.Command(binary, "run", "--config", cfg, "-v")
	out := &phaseWriter{start: time.Now(), at: map[string]time.Duration{}}
	cmd.Stderr = out
	if err := cmd.Run(); err != nil {
		t.Fatalf("reference run: %v", err)
	}
	out.at["end"] = time.Since(out.start)
	for _, ph := range []string{"bootstrap", "follow", "publish"} {
		if _, ok := out.at[ph]; !ok {
			t.Fatalf("reference run logged no %s phase", ph)
		}
	}
	return out.at
}

// phaseWriter notes when each "phase X" log line arrives.
type phaseWriter struct {
	start time.Time
	at    map[string]time.Duration
}

func (w *phaseWriter) Write(p []byte) (int, error) {
	for _, ph := range []string{"bootstrap", "follow", "publish"} {
		if _, seen := w.at[ph]; !seen && bytes.Contains(p, []byte("phase "+ph)) {
			w.at[ph] = time.Since(w.start)
		}
	}
	return len(p), nil
}

// killIn starts a run and SIGKILLs it delay after it logs that it entered
// phase. It returns the phase the run was last in, or ok=false when the run
// passed or skipped the phase (or ended) before the kill.
func killIn(t *testing.T, cfg, phase string, delay time.Duration) (landed string, ok bool) {
	t.Helper()
	cmd := exec.Command(binary, "run", "--config", cfg, "-v")
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run failed: %v\n%s", err, logs.String())
			}
			return "", false
		case <-time.After(time.Millisecond):
		}
		now := lastPhase(logs.String())
		if now == phase {
			break
		}
		if order[now] > order[phase] {
			cmd.Process.Kill()
			<-done
			return "", false
		}
	}
	time.Sleep(delay)
	cmd.Process.Kill() // SIGKILL
	if err := <-done; err == nil {
		return "", false // it ended on its own just before the kill
	}
	return lastPhase(logs.String()), true
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// lastPhase returns the last phase a run logged ("start" before any).
func lastPhase(logs string) string {
	phase := "start"
	for _, ph := range []string{"bootstrap", "follow", "publish"} {
		if i := strings.LastIndex(logs, "phase "+ph); i >= 0 && i >= strings.LastIndex(logs, "phase "+phase) {
			phase = ph
		}
	}
	return phase
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v\n%s", src, err, out)
	}
	return dst
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasPrefix(filepath.Base(p), "part-") {
			t.Errorf("stray file in the lake: %s", p)
		}
		return nil
	})
}
