// Package ddblocal runs AWS's DynamoDB Local (DynamoDBLocal.jar on Java,
// from tools/ddblocal) for tests, and gives them real aws-sdk-go-v2
// DynamoDB and DynamoDB Streams clients for it. Unlike dynalite, DynamoDB
// Local implements Streams (DescribeStream, GetShardIterator, GetRecords).
//
// Setup, once per checkout (Java 17 or later must be on PATH):
//
//	npm ci --prefix tools/ddblocal
//
// When java or the jar is missing, Start skips the test, except under
// CI=true where it fails it: CI must run these tests.
//
// Each Start runs its own in-memory server on a free loopback port, so tests
// may run in parallel; the server is killed when the test ends. A server
// takes a second or two to start: tests of one package may share one with
// Shared.
package ddblocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/tidemark-dev/tidemark/internal/testutil"
)

const (
	// Region is the region the clients configure.
	Region = "eu-west-2"
	// startTimeout bounds how long Start waits for the server to listen
	// (a JVM start on a busy machine).
	startTimeout = 60 * time.Second
	// portAttempts is how many free ports Start tries when another process
	// takes the chosen one between choosing and binding it.
	portAttempts = 5
)

var (
	locateOnce sync.Once
	jarPath    string
	libDir     string
	javaPath   string
	locateErr  error
)

// locate finds java and DynamoDBLocal.jar (with its DynamoDBLocal_lib
// folder of native SQLite libraries) under tools/ddblocal/node_modules,
// from the module root.
func locate() (java, jar, lib string, err error) {
	locateOnce.Do(func() {
		root, err := testutil.ModuleRoot()
		if err != nil {
			locateErr = err
			return
		}
		emu := filepath.Join(root, "tools", "ddblocal", "node_modules", "amplify-dynamodb-simulator", "emulator")
		jarPath = filepath.Join(emu, "DynamoDBLocal.jar")
		libDir = filepath.Join(emu, "DynamoDBLocal_lib")
		for _, p := range []string{jarPath, libDir} {
			if _, err := os.Stat(p); err != nil {
				locateErr = fmt.Errorf("DynamoDB Local is not installed (run: npm ci --prefix tools/ddblocal): %w", err)
				return
			}
		}
		if javaPath, err = exec.LookPath("java"); err != nil {
			locateErr = fmt.Errorf("java is not on PATH (install a Java 17 runtime, e.g. apt-get install openjdk-17-jre-headless): %w", err)
		}
	})
	return javaPath, jarPath, libDir, locateErr
}

// Available returns nil when a DynamoDB Local server can be started, else
// why not.
func Available() error {
	_, _, _, err := locate()
	return err
}

// Require skips t when DynamoDB Local is not available, or fails it when
// the environment variable CI is "true".
func Require(t testing.TB) {
	t.Helper()
	testutil.RequireTool(t, "DynamoDB Local", Available())
}

// Start starts an in-memory DynamoDB Local server on a free loopback port,
// waits until it accepts connections, and returns its endpoint, e.g.
// "http://127.0.0.1:41234". The server is killed when t ends. Start calls
// Require first.
func Start(t testing.TB) (endpoint string) {
	t.Helper()
	Require(t)
	srv, endpoint, err := start()
	if err != nil {
		t.Fatalf("DynamoDB Local: %v", err)
	}
	t.Cleanup(srv.stop)
	return endpoint
}

var (
	sharedMu       sync.Mutex
	sharedSrv      *server
	sharedEndpoint string
)

// Shared returns the endpoint of one server that every test of the test
// binary shares (started by the first call), so that a package's tests pay
// for one JVM start. Tests sharing it must use their own table names. Call
// StopShared from TestMain after m.Run (on Linux the server also dies with
// the test binary).
func Shared(t testing.TB) (endpoint string) {
	t.Helper()
	Require(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSrv == nil {
		srv, endpoint, err := start()
		if err != nil {
			t.Fatalf("DynamoDB Local: %v", err)
		}
		sharedSrv, sharedEndpoint = srv, endpoint
	}
	return sharedEndpoint
}

// StopShared kills the server Shared started, if any.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSrv != nil {
		sharedSrv.stop()
		sharedSrv = nil
	}
}

// start tries a few free ports.
func start() (*server, string, error) {
	var lastErr error
	for range portAttempts {
		port, err := testutil.FreePort()
		if err != nil {
			return nil, "", err
		}
		srv, err := startOn(port)
		if err == nil {
			return srv, "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	return nil, "", lastErr
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

// startOn starts DynamoDB Local on port and waits, at most startTimeout,
// until it answers HTTP. When the port is taken the error wraps
// errPortInUse.
func startOn(port int) (*server, error) {
	java, jar, lib, _ := locate()
	// A small heap and the client compiler only: the tests' tables are
	// small, and the machine is shared. -disableTelemetry: no calls out.
	cmd := exec.Command(java, "-Xms64m", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
		"-Djava.library.path="+lib, "-jar", jar,
		"-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port))
	cmd.Dir = filepath.Dir(jar)
	out := &capWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", jar, err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(s.exited)
	}()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	addr := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		// Any HTTP answer (DynamoDB Local answers a bare GET with 400) is
		// the server listening; check that it is this process.
		if resp, err := hc.Get(addr); err == nil {
			_ = resp.Body.Close()
			select {
			case <-s.exited:
			default:
				return s, nil
			}
		}
		select {
		case <-s.exited:
			o := strings.TrimSpace(out.String())
			if strings.Contains(o, "BindException") || strings.Contains(o, "Address already in use") {
				return nil, fmt.Errorf("port %d: %w", port, errPortInUse)
			}
			return nil, fmt.Errorf("server exited before listening: %v\n%s", waitErr, o)
		case <-timer.C:
			s.stop()
			return nil, fmt.Errorf("server did not answer on %s within %v\n%s", addr, startTimeout, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// capWriter keeps the first 64 KiB the server writes.
type capWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := 64<<10 - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// config is an aws.Config literal with static credentials ("test"/"test")
// and region eu-west-2, so that nothing of the developer's AWS setup
// (AWS_PROFILE, ~/.aws files, AWS_ENDPOINT_URL, AWS_REGION) reaches the
// tests.
func config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("test", "test", "")),
	}
}

// Client returns a DynamoDB client for endpoint.
func Client(t testing.TB, endpoint string) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(config(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// StreamsClient returns a DynamoDB Streams client for endpoint (DynamoDB
// Local serves both APIs on one port).
func StreamsClient(t testing.TB, endpoint string) *dynamodbstreams.Client {
	t.Helper()
	return dynamodbstreams.NewFromConfig(config(), func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// NoKeepAlive returns an HTTP client (for the clients' HTTPClient option)
// that opens a new connection for every request, for tests that count
// goroutines (an idle keep-alive connection holds two).
func NoKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

// Table describes a table CreateTable makes.
type Table struct {
	Name      string
	HashAttr  string
	HashType  types.ScalarAttributeType // default S
	RangeAttr string                    // "" for none
	RangeType types.ScalarAttributeType // default S
	// StreamView enables the stream with this view type ("" for none).
	StreamView types.StreamViewType
}

// CreateTable creates the table (PAY_PER_REQUEST), waits until it is
// ACTIVE and returns its LatestStreamArn ("" without a stream).
func CreateTable(t testing.TB, c *dynamodb.Client, tb Table) (streamARN string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kind := func(k types.ScalarAttributeType) types.ScalarAttributeType {
		if k == "" {
			return types.ScalarAttributeTypeS
		}
		return k
	}
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(tb.Name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(tb.HashAttr), AttributeType: kind(tb.HashType)},
		},
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String(tb.HashAttr), KeyType: types.KeyTypeHash}},
		BillingMode: types.BillingModePayPerRequest,
	}
	if tb.RangeAttr != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions,
			types.AttributeDefinition{AttributeName: aws.String(tb.RangeAttr), AttributeType: kind(tb.RangeType)})
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(tb.RangeAttr), KeyType: types.KeyTypeRange})
	}
	if tb.StreamView != "" {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: tb.StreamView}
	}
	if _, err := c.CreateTable(ctx, in); err != nil {
		t.Fatalf("DynamoDB Local: creating table %s: %v", tb.Name, err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = time.Second
	})
	out, err := w.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tb.Name)}, 30*time.Second)
	if err != nil {
		t.Fatalf("DynamoDB Local: waiting for table %s to be ACTIVE: %v", tb.Name, err)
	}
	return aws.ToString(out.Table.LatestStreamArn)
}

// SetStream enables (with view) or, with view "", disables the table's
// stream, and returns the table's LatestStreamArn afterwards.
func SetStream(t testing.TB, c *dynamodb.Client, table string, view types.StreamViewType) (streamARN string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := &types.StreamSpecification{StreamEnabled: aws.Bool(view != "")}
	if view != "" {
		spec.StreamViewType = view
	}
	out, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(table), StreamSpecification: spec})
	if err != nil {
		t.Fatalf("DynamoDB Local: setting the stream of %s to %q: %v", table, view, err)
	}
	return aws.ToString(out.TableDescription.LatestStreamArn)
}
