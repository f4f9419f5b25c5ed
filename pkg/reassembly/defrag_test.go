package reassembly

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// visit is one call of a Walk visitor, as fragment tests look at it.
type visit struct {
	frame     int
	payload   string
	missing   int
	fragments []int // frames of Packet.Fragments
}

// walkVisits walks a capture held in memory and returns every visit of a
// segment with payload, and the stats.
func walkVisits(t *testing.T, data []byte) ([]visit, Stats) {
	t.Helper()
	c, err := OpenReader("frag.pcap", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var got []visit
	st, err := Walk(c, NewTracker(TrackerOptions{}), func(_ *Conn, s *Segment, p *Packet) error {
		if s.PayloadLen == 0 {
			return nil
		}
		v := visit{frame: p.Frame, payload: string(s.Payload), missing: s.Missing()}
		for _, f := range p.Fragments {
			v.fragments = append(v.fragments, f.Frame)
		}
		got = append(got, v)
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return got, st
}

// fragmentedCapture writes a handshake, then the client's body as one
// TCP segment sent in IP fragments of 600 bytes (frames 4 to 7 for 2000
// bytes), in the order given by order (indexes of the fragments; missing
// ones are not written), then the server's ACK. A snaplen above 0 cuts
// the frames.
func fragmentedCapture(t *testing.T, cl, sv netip.AddrPort, body []byte, order []int, snap uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{Snaplen: snap}, capgen.LinkRaw)
	s := capgen.NewSession(w, capgen.LinkRaw, cl, sv, t0, 1000, 5000)
	s.Handshake()
	ip := capgen.Frame(capgen.LinkRaw, &capgen.Packet{
		Src: cl, Dst: sv, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Payload: body, IPID: 77,
	})
	frags := capgen.FragmentIP(ip, 600, 77)
	for _, i := range order {
		w.WriteFrame(s.Now, capgen.LinkRaw, frags[i])
		s.Now = s.Now.Add(time.Millisecond)
	}
	s.Skip(true, uint32(len(body)))
	s.Ack(false)
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func body2000() []byte {
	b := make([]byte, 2000)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// A TCP segment sent in IP fragments is visited once, whole, in the frame
// that completed it (Wireshark's "Reassembled in"), with the other
// fragments' records for split; over IPv4 and IPv6, in order or not.
func TestWalkReassemblesIPFragments(t *testing.T) {
	body := body2000()
	for _, tc := range []struct {
		name          string
		cl, sv        netip.AddrPort
		order         []int
		frame         int
		fragmentFrame []int
	}{
		{"ipv4 in order", client, server, []int{0, 1, 2, 3}, 7, []int{4, 5, 6}},
		{"ipv4 last first", client, server, []int{3, 0, 2, 1}, 7, []int{4, 5, 6}},
		{"ipv6 in order", c6, s6, []int{0, 1, 2, 3}, 7, []int{4, 5, 6}},
		{"ipv6 first last", c6, s6, []int{1, 2, 3, 0}, 7, []int{4, 5, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, st := walkVisits(t, fragmentedCapture(t, tc.cl, tc.sv, body, tc.order, 0))
			if len(got) != 1 {
				t.Fatalf("%d visits with payload, want 1: %+v", len(got), got)
			}
			v := got[0]
			if v.frame != tc.frame || v.payload != string(body) || v.missing != 0 || !slices.Equal(v.fragments, tc.fragmentFrame) {
				t.Errorf("visit in frame %d, %d bytes (equal: %v), %d missing, fragments %v; want frame %d, the 2000 bytes, fragments %v",
					v.frame, len(v.payload), v.payload == string(body), v.missing, v.fragments, tc.frame, tc.fragmentFrame)
			}
			if st.Reassembled != 1 || st.Fragments.N != 0 || st.Malformed.N != 0 {
				t.Errorf("reassembled %d, lost %d, malformed %d; want 1, 0, 0", st.Reassembled, st.Fragments.N, st.Malformed.N)
			}
		})
	}
}

// A datagram missing a fragment is never visited; its fragments are
// counted and the warning names the first one's frame.
func TestWalkReportsFragmentsThatNeverComplete(t *testing.T) {
	got, st := walkVisits(t, fragmentedCapture(t, client, server, body2000(), []int{0, 2, 3}, 0))
	if len(got) != 0 {
		t.Errorf("visits with payload: %+v, want none", got)
	}
	if st.Reassembled != 0 || st.Fragments.N != 3 || st.Fragments.FirstFrame != 4 {
		t.Errorf("reassembled %d, lost %d from frame %d; want 0, 3 from frame 4", st.Reassembled, st.Fragments.N, st.Fragments.FirstFrame)
	}
	_, warnings := st.Problems([]*Input{{Name: "frag.pcap"}})
	var text []string
	for _, w := range warnings {
		text = append(text, w.Error())
	}
	want := "frag.pcap: frame 4: 3 IP fragments of TCP datagrams that never completed"
	if !strings.Contains(strings.Join(text, "\n"), want) {
		t.Errorf("warnings %q, want one containing %q", text, want)
	}
}

// Fragments the snaplen cut are not reassembled, as tshark does not: the
// first is decoded on its own, in its frame, with the bytes it holds; the
// others are lost, and the rest of the segment is missing.
func TestWalkDoesNotReassembleFragmentsCutBySnaplen(t *testing.T) {
	body := body2000()
	// A snaplen of 220 keeps 200 bytes of each fragment's payload: of the
	// first (600 bytes), the TCP header and 180 bytes of body.
	got, st := walkVisits(t, fragmentedCapture(t, client, server, body, []int{0, 1, 2, 3}, 220))
	if len(got) != 1 {
		t.Fatalf("%d visits, want 1: %+v", len(got), got)
	}
	if v := got[0]; v.frame != 4 || v.payload != string(body[:180]) || v.missing != 580-180 || v.fragments != nil {
		t.Errorf("frame %d, %d bytes, %d missing, fragments %v; want frame 4, 180 bytes, 400 missing, none", v.frame, len(v.payload), v.missing, v.fragments)
	}
	if st.Reassembled != 0 || st.Fragments.N != 3 || st.Fragments.FirstFrame != 5 {
		t.Errorf("reassembled %d, lost %d from frame %d; want 0, 3 from frame 5", st.Reassembled, st.Fragments.N, st.Fragments.FirstFrame)
	}
}

// When a connection's first captured datagram is fragmented and cut by the
// snaplen, the connection starts in the first fragment's frame, as in
// tshark, and so gets the stream number tshark gives it: here 0, before the
// connection whose SYN came between the fragments (tshark -r: frame 1
// tcp.stream 0, frames 2 to 4 tcp.stream 1, frames 5 and 6 no TCP).
func TestCutFragmentsKeepTsharkStreamNumbers(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{Snaplen: 220}, capgen.LinkRaw)
	ip := capgen.Frame(capgen.LinkRaw, &capgen.Packet{
		Src: client, Dst: server, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Payload: body2000()[:1000], IPID: 7,
	})
	frags := capgen.FragmentIP(ip, 400, 7)
	w.WriteFrame(t0, capgen.LinkRaw, frags[0])
	other := capgen.NewSession(w, capgen.LinkRaw, netip.MustParseAddrPort("192.0.2.11:40000"), server, t0.Add(time.Millisecond), 1, 2)
	other.Handshake()
	for _, f := range frags[1:] {
		w.WriteFrame(other.Now, capgen.LinkRaw, f)
	}
	c, err := OpenReader("frag.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	if _, err := Walk(c, NewTracker(TrackerOptions{}), func(cn *Conn, _ *Segment, p *Packet) error {
		got[p.Frame] = cn.Stream
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := map[int]int{1: 0, 2: 1, 3: 1, 4: 1}; !maps.Equal(got, want) {
		t.Errorf("frame to stream %v, want tshark's %v", got, want)
	}
}

// A fragment without payload is not gathered (Wireshark skips it too): it
// cannot end a datagram early by claiming to be the last fragment.
func TestEmptyFragmentDoesNotEndTheDatagram(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkRaw)
	s := capgen.NewSession(w, capgen.LinkRaw, client, server, t0, 1000, 5000)
	s.Handshake()
	body := body2000()[:1000]
	ip := capgen.Frame(capgen.LinkRaw, &capgen.Packet{
		Src: client, Dst: server, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Payload: body, IPID: 7,
	})
	frags := capgen.FragmentIP(ip, 400, 7)
	// Frame 5: 20 bytes of IPv4 header, no payload, MF clear, offset 400.
	empty := slices.Clone(frags[1][:20])
	binary.BigEndian.PutUint16(empty[2:], 20)
	binary.BigEndian.PutUint16(empty[6:], 400/8)
	for _, f := range [][]byte{frags[0], empty, frags[1], frags[2]} {
		w.WriteFrame(s.Now, capgen.LinkRaw, f)
		s.Now = s.Now.Add(time.Millisecond)
	}
	got, st := walkVisits(t, buf.Bytes())
	if len(got) != 1 || got[0].frame != 7 || got[0].payload != string(body) || !slices.Equal(got[0].fragments, []int{4, 6}) {
		t.Errorf("visits %+v; want one in frame 7 with the 1000 bytes, fragments 4 and 6", got)
	}
	if st.Reassembled != 1 || st.Fragments.N != 0 {
		t.Errorf("reassembled %d, lost %d; want 1, 0", st.Reassembled, st.Fragments.N)
	}
}

// A datagram whose fragments are more than 30 s apart is given up, as an
// IP stack would: neither half is used.
func TestWalkGivesUpFragmentsAfterWaiting(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkRaw)
	s := capgen.NewSession(w, capgen.LinkRaw, client, server, t0, 1000, 5000)
	s.Handshake()
	ip := capgen.Frame(capgen.LinkRaw, &capgen.Packet{
		Src: client, Dst: server, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Payload: body2000()[:1000], IPID: 9,
	})
	frags := capgen.FragmentIP(ip, 600, 9)
	w.WriteFrame(s.Now, capgen.LinkRaw, frags[0])
	w.WriteFrame(s.Now.Add(31*time.Second), capgen.LinkRaw, frags[1])
	got, st := walkVisits(t, buf.Bytes())
	if len(got) != 0 || st.Reassembled != 0 || st.Fragments.N != 2 || st.Fragments.FirstFrame != 4 {
		t.Errorf("visits %+v, reassembled %d, lost %d from frame %d; want none, 0, 2 from frame 4",
			got, st.Reassembled, st.Fragments.N, st.Fragments.FirstFrame)
	}
}

// duplicateFragments is a capture holding the last fragment of a datagram,
// then n copies of its first fragment: a datagram that never completes,
// with the total length known from the start.
func duplicateFragments(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkRaw)
	ip := capgen.Frame(capgen.LinkRaw, &capgen.Packet{
		Src: client, Dst: server, Seq: 1001, Ack: 5001, Flags: capgen.ACK, Payload: body2000()[:64], IPID: 3,
	})
	frags := capgen.FragmentIP(ip, 16, 3)
	w.WriteFrame(t0, capgen.LinkRaw, frags[len(frags)-1])
	for range n {
		w.WriteFrame(t0, capgen.LinkRaw, frags[0])
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Each fragment costs the same however many of its datagram wait: a
// datagram's coverage is kept up to date, not recomputed by sorting every
// fragment again, which made a capture of 20,000 copies of one fragment
// (720 kB) take more than a minute.
func TestWalkFragmentCostDoesNotGrowWithTheDatagram(t *testing.T) {
	const n = 4000
	data := duplicateFragments(t, n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, st := walkVisits(t, data)
	runtime.ReadMemStats(&after)
	if st.Fragments.N != n+1 || st.Reassembled != 0 {
		t.Errorf("lost %d, reassembled %d; want %d, 0", st.Fragments.N, st.Reassembled, n+1)
	}
	// Linear: a few hundred bytes a fragment. Quadratic: gigabytes.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("%d fragments of one datagram allocated %d MB, want well under 64", n, alloc>>20)
	}
}

// Completed datagrams do not pile up behind one that never completes:
// without capture time passing, only the limits on waiting datagrams
// apply, and those count waiting datagrams only.
func TestDefragmenterForgetsCompletedDatagrams(t *testing.T) {
	var d defragmenter
	var s Segment
	p := Packet{Timestamp: t0, Frame: 1}
	stuck := Fragment{Src: client.Addr(), Dst: server.Addr(), ID: 1, Offset: 0, More: true, Data: make([]byte, 8), Len: 8}
	if r, _ := d.add(&p, &stuck, &s); r != fragmentPending {
		t.Fatal("a lone first fragment completed its datagram")
	}
	ip := capgen.Frame(capgen.LinkRaw, &capgen.Packet{
		Src: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.99"), 4000), Dst: server, Seq: 1, Ack: 1, Flags: capgen.ACK, Payload: make([]byte, 32),
	})
	for i := range 10000 {
		for _, b := range capgen.FragmentIP(ip, 32, uint32(i)) {
			p.Frame++
			p.Data = b
			var f Fragment
			if err := Decode(LinkType(capgen.LinkRaw), b, &s, &f); !errors.Is(err, ErrFragment) {
				t.Fatalf("decode: %v", err)
			}
			d.add(&p, &f, &s)
		}
	}
	if len(d.pending) != 1 || len(d.order) > 2*fragmentDatagrams {
		t.Errorf("%d datagrams waiting, %d in the order list; want 1 and at most %d", len(d.pending), len(d.order), 2*fragmentDatagrams)
	}
}

// An IPv6 atomic fragment (offset 0, M clear) is a whole datagram: it is
// decoded in its own frame and never joins the fragments of another
// datagram that has the same identification (RFC 6946, section 4; tshark
// does the same).
func TestIPv6AtomicFragmentIsProcessedInIsolation(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkRaw)
	s := capgen.NewSession(w, capgen.LinkRaw, c6, s6, t0, 1000, 5000)
	s.Handshake()
	frame := func(payload string) []byte {
		return capgen.Frame(capgen.LinkRaw, &capgen.Packet{
			Src: c6, Dst: s6, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Payload: []byte(payload),
		})
	}
	// Frame 4: the first of two fragments of datagram 7, whose second never comes.
	w.WriteFrame(s.Now, capgen.LinkRaw, capgen.FragmentIP(frame(strings.Repeat("A", 1000)), 400, 7)[0])
	// Frame 5: an atomic fragment, also identification 7.
	atomic := capgen.FragmentIP(frame("HELO atomic\r\n"), 800, 7)
	if len(atomic) != 1 {
		t.Fatalf("%d fragments, want one atomic fragment", len(atomic))
	}
	w.WriteFrame(s.Now.Add(time.Millisecond), capgen.LinkRaw, atomic[0])
	got, st := walkVisits(t, buf.Bytes())
	if len(got) != 1 || got[0].frame != 5 || got[0].payload != "HELO atomic\r\n" || got[0].fragments != nil {
		t.Errorf("visits %+v; want frame 5 with its own 13 bytes, and no other fragment", got)
	}
	if st.Reassembled != 0 || st.Fragments.N != 1 || st.Fragments.FirstFrame != 4 {
		t.Errorf("reassembled %d, lost %d from frame %d; want 0, 1 from frame 4", st.Reassembled, st.Fragments.N, st.Fragments.FirstFrame)
	}
}

// A copy of a fragment after its datagram was reassembled (the network
// sent it twice, or a SPAN port delivers every packet twice) is no start
// of a datagram that never completes: it is counted as a copy, with no
// warning, and the datagram is still visited once.
func TestWalkSkipsCopiesOfReassembledFragments(t *testing.T) {
	body := body2000()
	got, st := walkVisits(t, fragmentedCapture(t, client, server, body, []int{0, 0, 1, 1, 2, 2, 3, 3, 1}, 0))
	if len(got) != 1 || got[0].frame != 10 || got[0].payload != string(body) {
		var frames []int
		for _, v := range got {
			frames = append(frames, v.frame)
		}
		t.Fatalf("visits in frames %v, want one, in frame 10, with the 2000 bytes", frames)
	}
	if st.Reassembled != 1 || st.Fragments.N != 0 || st.FragmentCopies != 2 {
		t.Errorf("reassembled %d, lost %d, copies %d; want 1, 0, 2", st.Reassembled, st.Fragments.N, st.FragmentCopies)
	}
	if _, warnings := st.Problems([]*Input{{Name: "frag.pcap"}}); len(warnings) != 0 {
		t.Errorf("warnings %v, want none", warnings)
	}
}
