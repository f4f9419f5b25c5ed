// Command fsfloor measures what a file system alone takes to hold a split's
// output: it creates the files an earlier split wrote, with the same names
// and sizes, and fills them from memory, with no capture to read or decode.
// Its time is the floor under `smtpcap split` on that file system.
//
//	smtpcap split --all -o /tmp/a gateway.pcap
//	fsfloor -from /tmp/a -o /mnt/fresh/out -names part
//
// -names says how files get their final names: "part" writes each under a
// .part name and renames them all at the end, as smtpcap split does, so a
// file with its final name is complete; "final" writes the final names
// directly (no such promise); "tmpfile" writes each into an unnamed file
// (O_TMPFILE, Linux) and links it under its final name once written, which
// keeps the promise without renames.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smtpcap/smtpcap/internal/outfile"
)

// output is one file to create.
type output struct {
	name string
	size int64
}

func main() {
	from := flag.String("from", "", "an earlier split's output `DIR`: the names and sizes to create")
	dir := flag.String("o", "", "create the files in `DIR` (must not hold them yet)")
	names := flag.String("names", "part", "how files get their names: part, final or tmpfile")
	writers := flag.Int("writers", 2, "goroutines creating and writing files, as split's writers")
	flag.Parse()
	if *from == "" || *dir == "" || *writers < 1 {
		flag.Usage()
		os.Exit(2)
	}
	create, ok := creators[*names]
	if !ok {
		fmt.Fprintf(os.Stderr, "fsfloor: -names %q: want part, final or tmpfile\n", *names)
		os.Exit(2)
	}
	outs, err := listOutputs(*from)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsfloor:", err)
		os.Exit(1)
	}
	t, err := run(outs, *dir, *names, create, *writers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsfloor:", err)
		os.Exit(1)
	}
	fmt.Printf("fsfloor -names %s: %d files, %d bytes: created and written in %.2f s, named in %.2f s, %.2f s in all\n",
		*names, len(outs), t.bytes, t.written.Seconds(), t.named.Seconds(), (t.written + t.named).Seconds())
}

// timing is what run measured.
type timing struct {
	bytes   int64
	written time.Duration // creating and filling every file
	named   time.Duration // renaming them afterwards (-names part)
}

// listOutputs returns the capture files in dir, as split named them.
func listOutputs(dir string) ([]output, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var outs []output
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".pcap") && !strings.HasSuffix(e.Name(), ".pcapng") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		outs = append(outs, output{e.Name(), fi.Size()})
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("%s: no .pcap or .pcapng files", dir)
	}
	return outs, nil
}

// A creator creates the file path holding size bytes of data, written in
// writeSize pieces as split's writers write them.
type creator func(path string, size int64, data []byte) error

// writeSize is the size of each write, that of split's record blocks.
const writeSize = 32 << 10

var creators = map[string]creator{
	"part":    createAt(".part"),
	"final":   createAt(""),
	"tmpfile": createUnnamed,
}

func createAt(suffix string) creator {
	return func(path string, size int64, data []byte) error {
		f, err := outfile.Open(path+suffix, os.O_WRONLY|os.O_CREATE|os.O_EXCL) // as split opens them
		if err != nil {
			return err
		}
		if err := fill(f, size, data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}

// fill writes size bytes of data to f.
func fill(f *os.File, size int64, data []byte) error {
	for size > 0 {
		n := min(size, int64(len(data)))
		if _, err := f.Write(data[:n]); err != nil {
			return err
		}
		size -= n
	}
	return nil
}

// run creates outs in dir on writers goroutines, then renames them from
// .part when names is "part". A name dir holds already is an error.
func run(outs []output, dir, names string, create creator, writers int) (timing, error) {
	data := make([]byte, writeSize)
	for i := range data {
		data[i] = byte(i)
	}
	var t timing
	for _, o := range outs {
		t.bytes += o.size
	}
	// A rename replaces the file it names: like split, refuse the final
	// names the directory holds already, before the clock starts, so that
	// every way of naming leaves what was there alone.
	there, err := os.ReadDir(dir)
	if err != nil {
		return t, err
	}
	taken := make(map[string]bool, len(there))
	for _, e := range there {
		taken[e.Name()] = true
	}
	for _, o := range outs {
		if taken[o.name] {
			return t, &os.PathError{Op: "create", Path: filepath.Join(dir, o.name), Err: fs.ErrExist}
		}
	}
	start := time.Now()
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(outs); i += writers {
				if err := create(filepath.Join(dir, outs[i].name), outs[i].size, data); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return t, err
	}
	t.written = time.Since(start)
	if names == "part" {
		for _, o := range outs {
			path := filepath.Join(dir, o.name)
			if err := syscall.Rename(path+".part", path); err != nil {
				return t, &os.LinkError{Op: "rename", Old: path + ".part", New: path, Err: err}
			}
		}
	}
	t.named = time.Since(start) - t.written
	return t, nil
}
