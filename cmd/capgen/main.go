// Command capgen writes the crafted captures smtpcap's tests and
// benchmarks use.
//
//	go run ./cmd/capgen -o /tmp/gateway.pcap -size 1024 -concurrency 1000
//	go run ./cmd/capgen -fixtures testdata/pcaps/crafted
//
// writes a deterministic 1 GiB capture of a busy mail gateway: thousands of
// clients, many connections open at once and interleaved, SMTP sessions of
// varied shape and some non-SMTP noise.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

func main() {
	out := flag.String("o", "gateway.pcap", "write the capture to `FILE`")
	sizeMB := flag.Int64("size", 256, "target size in `MiB`")
	conc := flag.Int("concurrency", 1000, "connections open at once")
	clients := flag.Int("clients", 5000, "distinct client addresses")
	maxBody := flag.Int("max-body", 256<<10, "largest message body in bytes")
	noise := flag.Int("non-smtp", 15, "percent of connections that are not SMTP")
	seed := flag.Uint64("seed", 1, "random seed")
	force := flag.Bool("force", false, "overwrite FILE")
	fixtures := flag.String("fixtures", "", "instead, write the crafted test captures into `DIR` (testdata/pcaps/crafted)")
	flag.Parse()

	if *fixtures != "" {
		if err := writeFixtures(*fixtures); err != nil {
			fmt.Fprintln(os.Stderr, "capgen:", err)
			os.Exit(2)
		}
		return
	}

	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(*out, flags, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "capgen:", err)
		os.Exit(2)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var size int64
	w := capgen.NewGatewayWriter(bw, &size)
	conns, packets := capgen.Gateway(w, &size, capgen.GatewayOptions{
		Seed: *seed, TargetBytes: *sizeMB << 20, Concurrency: *conc, Clients: *clients, MaxBody: *maxBody, NonSMTP: *noise,
	})
	err = w.Err()
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "capgen:", err)
		os.Exit(2)
	}
	fmt.Printf("%s: %d bytes, %d packets, %d connections\n", *out, size, packets, conns)
}

func writeFixtures(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	readme := "# Crafted captures\n\nWhat real mail software will not do on demand, written by `internal/capgen` " +
		"(fixtures.go): rebuild with `go run ./cmd/capgen -fixtures testdata/pcaps/crafted`; a test checks the files " +
		"are exactly what the generator writes. Client 192.0.2.10, server 198.51.100.25:25, Ethernet, pcap.\n\n"
	for _, f := range capgen.Fixtures() {
		if err := os.WriteFile(filepath.Join(dir, f.Name), capgen.BuildFixture(f), 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %s\n", f.Name, f.About)
		readme += fmt.Sprintf("- `%s`: %s\n", f.Name, f.About)
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644)
}
