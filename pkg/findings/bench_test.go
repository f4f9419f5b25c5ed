package findings

import (
	"io"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
)

// BenchmarkAnalyze runs what `smtpcap analyze --format json` does on the
// generated gateway capture (SMTPCAP_BENCH_MB, default 64 MiB).
func BenchmarkAnalyze(b *testing.B) {
	path := testcaps.Bench(b)
	for b.Loop() {
		c, err := reassembly.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		an := NewAnalyzer(Options{})
		if _, err := session.Read(c, session.Options{Stream: -1, Recycle: true}, func(s *session.Session) error {
			an.Add(s)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		WriteJSON(io.Discard, an.Report([]string{path}))
		c.Close()
	}
}
