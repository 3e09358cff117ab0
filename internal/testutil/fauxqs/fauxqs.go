// Package fauxqs runs an SQS/SNS-compatible server (fauxqs on node, from
// tools/fauxqs) for tests, and gives them real aws-sdk-go-v2 SQS and SNS
// clients for it.
//
// Setup, once per checkout:
//
//	npm ci --prefix tools/fauxqs
//
// When node or tools/fauxqs/node_modules is missing, Start skips the test,
// except under CI=true where it fails it: CI must run these tests.
//
// Each Start runs its own in-memory server on a free loopback port (the
// server picks it), so tests may run in parallel; the server is killed when
// the test ends.
package fauxqs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/tidemark-dev/tidemark/internal/testutil"
)

// Region is the region the clients and the server use.
const Region = "eu-west-2"

// startTimeout bounds how long Start waits for the server to listen.
const startTimeout = 20 * time.Second

var (
	locateOnce sync.Once
	script     string
	nodePath   string
	locateErr  error
)

func locate() (node, server string, err error) {
	locateOnce.Do(func() {
		root, err := testutil.ModuleRoot()
		if err != nil {
			locateErr = err
			return
		}
		dir := filepath.Join(root, "tools", "fauxqs")
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "fauxqs", "package.json")); err != nil {
			locateErr = fmt.Errorf("fauxqs is not installed (run: npm ci --prefix tools/fauxqs): %w", err)
			return
		}
		script = filepath.Join(dir, "server.mjs")
		if nodePath, err = exec.LookPath("node"); err != nil {
			locateErr = fmt.Errorf("node is not on PATH: %w", err)
		}
	})
	return nodePath, script, locateErr
}

// Available returns nil when a fauxqs server can be started, else why not.
func Available() error {
	_, _, err := locate()
	return err
}

// Require skips t when fauxqs is not available, or fails it under CI=true.
func Require(t testing.TB) {
	t.Helper()
	testutil.RequireTool(t, "fauxqs", Available())
}

// Server is a running fauxqs.
type Server struct {
	// Endpoint is the server's base URL, e.g. "http://127.0.0.1:41234".
	Endpoint string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Start starts an in-memory fauxqs server and waits until it listens. The
// server is killed when t ends. Start calls Require first.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t)
	node, server, _ := locate()
	cmd := exec.Command(node, server)
	cmd.Dir = filepath.Dir(server)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("fauxqs: %v", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &limitWriter{w: &stderr, n: 64 << 10}
	if err := cmd.Start(); err != nil {
		t.Fatalf("fauxqs: starting %s: %v", server, err)
	}
	s := &Server{cmd: cmd, exited: make(chan struct{})}
	ports := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "fauxqs listening on "); ok {
				if n, err := strconv.Atoi(p); err == nil {
					ports <- n
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.Stop)
	select {
	case port := <-ports:
		s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		return s
	case <-s.exited:
		t.Fatalf("fauxqs exited before listening:\n%s", stderr.String())
	case <-time.After(startTimeout):
		t.Fatalf("fauxqs did not listen within %v:\n%s", startTimeout, stderr.String())
	}
	return nil
}

// Stop kills the server and waits for it (idempotent).
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

type limitWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		_, _ = l.w.Write(p[:k])
	}
	return len(p), nil
}

func awsConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("test", "test", "")),
	}
}

// SQS returns an SQS client for the server, with static credentials and
// nothing of the developer's AWS setup.
func (s *Server) SQS() *sqs.Client {
	return sqs.NewFromConfig(awsConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(s.Endpoint) })
}

// SNS returns an SNS client for the server.
func (s *Server) SNS() *sns.Client {
	return sns.NewFromConfig(awsConfig(), func(o *sns.Options) { o.BaseEndpoint = aws.String(s.Endpoint) })
}

// CreateQueue creates a queue (a FIFO queue when name ends in .fifo) and
// returns its URL.
func (s *Server) CreateQueue(t testing.TB, name string, attrs map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := map[string]string{}
	if strings.HasSuffix(name, ".fifo") {
		a["FifoQueue"] = "true"
	}
	for k, v := range attrs {
		a[k] = v
	}
	out, err := s.SQS().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: a})
	if err != nil {
		t.Fatalf("fauxqs: creating queue %s: %v", name, err)
	}
	// fauxqs names queues http://sqs.REGION.localhost:PORT/ACCOUNT/NAME
	// and knows them by that URL only; a .localhost name is loopback
	// (RFC 6761), which tidemark's endpoint choice follows.
	return aws.ToString(out.QueueUrl)
}
