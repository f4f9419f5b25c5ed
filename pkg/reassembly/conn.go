package reassembly

import (
	"hash/maphash"
	"net/netip"
	"slices"
	"time"
)

// Direction says which way a segment travels relative to the connection's client.
type Direction uint8

// The two directions of a connection.
const (
	ClientToServer Direction = iota
	ServerToClient
)

// String returns "client" or "server": whose bytes travel this way.
func (d Direction) String() string {
	if d == ClientToServer {
		return "client"
	}
	return "server"
}

// Role says how the client of a connection was recognised, strongest first.
type Role uint8

// The ways a client is recognised.
const (
	RoleGuess   Role = iota // first packet's sender; nothing better was seen
	RoleSpeaker             // who spoke first (a greeting comes from the server)
	RolePort                // a well-known server port on one side only
	RoleSYN                 // the SYN sender (or the SYN-ACK receiver)
)

// String says how the client was recognised.
func (r Role) String() string {
	switch r {
	case RoleSYN:
		return "handshake"
	case RolePort:
		return "port"
	case RoleSpeaker:
		return "first speaker"
	}
	return "guess"
}

// End says how a connection ended.
type End uint8

// The ways a connection ends.
const (
	EndOpen       End = iota // still open when the capture ended
	EndHalfClosed            // FIN from one side only, then the capture ended
	EndFIN                   // FIN from both sides
	EndRST                   // reset
)

// String returns "fin", "rst", "half-closed" or "capture-end".
func (e End) String() string {
	switch e {
	case EndFIN:
		return "fin"
	case EndRST:
		return "rst"
	case EndHalfClosed:
		return "half-closed"
	}
	return "capture-end"
}

// Sniffer looks at the first payload bytes one endpoint sent and says
// whether they show that endpoint to be the server (a greeting), the client
// (a first command), or neither. It is how a protocol layer above helps the
// tracker decide roles without the tracker knowing that protocol.
type Sniffer func(payload []byte) (server, client bool)

// DefaultServerPorts returns the well-known SMTP server ports: SMTP,
// SMTPS, submission, and the usual alternative.
func DefaultServerPorts() []uint16 { return []uint16{25, 465, 587, 2525} }

// IsDefaultServerPort reports whether port is one of DefaultServerPorts.
func IsDefaultServerPort(port uint16) bool {
	switch port {
	case 25, 465, 587, 2525:
		return true
	}
	return false
}

// TrackerOptions configures a Tracker.
type TrackerOptions struct {
	ServerPorts []uint16 // ports that mark the server side of a connection seen without its handshake
	Sniff       Sniffer  // optional: recognises the server or client from its first bytes
	// Expire, if set, is called by Walk with each TCP segment's packet
	// before the segment is tracked: its owner may Forget connections whose
	// time is up, so that a segment of theirs that comes now is late, as
	// it would be had another packet come first.
	Expire func(p *Packet)
	// Late, if set, is called by Walk with each segment of a forgotten
	// connection (Tracker.Forget) and that connection's stream number,
	// instead of skipping the segment: for an owner that must still place
	// every packet, such as a split. Its error stops the walk.
	Late func(stream int, s *Segment, p *Packet) error
	// SkipCopies has Walk skip a segment that is a copy of one captured
	// just before it (the same IP packet within a few milliseconds, as
	// tcpdump -i any records traffic that crosses a bridge), counting it
	// in Stats.Copies, so that each packet is analysed once.
	SkipCopies bool
	// CountCopies has Walk count such copies in Stats.Copies and visit
	// them as any other segment: for a split, which writes what was
	// captured but should say what it wrote.
	CountCopies bool
}

// headBytes is how many leading payload bytes of each side a Conn keeps for sniffing.
const headBytes = 16

// Conn is one TCP connection: a 4-tuple plus a generation. Its fields are
// filled as packets arrive; read them when the packet loop has finished, or
// treat them as provisional.
type Conn struct {
	Stream     int       // 0-based, in order of first packet, like tshark's tcp.stream
	FirstTime  time.Time // time of the first packet
	LastTime   time.Time // time of the last packet
	FirstFrame int       // frame of the first packet
	LastFrame  int       // frame of the last packet
	Role       Role      // how the client was recognised
	Handshake  bool      // both the SYN and the SYN-ACK were seen
	RSTFrame   int       // frame of the first RST, 0 if none

	ends      [2]netip.AddrPort // side 0 is the first packet's sender
	clientIdx int               // which of ends is the client
	packets   [2]int
	bytes     [2]int64 // payload bytes per the IP header
	missing   [2]int64 // payload bytes snaplen cut off
	isn       [2]uint32
	synSeen   [2]bool
	seqHigh   [2]uint32 // highest seq+len+SYN+FIN seen per side
	seqSeen   [2]bool
	dataEnd   [2]uint32 // highest seq+len of a segment with payload, per side
	dataSeen  [2]bool
	ackHigh   [2]uint32 // highest acknowledgement number sent, per side
	ackSeen   [2]bool
	fin       [2]bool
	finFrame  [2]int
	finAcked  [2]bool // the other side acknowledged this side's FIN
	rstSide   int     // the side that sent the first RST, when RSTFrame != 0
	head      [2][]byte
}

// Client returns the client's address and port.
func (c *Conn) Client() netip.AddrPort { return c.ends[c.clientIdx] }

// Server returns the server's address and port.
func (c *Conn) Server() netip.AddrPort { return c.ends[1-c.clientIdx] }

func (c *Conn) side(d Direction) int {
	if d == ClientToServer {
		return c.clientIdx
	}
	return 1 - c.clientIdx
}

// Side returns 0 when src is the endpoint that sent the connection's first
// packet, 1 otherwise. Unlike the direction, it never changes.
func (c *Conn) Side(src netip.AddrPort) int {
	if src == c.ends[0] {
		return 0
	}
	return 1
}

// DirectionOfSide returns the current direction of side's packets.
func (c *Conn) DirectionOfSide(side int) Direction {
	if side == c.clientIdx {
		return ClientToServer
	}
	return ServerToClient
}

// DirectionFrom returns the direction of a segment sent by src.
func (c *Conn) DirectionFrom(src netip.AddrPort) Direction {
	if src == c.Client() {
		return ClientToServer
	}
	return ServerToClient
}

// Packets returns the number of packets sent in direction d.
func (c *Conn) Packets(d Direction) int { return c.packets[c.side(d)] }

// Bytes returns the TCP payload bytes sent in direction d, by the IP
// headers' lengths (so it includes bytes snaplen cut from the capture).
func (c *Conn) Bytes(d Direction) int64 { return c.bytes[c.side(d)] }

// Missing returns the payload bytes of direction d that snaplen cut off.
func (c *Conn) Missing(d Direction) int64 { return c.missing[c.side(d)] }

// Head returns up to 16 leading payload bytes of direction d (from the
// first packet that carried payload), for recognising the protocol.
func (c *Conn) Head(d Direction) []byte { return c.head[c.side(d)] }

// FINFrame returns the frame of the first FIN sent in direction d, 0 if none.
func (c *Conn) FINFrame(d Direction) int { return c.finFrame[c.side(d)] }

// RSTDirection returns the direction of the first RST; ok is false when
// the connection was not reset.
func (c *Conn) RSTDirection() (d Direction, ok bool) {
	return c.DirectionOfSide(c.rstSide), c.RSTFrame != 0
}

// FirstFIN returns the frame and direction of the earlier of the two
// sides' first FINs; frame 0 when neither sent one.
func (c *Conn) FirstFIN() (frame int, d Direction) {
	for _, dir := range []Direction{ClientToServer, ServerToClient} {
		if f := c.FINFrame(dir); f != 0 && (frame == 0 || f < frame) {
			frame, d = f, dir
		}
	}
	return frame, d
}

// FirstClose returns the frame and direction of whatever began to end the
// connection first, a FIN or a RST; frame 0 when it has not ended.
func (c *Conn) FirstClose() (frame int, d Direction) {
	frame, d = c.FirstFIN()
	if rd, ok := c.RSTDirection(); ok && (frame == 0 || c.RSTFrame < frame) {
		frame, d = c.RSTFrame, rd
	}
	return frame, d
}

// SYNSeen reports whether the capture holds a SYN sent in direction d.
func (c *Conn) SYNSeen(d Direction) bool { return c.synSeen[c.side(d)] }

// ISN returns the initial sequence number of direction d, from its SYN;
// ok is false when no SYN was seen that way.
func (c *Conn) ISN(d Direction) (isn uint32, ok bool) {
	return c.isn[c.side(d)], c.synSeen[c.side(d)]
}

// End says how the connection ended (as far as the capture shows).
func (c *Conn) End() End {
	switch {
	case c.RSTFrame != 0:
		return EndRST
	case c.fin[0] && c.fin[1]:
		return EndFIN
	case c.fin[0] || c.fin[1]:
		return EndHalfClosed
	}
	return EndOpen
}

// OnlySYNs reports whether c has seen nothing but its client's SYNs (or
// other empty segments): no answer, no payload, no close.
func (c *Conn) OnlySYNs() bool {
	return !c.Handshake && !c.Closed() && c.Packets(ServerToClient) == 0 && c.Bytes(ClientToServer) == 0
}

// SYNGiveUp is how long, in capture time, a connection that has seen only
// its client's SYNs waits for anything more before it is given up on
// (Abandoned). Clients retry a SYN for about two minutes (Linux gives up
// after 127 s, Windows after 21 s), so nothing more comes after that;
// giving up on such connections early keeps a port scan or a SYN flood
// from holding memory for each of its connections to the end of the
// capture.
const SYNGiveUp = 3 * time.Minute

// SYNGiveUpPackets is how many packets of the capture must also have come
// since such a connection's last one: a single packet stamped minutes
// ahead (a corrupt record, a clock step) must not end connections whose
// answers come right after it.
const SYNGiveUpPackets = 10000

// Abandoned reports whether c has seen only its client's SYNs (OnlySYNs),
// the last of them more than SYNGiveUp of capture time before now and
// more than SYNGiveUpPackets packets before frame: its client has stopped
// retrying, and nothing more will come of it.
func (c *Conn) Abandoned(now time.Time, frame int) bool {
	return c.OnlySYNs() && now.Sub(c.LastTime) > SYNGiveUp && frame-c.LastFrame > SYNGiveUpPackets
}

// SYNQueue holds the connections opened by a client's SYN, in the order
// they opened, until each is abandoned (Conn.Abandoned) or has seen more
// than SYNs. Only its front is looked at: one whose SYN was sent again
// lately holds up the others, for at most the two minutes a client
// retries. The zero value is an empty queue.
type SYNQueue struct {
	conns []*Conn
}

// Add puts c, just opened by its client's SYN, at the back of q.
func (q *SYNQueue) Add(c *Conn) { q.conns = append(q.conns, c) }

// GiveUp calls give, in order, for each connection at the front of q
// that was abandoned by now and frame, and drops it; it drops without a
// call those that have seen more than SYNs or that live says their owner
// is done with, and stops at the first still waiting. An error from give
// stops it and is returned.
func (q *SYNQueue) GiveUp(now time.Time, frame int, live func(*Conn) bool, give func(*Conn) error) error {
	for len(q.conns) > 0 {
		c := q.conns[0]
		if live(c) && c.OnlySYNs() {
			if !c.Abandoned(now, frame) {
				return nil
			}
			if err := give(c); err != nil {
				return err
			}
		}
		q.conns[0] = nil
		q.conns = q.conns[1:]
	}
	return nil
}

// Closed reports whether the connection is finished: reset, or FIN both ways.
func (c *Conn) Closed() bool { return c.RSTFrame != 0 || (c.fin[0] && c.fin[1]) }

// Finished reports whether no more packets are expected: the connection
// was reset, or each side's FIN was acknowledged by the other. A closed
// connection normally ends with that last ACK, one packet after Closed
// first reports true.
func (c *Conn) Finished() bool {
	return c.RSTFrame != 0 || (c.fin[0] && c.fin[1] && c.finAcked[0] && c.finAcked[1])
}

// Unacknowledged reports whether a side sent payload that the other side
// never acknowledged, as far as the capture shows (a FIN alone does not
// count): its TCP sends it again, with growing pauses, until it is
// acknowledged or a reset says the other side has gone.
func (c *Conn) Unacknowledged() bool {
	for side := range 2 {
		if c.dataSeen[side] && (!c.ackSeen[1-side] || seqAfter(c.dataEnd[side], c.ackHigh[1-side])) {
			return true
		}
	}
	return false
}

// Tracker assigns TCP segments to connections. A connection is a 4-tuple
// plus a generation: a new SYN on a 4-tuple that has closed, or whose ISN
// lies outside the current sequence space, starts a new connection (port
// reuse); a retransmitted SYN (same ISN) does not. Packets after the close
// that are not SYNs (the last ACK, a late retransmission) stay with the
// closed connection.
//
// A connection its owner is done with can be forgotten (Forget): the
// tracker then keeps only what tells its late packets from a new
// connection's, about 30 bytes, so memory follows the connections open at
// once.
type Tracker struct {
	opts  TrackerOptions
	conns map[flowKey]*Conn // the live connection of each 4-tuple
	all   []*Conn           // by stream; nil once forgotten
	// forgotten holds, by a hash of its 4-tuple, what is left of each
	// forgotten connection whose 4-tuple has no live one: its SYNs. Kept
	// apart from conns, which then holds only the connections open at
	// once and stays small (a map never shrinks), and without the key, so
	// that it costs a fifth of what an entry of conns does.
	forgotten map[uint64]forgottenConn
	seed      maphash.Seed
}

// forgottenConn is what the tracker keeps of a forgotten connection: by
// end of its key (lo, hi), the ISNs of the SYNs it saw, so that a SYN
// retransmitted late is not taken for a new connection; and its stream
// number, for TrackerOptions.Late.
type forgottenConn struct {
	isn     [2]uint32
	stream  int32
	synSeen [2]bool
}

type flowKey struct{ lo, hi netip.AddrPort }

func keyOf(a, b netip.AddrPort) flowKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return flowKey{a, b}
}

// NewTracker returns an empty tracker.
func NewTracker(opts TrackerOptions) *Tracker {
	if opts.ServerPorts == nil {
		opts.ServerPorts = DefaultServerPorts()
	}
	return &Tracker{opts: opts, conns: make(map[flowKey]*Conn), forgotten: make(map[uint64]forgottenConn),
		seed: maphash.MakeSeed()}
}

// Conns returns every connection seen and not forgotten, in stream order.
func (t *Tracker) Conns() []*Conn {
	conns := make([]*Conn, 0, len(t.all))
	for _, c := range t.all {
		if c != nil {
			conns = append(conns, c)
		}
	}
	return conns
}

// Count returns how many connections the tracker has seen, forgotten or
// not: the next stream number.
func (t *Tracker) Count() int { return len(t.all) }

// Forget drops a connection the caller is done with: one that has closed
// (Conn.Closed), or one whose SYNs were never answered. Its late packets
// are then not tracked: Track returns nil for them. A SYN that opens a new
// connection on its 4-tuple (another ISN) is tracked as ever, with the
// next stream number.
func (t *Tracker) Forget(c *Conn) {
	if c.Stream >= len(t.all) || t.all[c.Stream] != c {
		return
	}
	t.all[c.Stream] = nil
	k := keyOf(c.ends[0], c.ends[1])
	if t.conns[k] != c {
		return // a newer connection on the 4-tuple took its place
	}
	delete(t.conns, k)
	e := forgottenConn{stream: int32(c.Stream)}
	for side, end := range c.ends {
		i := 0
		if end != k.lo {
			i = 1
		}
		e.isn[i], e.synSeen[i] = c.isn[side], c.synSeen[side]
	}
	t.forgotten[t.hashKey(k)] = e
}

// hashKey returns the hash forgotten connections are kept by. Two
// 4-tuples sharing one would take a new connection's packets for a
// forgotten one's: with 64 bits, about once in 10^8 captures of a million
// connections.
func (t *Tracker) hashKey(k flowKey) uint64 {
	return maphash.Comparable(t.seed, k)
}

// Track assigns the segment to its connection, creating one when the
// segment starts a new connection, and updates the connection's facts. It
// returns the connection and whether it was created by this segment, or
// nil for a late packet of a forgotten connection.
func (t *Tracker) Track(s *Segment, p *Packet) (*Conn, bool) {
	c, created, _ := t.track(s, p)
	return c, created
}

// track is Track that also returns, for a late packet of a forgotten
// connection, that connection's stream number (else -1).
func (t *Tracker) track(s *Segment, p *Packet) (c *Conn, created bool, late int) {
	k := keyOf(s.Src, s.Dst)
	c = t.conns[k]
	var forgotten bool
	var h uint64
	switch {
	case c == nil:
		h = t.hashKey(k)
		e, ok := t.forgotten[h]
		if !ok {
			break
		}
		// Forgotten: only a SYN may start anew, unless it is one of the
		// old connection's, retransmitted, or a late answer to its SYN.
		i := 0
		if s.Src != k.lo {
			i = 1
		}
		if s.Flags&FlagSYN == 0 || (e.synSeen[i] && s.Seq == e.isn[i]) ||
			(s.Flags&FlagACK != 0 && e.synSeen[1-i] && s.Ack == e.isn[1-i]+1) {
			return nil, false, int(e.stream)
		}
		forgotten = true
	case s.Flags&FlagSYN != 0 && startsNew(c, s):
		c = nil
	}
	created = c == nil
	if created {
		c = &Conn{
			Stream:     len(t.all),
			FirstTime:  p.Timestamp,
			FirstFrame: p.Frame,
			ends:       [2]netip.AddrPort{s.Src, s.Dst},
		}
		t.setInitialRole(c, s)
		t.conns[k] = c
		if forgotten {
			delete(t.forgotten, h) // the new connection takes its place
		}
		t.all = append(t.all, c)
	}
	side := 0
	if s.Src != c.ends[0] {
		side = 1
	}
	c.LastTime = p.Timestamp
	c.LastFrame = p.Frame
	c.packets[side]++
	c.bytes[side] += int64(s.PayloadLen)
	c.missing[side] += int64(s.Missing())

	if s.Flags&FlagSYN != 0 {
		if !c.synSeen[side] {
			c.synSeen[side] = true
			c.isn[side] = s.Seq
		}
		if s.Flags&FlagACK == 0 {
			c.setRole(side, RoleSYN)
		} else {
			c.setRole(1-side, RoleSYN)
		}
		if c.synSeen[0] && c.synSeen[1] {
			c.Handshake = true
		}
	}
	end := s.Seq + uint32(s.PayloadLen)
	if s.Flags&(FlagSYN|FlagFIN) != 0 {
		end++
	}
	if !c.seqSeen[side] || seqAfter(end, c.seqHigh[side]) {
		c.seqHigh[side], c.seqSeen[side] = end, true
	}
	if s.PayloadLen > 0 {
		if end := s.Seq + uint32(s.PayloadLen); !c.dataSeen[side] || seqAfter(end, c.dataEnd[side]) {
			c.dataEnd[side], c.dataSeen[side] = end, true
		}
	}
	if s.Flags&FlagACK != 0 && (!c.ackSeen[side] || seqAfter(s.Ack, c.ackHigh[side])) {
		c.ackHigh[side], c.ackSeen[side] = s.Ack, true
	}
	if s.Flags&FlagFIN != 0 && !c.fin[side] {
		c.fin[side] = true
		c.finFrame[side] = p.Frame
	}
	if other := 1 - side; c.fin[other] && s.Flags&FlagACK != 0 && !seqAfter(c.seqHigh[other], s.Ack) {
		c.finAcked[other] = true
	}
	if s.Flags&FlagRST != 0 && c.RSTFrame == 0 {
		c.RSTFrame, c.rstSide = p.Frame, side
	}
	if len(s.Payload) > 0 && c.head[side] == nil {
		n := min(len(s.Payload), headBytes)
		c.head[side] = append(make([]byte, 0, n), s.Payload[:n]...)
		if c.Role < RolePort && t.opts.Sniff != nil {
			server, client := t.opts.Sniff(c.head[side])
			switch {
			case server:
				c.setRole(1-side, RoleSpeaker)
			case client:
				c.setRole(side, RoleSpeaker)
			}
		}
	}
	return c, created, -1
}

// setRole makes ends[clientIdx] the client when the evidence is at least as
// strong as what decided the role so far.
func (c *Conn) setRole(clientIdx int, r Role) {
	if r >= c.Role {
		c.clientIdx, c.Role = clientIdx, r
	}
}

func (t *Tracker) setInitialRole(c *Conn, s *Segment) {
	srcWell := slices.Contains(t.opts.ServerPorts, s.Src.Port())
	dstWell := slices.Contains(t.opts.ServerPorts, s.Dst.Port())
	switch {
	case dstWell && !srcWell:
		c.setRole(0, RolePort)
	case srcWell && !dstWell:
		c.setRole(1, RolePort)
	case s.Src.Port() >= 1024 && s.Dst.Port() < 1024:
		c.setRole(0, RoleGuess)
	case s.Src.Port() < 1024 && s.Dst.Port() >= 1024:
		c.setRole(1, RoleGuess)
	default:
		c.setRole(0, RoleGuess)
	}
}

// reuseWindow is how far past the highest sequence number seen a SYN may
// lie and still count as the same connection's sequence space.
const reuseWindow = 1 << 20

// startsNew decides whether a SYN or SYN-ACK opens a new connection on c's 4-tuple.
func startsNew(c *Conn, s *Segment) bool {
	side := 0
	if s.Src != c.ends[0] {
		side = 1
	}
	if c.synSeen[side] && s.Seq == c.isn[side] {
		return false // a retransmitted SYN or SYN-ACK
	}
	if s.Flags&FlagACK != 0 && c.synSeen[1-side] && s.Ack == c.isn[1-side]+1 {
		// A late answer to this connection's SYN (its first SYN-ACK, not
		// captured before): as tshark places it, and as Track does once
		// the connection is forgotten.
		return false
	}
	if c.Closed() {
		return true
	}
	if s.Flags&FlagACK != 0 {
		return false // a SYN-ACK on a live connection: not our call
	}
	if !c.seqSeen[side] {
		// The client has not sent yet (e.g. only the server's side was
		// seen so far): a SYN is its opening, unless the server side
		// already saw the end of a previous connection.
		return false
	}
	// An ISN inside the current sequence space is an old duplicate;
	// outside it the client has started over.
	d := s.Seq - c.seqHigh[side]
	return d > reuseWindow && -d > reuseWindow
}

// seqAfter reports whether a is after b in sequence space (RFC 1982).
func seqAfter(a, b uint32) bool { return int32(a-b) > 0 }
