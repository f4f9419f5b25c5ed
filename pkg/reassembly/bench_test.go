package reassembly

import (
	"os"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
)

func benchCapture(b *testing.B) string {
	path, err := capgen.BenchCapture(testcaps.Root())
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

// BenchmarkRead reads every record of the generated capture.
func BenchmarkRead(b *testing.B) {
	path := benchCapture(b)
	for b.Loop() {
		c, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var p Packet
		for c.Next(&p) == nil {
		}
		c.Close()
	}
}

// BenchmarkWalk reads, decodes and tracks every packet of the generated capture.
func BenchmarkWalk(b *testing.B) {
	path := benchCapture(b)
	packets := 0
	for b.Loop() {
		c, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		st, err := Walk(c, NewTracker(TrackerOptions{}), nil)
		if err != nil {
			b.Fatal(err)
		}
		packets += st.Packets
		c.Close()
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}
