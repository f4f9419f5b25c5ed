package reassembly

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// recorder is a Consumer that keeps what it is given, gaps as "[gap N]".
type recorder struct {
	text   [2]strings.Builder
	frames [2][]int        // the frame of each Data call
	both   strings.Builder // both directions in the order delivered, "C:" or "S:" before each call
}

func (r *recorder) Data(dir Direction, offset int64, data []byte, p *Packet) {
	r.text[dir].Write(data)
	r.frames[dir] = append(r.frames[dir], p.Frame)
	fmt.Fprintf(&r.both, "%c:%s", "CS"[dir], data)
}

func (r *recorder) Gap(dir Direction, offset, n int64, reason GapReason, p *Packet) {
	fmt.Fprintf(&r.text[dir], "[gap %d %s]", n, reason)
	fmt.Fprintf(&r.both, "%c:[gap %d %s]", "CS"[dir], n, reason)
}

// assembled is a connection with its two streams, as a test looks at it.
type assembled struct {
	*Conn
	client, server *Stream
}

func (a assembled) ByteStream(d Direction) *Stream {
	if d == ClientToServer {
		return a.client
	}
	return a.server
}

// finishAll finishes every connection of asm and returns them with their streams.
func finishAll(asm *Assembler, conns []*Conn, last *Packet) []assembled {
	var out []assembled
	for _, c := range conns {
		cl, sv := asm.Streams(c, c.DirectionOfSide(0))
		out = append(out, assembled{c, cl, sv})
	}
	asm.FinishAll(last, func(c *Conn) Direction { return c.DirectionOfSide(0) })
	return out
}

// assemble runs a crafted capture through the tracker and assembler.
func assemble(t *testing.T, build func(s *capgen.Session), f capgen.Format) (assembled, *recorder) {
	t.Helper()
	return assembleWith(t, Limits{}, build, f)
}

// assembleWith is assemble with limits other than the defaults.
func assembleWith(t *testing.T, lim Limits, build func(s *capgen.Session), f capgen.Format) (assembled, *recorder) {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, f, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
	build(s)
	c, err := OpenReader("gen.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	asm := NewAssembler(lim, func(*Conn) Consumer { return rec })
	tr := NewTracker(TrackerOptions{})
	var last Packet
	if _, err := Walk(c, tr, func(cn *Conn, seg *Segment, p *Packet) error {
		asm.Add(cn, seg, p)
		last = *p
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(tr.Conns()) != 1 {
		t.Fatalf("%d connections", len(tr.Conns()))
	}
	return finishAll(asm, tr.Conns(), &last)[0], rec
}

func TestCommandSplitAcrossSegmentsKeepsItsFrames(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()                     // frames 1-3
		s.Server("220 mx ESMTP\r\n")      // 4, ack 5
		s.Client("MAIL FROM:<a@x>\r\nRC") // 6, ack 7
		s.Client("PT TO:<b@y>\r\n")       // 8, ack 9
	}, capgen.Format{})
	if got := rec.text[ClientToServer].String(); got != "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n" {
		t.Fatalf("client bytes %q", got)
	}
	st := cn.ByteStream(ClientToServer)
	// "RCPT" starts at offset 17: "RC" in frame 6, "PT…" in frame 8.
	if st.FrameAt(17) != 6 || st.FrameAt(19) != 8 || st.FrameAt(0) != 6 || st.FrameAt(100) != 0 {
		t.Errorf("FrameAt 17=%d 19=%d 0=%d 100=%d", st.FrameAt(17), st.FrameAt(19), st.FrameAt(0), st.FrameAt(100))
	}
	b := st.Boundaries(17, 32)
	if len(b) != 1 || b[0] != (Boundary{Offset: 19, Before: 6, After: 8}) {
		t.Errorf("boundaries %+v", b)
	}
	if f := st.Frames(17, 32); fmt.Sprint(f) != "[6 8]" {
		t.Errorf("frames %v", f)
	}
	if st.MidStream || st.Next != 32 {
		t.Errorf("midstream %v next %d", st.MidStream, st.Next)
	}
}

func TestOutOfOrderSegmentsAreDeliveredInOrderWithTheirOwnFrames(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()                             // 1-3
		s.SegmentAt(true, 6, []byte("world\r\n")) // 4: early
		s.SegmentAt(true, 0, []byte("hello "))    // 5: fills the hole
	}, capgen.Format{})
	if got := rec.text[ClientToServer].String(); got != "hello world\r\n" {
		t.Fatalf("bytes %q", got)
	}
	// Both pieces become available when frame 5 arrives; the byte map
	// keeps the frame that carried each.
	if fmt.Sprint(rec.frames[ClientToServer]) != "[5 5]" {
		t.Errorf("delivery frames %v", rec.frames[ClientToServer])
	}
	st := cn.ByteStream(ClientToServer)
	if st.FrameAt(0) != 5 || st.FrameAt(6) != 4 {
		t.Errorf("FrameAt 0=%d 6=%d", st.FrameAt(0), st.FrameAt(6))
	}
	kinds := []SegmentKind{st.Segments[2].Kind, st.Segments[3].Kind}
	if kinds[0]&KindOutOfOrder == 0 || kinds[1]&KindData == 0 {
		t.Errorf("kinds %v", kinds)
	}
}

func TestRetransmissionWithDifferentBytesIsAConflict(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()                                     // 1-3
		s.Send(true, []byte("RCPT TO:<b@y>\r\n"))         // 4
		s.SegmentAt(true, 0, []byte("RCPT TO:<b@y>\r\n")) // 5: same bytes
		s.SegmentAt(true, 0, []byte("XXXX TO:<b@y>\r\n")) // 6: rewritten
	}, capgen.Format{})
	if got := rec.text[ClientToServer].String(); got != "RCPT TO:<b@y>\r\n" {
		t.Errorf("delivered %q: the first copy must win", got)
	}
	st := cn.ByteStream(ClientToServer)
	if len(st.Conflicts) != 1 {
		t.Fatalf("conflicts %+v", st.Conflicts)
	}
	c := st.Conflicts[0]
	if c.Offset != 0 || c.FirstFrame != 4 || c.SecondFrame != 6 || !strings.HasPrefix(string(c.First), "RCPT TO") || !strings.HasPrefix(string(c.Second), "XXXX TO") {
		t.Errorf("conflict %+v", c)
	}
	// Client segments: SYN, ACK, data, identical copy, rewritten copy.
	if st.Segments[3].Kind&(KindRetransmitted|KindConflict) != KindRetransmitted {
		t.Errorf("identical retransmission kind %b", st.Segments[3].Kind)
	}
	if st.Segments[4].Kind&KindConflict == 0 {
		t.Errorf("rewritten retransmission kind %b", st.Segments[4].Kind)
	}
}

// A reply that acknowledges bytes the capture never saw, with nothing of
// the client's after them yet (the end of a message lost, and the server's
// "250 queued"), declares the hole before the reply is delivered: a reader
// of both streams must know the content ended in it before it reads the
// reply.
func TestReplyAcknowledgingUnseenBytesDeclaresTheGapFirst(t *testing.T) {
	_, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()                       // 1-3
		s.Send(true, []byte("EHLO x\r\n"))  // 4
		s.Skip(true, 10)                    // 10 bytes the capture never saw
		s.Send(false, []byte("250 ok\r\n")) // 5: acknowledges them
		s.Send(true, []byte("QUIT\r\n"))    // 6
	}, capgen.Format{})
	if got, want := rec.both.String(), "C:EHLO x\r\nC:[gap 10 not captured]S:250 ok\r\nC:QUIT\r\n"; got != want {
		t.Errorf("delivered %q, want %q", got, want)
	}
}

// The client's MAIL written to the file after the server's reply that
// acknowledges it (a capture on several CPUs, a merge with clock skew): the
// bytes were captured, so they are delivered, before the reply, and no
// hole is declared.
func TestReplyBeforeTheDataItAcknowledgesInFileOrder(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()
		s.Server("220 mx\r\n")
		s.Client("EHLO x\r\n")
		s.Server("250 mx\r\n")
		mail := []byte("MAIL FROM:<a@b>\r\n")
		off := s.Sent(true)
		s.Skip(true, uint32(len(mail)))     // not written yet
		s.Send(false, []byte("250 ok\r\n")) // acknowledges them
		s.SegmentAt(true, off, mail)        // the MAIL, later in the file
		s.Client("QUIT\r\n")
	}, capgen.Format{})
	if got := rec.text[ClientToServer].String(); got != "EHLO x\r\nMAIL FROM:<a@b>\r\nQUIT\r\n" {
		t.Errorf("client stream %q", got)
	}
	if gaps := cn.ByteStream(ClientToServer).Gaps; len(gaps) != 0 {
		t.Errorf("gaps %+v", gaps)
	}
	if got, want := rec.both.String(), "S:220 mx\r\nC:EHLO x\r\nS:250 mx\r\nC:MAIL FROM:<a@b>\r\nS:250 ok\r\nC:QUIT\r\n"; got != want {
		t.Errorf("delivered %q, want %q", got, want)
	}
}

// An ACK far beyond any window (sequence numbers rewritten on one side) is
// not taken for a hole of that size.
func TestAnAckBeyondAnyWindowIsNoHole(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()
		s.Client("EHLO x\r\n")
		s.Skip(true, 1<<30)
		s.Send(false, []byte("250 ok\r\n"))
	}, capgen.Format{})
	if gaps := cn.ByteStream(ClientToServer).Gaps; len(gaps) != 0 || rec.text[ServerToClient].String() != "250 ok\r\n" {
		t.Errorf("gaps %+v, server stream %q", gaps, rec.text[ServerToClient].String())
	}
}

func TestAckedButUncapturedBytesBecomeAGap(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()                      // 1-3
		s.Send(true, []byte("EHLO x\r\n")) // 4
		s.Skip(true, 10)                   // 10 bytes the capture never saw
		s.Send(true, []byte("QUIT\r\n"))   // 5: out of order
		s.Ack(false)                       // 6: the server ACKs everything
	}, capgen.Format{})
	if got := rec.text[ClientToServer].String(); got != "EHLO x\r\n[gap 10 not captured]QUIT\r\n" {
		t.Fatalf("bytes %q", got)
	}
	st := cn.ByteStream(ClientToServer)
	if len(st.Gaps) != 1 || st.Gaps[0] != (Gap{Start: 8, End: 18, Reason: GapNotCaptured, Frame: 6, Next: 5}) {
		t.Errorf("gaps %+v", st.Gaps)
	}
	if st.FrameAt(10) != 0 || st.FrameAt(18) != 5 {
		t.Errorf("FrameAt gap=%d after=%d", st.FrameAt(10), st.FrameAt(18))
	}
	if g, ok := st.GapIn(0, 9); !ok || g.Start != 8 {
		t.Errorf("GapIn %v %v", g, ok)
	}
}

func TestUnackedHoleIsDeclaredAtCaptureEnd(t *testing.T) {
	_, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()
		s.Skip(true, 4)
		s.Send(true, []byte("tail"))
	}, capgen.Format{})
	if got := rec.text[ClientToServer].String(); got != "[gap 4 not captured]tail" {
		t.Errorf("bytes %q", got)
	}
}

func TestSnaplenCutBytesAreAGap(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()
		s.Send(true, []byte(strings.Repeat("a", 30))) // 54 header bytes + 30: 24 cut at snaplen 60
		s.Send(true, []byte("b"))
	}, capgen.Format{Snaplen: 60})
	if got := rec.text[ClientToServer].String(); got != "aaaaaa[gap 24 cut by snaplen]b" {
		t.Errorf("bytes %q", got)
	}
	if cn.ByteStream(ClientToServer).Segments[2].Kind&KindSnaplenCut == 0 {
		t.Errorf("segment not marked snaplen-cut")
	}
}

func TestSequenceNumbersWrapAround(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 0xfffffff0, 5000)
	s.Handshake()
	s.Send(true, []byte("0123456789abcdef0123456789")) // crosses 2^32
	s.Send(true, []byte("XYZ"))
	c, _ := OpenReader("wrap.pcap", bytes.NewReader(buf.Bytes()))
	rec := &recorder{}
	asm := NewAssembler(Limits{}, func(*Conn) Consumer { return rec })
	tr := NewTracker(TrackerOptions{})
	var last Packet
	Walk(c, tr, func(cn *Conn, seg *Segment, p *Packet) error { asm.Add(cn, seg, p); last = *p; return nil })
	if got := rec.text[ClientToServer].String(); got != "0123456789abcdef0123456789XYZ" {
		t.Errorf("bytes %q", got)
	}
	if st := finishAll(asm, tr.Conns(), &last)[0].ByteStream(ClientToServer); st.Segments[3].Offset != 26 {
		t.Errorf("offset after wrap %d", st.Segments[3].Offset)
	}
}

func TestMidStreamAndOneSidedCaptures(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Skip(true, 500) // the capture starts 500 bytes into the client's stream
		s.Send(true, []byte("QUIT\r\n"))
	}, capgen.Format{})
	st := cn.ByteStream(ClientToServer)
	if !st.MidStream || st.Next != 6 || rec.text[ClientToServer].String() != "QUIT\r\n" {
		t.Errorf("midstream %v next %d bytes %q", st.MidStream, st.Next, rec.text[ClientToServer].String())
	}
	if srv := cn.ByteStream(ServerToClient); srv.Next != 0 || len(srv.Segments) != 0 {
		t.Errorf("one-sided: server stream has %d bytes", srv.Next)
	}
}

func TestKeepAliveIsNotData(t *testing.T) {
	cn, rec := assemble(t, func(s *capgen.Session) {
		s.Handshake()
		s.Send(true, []byte("NOOP\r\n"))
		s.SegmentAt(true, 5, []byte{0}) // one byte just below the next sequence number
	}, capgen.Format{})
	st := cn.ByteStream(ClientToServer)
	if k := st.Segments[len(st.Segments)-1].Kind; k != KindKeepAlive || len(st.Conflicts) != 0 || rec.text[ClientToServer].String() != "NOOP\r\n" {
		t.Errorf("kind %b conflicts %v bytes %q", k, st.Conflicts, rec.text[ClientToServer].String())
	}
}

// TestSYNAnsweredIsTheOneCounted: a client that sends its SYN again with
// a new ISN (1000, then 777777) counts its bytes from the SYN the server
// answered, not from the first: no gap of 776,777 bytes before them.
func TestSYNAnsweredIsTheOneCounted(t *testing.T) {
	_, rec := assemble(t, func(s *capgen.Session) {
		s.Emit(true, 1000, capgen.SYN, nil)
		s.Emit(true, 777777, capgen.SYN, nil)
		s.Skip(true, 777777-1000) // the client's bytes now follow the second SYN
		s.Emit(false, 5000, capgen.SYN|capgen.ACK, nil)
		s.Ack(true)
		s.Client("EHLO x\r\n")
		s.Server("250 ok\r\n")
	}, capgen.Format{})
	if got := rec.text[ClientToServer].String(); got != "EHLO x\r\n" {
		t.Errorf("client bytes %q, want the EHLO alone", got)
	}
}

func TestGapInFindsTheFirstOverlappingGap(t *testing.T) {
	s := &Stream{Gaps: []Gap{{Start: 10, End: 20}, {Start: 30, End: 31}, {Start: 50, End: 90}}}
	cases := []struct {
		start, end int64
		want       int64 // the gap's start, -1 for none
	}{
		{0, 10, -1}, {0, 11, 10}, {19, 40, 10}, {20, 30, -1}, {20, 31, 30}, {31, 50, -1}, {60, 61, 50}, {90, 100, -1}, {0, 100, 10},
	}
	for _, tc := range cases {
		g, ok := s.GapIn(tc.start, tc.end)
		got := int64(-1)
		if ok {
			got = g.Start
		}
		if got != tc.want {
			t.Errorf("GapIn(%d, %d) = gap at %d, want %d", tc.start, tc.end, got, tc.want)
		}
	}
}
