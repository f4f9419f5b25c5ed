package reassembly

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	gpreassembly "github.com/google/gopacket/reassembly"
	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// gpStream collects what gopacket's reassembler delivers, per direction.
type gpStream struct {
	key  string
	data [2]bytes.Buffer
}

func (s *gpStream) Accept(*layers.TCP, gopacket.CaptureInfo, gpreassembly.TCPFlowDirection, gpreassembly.Sequence, *bool, gpreassembly.AssemblerContext) bool {
	return true
}

func (s *gpStream) ReassembledSG(sg gpreassembly.ScatterGather, _ gpreassembly.AssemblerContext) {
	dir, _, _, skip := sg.Info()
	i := 0
	if dir == gpreassembly.TCPDirServerToClient {
		i = 1
	}
	if skip != 0 {
		s.data[i].WriteString("[gap]")
	}
	n, _ := sg.Lengths()
	s.data[i].Write(sg.Fetch(n))
}

func (s *gpStream) ReassemblyComplete(gpreassembly.AssemblerContext) bool { return false }

type gpFactory struct{ streams map[string]*gpStream }

func (f *gpFactory) New(netFlow, tcpFlow gopacket.Flow, _ *layers.TCP, _ gpreassembly.AssemblerContext) gpreassembly.Stream {
	s := &gpStream{key: netFlow.Src().String() + ":" + tcpFlow.Src().String() + ">" + netFlow.Dst().String() + ":" + tcpFlow.Dst().String()}
	f.streams[s.key] = s
	return s
}

type gpContext struct{ ci gopacket.CaptureInfo }

func (c *gpContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

// TestStreamsAgreeWithGopacketReassembly checks, on the shared corpus, that
// our reassembler delivers the same bytes as gopacket's for every
// connection that has no gaps and no conflicting retransmissions, where
// both must agree. (Where gopacket drops overlapping bytes unseen, ours
// compares them; that is why we have our own.)
func TestStreamsAgreeWithGopacketReassembly(t *testing.T) {
	corpus := testcaps.Corpus()
	if len(corpus) == 0 {
		t.Skip("shared corpus absent")
	}
	for _, path := range corpus {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			factory := &gpFactory{streams: map[string]*gpStream{}}
			gp := gpreassembly.NewAssembler(gpreassembly.NewStreamPool(factory))
			ours := map[*Conn]*recorder{}
			asm := NewAssembler(Limits{}, func(cn *Conn) Consumer { r := &recorder{}; ours[cn] = r; return r })
			tr := NewTracker(TrackerOptions{})
			tuples := map[string]int{}
			var last Packet
			Walk(c, tr, func(cn *Conn, seg *Segment, p *Packet) error {
				asm.Add(cn, seg, p)
				last = *p
				if p.LinkType > 255 {
					return nil
				}
				pkt := gopacket.NewPacket(p.Data, layers.LinkType(p.LinkType), gopacket.NoCopy)
				tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil || pkt.NetworkLayer() == nil {
					return nil
				}
				gp.AssembleWithContext(pkt.NetworkLayer().NetworkFlow(), tcp, &gpContext{ci: gopacket.CaptureInfo{Timestamp: p.Timestamp, CaptureLength: len(p.Data), Length: p.Length}})
				return nil
			})
			done := finishAll(asm, tr.Conns(), &last)
			gp.FlushAll()
			for _, cn := range tr.Conns() {
				tuples[cn.Client().String()+">"+cn.Server().String()]++
			}
			compared := 0
			for _, cn := range done {
				rec := ours[cn.Conn]
				if rec == nil {
					continue
				}
				key := cn.Client().String() + ">" + cn.Server().String()
				cs, ss := cn.ByteStream(ClientToServer), cn.ByteStream(ServerToClient)
				if tuples[key] > 1 || len(cs.Gaps)+len(ss.Gaps)+len(cs.Conflicts)+len(ss.Conflicts) > 0 || cs.MidStream || ss.MidStream {
					continue // port reuse, loss or rewriting: the two are not meant to agree
				}
				g := factory.streams[key]
				if g == nil {
					g = factory.streams[cn.Server().String()+">"+cn.Client().String()]
				}
				if g == nil {
					continue
				}
				var gc, gs string
				if g.key == key {
					gc, gs = g.data[0].String(), g.data[1].String()
				} else {
					gc, gs = g.data[1].String(), g.data[0].String()
				}
				if rec.text[ClientToServer].String() != gc || rec.text[ServerToClient].String() != gs {
					t.Errorf("stream %d: ours %d/%d bytes, gopacket %d/%d", cn.Stream,
						rec.text[ClientToServer].Len(), rec.text[ServerToClient].Len(), len(gc), len(gs))
				}
				compared++
			}
			t.Logf("%d of %d connections compared", compared, len(ours))
		})
	}
}
