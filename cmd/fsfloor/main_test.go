package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestCreatesTheSameFiles checks that every way of naming leaves exactly
// the earlier split's names, each with its size, and nothing else.
func TestCreatesTheSameFiles(t *testing.T) {
	from := t.TempDir()
	sizes := map[string]int{
		"d.s0000.192.0.2.1-4000.192.0.2.2-25.pcap":       0,
		"d.s0001.192.0.2.1-4001.192.0.2.2-25.pcap":       writeSize + 7,
		"d.s0002.2001_db8__1-4002.2001_db8__2-25.pcapng": 3*writeSize - 1,
	}
	for name, size := range sizes {
		if err := os.WriteFile(filepath.Join(from, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(from, "d.index.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	outs, err := listOutputs(from)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != len(sizes) {
		t.Fatalf("listOutputs found %d files, want the %d captures", len(outs), len(sizes))
	}
	for names, create := range creators {
		t.Run(names, func(t *testing.T) {
			dir := t.TempDir()
			got, err := run(outs, dir, names, create, 2)
			if names == "tmpfile" && runtime.GOOS != "linux" {
				// Only Linux has O_TMPFILE: elsewhere the way is refused.
				if !errors.Is(err, errors.ErrUnsupported) {
					t.Fatalf("tmpfile on %s: %v, want errors.ErrUnsupported", runtime.GOOS, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.bytes != 4*writeSize+6 {
				t.Errorf("bytes = %d, want %d", got.bytes, 4*writeSize+6)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var made []string
			for _, e := range entries {
				made = append(made, e.Name())
				fi, err := e.Info()
				if err != nil {
					t.Fatal(err)
				}
				if want, ok := sizes[e.Name()]; !ok || fi.Size() != int64(want) {
					t.Errorf("%s: %d bytes, want %d (known name: %v)", e.Name(), fi.Size(), want, ok)
				}
			}
			if len(made) != len(sizes) {
				t.Errorf("made %v, want the %d names of %s", made, len(sizes), from)
			}
			if slices.ContainsFunc(made, func(n string) bool { return filepath.Ext(n) == ".part" }) {
				t.Errorf("a .part file is left: %v", made)
			}
		})
	}
}

// TestRefusesAnExistingFile checks that, whichever way files are named, a
// file already there under a final name is an error naming it, and is
// neither overwritten nor replaced (a .part rename would replace it).
func TestRefusesAnExistingFile(t *testing.T) {
	for names, create := range creators {
		t.Run(names, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "d.s0001.192.0.2.1-4001.192.0.2.2-25.pcap")
			if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			outs := []output{{"d.s0000.192.0.2.1-4000.192.0.2.2-25.pcap", 10}, {filepath.Base(path), 10}}
			_, err := run(outs, dir, names, create, 1)
			if err == nil || !os.IsExist(err) || !strings.Contains(err.Error(), path) {
				t.Errorf("run over an existing file: %v, want an exists error naming %s", err, path)
			}
			if b, _ := os.ReadFile(path); string(b) != "keep" {
				t.Errorf("the existing file now holds %q", b)
			}
		})
	}
}
