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

// discard is a Consumer that only counts the bytes delivered to it.
type discard struct{ bytes *int64 }

func (d discard) Data(_ Direction, _ int64, data []byte, _ *Packet)   { *d.bytes += int64(len(data)) }
func (d discard) Gap(_ Direction, _, _ int64, _ GapReason, _ *Packet) {}

// BenchmarkAssemble is the reassembly stage alone: read, decode, track and
// assemble every connection of the generated capture into ordered byte
// streams (facts, frame maps, retransmission checks) on one goroutine,
// with the bytes discarded; the SMTP parser is not run.
func BenchmarkAssemble(b *testing.B) {
	path := testcaps.Bench(b)
	var delivered int64
	for b.Loop() {
		c, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		tr := NewTracker(TrackerOptions{})
		asm := NewAssembler(Limits{}, func(*Conn) Consumer { return discard{&delivered} })
		var last Packet
		if _, err := Walk(c, tr, func(cn *Conn, s *Segment, p *Packet) error {
			asm.Add(cn, s, p)
			last = *p
			if cn.Closed() && cn.LastFrame == p.Frame {
				asm.Finish(cn, cn.DirectionOfSide(0), &last)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		asm.FinishAll(&last, func(cn *Conn) Direction { return cn.DirectionOfSide(0) })
		c.Close()
	}
	if delivered == 0 {
		b.Fatal("no bytes assembled")
	}
}
