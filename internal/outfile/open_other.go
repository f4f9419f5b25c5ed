//go:build !unix

package outfile

import "os"

// Open opens an output file for writing with flag (os.O_WRONLY and the
// like).
func Open(path string, flag int) (*os.File, error) {
	return os.OpenFile(path, flag, 0o644)
}
