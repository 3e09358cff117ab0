// Package dynalite runs a DynamoDB-compatible server (dynalite on node,
// from tools/dynalite) for tests, and gives them a real aws-sdk-go-v2
// DynamoDB client for it.
//
// Setup, once per checkout:
//
//	npm ci --prefix tools/dynalite
//
// When node or tools/dynalite/node_modules is missing, Start skips the
// test, except under CI=true where it fails it: CI must run these tests.
//
// Each Start runs its own in-memory server on a free loopback port, so tests
// may run in parallel; the server is killed when the test ends.
package dynalite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/tidemark-dev/tidemark/internal/testutil"
	"net"
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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const (
	// Region is the region Client configures.
	Region = "eu-west-2"
	// startTimeout bounds how long Start waits for the server to listen.
	startTimeout = 10 * time.Second
	// portAttempts is how many free ports Start tries when another process
	// takes the chosen one between choosing and binding it.
	portAttempts = 5
	// batchSize is BatchWriteItem's limit on requests per call.
	batchSize = 25
	// loadWorkers is how many BatchWriteItem calls Load keeps in flight.
	loadWorkers = 8
)

var (
	locateOnce sync.Once
	toolDir    string
	cliPath    string
	nodePath   string
	locateErr  error
)

// locate finds node and tools/dynalite/node_modules/dynalite/cli.js from
// the module root, found by walking up from the working directory to go.mod.
func locate() (node, dir, cli string, err error) {
	locateOnce.Do(func() {
		root, err := testutil.ModuleRoot()
		if err != nil {
			locateErr = err
			return
		}
		toolDir = filepath.Join(root, "tools", "dynalite")
		cliPath = filepath.Join(toolDir, "node_modules", "dynalite", "cli.js")
		if _, err := os.Stat(cliPath); err != nil {
			locateErr = fmt.Errorf("dynalite is not installed (run: npm ci --prefix tools/dynalite): %w", err)
			return
		}
		if nodePath, err = exec.LookPath("node"); err != nil {
			locateErr = fmt.Errorf("node is not on PATH: %w", err)
		}
	})
	return nodePath, toolDir, cliPath, locateErr
}

// Available returns nil when a dynalite server can be started, else why not.
func Available() error {
	_, _, _, err := locate()
	return err
}

// Require skips t when dynalite is not available, or fails it when the
// environment variable CI is "true".
func Require(t testing.TB) {
	t.Helper()
	testutil.RequireTool(t, "dynalite", Available())
}

// Start starts an in-memory dynalite server on a free loopback port, waits
// until it accepts connections, and returns its endpoint, e.g.
// "http://127.0.0.1:41234". Tables become ACTIVE (and deleted or updated)
// at once. The server is killed when t ends. Start calls Require first.
func Start(t testing.TB) (endpoint string) {
	t.Helper()
	Require(t)
	var lastErr error
	for range portAttempts {
		port, err := testutil.FreePort()
		if err != nil {
			t.Fatalf("dynalite: %v", err)
		}
		srv, err := startOn(port)
		if err == nil {
			t.Cleanup(srv.stop)
			return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	t.Fatalf("dynalite: %v", lastErr)
	return ""
}

var errPortInUse = errors.New("port in use")

type server struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd.Wait has returned
}

// stop kills the server and waits for it.
func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// startOn starts dynalite on port and waits, at most startTimeout, until it
// says it listens and accepts a connection. When the port is taken the
// error wraps errPortInUse.
func startOn(port int) (*server, error) {
	node, dir, cli, _ := locate()
	cmd := exec.Command(node, cli,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Dir = dir
	stdout := &watchWriter{want: []byte("Dynalite listening at"), seen: make(chan struct{})}
	stderr := &watchWriter{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cli, err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(s.exited)
	}()
	output := func() string {
		return strings.TrimSpace(stdout.String() + "\n" + stderr.String())
	}

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-stdout.seen:
	case <-s.exited:
		out := output()
		if strings.Contains(out, "EADDRINUSE") {
			return nil, fmt.Errorf("port %d: %w", port, errPortInUse)
		}
		return nil, fmt.Errorf("server exited before listening: %v\n%s", waitErr, out)
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("server did not listen within %v\n%s", startTimeout, output())
	}

	// It says it listens; check that it is this process that accepts.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("server exited: %v\n%s", waitErr, output())
		case <-timer.C:
			s.stop()
			return nil, fmt.Errorf("server does not accept connections on %s: %v\n%s", addr, err, output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// watchWriter keeps what the server writes (the first 64 KiB) and closes
// seen once want has appeared.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want []byte
	seen chan struct{}
	done bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := 64<<10 - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	if w.seen != nil && !w.done && bytes.Contains(w.buf.Bytes(), w.want) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Client returns a DynamoDB client for endpoint, with static credentials
// ("test"/"test") and region eu-west-2. It is built from an aws.Config
// literal rather than config.LoadDefaultConfig, so that nothing of the
// developer's AWS setup (AWS_PROFILE, ~/.aws files, AWS_ENDPOINT_URL,
// AWS_REGION) reaches the tests.
func Client(t testing.TB, endpoint string) *dynamodb.Client {
	t.Helper()
	cfg := aws.Config{
		Region:      Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("test", "test", "")),
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// CreateTable creates table name with the string hash key hashAttr and
// waits until it is ACTIVE. readCapacity 0 makes it PAY_PER_REQUEST; else it
// is PROVISIONED with readCapacity read and write capacity units (dynalite
// reports capacity but never throttles).
func CreateTable(t testing.TB, c *dynamodb.Client, name, hashAttr string, readCapacity int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(hashAttr), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(hashAttr), KeyType: types.KeyTypeHash},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
	if readCapacity > 0 {
		in.BillingMode = types.BillingModeProvisioned
		in.ProvisionedThroughput = &types.ProvisionedThroughput{
			ReadCapacityUnits:  aws.Int64(readCapacity),
			WriteCapacityUnits: aws.Int64(readCapacity),
		}
	}
	if _, err := c.CreateTable(ctx, in); err != nil {
		t.Fatalf("dynalite: creating table %s: %v", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("dynalite: waiting for table %s to be ACTIVE: %v", name, err)
	}
}

// Load writes items to table with BatchWriteItem, 25 items a call and
// loadWorkers calls in flight, retrying unprocessed items until none are
// left. Items with the same key must not share a batch (DynamoDB refuses
// such a batch). It fails t on any error.
func Load(t testing.TB, c *dynamodb.Client, table string, items []map[string]types.AttributeValue) {
	t.Helper()
	if len(items) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	batches := make(chan []types.WriteRequest)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() {
			firstErr = err
			cancel()
		})
	}
	for range min(loadWorkers, (len(items)+batchSize-1)/batchSize) {
		wg.Go(func() {
			for batch := range batches {
				if ctx.Err() != nil {
					continue // drain after a failure
				}
				if err := writeBatch(ctx, c, table, batch); err != nil {
					fail(err)
				}
			}
		})
	}
	for start := 0; start < len(items); start += batchSize {
		batch := make([]types.WriteRequest, 0, batchSize)
		for _, item := range items[start:min(start+batchSize, len(items))] {
			batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		batches <- batch
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("dynalite: loading %d items into %s: %v", len(items), table, firstErr)
	}
}

// writeBatch writes one batch, resending its unprocessed items with a
// growing pause.
func writeBatch(ctx context.Context, c *dynamodb.Client, table string, batch []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{table: batch}
	pause := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		out, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return err
		}
		if len(out.UnprocessedItems[table]) == 0 {
			return nil
		}
		if attempt == 20 {
			return fmt.Errorf("%d items still unprocessed after %d attempts", len(out.UnprocessedItems[table]), attempt)
		}
		pending = out.UnprocessedItems
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}
