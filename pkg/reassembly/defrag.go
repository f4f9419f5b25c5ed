package reassembly

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// Limits on fragments waiting for the rest of their datagram. A datagram
// whose fragments are not all in within fragmentWait of capture time (the
// Linux default, ipfrag_time) is given up, and so is the oldest when more
// than fragmentHeld bytes or fragmentDatagrams datagrams wait.
const (
	fragmentWait      = 30 * time.Second
	fragmentHeld      = 16 << 20
	fragmentDatagrams = 4096
	// fragmentRemembered caps the reassembled datagrams remembered to know
	// copies of their fragments.
	fragmentRemembered = 65536
)

// defragmenter gathers the fragments of IP datagrams that carry TCP and
// gives each datagram back once all of its fragments are in, as a TCP
// segment seen in the frame that completed it (as Wireshark does).
type defragmenter struct {
	pending map[fragmentKey]*datagram
	order   []*datagram // by first fragment, oldest first; finished ones are skipped
	stale   int         // finished datagrams still in order
	held    int         // captured bytes of the fragments waiting
	lost    Tally       // fragments given up: their datagram never completed
	done    int         // datagrams reassembled
	copies  int         // fragments of datagrams already reassembled: skipped
	// keepCopies has add give back such a fragment with its datagram's
	// segment, as a copy to be kept (a split writes every frame).
	keepCopies bool

	// The datagrams reassembled in the last fragmentWait, oldest first, so
	// that a copy of one of their fragments (a retransmission by the
	// network, a SPAN port that delivers every packet twice) is known for
	// one and not taken for the start of a datagram that never completes.
	completed     map[fragmentKey]completion
	completedKeys []fragmentKey
}

// A completion is when a datagram was reassembled, its length, and the
// segment it carried (without its payload).
type completion struct {
	at    time.Time
	total int
	seg   Segment
}

type fragmentKey struct {
	src, dst netip.Addr
	id       uint32
	ipv6     bool
}

type datagram struct {
	key      fragmentKey
	start    time.Time // the first fragment's capture time
	total    int       // payload length, known once the fragment without MF came; -1 before
	ttl      uint8
	pieces   []fragmentPiece // in arrival order
	covered  []span          // what the pieces cover, by offset, disjoint and not touching
	finished bool
}

// A span is the bytes [start, end) of a datagram's payload.
type span struct{ start, end int }

type fragmentPiece struct {
	offset, length int    // where it goes and how long the IP header says it is
	data           []byte // its captured bytes, copied
	packet         Packet // its record, Data copied: split writes it with the datagram
}

// defragResult is what became of a fragment given to the defragmenter.
type defragResult int

const (
	fragmentPending     defragResult = iota // kept for its datagram, given up, or skipped as a copy
	fragmentReassembled                     // it completed its datagram: the segment is decoded
	fragmentCopyKept                        // a copy of a fragment of a datagram already reassembled, given back (keepCopies)
	fragmentPendingCopy                     // like fragmentPending, and the same bytes as a fragment its datagram already holds
)

// add takes one fragment from packet p. When it completes its datagram,
// add decodes the datagram's TCP segment into s, sets p.Fragments to the
// datagram's other fragments and returns fragmentReassembled; f is left
// as it was.
// The error is that of decoding the reassembled segment.
//
// As Wireshark does, a fragment is gathered only when it carries payload
// and the capture holds all of it. A first fragment the snaplen cut is
// decoded on its own instead (fragmentReassembled: its segment is in its own
// frame, as tshark shows it); any other cut fragment is lost. Reassembling
// cut fragments would move the segment to another frame than tshark's,
// and with it the connection's first frame and so its stream number.
func (d *defragmenter) add(p *Packet, f *Fragment, s *Segment) (defragResult, error) {
	d.expire(p.Timestamp)
	key := fragmentKey{f.Src, f.Dst, f.ID, f.IPv6}
	switch {
	case f.Len == 0:
		return fragmentPending, nil
	case len(f.Data) < f.Len && f.Offset == 0:
		return fragmentReassembled, decodeDatagram(f.Data, f.Len, key, f.TTL, s)
	case len(f.Data) < f.Len:
		d.lost.add(p)
		return fragmentPending, nil
	}
	dg := d.pending[key]
	if c, ok := d.completed[key]; ok && dg == nil && f.Offset+f.Len <= c.total {
		if d.keepCopies {
			// Its datagram's segment, with no payload of its own: the
			// bytes were counted once, with the datagram.
			*s = c.seg
			s.PayloadLen = 0
			return fragmentCopyKept, nil
		}
		d.copies++
		return fragmentPending, nil
	}
	if dg == nil {
		if d.pending == nil {
			d.pending = make(map[fragmentKey]*datagram)
		}
		dg = &datagram{key: key, start: p.Timestamp, total: -1}
		d.pending[key] = dg
		d.order = append(d.order, dg)
	}
	if f.Offset == 0 || dg.ttl == 0 {
		dg.ttl = f.TTL
	}
	again := slices.ContainsFunc(dg.pieces, func(pc fragmentPiece) bool {
		return pc.offset == f.Offset && pc.length == f.Len && bytes.Equal(pc.data, f.Data)
	})
	rec := *p
	rec.Detach()
	rec.Fragments = nil
	dg.pieces = append(dg.pieces, fragmentPiece{
		offset: f.Offset, length: f.Len, data: append([]byte(nil), f.Data...), packet: rec,
	})
	d.held += len(p.Data)
	if !f.More {
		dg.total = f.Offset + f.Len
	}
	dg.cover(f.Offset, f.Offset+f.Len)
	if !dg.complete() {
		d.bound()
		if again {
			return fragmentPendingCopy, nil
		}
		return fragmentPending, nil
	}
	payload := dg.assemble()
	others := make([]Packet, 0, len(dg.pieces)-1)
	for _, pc := range dg.pieces {
		if pc.packet.Frame != p.Frame {
			others = append(others, pc.packet)
		}
	}
	d.finish(dg)
	d.compact()
	d.done++
	slices.SortFunc(others, func(a, b Packet) int { return cmp.Compare(a.Frame, b.Frame) })
	p.Fragments = others
	err := decodeDatagram(payload, dg.total, key, dg.ttl, s)
	seg := *s
	seg.Payload = nil
	d.remember(key, p.Timestamp, dg.total, seg)
	return fragmentReassembled, err
}

// decodeDatagram decodes into s the TCP segment that a datagram's payload
// (length bytes by its IP header) carries, with the IP fields of its
// fragments.
func decodeDatagram(payload []byte, length int, key fragmentKey, ttl uint8, s *Segment) error {
	err := decodeTCP(payload, length, key.src, key.dst, s)
	s.IPv6, s.TTL, s.IPID = key.ipv6, ttl, 0
	if !key.ipv6 {
		s.IPID = uint16(key.id)
	}
	return err
}

// cover adds [start, end) to the datagram's coverage. Merging into the
// sorted spans costs a search and a move of at most the spans there are,
// not a sort of every fragment, so that a datagram sent as thousands of
// fragments (or one fragment repeated) does not take quadratic time.
func (dg *datagram) cover(start, end int) {
	if end <= start {
		return
	}
	i, _ := slices.BinarySearchFunc(dg.covered, start, func(sp span, start int) int { return cmp.Compare(sp.end, start) })
	j := i
	for ; j < len(dg.covered) && dg.covered[j].start <= end; j++ {
		start, end = min(start, dg.covered[j].start), max(end, dg.covered[j].end)
	}
	dg.covered = slices.Replace(dg.covered, i, j, span{start, end})
}

// complete says whether the fragments cover the datagram's payload from
// the first byte to the last, with no hole.
func (dg *datagram) complete() bool {
	return dg.total >= 0 && len(dg.covered) == 1 && dg.covered[0].start == 0 && dg.covered[0].end >= dg.total
}

// assemble returns the payload of a complete datagram.
func (dg *datagram) assemble() []byte {
	sorted := slices.Clone(dg.pieces)
	slices.SortStableFunc(sorted, func(a, b fragmentPiece) int { return cmp.Compare(a.offset, b.offset) })
	payload := make([]byte, 0, dg.total)
	for _, pc := range sorted {
		if end := pc.offset + len(pc.data); end > len(payload) {
			payload = append(payload, pc.data[len(payload)-pc.offset:]...)
		}
	}
	if len(payload) > dg.total {
		payload = payload[:dg.total]
	}
	return payload
}

func (d *defragmenter) finish(dg *datagram) {
	dg.finished = true
	delete(d.pending, dg.key)
	for _, pc := range dg.pieces {
		d.held -= len(pc.packet.Data)
	}
	dg.pieces, dg.covered = nil, nil
}

// compact drops the finished datagrams from order once they are most of
// it: without it, one datagram that never completes, in a capture whose
// clock does not move on (or stepped back), keeps every datagram
// completed after it in memory.
func (d *defragmenter) compact() {
	if d.stale++; d.stale < fragmentDatagrams || d.stale < len(d.order)/2 {
		return
	}
	d.order = slices.DeleteFunc(d.order, func(dg *datagram) bool { return dg.finished })
	d.stale = 0
}

// giveUp drops the oldest waiting datagram, counting its fragments as lost.
func (d *defragmenter) giveUp() {
	dg := d.order[0]
	d.order[0] = nil
	d.order = d.order[1:]
	if dg.finished {
		d.stale--
		return
	}
	for i := range dg.pieces {
		d.lost.add(&dg.pieces[i].packet)
	}
	d.finish(dg)
}

// remember notes a reassembled datagram for fragmentWait, at most
// fragmentRemembered of them.
func (d *defragmenter) remember(key fragmentKey, at time.Time, total int, seg Segment) {
	if d.completed == nil {
		d.completed = make(map[fragmentKey]completion)
	}
	if _, again := d.completed[key]; !again {
		d.completedKeys = append(d.completedKeys, key)
	}
	d.completed[key] = completion{at, total, seg}
	for len(d.completedKeys) > fragmentRemembered {
		d.forgetOldest()
	}
}

func (d *defragmenter) forgetOldest() {
	delete(d.completed, d.completedKeys[0])
	d.completedKeys = d.completedKeys[1:]
}

// expire gives up the datagrams that have waited fragmentWait by now, and
// forgets those reassembled as long ago.
func (d *defragmenter) expire(now time.Time) {
	for len(d.order) > 0 && (d.order[0].finished || now.Sub(d.order[0].start) > fragmentWait) {
		d.giveUp()
	}
	for len(d.completedKeys) > 0 && now.Sub(d.completed[d.completedKeys[0]].at) > fragmentWait {
		d.forgetOldest()
	}
}

// bound gives up the oldest datagrams while too much waits.
func (d *defragmenter) bound() {
	for len(d.order) > 0 && (d.held > fragmentHeld || len(d.pending) > fragmentDatagrams) {
		d.giveUp()
	}
}

// close gives up every datagram still waiting: the capture has ended.
func (d *defragmenter) close() {
	for len(d.order) > 0 {
		d.giveUp()
	}
}
