package split

import (
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// BenchmarkSplit splits the generated gateway capture (every TCP
// connection, MaxOpen 128). Reports MB/s of capture and packets/s.
func BenchmarkSplit(b *testing.B) {
	path := testcaps.Bench(b)
	packets := 0
	for b.Loop() {
		c, err := reassembly.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		in := c.Inputs[0]
		s, err := New(Options{Dir: b.TempDir(), Prefix: "bench", Format: in.Format, LinkType: in.LinkType, Snaplen: in.Snaplen})
		if err != nil {
			b.Fatal(err)
		}
		tracker := s.Tracker(reassembly.TrackerOptions{})
		st, err := reassembly.Walk(c, tracker, func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
			return s.Add(cn, p)
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Finish(nil); err != nil {
			b.Fatal(err)
		}
		c.Close()
		packets += st.Packets
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}
