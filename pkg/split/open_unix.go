//go:build unix

package split

import (
	"os"
	"syscall"
)

// openOutput opens an output file for writing. os.OpenFile would first
// try to register the descriptor with the runtime's poller, which refuses
// regular files after two fcntl calls and an epoll_ctl; for a split that
// writes tens of thousands of files those calls cost more than the open.
// os.NewFile leaves a blocking descriptor out of the poller.
func openOutput(path string, flag int) (*os.File, error) {
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
