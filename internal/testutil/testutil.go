// Package testutil holds what the test helpers for external tools share.
package testutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ModuleRoot returns the folder of go.mod above the working directory (a
// test runs in its package's folder).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
