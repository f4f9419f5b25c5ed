//go:build !linux

package main

import (
	"errors"
	"os"
)

// createUnnamed needs O_TMPFILE, which only Linux has.
func createUnnamed(path string, size int64, data []byte) error {
	return &os.PathError{Op: "open O_TMPFILE", Path: path, Err: errors.ErrUnsupported}
}
