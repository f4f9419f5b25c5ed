//go:build !unix

package split

import "os"

// openOutput opens an output file for writing.
func openOutput(path string, flag int) (*os.File, error) {
	return os.OpenFile(path, flag, 0o644)
}
