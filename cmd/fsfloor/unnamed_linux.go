package main

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// createUnnamed writes an unnamed file in path's directory and links it
// under path once it is written: the name appears only on a complete file,
// and a file not yet linked vanishes with the process.
func createUnnamed(path string, size int64, data []byte) error {
	dir := filepath.Dir(path)
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := fill(f, size, data); err != nil {
		return err
	}
	// linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; through
	// /proc/self/fd it needs nothing.
	if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "linkat", Old: "/proc/self/fd/" + strconv.Itoa(fd), New: path, Err: err}
	}
	return f.Close()
}
