package findings

import (
	"io"
	"runtime"
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

// BenchmarkWhatConnectionsLeave reports what each SMTP connection leaves
// on the heap once the capture has been read, before the report is made
// (live-B/conn: the live heap after reading less the live heap before,
// over the sessions added), read the way `smtpcap analyze` reads. It is
// what makes memory grow with the number of connections rather than
// with those open at once; its time is not a figure to follow (each run
// collects garbage twice). SMTPCAP_BENCH_MAXBODY=3000 gives a capture of
// many short connections, where it shows most.
func BenchmarkWhatConnectionsLeave(b *testing.B) {
	path := testcaps.Bench(b)
	var perConn float64
	for b.Loop() {
		c, err := reassembly.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		an := NewAnalyzer(Options{})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sessions := 0
		res, err := session.Read(c, session.Options{Stream: -1, Recycle: true,
			Prepare: func(s *session.Session) any { return an.Detect(s) }}, func(s *session.Session) error {
			an.Add(s)
			sessions++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perConn = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(max(sessions, 1))
		runtime.KeepAlive(res.Tracker) // the tracker's notes of forgotten connections count too
		WriteJSON(io.Discard, an.Report([]string{path}))
		c.Close()
	}
	b.ReportMetric(perConn, "live-B/conn")
}
