// Package testcaps finds the captures tests run over: the project's own
// under testdata/pcaps and, when the folder is there, the shared corpus of
// other projects' SMTP captures beside the repository.
package testcaps

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// Root returns the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Path returns the path of a capture in testdata/pcaps.
func Path(name string) string { return filepath.Join(Root(), "testdata", "pcaps", name) }

// Broken reports whether a bundled capture is damaged on purpose.
func Broken(path string) bool {
	switch filepath.Base(path) {
	case "empty.pcap", "garbage.pcap", "truncated.pcap":
		return true
	}
	return false
}

// Bundled returns the captures of testdata/pcaps and of its folders whose
// dialogues tshark reads as smtpcap does (broken ones included); Every
// has them all.
func Bundled() []string {
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz", "crafted/*.pcap", "crafted/*.pcapng", "postfix/*.pcap", "exim-client/*.pcap", "postfix-client/*.pcap", "sendmail/*.pcap", "lmtp/*.pcap", "opensmtpd/*.pcap", "postfix-bare/*.pcap", "postscreen/*.pcap"} {
		m, _ := filepath.Glob(filepath.Join(Root(), "testdata", "pcaps", pat))
		out = append(out, m...)
	}
	return out
}

// Corpus returns the shared corpus captures, or nil when the folder is absent.
func Corpus() []string {
	var out []string
	m, _ := filepath.Glob(filepath.Join(Root(), "..", "shared", "corpus", "*", "*"))
	for _, f := range m {
		if isCapture(f) {
			out = append(out, f)
		}
	}
	return out
}

// Every returns every capture under testdata/pcaps, in every folder
// (the sweeps' too, which Bundled leaves out: tshark misreads some of
// them), broken ones included, then the corpus: for properties that hold
// of any capture.
func Every() []string {
	var out []string
	filepath.WalkDir(filepath.Join(Root(), "testdata", "pcaps"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isCapture(path) {
			out = append(out, path)
		}
		return nil
	})
	return append(out, Corpus()...)
}

func isCapture(name string) bool {
	for _, ext := range []string{".pcap", ".pcapng", ".pcap.gz", ".cap"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// All returns Bundled and Corpus together.
func All() []string { return append(Bundled(), Corpus()...) }

// Bench returns the generated gateway capture for a benchmark (built on
// first use; SMTPCAP_BENCH_MB sets its size) and makes the benchmark report
// MB/s of capture and allocations.
func Bench(b *testing.B) string {
	b.Helper()
	path, err := capgen.BenchCapture(Root())
	if err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	return path
}
