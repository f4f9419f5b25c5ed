//go:build unix

// Package outfile opens the many small output files a split writes,
// without the runtime poller's work for each.
package outfile

import (
	"os"
	"syscall"
)

// Open opens an output file for writing with flag (os.O_WRONLY and the
// like). os.OpenFile would first
// try to register the descriptor with the runtime's poller, which refuses
// regular files after two fcntl calls and an epoll_ctl; for a split that
// writes tens of thousands of files those calls cost more than the open.
// os.NewFile leaves a blocking descriptor out of the poller.
func Open(path string, flag int) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, 0o644)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
