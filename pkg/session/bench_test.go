package session

import (
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// BenchmarkRead reassembles and parses every SMTP connection of the
// generated gateway capture (SMTPCAP_BENCH_MB, default 64 MiB).
func BenchmarkRead(b *testing.B) {
	path := testcaps.Bench(b)
	packets, sessions := 0, 0
	for b.Loop() {
		c, err := reassembly.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Read(c, Options{Stream: -1}, func(*Session) error { sessions++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		packets += res.Stats.Packets
		c.Close()
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(sessions)/float64(b.N), "sessions/op")
}
