package reassembly

import (
	"maps"
	"math"
	"slices"
)

// ConsumerFactory returns the consumer of a new connection's bytes, or nil
// when the connection is of no interest (its bytes are then not kept).
type ConsumerFactory func(c *Conn) Consumer

// assembly is the reassembly state of one connection.
type assembly struct {
	streams  [2]*Stream // by side (0: the first packet's sender)
	consumer Consumer
	deferred *deferredSegment // a segment waiting one packet, see AddSide
}

// deferredSegment is a segment with payload whose ACK passes bytes of the
// peer's that have not been seen, kept (copied) until the next packet of
// its connection says whether they were lost or only came later in the
// file.
type deferredSegment struct {
	side int
	dir  Direction
	seg  Segment
	pkt  Packet
}

// Assembler turns the segments of tracked connections into ordered byte
// streams, delivered to the consumers a factory makes. It keeps its state
// apart from the Conns, so one goroutine can track connections while
// others assemble them: each connection must be assembled by one
// Assembler, in packet order.
type Assembler struct {
	limits  Limits
	factory ConsumerFactory
	conns   map[*Conn]*assembly
	mem     streamMemory
	// The connection of the last segment and its state: a connection's
	// segments mostly come in runs (a window of data, its ACKs), and a
	// map lookup costs a cache miss or two a packet (three in four
	// segments hit this on a generated gateway capture).
	lastConn *Conn
	lastAs   *assembly
}

// NewAssembler returns an assembler.
func NewAssembler(limits Limits, factory ConsumerFactory) *Assembler {
	return &Assembler{limits: limits.withDefaults(), factory: factory, conns: map[*Conn]*assembly{}}
}

// Add assembles one segment of c, on the goroutine that tracks c.
func (a *Assembler) Add(c *Conn, s *Segment, p *Packet) {
	side := c.Side(s.Src)
	a.AddSide(c, side, c.DirectionOfSide(side), s, p)
}

// AddSide assembles one segment sent by side of c, whose direction the
// caller determined when it tracked the segment. It reads nothing of c but
// its identity, so it may run on another goroutine than the tracker.
func (a *Assembler) AddSide(c *Conn, side int, dir Direction, s *Segment, p *Packet) {
	as, ok := a.lastAs, c == a.lastConn && c != nil
	if !ok {
		as, ok = a.conns[c]
	}
	if !ok {
		as = &assembly{}
		if a.factory != nil {
			as.consumer = a.factory(c)
		}
		if as.consumer != nil {
			as.streams = [2]*Stream{{mem: &a.mem}, {mem: &a.mem}}
		}
		a.conns[c] = as
	}
	a.lastConn, a.lastAs = c, as
	if as.consumer == nil {
		return
	}
	st, peer := as.streams[side], as.streams[1-side]
	if d := as.deferred; d != nil {
		as.deferred = nil
		if side != d.side && s.PayloadLen > 0 && st.startsAtOrBefore(s) {
			// The bytes the deferred segment acknowledged were captured
			// after it (capture on several CPUs, a merge with clock skew):
			// take them first, as the receiver did.
			st.add(s, p, peer, a.limits, dir, as.consumer, false)
			a.addDeferred(as, d)
			return
		}
		a.addDeferred(as, d) // the bytes were lost: it declares the hole
	}
	if s.PayloadLen > 0 && st.acksUnseen(s, peer) {
		d := &deferredSegment{side: side, dir: dir, seg: *s, pkt: *p}
		d.seg.Payload = append([]byte(nil), s.Payload...)
		d.pkt.Data = nil // consumers are given bytes, not the frame
		as.deferred = d
		return
	}
	st.add(s, p, peer, a.limits, dir, as.consumer, false)
}

func (a *Assembler) addDeferred(as *assembly, d *deferredSegment) {
	as.streams[d.side].add(&d.seg, &d.pkt, as.streams[1-d.side], a.limits, d.dir, as.consumer, true)
}

// Streams returns c's client and server streams (nil if not assembled).
// dirOfSide0 is the direction of the side that sent c's first packet.
func (a *Assembler) Streams(c *Conn, dirOfSide0 Direction) (client, server *Stream) {
	as := a.conns[c]
	if as == nil || as.streams[0] == nil {
		return nil, nil
	}
	if dirOfSide0 == ClientToServer {
		return as.streams[0], as.streams[1]
	}
	return as.streams[1], as.streams[0]
}

// Finish flushes c's held data (declaring the holes before it gaps) and
// forgets it; the Streams stay valid for the caller. last is the packet at
// which this happens. dirOfSide0 is the direction of c's first sender.
func (a *Assembler) Finish(c *Conn, dirOfSide0 Direction, last *Packet) {
	as := a.conns[c]
	if as == nil {
		return
	}
	delete(a.conns, c)
	if a.lastConn == c {
		a.lastConn, a.lastAs = nil, nil
	}
	if as.consumer == nil {
		return
	}
	if d := as.deferred; d != nil {
		as.deferred = nil
		a.addDeferred(as, d)
	}
	for side, st := range as.streams {
		dir := dirOfSide0
		if side == 1 {
			dir = 1 - dir
		}
		st.skipHeld(math.MaxInt64, last, dir, as.consumer, a.limits) // the stream has ended
		// The comparison buffer is not needed any more: keep it for the
		// next connection. The streams outlive the Assembler's use of them,
		// so they let go of its memory.
		a.mem.releaseRecent(st.recentBuf)
		st.recentBuf, st.recentStart, st.mem = nil, 0, nil
	}
}

// FinishAll finishes every connection still held, in stream order.
// dirOfSide0 reports each one's direction of side 0.
func (a *Assembler) FinishAll(last *Packet, dirOfSide0 func(*Conn) Direction) {
	held := slices.SortedFunc(maps.Keys(a.conns), func(x, y *Conn) int { return x.Stream - y.Stream })
	for _, c := range held {
		a.Finish(c, dirOfSide0(c), last)
	}
}

// Recycle takes back the memory of a finished connection's stream, whose
// facts nobody will read again: its segment facts and frame map go to the
// next streams this Assembler grows. The stream is left empty. Call it on
// the Assembler's own goroutine, and only when nothing holds the stream's
// Segments or asks it for frames any more.
func (a *Assembler) Recycle(st *Stream) {
	if st == nil {
		return
	}
	a.mem.facts.release(st.Segments)
	a.mem.pieces.release(st.pieces)
	st.Segments, st.pieces = nil, nil
}
