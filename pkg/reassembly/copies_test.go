package reassembly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// TestCopiesOfAPacketAreSkippedAndRepeatsAreNot: with SkipCopies, a
// segment that is the same IP packet as one captured just before (on
// another interface, or with a TTL one lower past a router) is skipped and
// counted; a sender's own repeat is not: another IP identification, later
// than copyWindow, a duplicate ACK answering the peer, or a RST.
func TestCopiesOfAPacketAreSkippedAndRepeatsAreNot(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkLinuxSLL2)
	at := t0
	// put writes p as captured on interface ifindex, dt after the last.
	// With a checksum, it is written in p's TCP header (IPv4) as checksum
	// offload leaves it: the same whatever the payload.
	put := func(p capgen.Packet, ifindex uint32, dt time.Duration, checksum ...uint16) {
		at = at.Add(dt)
		frame := capgen.Frame(capgen.LinkLinuxSLL2, &p)
		binary.BigEndian.PutUint32(frame[4:8], ifindex)
		if len(checksum) > 0 {
			binary.BigEndian.PutUint16(frame[20+20+16:], checksum[0])
		}
		w.WriteFrame(at, capgen.LinkLinuxSLL2, frame)
	}
	us := time.Microsecond
	data := capgen.Packet{Src: client, Dst: server, Seq: 1001, Ack: 5001, Flags: capgen.ACK | capgen.PSH, Window: 502, TTL: 64, IPID: 7, Payload: []byte("EHLO x\r\n")}
	put(capgen.Packet{Src: client, Dst: server, Seq: 1000, Flags: capgen.SYN, Window: 502, TTL: 64, IPID: 6}, 3, 0) // 1
	put(capgen.Packet{Src: server, Dst: client, Seq: 5000, Ack: 1001, Flags: capgen.SYN | capgen.ACK, Window: 502, TTL: 64}, 3, us)
	put(data, 3, 100*us) // 3
	put(data, 4, 20*us)  // 4: the same packet on the bridge's other port: a copy
	routed := data
	routed.TTL = 63
	put(routed, 5, 30*us) // 5: past a router, TTL one lower: a copy
	again := data
	again.IPID = 8
	put(again, 3, 200*us)             // 6: resent by the client (a new IP ID): no copy
	put(data, 3, 10*time.Millisecond) // 7: 10 ms after frame 5: no copy

	// IPv6 has no IP identification: the same ACK twice is a copy only
	// when nothing came from the peer in between, or it came on another
	// interface.
	ack6 := capgen.Packet{Src: s6, Dst: c6, Seq: 9001, Ack: 2001, Flags: capgen.ACK, Window: 300, TTL: 64}
	seg6 := capgen.Packet{Src: c6, Dst: s6, Seq: 3001, Ack: 9001, Flags: capgen.ACK | capgen.PSH, Window: 300, TTL: 64, Payload: []byte("x")}
	put(capgen.Packet{Src: c6, Dst: s6, Seq: 2000, Flags: capgen.SYN, Window: 300, TTL: 64}, 3, time.Second) // 8
	put(capgen.Packet{Src: s6, Dst: c6, Seq: 9000, Ack: 2001, Flags: capgen.SYN | capgen.ACK, Window: 300, TTL: 64}, 3, us)
	put(ack6, 3, us) // 10
	put(ack6, 3, us) // 11: nothing in between, same interface: a copy
	put(seg6, 3, us) // 12: out of order from the client
	put(ack6, 3, us) // 13: a duplicate ACK answering it: no copy
	put(ack6, 4, us) // 14: the same on another interface: a copy
	rst := capgen.Packet{Src: s6, Dst: c6, Seq: 9001, Flags: capgen.RST, TTL: 64}
	put(rst, 3, us) // 15
	put(rst, 3, us) // 16: a closed socket's RST for each segment: no copy
	// The TCP checksum, which checksum offload leaves the same for every
	// segment of a length, does not stand for the payload.
	put(data, 3, time.Second, 0xbeef) // 17
	rewritten := data
	rewritten.Payload = []byte("EHLO y\r\n")
	put(rewritten, 4, us, 0xbeef) // 18: other bytes, same checksum: no copy
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}

	for _, skip := range []bool{true, false} {
		c, err := OpenReader("copies.pcap", bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		var frames []int
		st, err := Walk(c, NewTracker(TrackerOptions{SkipCopies: skip}), func(_ *Conn, _ *Segment, p *Packet) error {
			frames = append(frames, p.Frame)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want, copies, first := "[1 2 3 6 7 8 9 10 12 13 15 16 17 18]", 4, 4
		if !skip {
			want, copies, first = "[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18]", 0, 0
		}
		if got := fmt.Sprint(frames); got != want || st.Copies.N != copies || st.Copies.FirstFrame != first || st.TCP != 18 {
			t.Errorf("skip %v: frames %s, copies %d from frame %d, TCP %d; want %s, %d from %d, 18",
				skip, got, st.Copies.N, st.Copies.FirstFrame, st.TCP, want, copies, first)
		}
		_, warnings := st.Problems(c.Inputs)
		if skip && (len(warnings) != 1 || warnings[0].Error() != "copies.pcap: frame 4: 4 packets are the same IP packet as one captured just before (captured on more than one interface, as tcpdump -i any does on a host with a bridge, or duplicated by the network): each analysed once") {
			t.Errorf("warnings %v", warnings)
		}
	}
}

// TestCopiesInAnotherInputAreNamedSo: the same traffic recorded into two
// files at once (a pcap and its pcapng copy here) is one capture twice,
// not a bridge or a network duplicating packets.
func TestCopiesInAnotherInputAreNamedSo(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(testcaps.Path("clean.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// The second input: the same packets a microsecond later, as another
	// recorder on the same host would stamp them.
	other := filepath.Join(dir, "other.pcap")
	shifted := slices.Clone(src)
	for off := 24; off+16 <= len(shifted); {
		usec := binary.LittleEndian.Uint32(shifted[off+4:])
		binary.LittleEndian.PutUint32(shifted[off+4:], usec+1)
		off += 16 + int(binary.LittleEndian.Uint32(shifted[off+8:]))
	}
	if err := os.WriteFile(other, shifted, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Open(testcaps.Path("clean.pcap"), other)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := Walk(c, NewTracker(TrackerOptions{SkipCopies: true}), func(*Conn, *Segment, *Packet) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	_, warnings := st.Problems(c.Inputs)
	var got []string
	for _, w := range warnings {
		got = append(got, w.Error())
	}
	want := "other.pcap: frame 1: 21 packets are in another input file too (the same traffic captured twice, into several files at once): each analysed once"
	if st.CopiesFromInputs.N != 21 || len(got) != 1 || !strings.HasSuffix(got[0], want) {
		t.Errorf("copies from inputs %d, warnings %q, want one ending %q", st.CopiesFromInputs.N, got, want)
	}
}
