package reassembly

import (
	"net/netip"
	"testing"
)

func TestFlowKeyNamesOneTupleEitherWay(t *testing.T) {
	ends := []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.1:25"),
		netip.MustParseAddrPort("192.0.2.1:2525"),
		netip.MustParseAddrPort("192.0.2.2:25"),
		netip.MustParseAddrPort("[::ffff:192.0.2.1]:25"), // the first, IPv4-mapped: another end
		netip.MustParseAddrPort("[2001:db8::1]:25"),
		netip.MustParseAddrPort("[2001:db8::1]:40000"),
		netip.MustParseAddrPort("[::c000:201]:25"), // the first's bytes in another place
	}
	keys := map[flowKey][2]int{}
	for i, a := range ends {
		for j, b := range ends {
			if j < i {
				continue
			}
			k := keyOf(a, b)
			if back := keyOf(b, a); back != k {
				t.Errorf("keyOf(%v, %v) = %+v, the other way %+v", a, b, k, back)
			}
			if (k.lo == a) == (k.lo == b) && a != b {
				t.Errorf("key of %v and %v: neither end first", a, b)
			}
			if prev, dup := keys[k]; dup {
				t.Errorf("%v–%v has the key of %v–%v", a, b, ends[prev[0]], ends[prev[1]])
			}
			keys[k] = [2]int{i, j}
		}
	}
	// The lower end first: by address, then by port.
	if k := keyOf(ends[2], ends[0]); k.lo != ends[0] {
		t.Errorf("192.0.2.1:25 should come before 192.0.2.2:25")
	}
	if k := keyOf(ends[1], ends[0]); k.lo != ends[0] {
		t.Errorf("port 25 should come before port 2525")
	}
}

// TestAssemblerForgetsAFinishedConnection: segments of two connections
// in runs and interleaved reach their own streams, and a segment of a
// connection after Finish starts new streams, not the finished ones
// (the Assembler remembers the last connection it was given).
func TestAssemblerForgetsAFinishedConnection(t *testing.T) {
	recs := map[*Conn]*recorder{}
	asm := NewAssembler(Limits{}, func(c *Conn) Consumer { r := &recorder{}; recs[c] = r; return r })
	a, b := &Conn{Stream: 0}, &Conn{Stream: 1}
	next := map[*Conn]uint32{a: 1000, b: 5000}
	frame := 0
	send := func(c *Conn, text string) {
		frame++
		seg := Segment{Seq: next[c], Flags: FlagACK | FlagPSH, Payload: []byte(text), PayloadLen: len(text)}
		if frame <= 2 { // each connection's first segment: a SYN before it, as if
			seg.Seq--
			seg.Flags = FlagSYN
			seg.Payload, seg.PayloadLen = nil, 0
		}
		next[c] = seg.Seq + uint32(seg.PayloadLen)
		if seg.Flags&FlagSYN != 0 {
			next[c]++
		}
		asm.AddSide(c, 0, ClientToServer, &seg, &Packet{Frame: frame, Timestamp: t0})
	}
	send(a, "")
	send(b, "")
	for _, step := range []struct {
		c    *Conn
		text string
	}{{a, "a1"}, {a, "a2"}, {b, "b1"}, {a, "a3"}, {b, "b2"}, {b, "b3"}} {
		send(step.c, step.text)
	}
	if got := recs[a].text[ClientToServer].String(); got != "a1a2a3" {
		t.Errorf("first connection %q, want a1a2a3", got)
	}
	if got := recs[b].text[ClientToServer].String(); got != "b1b2b3" {
		t.Errorf("second connection %q, want b1b2b3", got)
	}
	old, _ := asm.Streams(b, ClientToServer)
	asm.Finish(b, ClientToServer, &Packet{Frame: frame, Timestamp: t0})
	first := recs[b]
	send(b, "late")
	if recs[b] == first {
		t.Fatal("a segment after Finish went to the finished connection's consumer")
	}
	if now, _ := asm.Streams(b, ClientToServer); now == old || now == nil {
		t.Errorf("after Finish, Streams gives %p, the finished stream was %p", now, old)
	}
	if got := first.text[ClientToServer].String(); got != "b1b2b3" {
		t.Errorf("the finished connection got %q after Finish", got)
	}
}
