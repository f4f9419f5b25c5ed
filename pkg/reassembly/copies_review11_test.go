package reassembly

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// TestReview11OtherClientsReplyIsNoAnswer: a server's capture that holds
// every packet twice on one link (a SPAN port duplicating, 20 µs apart),
// IPv4 with IP ID 0. Between a client's segment and its copy, the server
// sends to another client: 11.0.0.2:P instead of 10.0.0.2:40000. That is
// no answer to the first client, and the copy should be skipped whatever
// P is. flowDigest folds the ports into the destination address with a
// plain XOR before any multiplication (mix(h, v) depends on h^v only),
// so S:25 → 11.0.0.2:40001 has the digest of S:25 → 10.0.0.2:40000, and
// answeredSince takes the other client's segment for an answer.
func TestReview11OtherClientsReplyIsNoAnswer(t *testing.T) {
	client := netip.MustParseAddrPort("10.0.0.2:40000")
	server := netip.MustParseAddrPort("198.51.100.25:25")
	for _, port := range []uint16{40003, 40001} {
		other := netip.AddrPortFrom(netip.MustParseAddr("11.0.0.2"), port)
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		at := t0
		put := func(p capgen.Packet, dt time.Duration) {
			at = at.Add(dt)
			w.WriteFrame(at, capgen.LinkEthernet, capgen.Frame(capgen.LinkEthernet, &p))
		}
		quit := capgen.Packet{Src: client, Dst: server, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Window: 502, TTL: 64, Payload: []byte("QUIT\r\n")}
		put(quit, 0)                                                                                                                                                                // 1
		put(capgen.Packet{Src: server, Dst: other, Seq: 7001, Ack: 3001, Flags: capgen.ACK | capgen.PSH, Window: 502, TTL: 64, Payload: []byte("250 ok\r\n")}, 10*time.Microsecond) // 2: to the other client
		put(quit, 10*time.Microsecond)                                                                                                                                              // 3: the copy of 1
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		frames, st := review9Walk(t, buf.Bytes())
		if st.Copies.N != 1 || st.Copies.FirstFrame != 3 {
			t.Errorf("other client %s: frames %v, %d copies (first %d); want frame 3 skipped as a copy of 1", other, frames, st.Copies.N, st.Copies.FirstFrame)
		}
	}
}

// TestReview11FlowDigestsOfOtherFlows: flows that differ are told apart
// by their digest (recentSegment.flow is all answeredSince compares).
func TestReview11FlowDigestsOfOtherFlows(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, tc := range []struct{ src, dst, src2, dst2 string }{
		{"198.51.100.25:25", "10.0.0.2:40000", "198.51.100.25:25", "11.0.0.2:40001"},                       // client octet 0 against the client port's low byte
		{"10.0.0.2:40000", "192.168.1.1:25", "10.0.0.2:40768", "192.168.1.2:25"},                           // server octet 3 against the client port's high byte
		{"192.0.2.10:40000", "198.51.100.25:25", "[::ffff:192.0.2.10]:40000", "[::ffff:198.51.100.25]:25"}, // IPv4 and IPv4-mapped IPv6 (holds)
		{"[2001:db8::1]:40000", "[2001:db8::25]:25", "[2001:cb8::1]:40001", "[2001:db8::25]:25"},           // IPv6: the source's third byte against the source port's low byte
	} {
		a, b := flowDigest(ap(tc.src), ap(tc.dst)), flowDigest(ap(tc.src2), ap(tc.dst2))
		if a == b {
			t.Errorf("%s → %s and %s → %s: the same flow digest %#x", tc.src, tc.dst, tc.src2, tc.dst2, a)
		}
	}
}

// TestReview11CopyFromAnotherFileWhoseMACDiffersInOneBit: one IPv6 packet
// captured on two hosts, 2 ms apart, in two files analysed together. It
// is a copy (another capture point, within copyWindow). The capture point
// is folded as (input<<32 | interface<<8 | link length) XOR the link
// header's first 8 bytes before the one multiplication, so when the two
// frames' destination MACs differ only in the last bit of byte 4 that
// bit cancels the input's and both frames have one "where": the copy is
// taken for a repeat on the same link (2 ms > sameLinkWindow) and kept.
func TestReview11CopyFromAnotherFileWhoseMACDiffersInOneBit(t *testing.T) {
	for _, mac4 := range []byte{0x07, 0x01} {
		seg := capgen.Packet{Src: c6, Dst: s6, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Window: 500, TTL: 64, Payload: []byte("QUIT\r\n")}
		file := func(at time.Time, byte4 byte) string {
			var buf bytes.Buffer
			w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
			frame := capgen.Frame(capgen.LinkEthernet, &seg)
			copy(frame[0:6], []byte{0x02, 0, 0, 0, byte4, 0x01})
			w.WriteFrame(at, capgen.LinkEthernet, frame)
			if err := w.Err(); err != nil {
				t.Fatal(err)
			}
			path := t.TempDir() + "/f.pcap"
			if err := writeFile(path, buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			return path
		}
		a, b := file(t0, 0x00), file(t0.Add(2*time.Millisecond), mac4)
		c, err := Open(a, b)
		if err != nil {
			t.Fatal(err)
		}
		st, err := Walk(c, NewTracker(TrackerOptions{SkipCopies: true}), nil)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.Copies.N != 1 {
			t.Errorf("second file's destination MAC 02:00:00:00:%02x:01 (first's 02:00:00:00:00:01): %d copies; want 1", mac4, st.Copies.N)
		}
	}
}

// TestReview11CapturePointOfEveryLinkType: for each link type, shorter
// than the 16 bytes taken (raw IP 0, Null and Loop 4, Ethernet 14) or
// longer (SLL2 20), one IPv6 segment 2 ms after its like is a copy when
// the two are in two files, and a repeat on the same link when in one.
func TestReview11CapturePointOfEveryLinkType(t *testing.T) {
	seg := capgen.Packet{Src: c6, Dst: s6, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Window: 500, TTL: 64, Payload: []byte("QUIT\r\n")}
	for _, link := range []uint32{capgen.LinkRaw, capgen.LinkNull, capgen.LinkLoop, capgen.LinkEthernet, capgen.LinkLinuxSLL, capgen.LinkLinuxSLL2} {
		write := func(times ...time.Time) string {
			var buf bytes.Buffer
			w := capgen.NewWriter(&buf, capgen.Format{}, link)
			for _, at := range times {
				w.WriteFrame(at, link, capgen.Frame(link, &seg))
			}
			if err := w.Err(); err != nil {
				t.Fatal(err)
			}
			path := t.TempDir() + "/f.pcap"
			if err := writeFile(path, buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			return path
		}
		for _, tc := range []struct {
			files  []string
			copies int
		}{
			{[]string{write(t0), write(t0.Add(2 * time.Millisecond))}, 1},
			{[]string{write(t0, t0.Add(2*time.Millisecond))}, 0},
		} {
			c, err := Open(tc.files...)
			if err != nil {
				t.Fatal(err)
			}
			st, err := Walk(c, NewTracker(TrackerOptions{SkipCopies: true}), nil)
			c.Close()
			if err != nil || st.TCP != 2 || st.Copies.N != tc.copies {
				t.Errorf("link %d, %d files: %d segments, %d copies, %v; want 2, %d", link, len(tc.files), st.TCP, st.Copies.N, err, tc.copies)
			}
		}
	}
}

// TestReview11SegmentsThatDifferInOneFieldAreNoCopies: IPv6 (no IP ID),
// one link, 100 µs apart, nothing from the peer between: a pure ACK then
// a window update, a keep-alive with and without its byte, a segment
// and one whose payload differs only in the middle (same length and,
// as checksum offload leaves it, the same checksum) or only in byte 17,
// a FIN and a FIN+PSH. None is a copy of the other but the 100-byte
// payloads that differ at byte 51, which no digest of the ends sees (nor
// did the 32-byte ends before 20076ca). Byte 17 was inside those 32 bytes
// and is past today's 16: the pair became a copy.
func TestReview11SegmentsThatDifferInOneFieldAreNoCopies(t *testing.T) {
	body := bytes.Repeat([]byte("a"), 100)
	middle := bytes.Clone(body)
	middle[50] = 'b'
	seventeen := bytes.Clone(body)
	seventeen[16] = 'b'
	ack := capgen.Packet{Src: c6, Dst: s6, Seq: 1001, Ack: 5001, Flags: capgen.ACK, Window: 500, TTL: 64}
	with := func(p capgen.Packet, change func(*capgen.Packet)) capgen.Packet { change(&p); return p }
	for name, pair := range map[string][2]capgen.Packet{
		"window update": {ack, with(ack, func(p *capgen.Packet) { p.Window = 600 })},
		"keep-alive":    {with(ack, func(p *capgen.Packet) { p.Seq = 1000 }), with(ack, func(p *capgen.Packet) { p.Seq, p.Payload = 1000, []byte{0} })},
		"middle":        {with(ack, func(p *capgen.Packet) { p.Payload = body }), with(ack, func(p *capgen.Packet) { p.Payload = middle })},
		"byte 17":       {with(ack, func(p *capgen.Packet) { p.Payload = body }), with(ack, func(p *capgen.Packet) { p.Payload = seventeen })},
		"flags":         {with(ack, func(p *capgen.Packet) { p.Flags |= capgen.FIN }), with(ack, func(p *capgen.Packet) { p.Flags |= capgen.FIN | capgen.PSH })},
	} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		for i, p := range pair {
			frame := capgen.Frame(capgen.LinkEthernet, &p)
			frame[14+40+16], frame[14+40+17] = 0x12, 0x34 // checksum offload: one value for both
			w.WriteFrame(t0.Add(time.Duration(i)*100*time.Microsecond), capgen.LinkEthernet, frame)
		}
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		frames, st := review9Walk(t, buf.Bytes())
		want := 0
		if name == "middle" {
			want = 1 // payloadEnds: the middle is the checksum's, here offloaded (as before 20076ca, with 32 bytes)
		}
		if st.Copies.N != want {
			t.Errorf("%s: frames %v, %d copies; want %d", name, frames, st.Copies.N, want)
		}
	}
}
