package reassembly

import (
	"bytes"
	"container/heap"
	"sort"
	"time"
)

// This reassembler is our own rather than gopacket/reassembly because a
// forensics tool must compare the bytes of a retransmission with the first
// copy (a middlebox that rewrites data shows up exactly there), and must
// remember, for every byte, the frame that carried it; gopacket's assembler
// drops overlapping bytes unseen and forgets frames. A test checks that it
// delivers the same bytes as gopacket's on the shared corpus.

// SegmentKind marks what the reassembler made of one TCP segment.
type SegmentKind uint16

// Segment kinds; a segment can be several at once.
const (
	KindData          SegmentKind = 1 << iota // carried new in-order bytes
	KindRetransmitted                         // carried bytes already seen
	KindOutOfOrder                            // arrived before bytes that precede it
	KindKeepAlive                             // a keep-alive probe (one byte or none, just below the next sequence number)
	KindConflict                              // a retransmission whose bytes differ from the first copy
	KindSnaplenCut                            // snaplen cut part of its payload
	KindBeforeStart                           // bytes from before the first byte the capture saw of this direction
)

// SegmentFact is what the capture shows of one packet of a direction. It is
// kept for every packet of an open connection, so it is packed small.
type SegmentFact struct {
	Frame    int
	Nanos    int64  // capture time, Unix nanoseconds (see Time)
	Offset   int64  // stream offset of its first payload byte (relative sequence number)
	Ack      int64  // the peer's stream offset it acknowledges (-1 without ACK)
	Length   int32  // payload length per the IP header
	Captured int32  // payload bytes in the capture
	Window   uint16 // raw window field
	IPID     uint16 // IPv4 identification
	Kind     SegmentKind
	Flags    uint8 // TCP flags
	TTL      uint8 // IPv4 TTL or IPv6 hop limit
}

// Time returns the packet's capture time.
func (f *SegmentFact) Time() time.Time { return time.Unix(0, f.Nanos).UTC() }

// Speaks reports whether the packet carried payload that says something:
// not a keep-alive probe (Windows sends one old byte again).
func (f *SegmentFact) Speaks() bool { return f.Length > 0 && f.Kind&KindKeepAlive == 0 }

// GapReason says why bytes are missing from a stream.
type GapReason uint8

// Why a gap exists.
const (
	GapNotCaptured GapReason = iota + 1 // the peer acknowledged bytes the capture never saw, or they never came
	GapSnaplen                          // snaplen cut them from their packet
	GapBufferFull                       // too much out-of-order data was held; smtpcap gave up waiting
)

// String says why the bytes are missing.
func (g GapReason) String() string {
	switch g {
	case GapSnaplen:
		return "cut by snaplen"
	case GapBufferFull:
		return "out-of-order buffer full"
	}
	return "not captured"
}

// Gap is a range of a stream the capture does not hold.
type Gap struct {
	Start, End int64
	Reason     GapReason
	Frame      int // the frame at which smtpcap noticed it
	Next       int // the frame carrying the first byte after it, if that was captured before Frame; else 0
}

// Conflict is a retransmission whose bytes differ from what was first seen.
type Conflict struct {
	Offset      int64  // stream offset of the first differing byte
	FirstFrame  int    // frame that first carried the byte
	SecondFrame int    // frame of the differing copy
	First       []byte // up to 64 bytes of the first copy, from Offset
	Second      []byte // the same range in the second copy
}

// piece maps a run of stream bytes to the frame that delivered them.
type piece struct {
	start int64
	frame int
}

// pending is out-of-order data held until the bytes before it arrive.
type pending struct {
	offset int64
	data   []byte
	length int64 // the segment's payload length; more than len(data) when snaplen cut it
	frame  int
	order  uint64 // when it was held, among the stream's held segments
}

// before reports whether q is delivered before r: the lower offset first,
// and of two at the same offset the one held first.
func (q *pending) before(r *pending) bool {
	return q.offset < r.offset || q.offset == r.offset && q.order < r.order
}

// heldKey identifies held data for spotting a retransmission of it.
type heldKey struct{ offset, length int64 }

// heldSegments is a stream's out-of-order data. It is a min-heap in
// delivery order rather than a sorted slice because segments may come in
// any order: inserting each at its place in a slice took quadratic time
// when they came in reverse. The set of keys finds a retransmission of
// held data without a scan.
type heldSegments struct {
	heap  pendingHeap
	keys  map[heldKey]struct{}
	bytes int    // captured bytes held
	count uint64 // segments held since h was last empty, to order the next
}

// pendingHeap orders held segments for container/heap, first to deliver
// first.
type pendingHeap []pending

func (h pendingHeap) Len() int           { return len(h) }
func (h pendingHeap) Less(i, j int) bool { return h[i].before(&h[j]) }
func (h pendingHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)        { *h = append(*h, x.(pending)) }
func (h *pendingHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = pending{}
	*h = old[:len(old)-1]
	return q
}

// len returns the number of held segments.
func (h *heldSegments) len() int { return len(h.heap) }

// first returns the held segment to deliver first; h must not be empty.
func (h *heldSegments) first() *pending { return &h.heap[0] }

// add holds a copy of data at offset, unless a segment with the same
// offset and length is held already (a retransmission of it); it reports
// whether it held it.
func (h *heldSegments) add(offset int64, data []byte, length int64, frame int) bool {
	key := heldKey{offset, length}
	if _, ok := h.keys[key]; ok {
		return false
	}
	if h.keys == nil {
		h.keys = map[heldKey]struct{}{}
	}
	h.keys[key] = struct{}{}
	h.count++
	h.bytes += len(data)
	heap.Push(&h.heap, pending{offset: offset, data: bytes.Clone(data), length: length, frame: frame, order: h.count})
	return true
}

// pop removes and returns the held segment to deliver first; h must not
// be empty. Emptied, h lets go of its memory, as most streams hold data
// rarely and briefly.
func (h *heldSegments) pop() pending {
	q := heap.Pop(&h.heap).(pending)
	delete(h.keys, heldKey{q.offset, q.length})
	h.bytes -= len(q.data)
	if len(h.heap) == 0 {
		*h = heldSegments{}
	}
	return q
}

// heldSegmentCost is about what holding a segment costs beyond its
// captured bytes (its record in the heap and its key). The held data is
// bounded in segments too, one per heldSegmentCost bytes of
// Limits.MaxOutOfOrder: segments with few or no captured bytes (cut by
// snaplen) would otherwise pile up without limit.
const heldSegmentCost = 128

// Stream is one direction of a connection: its bytes in sequence order
// and, for every byte, the frame that carried it.
type Stream struct {
	Segments  []SegmentFact // every packet sent in this direction, in capture order
	Gaps      []Gap         // in stream order
	Conflicts []Conflict
	MidStream bool  // the capture did not see this direction's SYN
	Next      int64 // bytes delivered so far (the next expected offset)
	// FactsCut is the first frame whose SegmentFact was not kept because
	// the direction had Limits.MaxSegments already; 0 when all were.
	FactsCut int

	base    uint32 // sequence number of offset 0
	started bool
	// inferredBase is where the peer's ACK said this direction's bytes
	// begin, before any of its packets was seen (its SYN was lost): the
	// base its first packet takes, if that lies within maxInferredGap
	// after it. Set only while !started.
	inferredBase uint32
	hasInferred  bool
	pieces       []piece
	held         heldSegments
	// The bytes delivered but not yet acknowledged by the peer (at most
	// CompareWindow of them): what a retransmission may legitimately repeat,
	// and so what it is compared with. recentBuf[recentStart:] holds them;
	// recentOff is the stream offset of the first.
	recentBuf   []byte
	recentStart int
	recentOff   int64

	mem *streamMemory // the Assembler's recycled memory; nil outside one
}

// Limits bounds what one connection's streams keep.
type Limits struct {
	// MaxOutOfOrder bounds the out-of-order data held per direction (default
	// 4 MiB): its captured bytes, and its segments at one per 128 bytes.
	MaxOutOfOrder int
	MaxSegments   int // segment facts kept per direction (default 1,000,000)
	CompareWindow int // delivered bytes kept to compare retransmissions with (default 256 KiB)
}

func (l Limits) withDefaults() Limits {
	if l.MaxOutOfOrder <= 0 {
		l.MaxOutOfOrder = 4 << 20
	}
	if l.MaxSegments <= 0 {
		l.MaxSegments = 1_000_000
	}
	if l.CompareWindow <= 0 {
		l.CompareWindow = 256 << 10
	}
	return l
}

// maxHeldSegments is how many out-of-order segments a direction may hold.
func (l Limits) maxHeldSegments() int { return max(1, l.MaxOutOfOrder/heldSegmentCost) }

// FrameAt returns the frame that carried the byte at offset, or 0 if the
// capture does not hold it.
func (s *Stream) FrameAt(offset int64) int {
	if offset < 0 || offset >= s.Next {
		return 0
	}
	i := sort.Search(len(s.pieces), func(i int) bool { return s.pieces[i].start > offset }) - 1
	if i < 0 {
		return 0
	}
	return s.pieces[i].frame
}

// Boundary is a place inside a span where one frame's bytes end and the
// next frame's begin.
type Boundary struct {
	Offset int64 // first byte of the later frame
	Before int   // frame before the boundary
	After  int   // frame after it
}

// Frames returns, in order and without repeats, the frames that carried
// the bytes [start, end).
func (s *Stream) Frames(start, end int64) []int {
	var out []int
	if end > s.Next {
		end = s.Next
	}
	if start >= end {
		return nil
	}
	i := sort.Search(len(s.pieces), func(i int) bool { return s.pieces[i].start > start }) - 1
	if i < 0 {
		i = 0
	}
	for ; i < len(s.pieces) && s.pieces[i].start < end; i++ {
		f := s.pieces[i].frame
		if f != 0 && (len(out) == 0 || out[len(out)-1] != f) {
			out = append(out, f)
		}
	}
	return out
}

// Boundaries returns the segment boundaries strictly inside [start, end).
func (s *Stream) Boundaries(start, end int64) []Boundary {
	var out []Boundary
	i := sort.Search(len(s.pieces), func(i int) bool { return s.pieces[i].start > start })
	for ; i < len(s.pieces) && s.pieces[i].start < end && s.pieces[i].start < s.Next; i++ {
		out = append(out, Boundary{Offset: s.pieces[i].start, Before: s.pieces[i-1].frame, After: s.pieces[i].frame})
	}
	return out
}

// GapIn returns the first gap that overlaps [start, end), if any.
func (s *Stream) GapIn(start, end int64) (Gap, bool) {
	// Gaps are declared where the stream stands, so they come in order
	// and never overlap: the first that ends after start is the one.
	i := sort.Search(len(s.Gaps), func(i int) bool { return s.Gaps[i].End > start })
	if i < len(s.Gaps) && s.Gaps[i].Start < end {
		return s.Gaps[i], true
	}
	return Gap{}, false
}

// Consumer receives a connection's bytes in order, in the order the capture
// makes them available: a packet's bytes are delivered when it arrives, or,
// if it came out of order, when the packet that fills the hole before it
// arrives (p is then that packet).
type Consumer interface {
	// Data delivers in-order bytes of one direction at a stream offset. p
	// is the packet being processed, which for held out-of-order bytes is
	// the one that filled the hole before them (Stream.FrameAt names the
	// frame that carried them). data is valid only during the call.
	Data(dir Direction, offset int64, data []byte, p *Packet)
	// Gap says bytes [offset, offset+n) of dir will never come.
	Gap(dir Direction, offset, n int64, reason GapReason, p *Packet)
}

// unwrap turns a 32-bit sequence number into a stream offset near next.
func (s *Stream) unwrap(seq uint32) int64 {
	return s.Next + int64(int32(seq-(s.base+uint32(s.Next))))
}

// add processes one segment of this direction. peer is the other
// direction, whose bytes this segment acknowledges. With inferHoles, a
// payload that acknowledges peer bytes never seen first declares them lost
// (the Assembler asks for it once it has waited a packet for them).
func (s *Stream) add(seg *Segment, p *Packet, peer *Stream, lim Limits, dir Direction, out Consumer, inferHoles bool) {
	fact := SegmentFact{
		Frame: p.Frame, Nanos: p.Timestamp.UnixNano(), Flags: seg.Flags, Window: seg.Window,
		Length: int32(seg.PayloadLen), Captured: int32(len(seg.Payload)), TTL: seg.TTL, IPID: seg.IPID, Ack: -1,
	}
	if seg.Flags&FlagSYN != 0 && !s.started {
		s.base, s.started = seg.Seq+1, true
	}
	if !s.started {
		s.base, s.started, s.MidStream = seg.Seq, true, true
		if gap := int64(seg.Seq - s.inferredBase); s.hasInferred && gap >= 0 && gap <= maxInferredGap {
			// The peer acknowledged our SYN before any of our packets was
			// captured: the bytes before this one were lost (a greeting).
			s.base = s.inferredBase
		}
	}
	off := s.unwrap(seg.Seq)
	if seg.Flags&(FlagACK|FlagSYN|FlagRST) == FlagACK && !peer.started && !peer.hasInferred && !s.MidStream && off == 0 && seg.Ack != 0 {
		// The peer's SYN-ACK was not captured, but this side, whose SYN
		// was and which has sent nothing yet, acknowledges it: the peer's
		// bytes begin where this ACK points. Kept until the peer's first
		// packet comes (never for a one-sided capture, or a SYN-ACK that
		// comes after all), so that a greeting the capture lost is a gap.
		peer.inferredBase, peer.hasInferred = seg.Ack, true
	}
	if seg.Flags&FlagSYN != 0 {
		off++ // the payload of a SYN (TFO) starts after it
	}
	fact.Offset = off
	if seg.Flags&(FlagSYN|FlagACK) == FlagSYN|FlagACK && peer.started && !peer.MidStream &&
		peer.Next == 0 && peer.held.len() == 0 && peer.base != seg.Ack {
		// The SYN-ACK answers another SYN of the peer's than the first
		// seen (a client that tried again with a new ISN): the peer's
		// bytes count from the SYN answered.
		peer.base = seg.Ack
	}
	if seg.Flags&FlagACK != 0 && peer.started {
		fact.Ack = peer.unwrap(seg.Ack)
		peer.acked(fact.Ack)
	}
	if inferHoles && seg.PayloadLen > 0 && fact.Ack > peer.Next+1 && fact.Ack-peer.Next <= maxInferredGap {
		// This side answers bytes of the peer's that the capture never
		// saw (more than the one a FIN takes): declare them lost before
		// this payload, which may be the reply to them, so that whoever
		// reads the two streams in order learns of the hole first. (The
		// Assembler has waited one packet for them to come late.)
		peer.skipHeld(fact.Ack, p, dir.other(), out, lim)
		peer.skipTo(fact.Ack, GapNotCaptured, 0, p, dir.other(), out)
	}
	if seg.PayloadLen > 0 {
		fact.Kind = s.payload(seg, p, off, lim, dir, out)
	} else if seg.Flags&(FlagSYN|FlagFIN|FlagRST) == 0 && off == s.Next-1 {
		fact.Kind |= KindKeepAlive
	}
	if len(s.Segments) < lim.MaxSegments {
		s.Segments = s.mem.factPool().append(s.Segments, fact)
	} else if s.FactsCut == 0 {
		s.FactsCut = p.Frame
	}
	// The peer acknowledged bytes we hold no copy of: the capture lost them.
	if fact.Ack > peer.Next && peer.held.len() > 0 {
		peer.skipHeld(fact.Ack, p, dir.other(), out, lim)
	}
}

func (d Direction) other() Direction { return 1 - d }

// maxInferredGap bounds a hole declared from an acknowledgement alone: an
// ACK further ahead than any receive window (sequence numbers rewritten on
// one side only, say) is nonsense, not lost bytes.
const maxInferredGap = 64 << 20

// acksUnseen reports whether seg, a segment of this stream's side,
// acknowledges bytes of the peer's beyond what the peer has delivered (by
// more than a FIN), within maxInferredGap.
func (s *Stream) acksUnseen(seg *Segment, peer *Stream) bool {
	if seg.Flags&FlagACK == 0 || !peer.started {
		return false
	}
	ack := peer.unwrap(seg.Ack)
	return ack > peer.Next+1 && ack-peer.Next <= maxInferredGap
}

// startsAtOrBefore reports whether seg's payload starts at or before the
// next byte this stream expects: it fills the stream's hole, if any.
func (s *Stream) startsAtOrBefore(seg *Segment) bool {
	return !s.started || s.unwrap(seg.Seq) <= s.Next
}

func (s *Stream) payload(seg *Segment, p *Packet, off int64, lim Limits, dir Direction, out Consumer) SegmentKind {
	var kind SegmentKind
	data := seg.Payload
	end := off + int64(seg.PayloadLen)
	if seg.Missing() > 0 {
		kind |= KindSnaplenCut
	}
	if seg.PayloadLen == 1 && off == s.Next-1 {
		return KindKeepAlive
	}
	if off < 0 {
		// Bytes from before the first byte seen of a mid-stream capture.
		if end <= 0 {
			return kind | KindBeforeStart
		}
		cut := -off
		if cut >= int64(len(data)) {
			data = nil
		} else {
			data = data[cut:]
		}
		off = 0
		kind |= KindBeforeStart
	}
	if off < s.Next {
		// Some or all of it was seen: compare with the first copy.
		kind |= KindRetransmitted
		overlap := min(end, s.Next) - off
		if s.compare(off, data[:min(int64(len(data)), overlap)], p.Frame) {
			kind |= KindConflict
		}
		if end <= s.Next {
			return kind
		}
		skip := s.Next - off
		if skip < int64(len(data)) {
			data = data[skip:]
		} else {
			data = nil
		}
		off = s.Next
	}
	if off > s.Next {
		kind |= KindOutOfOrder
		s.hold(off, data, end-off, p, lim, dir, out)
		return kind
	}
	kind |= KindData
	s.deliver(data, end-off, p, dir, out, lim)
	s.drain(p, dir, out, lim)
	return kind
}

// deliver passes in-order bytes on: the captured ones, then a snaplen gap
// for the rest of the segment's length.
func (s *Stream) deliver(data []byte, length int64, p *Packet, dir Direction, out Consumer, lim Limits) {
	s.deliverFrom(data, length, p.Frame, p, dir, out, lim)
}

// deliverFrom is deliver for bytes carried by frame but available at p.
func (s *Stream) deliverFrom(data []byte, length int64, frame int, p *Packet, dir Direction, out Consumer, lim Limits) {
	if len(data) > 0 {
		s.pieces = s.mem.piecePool().append(s.pieces, piece{start: s.Next, frame: frame})
		out.Data(dir, s.Next, data, p)
		s.remember(data, lim)
		s.Next += int64(len(data))
	}
	if missing := length - int64(len(data)); missing > 0 {
		s.gap(missing, GapSnaplen, 0, p, dir, out)
	}
}

// gap declares the next n bytes missing; next is the frame that carries
// the byte after them, if captured already (0 if not).
func (s *Stream) gap(n int64, reason GapReason, next int, p *Packet, dir Direction, out Consumer) {
	s.Gaps = append(s.Gaps, Gap{Start: s.Next, End: s.Next + n, Reason: reason, Frame: p.Frame, Next: next})
	s.pieces = s.mem.piecePool().append(s.pieces, piece{start: s.Next, frame: 0})
	out.Gap(dir, s.Next, n, reason, p)
	s.Next += n
	s.recentBuf, s.recentStart = s.recentBuf[:0], 0
	s.recentOff = s.Next
}

// recent returns the delivered bytes still kept for comparison.
func (s *Stream) recent() []byte { return s.recentBuf[s.recentStart:] }

// remember keeps delivered bytes until the peer acknowledges them (at most
// CompareWindow: a capture without the peer's ACKs must not grow forever).
func (s *Stream) remember(data []byte, lim Limits) {
	if s.recentOff+int64(len(s.recent())) != s.Next {
		s.recentBuf, s.recentStart, s.recentOff = s.recentBuf[:0], 0, s.Next
	}
	if s.recentStart > 0 && s.recentStart >= len(s.recentBuf)/2 {
		n := copy(s.recentBuf, s.recentBuf[s.recentStart:])
		s.recentBuf, s.recentStart = s.recentBuf[:n], 0
	}
	if cap(s.recentBuf) == 0 {
		s.recentBuf = s.mem.recentBuffer()
	}
	s.recentBuf = append(s.recentBuf, data...)
	if over := len(s.recent()) - lim.CompareWindow; over > 0 {
		s.recentStart += over
		s.recentOff += int64(over)
	}
}

// acked forgets the delivered bytes below offset: the peer has them, so
// they will not be retransmitted.
func (s *Stream) acked(offset int64) {
	if drop := offset - s.recentOff; drop > 0 {
		drop = min(drop, int64(len(s.recent())))
		s.recentStart += int(drop)
		s.recentOff += drop
		if s.recentStart == len(s.recentBuf) {
			// All acknowledged: the buffer serves another stream until
			// this one sends again.
			s.mem.releaseRecent(s.recentBuf)
			s.recentBuf, s.recentStart = nil, 0
		}
	}
}

// compare checks a retransmitted copy against the bytes first delivered;
// it records a Conflict and returns true when they differ.
func (s *Stream) compare(off int64, data []byte, frame int) bool {
	recent := s.recent()
	lo := max(off, s.recentOff)
	hi := min(off+int64(len(data)), s.recentOff+int64(len(recent)))
	if lo >= hi {
		return false
	}
	a := recent[lo-s.recentOff : hi-s.recentOff]
	b := data[lo-off : hi-off]
	if bytes.Equal(a, b) {
		return false
	}
	i := 0
	for a[i] == b[i] {
		i++
	}
	at := lo + int64(i)
	n := min(64, len(a)-i)
	s.Conflicts = append(s.Conflicts, Conflict{
		Offset: at, FirstFrame: s.FrameAt(at), SecondFrame: frame,
		First: bytes.Clone(a[i : i+n]), Second: bytes.Clone(b[i : i+n]),
	})
	return true
}

// hold keeps out-of-order data until the hole before it is filled. When
// too much is held, it gives up on the first hole: a gap.
func (s *Stream) hold(off int64, data []byte, length int64, p *Packet, lim Limits, dir Direction, out Consumer) {
	if !s.held.add(off, data, length, p.Frame) {
		return // a retransmission of held data
	}
	if s.held.bytes > lim.MaxOutOfOrder || s.held.len() > lim.maxHeldSegments() {
		first := s.held.first()
		s.skipTo(first.offset, GapBufferFull, first.frame, p, dir, out)
		s.drain(p, dir, out, lim)
	}
}

// skipTo declares the bytes up to off lost; next is the frame carrying
// the byte at off, if captured (0 if not).
func (s *Stream) skipTo(off int64, reason GapReason, next int, p *Packet, dir Direction, out Consumer) {
	if off > s.Next {
		s.gap(off-s.Next, reason, next, p, dir, out)
	}
}

// drain delivers held data that has become in order.
func (s *Stream) drain(p *Packet, dir Direction, out Consumer, lim Limits) {
	for s.held.len() > 0 && s.held.first().offset <= s.Next {
		q := s.held.pop()
		end := q.offset + q.length
		if end <= s.Next {
			continue
		}
		// The bytes become available now, with the packet that filled the
		// hole (p); the byte map still names the frame that carried them.
		var data []byte
		if skip := s.Next - q.offset; skip < int64(len(q.data)) {
			data = q.data[skip:]
		}
		s.deliverFrom(data, end-s.Next, q.frame, p, dir, out, lim)
	}
}

// skipHeld declares lost the holes before held data that starts below
// until, delivering the data after each hole. With until the peer's
// acknowledgement, the receiver got bytes the capture did not; with no
// bound (math.MaxInt64), the stream has ended.
func (s *Stream) skipHeld(until int64, p *Packet, dir Direction, out Consumer, lim Limits) {
	for s.held.len() > 0 && s.held.first().offset < until {
		first := s.held.first()
		s.skipTo(first.offset, GapNotCaptured, first.frame, p, dir, out)
		s.drain(p, dir, out, lim)
	}
}
