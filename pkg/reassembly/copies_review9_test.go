package reassembly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// review9Walk walks a capture held in memory with SkipCopies and returns
// the frames the visitor saw and the stats.
func review9Walk(t *testing.T, capture []byte) ([]int, Stats) {
	t.Helper()
	c, err := OpenReader("r9.pcap", bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	var frames []int
	st, err := Walk(c, NewTracker(TrackerOptions{SkipCopies: true}), func(_ *Conn, _ *Segment, p *Packet) error {
		frames = append(frames, p.Frame)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return frames, st
}

// TestReview9IPv6FastRetransmitWithoutECTIsNoCopy: over IPv6 with ECN, a
// sender marks new data ECT(0) and its retransmissions not (RFC 3168
// 6.1.5; Linux does so). A fast retransmission 1 ms after the original,
// after three duplicate ACKs from the peer (each with its own SACK block,
// so its own checksum), is the sender's own repeat ("a fast retransmission
// answers what the peer sent"), yet the traffic class lies in the 16
// bytes taken for the link layer (14 of Ethernet, 2 of the IPv6 header),
// so it passes for a copy captured on another interface and is skipped.
// Without ECN (ect false) the same capture keeps it.
func TestReview9IPv6FastRetransmitWithoutECTIsNoCopy(t *testing.T) {
	for _, ecn := range []bool{false, true} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		at := t0
		put := func(p capgen.Packet, ect bool, dt time.Duration, checksum uint16) {
			at = at.Add(dt)
			frame := capgen.Frame(capgen.LinkEthernet, &p)
			if ect && ecn {
				frame[15] |= 0x20 // traffic class 0x02: ECT(0)
			}
			if checksum != 0 { // as a SACK option would make it
				binary.BigEndian.PutUint16(frame[14+40+16:], checksum)
			}
			w.WriteFrame(at, capgen.LinkEthernet, frame)
		}
		us := time.Microsecond
		put(capgen.Packet{Src: c6, Dst: s6, Seq: 1000, Flags: capgen.SYN, Window: 500, TTL: 64}, false, 0, 0)                              // 1
		put(capgen.Packet{Src: s6, Dst: c6, Seq: 5000, Ack: 1001, Flags: capgen.SYN | capgen.ACK, Window: 500, TTL: 64}, false, 100*us, 0) // 2
		put(capgen.Packet{Src: c6, Dst: s6, Seq: 1001, Ack: 5001, Flags: capgen.ACK, Window: 500, TTL: 64}, false, 100*us, 0)              // 3
		lost := capgen.Packet{Src: s6, Dst: c6, Seq: 5001, Ack: 1001, Flags: capgen.ACK | capgen.PSH, Window: 500, TTL: 64, Payload: []byte("220 mx.example.test ESMTP\r\n")}
		put(lost, true, 100*us, 0) // 4: lost after the capture point
		for i, line := range []string{"250-a\r\n", "250-b\r\n", "250 c\r\n"} {
			put(capgen.Packet{Src: s6, Dst: c6, Seq: 5028 + uint32(7*i), Ack: 1001, Flags: capgen.ACK | capgen.PSH, Window: 500, TTL: 64, Payload: []byte(line)}, true, 10*us, 0) // 5, 6, 7
		}
		for i := range 3 {
			put(capgen.Packet{Src: c6, Dst: s6, Seq: 1001, Ack: 5001, Flags: capgen.ACK, Window: 500, TTL: 64}, false, 200*us, uint16(0x1111*(i+1))) // 8, 9, 10: duplicate ACKs
		}
		put(lost, false, 100*us, 0) // 11: the fast retransmission, not ECT
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		frames, st := review9Walk(t, buf.Bytes())
		if got := fmt.Sprint(frames); got != "[1 2 3 4 5 6 7 8 9 10 11]" || st.Copies.N != 0 {
			t.Errorf("ECN %v: frames %s, %d copies from frame %d; want every frame, the retransmission in frame 11 too", ecn, got, st.Copies.N, st.Copies.FirstFrame)
		}
	}
}

// TestReview9IPv6TailLossProbeIsNoCopy: a sender's tail loss probe
// resends its last segment 2*SRTT + 2 ms after it (Linux, several
// segments in flight): on a LAN, 3 ms. Over IPv6 nothing tells it from a
// copy on the same interface; it is skipped.
func TestReview9IPv6TailLossProbeIsNoCopy(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	at := t0
	put := func(p capgen.Packet, dt time.Duration) {
		at = at.Add(dt)
		w.WriteFrame(at, capgen.LinkEthernet, capgen.Frame(capgen.LinkEthernet, &p))
	}
	put(capgen.Packet{Src: c6, Dst: s6, Seq: 1001, Ack: 5008, Flags: capgen.ACK | capgen.PSH, Window: 500, TTL: 64, Payload: []byte("MAIL FROM:<a@example.org>\r\n")}, 0) // 1
	last := capgen.Packet{Src: c6, Dst: s6, Seq: 1028, Ack: 5008, Flags: capgen.ACK | capgen.PSH, Window: 500, TTL: 64, Payload: []byte("RCPT TO:<b@example.net>\r\n")}
	put(last, 20*time.Microsecond) // 2
	put(last, 3*time.Millisecond)  // 3: the probe
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	frames, st := review9Walk(t, buf.Bytes())
	if got := fmt.Sprint(frames); got != "[1 2 3]" {
		t.Errorf("frames %s, %d copies; want [1 2 3]", got, st.Copies.N)
	}
}

// TestReview9FragmentedPacketCapturedTwice: a TCP segment sent in two IPv4
// fragments crosses a bridge; tcpdump -i any records each fragment twice,
// adjacent. The segment should be analysed once, with no fragments left
// over.
func TestReview9FragmentedPacketCapturedTwice(t *testing.T) {
	var one bytes.Buffer
	w1 := capgen.NewWriter(&one, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w1, capgen.LinkEthernet, client, server, t0, 100, 200)
	s.Handshake()
	s.FragmentAt = 600
	s.Server("220 " + string(bytes.Repeat([]byte("x"), 1000)) + "\r\n")
	if err := w1.Err(); err != nil {
		t.Fatal(err)
	}
	// Every frame twice, the copy 20 µs later.
	c, err := OpenReader("one.pcap", bytes.NewReader(one.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var twice bytes.Buffer
	w2 := capgen.NewWriter(&twice, capgen.Format{}, capgen.LinkEthernet)
	var p Packet
	for c.Next(&p) == nil {
		w2.WriteFrame(p.Timestamp, capgen.LinkEthernet, bytes.Clone(p.Data))
		w2.WriteFrame(p.Timestamp.Add(20*time.Microsecond), capgen.LinkEthernet, bytes.Clone(p.Data))
	}
	if err := w2.Err(); err != nil {
		t.Fatal(err)
	}
	f1, st1 := review9Walk(t, one.Bytes())
	f2, st2 := review9Walk(t, twice.Bytes())
	t.Logf("once: frames %v, reassembled %d; twice: frames %v, copies %d, reassembled %d, fragments left %d (first %d)",
		f1, st1.Reassembled, f2, st2.Copies.N, st2.Reassembled, st2.Fragments.N, st2.Fragments.FirstFrame)
	if len(f2) != len(f1) || st2.Fragments.N != 0 {
		t.Errorf("captured twice: %d segments analysed (once: %d), %d fragments never completed", len(f2), len(f1), st2.Fragments.N)
	}
}

// TestReview9CopyOfAnIPv6FileWithEqualTimestamps: a file and a copy of it
// under another name, IPv6, where a segment and the peer's answer share a
// timestamp (a coarse clock, or a fast loopback). The merge puts the later
// file first on equal times, so the copies come as A2 B2 A1 B1: each copy
// has the peer's packet between it and its original, and none is taken
// for a copy; every packet is analysed twice.
func TestReview9CopyOfAnIPv6FileWithEqualTimestamps(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, c6, s6, t0, 100, 200)
	s.Step = 0
	s.Handshake()
	s.Pause(time.Millisecond)
	s.Server("220 mx\r\n")
	s.Pause(time.Millisecond)
	s.Client("QUIT\r\n")
	s.Pause(time.Millisecond)
	s.Server("221 bye\r\n")
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := dir+"/a.pcap", dir+"/b.pcap"
	os.WriteFile(a, buf.Bytes(), 0o644)
	os.WriteFile(b, buf.Bytes(), 0o644)
	c, err := Open(a, b)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := 0
	st, err := Walk(c, NewTracker(TrackerOptions{SkipCopies: true}), func(_ *Conn, _ *Segment, p *Packet) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.TCP != 18 || n != 9 || st.Copies.N != 9 {
		t.Errorf("%d TCP segments, %d analysed, %d copies; want 18, 9, 9 (warnings %v)", st.TCP, n, st.Copies.N, c.Warnings())
	}
}
