package findings

import (
	"fmt"
	"sort"
	"time"

	"github.com/smtpcap/smtpcap/internal/wording"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// Thresholds of detectLargeSegmentsLost.
const (
	// lostSends is how often a segment must be sent, the first time
	// included, before its loss says more than ordinary packet loss.
	lostSends = 3
	// largeSegment is the least payload of a segment whose loss can be
	// the path's MTU: every IPv4 path carries 576-byte datagrams.
	largeSegment = 536
	// largeSegmentIPv6 is the same over IPv6, whose every link carries
	// 1280-byte packets (RFC 8200, section 5).
	largeSegmentIPv6 = 1280 - 40 - 20
)

// A sentSegment is one segment's bytes (its stream offset and length)
// with every frame that sent them, in capture order.
type sentSegment struct {
	offset int64
	length int32
	frames []int
	first  int64 // Unix nanoseconds of the first send
	last   int64 // and of the last
}

// detectLargeSegmentsLost finds a path-MTU black hole, seen from the
// sender's side: segments of some size are sent again and again and the
// peer never acknowledges them, while smaller segments of the same
// connection get through. A sender that then resends the same bytes in
// smaller segments (TCP MTU probing) gets through, late.
func detectLargeSegmentsLost(b builder, _ Options) []Finding {
	var out []Finding
	large := int32(largeSegment)
	if b.s.Conn.Client().Addr().Unmap().Is6() {
		large = largeSegmentIPv6
	}
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		st, peer := b.s.Stream(dir), b.s.Stream(1-dir)
		if st == nil || peer == nil || !resendsLarge(st.Segments, large) {
			continue
		}
		if f, ok := largeSegmentsLost(b, dir, st.Segments, peer.Segments, large); ok {
			out = append(out, f)
		}
	}
	return out
}

// resendsLarge reports whether any segment of at least large bytes was a
// retransmission: without one there is nothing to look for, which is
// almost always.
func resendsLarge(segs []reassembly.SegmentFact, large int32) bool {
	for i := range segs {
		if sf := &segs[i]; sf.Kind&reassembly.KindRetransmitted != 0 && sf.Length >= large {
			return true
		}
	}
	return false
}

// sendHistory is one direction's segments as the black-hole test looks at
// them: each distinct segment with its sends, the retransmissions, and the
// peer's ACKs with the highest acknowledged offset so far at each.
type sendHistory struct {
	sent    []sentSegment
	resends []*reassembly.SegmentFact // only retransmissions can resend bytes in smaller pieces
	acks    []reassembly.SegmentFact
	highest []int64 // highest[i]: the highest ACK in acks[:i+1]
}

func newSendHistory(segs, acks []reassembly.SegmentFact) *sendHistory {
	h := &sendHistory{acks: acks, highest: make([]int64, len(acks))}
	type key struct {
		offset int64
		length int32
	}
	index := map[key]int{}
	for i := range segs {
		sf := &segs[i]
		if !sf.Speaks() {
			continue
		}
		if sf.Kind&reassembly.KindRetransmitted != 0 {
			h.resends = append(h.resends, sf)
		}
		k := key{sf.Offset, sf.Length}
		j, ok := index[k]
		if !ok {
			j = len(h.sent)
			index[k] = j
			h.sent = append(h.sent, sentSegment{offset: sf.Offset, length: sf.Length, first: sf.Nanos})
		}
		h.sent[j].frames = append(h.sent[j].frames, sf.Frame)
		h.sent[j].last = sf.Nanos
	}
	for i := range acks {
		h.highest[i] = acks[i].Ack
		if i > 0 {
			h.highest[i] = max(h.highest[i], h.highest[i-1])
		}
	}
	return h
}

// ackedAt returns the first of the peer's packets acknowledging every byte
// before end.
func (h *sendHistory) ackedAt(end int64) (*reassembly.SegmentFact, bool) {
	i := sort.Search(len(h.highest), func(i int) bool { return h.highest[i] >= end })
	if i == len(h.highest) {
		return nil, false
	}
	return &h.acks[i], true
}

// overlaps reports whether sf carried any of the n bytes from offset off.
func overlaps(sf *reassembly.SegmentFact, off int64, n int32) bool {
	return sf.Offset < off+int64(n) && off < sf.Offset+int64(sf.Length)
}

// smallerResend returns the first packet after s was first sent that
// carried some of its bytes again in a smaller segment, before the time
// limit (0: none).
func (h *sendHistory) smallerResend(s *sentSegment, before int64) (*reassembly.SegmentFact, bool) {
	for _, sf := range h.resends {
		if sf.Nanos > s.first && (before == 0 || sf.Nanos < before) && sf.Length < s.length && overlaps(sf, s.offset, s.length) {
			return sf, true
		}
	}
	return nil, false
}

// throughSmaller returns the first smaller resend of some of s's bytes that
// got through as it was sent (the peer acknowledged its bytes before they
// went again), and that acknowledgement.
func (h *sendHistory) throughSmaller(s *sentSegment) (r, ack *reassembly.SegmentFact, ok bool) {
candidates:
	for i, sf := range h.resends {
		if sf.Nanos <= s.first || sf.Length >= s.length || !overlaps(sf, s.offset, s.length) {
			continue
		}
		a, acked := h.ackedAt(sf.Offset + int64(sf.Length))
		if !acked || a.Nanos < sf.Nanos {
			continue
		}
		for _, later := range h.resends[i+1:] {
			if later.Nanos >= a.Nanos {
				break
			}
			if overlaps(later, sf.Offset, sf.Length) {
				continue candidates // its bytes went again before the ACK
			}
		}
		return sf, a, true
	}
	return nil, nil, false
}

// largeSegmentsLost looks for the black hole in one direction's segments
// of at least large bytes, given the peer's for their ACKs.
func largeSegmentsLost(b builder, dir smtpparse.Direction, segs, acks []reassembly.SegmentFact, large int32) (Finding, bool) {
	h := newSendHistory(segs, acks)
	// The largest segment that got through as it was sent.
	passed := int32(0)
	for i := range h.sent {
		s := &h.sent[i]
		if s.length <= passed {
			continue
		}
		ack, ok := h.ackedAt(s.offset + int64(s.length))
		if !ok {
			continue
		}
		// Acknowledged after its bytes went again in smaller segments, it
		// did not get through as it was.
		if _, resent := h.smallerResend(s, ack.Nanos); !resent {
			passed = s.length
		}
	}
	if passed == 0 {
		return Finding{}, false // nothing got through: not a matter of size
	}
	for i := range h.sent {
		s := &h.sent[i]
		if len(s.frames) < lostSends || s.length <= passed || s.length < large {
			continue
		}
		// A black hole swallows only what is too large: the peer still
		// gets through (a duplicate ACK for a smaller segment, a reply, a
		// timeout's 421). Silence from the peer after the first try is a
		// path or a peer gone, not a matter of size.
		if len(acks) == 0 || acks[len(acks)-1].Nanos <= s.first {
			continue
		}
		tries := fmt.Sprintf("the %s's %d-byte segment at offset %d was sent %s in %.1f s (frames %s) and never acknowledged, while its segments of up to %d bytes were",
			dir, s.length, s.offset, wording.Plural(len(s.frames), "time", "times"), time.Duration(s.last-s.first).Seconds(), framesText(s.frames, 8), passed)
		summary := tries + ": a path-MTU black hole"
		frames := append([]int(nil), s.frames...)
		sev := Error
		// Had it got through as it was, passed would be its length at
		// least. A smaller resend of its bytes that was acknowledged is
		// how the sender got round the hole.
		if r, ack, ok := h.throughSmaller(s); ok {
			sev = Warning
			summary = fmt.Sprintf("%s; then the %s resent the bytes in smaller segments, and %d bytes in frame %d got through (acknowledged in frame %d), %.1f s after the first try: a path-MTU black hole that the %s worked around",
				tries, dir, r.Length, r.Frame, ack.Frame, time.Duration(ack.Nanos-s.first).Seconds(), dir)
			frames = append(frames, r.Frame, ack.Frame)
		}
		f := b.conn("large-segments-lost", sev, phaseAtOffset(b, dir, s.offset), frames, time.Unix(0, s.first).UTC(), summary)
		f.Direction, f.Offset = dir.String(), s.offset
		return f, true
	}
	return Finding{}, false
}
