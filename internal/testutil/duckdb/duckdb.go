// Package duckdb runs SQL through DuckDB (tools/duckdb/query.mjs on node) so
// that tests can read what tidemark wrote with an independent engine.
//
// Setup, once per checkout:
//
//	npm ci --prefix tools/duckdb
//
// When node or tools/duckdb/node_modules is missing, Require skips the
// test, except under CI=true where it fails it: CI must run these tests.
package duckdb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/tidemark-dev/tidemark/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Column is a result column: its name and DuckDB type text, e.g.
// "DECIMAL(18,2)", "TIMESTAMP WITH TIME ZONE", "STRUCT(code VARCHAR)[]".
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is the output of one query. Values are JSON-decoded: BIGINT,
// HUGEINT, DECIMAL, TIMESTAMP and BLOB values are strings, smaller integers
// and doubles json.Number, lists []any, structs map[string]any, NULL nil.
type Result struct {
	Columns []Column         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
}

// Type returns the DuckDB type of the named column, or "".
func (r Result) Type(name string) string {
	for _, c := range r.Columns {
		if c.Name == name {
			return c.Type
		}
	}
	return ""
}

var (
	locateOnce sync.Once
	toolDir    string
	nodePath   string
	locateErr  error
)

// locate finds node and tools/duckdb (with its node_modules) from the
// module root, found by walking up from the working directory to go.mod.
func locate() (string, string, error) {
	locateOnce.Do(func() {
		root, err := testutil.ModuleRoot()
		if err != nil {
			locateErr = err
			return
		}
		toolDir = filepath.Join(root, "tools", "duckdb")
		mod := filepath.Join(toolDir, "node_modules", "@duckdb", "node-api")
		if _, err := os.Stat(mod); err != nil {
			locateErr = fmt.Errorf("DuckDB for node is not installed (run: npm ci --prefix tools/duckdb): %w", err)
			return
		}
		if nodePath, err = exec.LookPath("node"); err != nil {
			locateErr = fmt.Errorf("node is not on PATH: %w", err)
		}
	})
	return nodePath, toolDir, locateErr
}

// Available returns nil when DuckDB queries can run, else why not.
func Available() error {
	_, _, err := locate()
	return err
}

// Require skips t when DuckDB is not available, or fails it when the
// environment variable CI is "true".
func Require(t testing.TB) {
	t.Helper()
	testutil.RequireTool(t, "DuckDB", Available())
}

// Run runs one SQL statement and returns its columns and rows. It calls
// Require first, and fails t when the query fails.
func Run(t testing.TB, sql string) Result {
	t.Helper()
	Require(t)
	node, dir, _ := locate()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "query.mjs"), sql)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("duckdb: query failed: %v\nSQL: %s\n%s", err, sql, strings.TrimSpace(stderr.String()))
	}
	var res Result
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("duckdb: decoding output: %v\n%s", err, stdout.String())
	}
	return res
}

// Query runs one SQL statement and returns its rows (see Result for the
// value forms).
func Query(t testing.TB, sql string) []map[string]any {
	t.Helper()
	return Run(t, sql).Rows
}

// Quote returns s as a SQL string literal, e.g. for a path in read_parquet.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
