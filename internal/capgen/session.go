package capgen

import (
	"fmt"
	"net/netip"
	"time"
)

// Session writes the packets of one TCP connection. Each call emits one or
// more segments at the session's clock, which advances by Step per packet
// (Pause adds more). Sequence numbers follow the bytes sent, so the output
// is a consistent connection unless a test asks otherwise (SegmentAt).
type Session struct {
	W          *Writer
	Link       uint32
	ClientAddr netip.AddrPort
	ServerAddr netip.AddrPort
	Now        time.Time
	Step       time.Duration
	VLANs      []uint16
	AckEvery   int // Send lets the peer ACK after every AckEvery segments (0: never)
	ClientTTL  uint8
	ServerTTL  uint8
	FragmentAt int // when > 0, IP packets with more payload go out as fragments of at most this much (FragmentIP)

	isn  [2]uint32 // 0 client, 1 server
	next [2]uint32
	fins [2]uint32 // sequence numbers used by FINs, not payload
	ipid [2]uint16
	shut [2]bool // the side advertises a zero window (CloseWindow)
}

// NewSession returns a session whose first packet is written at start.
func NewSession(w *Writer, link uint32, client, server netip.AddrPort, start time.Time, clientISN, serverISN uint32) *Session {
	return &Session{
		W: w, Link: link, ClientAddr: client, ServerAddr: server, Now: start, Step: time.Millisecond,
		ClientTTL: 64, ServerTTL: 64,
		isn:  [2]uint32{clientISN, serverISN},
		next: [2]uint32{clientISN + 1, serverISN + 1},
		ipid: [2]uint16{0x1000, 0x2000},
	}
}

func (s *Session) side(fromClient bool) int {
	if fromClient {
		return 0
	}
	return 1
}

// Emit writes one segment with an explicit sequence number.
func (s *Session) Emit(fromClient bool, seq uint32, flags uint8, payload []byte) {
	i := s.side(fromClient)
	p := Packet{Seq: seq, Ack: s.next[1-i], Flags: flags, Payload: payload, VLANs: s.VLANs, IPID: s.ipid[i], Closed: s.shut[i]}
	s.ipid[i]++
	if fromClient {
		p.Src, p.Dst, p.TTL = s.ClientAddr, s.ServerAddr, s.ClientTTL
	} else {
		p.Src, p.Dst, p.TTL = s.ServerAddr, s.ClientAddr, s.ServerTTL
	}
	if flags&SYN != 0 {
		p.MSS = 1460
		if flags&ACK == 0 {
			p.Ack = 0
		}
	}
	frame := Frame(s.Link, &p)
	ip := ipPacket(&p)
	header := 20
	if ip[0]>>4 == 6 {
		header = 40
	}
	if s.FragmentAt > 0 && len(ip)-header > s.FragmentAt {
		link := frame[:len(frame)-len(ip)]
		for _, f := range FragmentIP(ip, s.FragmentAt, uint32(p.IPID)) {
			s.W.WriteFrame(s.Now, s.Link, append(append([]byte(nil), link...), f...))
			s.Now = s.Now.Add(s.Step)
		}
		return
	}
	s.W.WriteFrame(s.Now, s.Link, frame)
	s.Now = s.Now.Add(s.Step)
}

// CloseWindow makes one side advertise a zero receive window in its
// packets from now on (closed false: its usual window again). It writes
// no packet itself.
func (s *Session) CloseWindow(fromClient, closed bool) { s.shut[s.side(fromClient)] = closed }

// Handshake writes SYN, SYN-ACK, ACK.
func (s *Session) Handshake() {
	s.Emit(true, s.isn[0], SYN, nil)
	s.Emit(false, s.isn[1], SYN|ACK, nil)
	s.Emit(true, s.next[0], ACK, nil)
}

// Send writes payload from one side as consecutive segments of the given
// sizes (the rest in one segment; no sizes means one segment), each
// followed by nothing: call Ack for the peer's acknowledgement.
func (s *Session) Send(fromClient bool, payload []byte, sizes ...int) {
	i := s.side(fromClient)
	for k, n := range sizes {
		if n > len(payload) {
			n = len(payload)
		}
		s.Emit(fromClient, s.next[i], ACK|PSH, payload[:n])
		s.next[i] += uint32(n)
		payload = payload[n:]
		if s.AckEvery > 0 && (k+1)%s.AckEvery == 0 {
			s.Ack(!fromClient)
		}
	}
	if len(payload) > 0 {
		s.Emit(fromClient, s.next[i], ACK|PSH, payload)
		s.next[i] += uint32(len(payload))
	}
}

// Client sends payload from the client and lets the server acknowledge it.
func (s *Session) Client(payload string, sizes ...int) {
	s.Send(true, []byte(payload), sizes...)
	s.Ack(false)
}

// Server sends payload from the server and lets the client acknowledge it.
func (s *Session) Server(payload string, sizes ...int) {
	s.Send(false, []byte(payload), sizes...)
	s.Ack(true)
}

// Ack writes a pure ACK from one side.
func (s *Session) Ack(fromClient bool) {
	s.Emit(fromClient, s.next[s.side(fromClient)], ACK, nil)
}

// SegmentAt writes payload at an offset relative to the start of one side's
// stream (0 is the first byte after the SYN) without moving the session's
// notion of what was sent: for retransmissions, overlaps and reordering.
func (s *Session) SegmentAt(fromClient bool, offset uint32, payload []byte) {
	s.Emit(fromClient, s.isn[s.side(fromClient)]+1+offset, ACK|PSH, payload)
}

// Skip advances one side's sequence number by n bytes not written by
// Send: bytes the capture never saw (a gap), or bytes written with SegmentAt.
func (s *Session) Skip(fromClient bool, n uint32) { s.next[s.side(fromClient)] += n }

// Sent returns how many payload bytes a side has sent.
func (s *Session) Sent(fromClient bool) uint32 {
	i := s.side(fromClient)
	return s.next[i] - s.isn[i] - 1 - s.fins[i]
}

// Pause advances the clock without writing.
func (s *Session) Pause(d time.Duration) { s.Now = s.Now.Add(d) }

// Close writes FIN from the client, FIN-ACK from the server and the last ACK.
func (s *Session) Close() {
	s.Emit(true, s.next[0], FIN|ACK, nil)
	s.next[0]++
	s.fins[0]++
	s.Emit(false, s.next[1], FIN|ACK, nil)
	s.next[1]++
	s.fins[1]++
	s.Emit(true, s.next[0], ACK, nil)
}

// Reset writes a RST from one side.
func (s *Session) Reset(fromClient bool) {
	s.Emit(fromClient, s.next[s.side(fromClient)], RST|ACK, nil)
}

// SMTP writes a short, complete, clean SMTP session (handshake to close).
func (s *Session) SMTP(from, to string, body string) {
	s.Handshake()
	s.Server("220 mx.example.test ESMTP\r\n")
	s.Client("EHLO client.example.org\r\n")
	s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250 CHUNKING\r\n")
	s.Client("MAIL FROM:<" + from + ">\r\n")
	s.Server("250 OK\r\n")
	s.Client("RCPT TO:<" + to + ">\r\n")
	s.Server("250 Accepted\r\n")
	s.Client("DATA\r\n")
	s.Server("354 Enter message, ending with \".\" on a line by itself\r\n")
	s.Client(body + ".\r\n")
	s.Server("250 OK id=1abc\r\n")
	s.Client("QUIT\r\n")
	s.Server("221 mx.example.test closing connection\r\n")
	s.Close()
}

// RelayMessages writes n messages on the open session the way a relay
// that reuses one connection sends them: for each, MAIL, RCPT (the i'th
// recipient) and DATA pipelined, their three replies, a short message and
// its 250.
func (s *Session) RelayMessages(n int) {
	for i := range n {
		s.Client(fmt.Sprintf("MAIL FROM:<a@example.org>\r\nRCPT TO:<b%d@example.net>\r\nDATA\r\n", i))
		s.Server("250 ok\r\n250 ok\r\n354 go ahead\r\n")
		s.Client("Subject: x\r\n\r\nhello\r\n.\r\n")
		s.Server("250 queued\r\n")
	}
}
