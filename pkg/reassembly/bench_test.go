package reassembly

import (
	"bufio"
	"os"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// BenchmarkRead reads every record of the generated capture.
func BenchmarkRead(b *testing.B) {
	path := testcaps.Bench(b)
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
	path := testcaps.Bench(b)
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

// BenchmarkGopacketDecode is the floor the performance notes compare with:
// gopacket's pcapgo reader and DecodingLayerParser (Ethernet, IPv4, IPv6,
// TCP) over every packet of the generated capture, decoding into reused
// layers without allocation.
func BenchmarkGopacketDecode(b *testing.B) {
	path := testcaps.Bench(b)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<16))
		if err != nil {
			b.Fatal(err)
		}
		var (
			eth     layers.Ethernet
			ip4     layers.IPv4
			ip6     layers.IPv6
			tcp     layers.TCP
			payload gopacket.Payload
			decoded []gopacket.LayerType
		)
		parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &payload)
		parser.IgnoreUnsupported = true
		for {
			data, _, err := r.ZeroCopyReadPacketData()
			if err != nil {
				break
			}
			parser.DecodeLayers(data, &decoded)
		}
		f.Close()
	}
}
