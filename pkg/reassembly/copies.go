package reassembly

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"time"
)

// copyWindow is how close in capture time a segment must follow an
// identical one to be taken for a copy of it: the same packet captured on
// two interfaces (tcpdump -i any where traffic crosses a bridge) comes
// microseconds after the first (at most 345 µs in testdata/pcaps/copies),
// while a sender's own retransmission waits at least a round trip, and
// carries another IP identification.
const copyWindow = 5 * time.Millisecond

// sameLinkWindow is copyWindow for a segment without an IP identification
// captured where the first was: a tail-loss probe resends the last segment
// 2 ms or more after it, with nothing from the peer in between.
const sameLinkWindow = time.Millisecond

// payloadEnds is how many bytes at each end of a payload a copy's must
// match (through a digest): the TCP checksum cannot stand for the payload
// in a capture taken on the sending host, which holds what checksum
// offload left there, the same for every segment of one length. (Where
// the checksum is real, it covers the middle too.)
const payloadEnds = 32

// recentCopies is how many of the latest segments a copy is looked for
// among: copies captured on several interfaces lie close together.
const recentCopies = 16

// linkPrefix is how many leading bytes of a frame's link header (never
// its IP header, whose ECN bits a retransmission may clear) tell the
// interface or path it was captured on: a Linux cooked header's interface
// and packet type, Ethernet addresses.
const linkPrefix = 16

// A copy is the same IP packet: everything the sender put in it but the
// TTL, which a router between two capture points lowers, with the
// payload's ends by a digest, and the TCP options and IPv6 flow label,
// which tell a resending (a new timestamp) from a copy where the checksum
// cannot (offload leaves it the same on the sending host). All of it is mixed into one 64-bit
// fingerprint per segment (two segments that differ share one about once
// in 10^19 comparisons), so that the look for a copy, made for every
// segment read, is a few multiplications and 16 compares.

// recentSegment is one of the latest segments, kept to spot its copies.
type recentSegment struct {
	flow  uint64 // its addresses and ports, by direction
	where uint64 // where it was captured: input file, pcapng interface, link header
	at    int64  // capture time, Unix nanoseconds
	frame int
	input int // the input file it came from
}

// copyFilter spots segments that are copies of one just before them.
type copyFilter struct {
	fingerprints [recentCopies]uint64 // of each recent segment, the whole IP packet but its TTL
	recent       [recentCopies]recentSegment
	next         int
}

// mix folds v into the digest h. It depends on h^v alone, so a digest
// must start from digestStart, never from two raw values.
func mix(h, v uint64) uint64 {
	hi, lo := bits.Mul64(h^v, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

// digestStart is where every digest starts: mixing a first value into it
// spreads the value before the next is folded in.
const digestStart = 0x243f6a8885a308d3

// flowDigest mixes a direction's addresses and ports.
func flowDigest(src, dst netip.AddrPort) uint64 {
	h := mix(digestStart, uint64(src.Port())<<16|uint64(dst.Port()))
	if src.Addr().Is4() && dst.Addr().Is4() {
		a, b := src.Addr().As4(), dst.Addr().As4()
		return mix(h, uint64(binary.LittleEndian.Uint32(a[:]))<<32|uint64(binary.LittleEndian.Uint32(b[:])))
	}
	a, b := src.Addr().As16(), dst.Addr().As16()
	h = mix(mix(h, binary.LittleEndian.Uint64(a[:8])), binary.LittleEndian.Uint64(a[8:]))
	return mix(mix(h, binary.LittleEndian.Uint64(b[:8])), binary.LittleEndian.Uint64(b[8:]))
}

// copyAt returns the frame and the input file of the recent segment p's
// segment s is a copy of, or 0 when it is none, and remembers s. A copy is the same IP packet
// within copyWindow. Without an IP identification to tell two sendings
// apart (IPv6, or an IPv4 sender that leaves it 0), the same bytes sent
// twice are a copy only when captured at another point (another input
// file, pcapng interface or link header), or within sameLinkWindow with
// nothing from the other way in between: a duplicate ACK, or a fast
// retransmission, answers what the peer sent; and never for a RST, which a
// closed socket sends, the same each time, for every segment that reaches
// it, however quickly they came.
func (f *copyFilter) copyAt(s *Segment, p *Packet) (frame, input int) {
	flow := flowDigest(s.Src, s.Dst)
	fp := mix(flow, uint64(s.Seq)<<32|uint64(s.Ack))
	fp = mix(fp, uint64(s.PayloadLen)|uint64(s.IPID)<<32|uint64(s.Window)<<48)
	fp = mix(fp, uint64(s.Checksum)|uint64(s.Flags)<<16|uint64(s.FlowLabel)<<32)
	fp = mix(fp, payloadDigest(s.Payload))
	fp = mix(fp, payloadDigest(s.Options))
	var link [linkPrefix]byte
	copy(link[:], p.Data[:min(s.LinkLen, linkPrefix, len(p.Data))])
	where := mix(digestStart, uint64(p.Input)<<32|uint64(p.Interface)<<8|uint64(s.LinkLen))
	where = mix(mix(where, binary.LittleEndian.Uint64(link[:8])), binary.LittleEndian.Uint64(link[8:]))
	at := p.Timestamp.UnixNano()
	for i, q := range f.fingerprints {
		if q != fp {
			continue
		}
		r := &f.recent[i]
		if at < r.at || at-r.at > int64(copyWindow) || r.frame == 0 {
			continue
		}
		if s.IPID == 0 && r.where == where &&
			(s.Flags&FlagRST != 0 || at-r.at > int64(sameLinkWindow) || f.answeredSince(i, flowDigest(s.Dst, s.Src))) {
			continue
		}
		return r.frame, r.input
	}
	f.fingerprints[f.next] = fp
	f.recent[f.next] = recentSegment{flow, where, at, p.Frame, p.Input}
	f.next = (f.next + 1) % recentCopies
	return 0, 0
}

// answeredSince reports whether a segment sent the way reverse stands for
// was captured after the recent segment in slot i.
func (f *copyFilter) answeredSince(i int, reverse uint64) bool {
	for j := (i + 1) % recentCopies; j != f.next; j = (j + 1) % recentCopies {
		if f.recent[j].flow == reverse {
			return true
		}
	}
	return false
}

// payloadDigest mixes the first and last payloadEnds bytes of a payload
// (all of a shorter one) into 64 bits: a few loads and multiplications,
// for every segment read. Not a hash against adversaries: it tells apart
// the copies of one packet from other bytes sent with the same sequence
// number, length and IP identification.
func payloadDigest(b []byte) uint64 {
	h := mix(digestStart, uint64(len(b)))
	if n := len(b); n >= 2*payloadEnds {
		for _, at := range [...]int{0, 8, 16, 24, n - 32, n - 24, n - 16, n - 8} {
			h = mix(h, binary.LittleEndian.Uint64(b[at:]))
		}
		return h
	}
	for len(b) >= 8 {
		h, b = mix(h, binary.LittleEndian.Uint64(b)), b[8:]
	}
	var tail [8]byte
	copy(tail[:], b)
	return mix(h, binary.LittleEndian.Uint64(tail[:]))
}
