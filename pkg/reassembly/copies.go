package reassembly

import (
	"hash/maphash"
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
// match (through a hash): the TCP checksum cannot stand for the payload,
// since a capture taken on the sending host holds what checksum offload
// left there, the same for every segment of one length.
const payloadEnds = 32

// recentCopies is how many of the latest segments a copy is looked for
// among: copies captured on several interfaces lie close together.
const recentCopies = 16

// linkPrefix is how many leading bytes of a frame's link header (never
// its IP header, whose ECN bits a retransmission may clear) tell the
// interface or path it was captured on: a Linux cooked header's interface
// and packet type, Ethernet addresses.
const linkPrefix = 16

// copyKey is what makes two segments the same IP packet: everything the
// sender put in it but the TTL, which a router between two capture points
// lowers, with the payload's ends by a hash.
type copyKey struct {
	src, dst netip.AddrPort
	seq, ack uint32
	length   int
	payload  uint64 // hash of the payload's first and last payloadEnds bytes
	ipID     uint16
	window   uint16
	checksum uint16
	flags    uint8
}

// recentSegment is one of the latest segments, kept to spot its copies.
type recentSegment struct {
	key   copyKey
	at    int64 // capture time, Unix nanoseconds
	frame int
	where capturePoint
}

// capturePoint is where a frame was captured, as far as the capture says:
// its input file, its pcapng interface, the start of its link header.
type capturePoint struct {
	input, iface int
	linkLen      int
	link         [linkPrefix]byte
}

// copyFilter spots segments that are copies of one just before them.
type copyFilter struct {
	quick  [recentCopies]uint64 // a cheap fingerprint of each recent segment, for a first look
	recent [recentCopies]recentSegment
	next   int
	seed   maphash.Seed
}

// fingerprint mixes the fields of a segment most likely to differ.
func fingerprint(s *Segment) uint64 {
	return uint64(s.Seq)<<32 ^ uint64(s.Ack) ^ uint64(s.Checksum)<<16 ^ uint64(s.IPID)<<48 ^ uint64(s.PayloadLen)
}

// copyOf returns the frame of the recent segment p's segment s is a copy
// of, or 0 when it is none, and remembers s. A copy is the same IP packet
// (copyKey) within copyWindow. Without an IP identification to tell two
// sendings apart (IPv6, or an IPv4 sender that leaves it 0), the same
// bytes sent twice are a copy only when captured at another point (another
// input file, pcapng interface or link header), or within sameLinkWindow
// with nothing from the other way in between: a duplicate ACK, or a fast
// retransmission, answers what the peer sent;
// and never for a RST, which a closed socket sends, the same each time, for
// every segment that reaches it, however quickly they came.
func (f *copyFilter) copyOf(s *Segment, p *Packet) int {
	fp := fingerprint(s)
	at := p.Timestamp.UnixNano()
	where := capturePoint{input: p.Input, iface: p.Interface, linkLen: s.LinkLen}
	copy(where.link[:], p.Data[:min(s.LinkLen, linkPrefix, len(p.Data))])
	if f.seed == (maphash.Seed{}) {
		f.seed = maphash.MakeSeed()
	}
	var ends uint64
	if b := s.Payload; len(b) > 2*payloadEnds {
		ends = maphash.Bytes(f.seed, b[:payloadEnds]) ^ maphash.Bytes(f.seed, b[len(b)-payloadEnds:])<<1
	} else if len(b) > 0 {
		ends = maphash.Bytes(f.seed, b)
	}
	key := copyKey{s.Src, s.Dst, s.Seq, s.Ack, s.PayloadLen, ends, s.IPID, s.Window, s.Checksum, s.Flags}
	for i, q := range f.quick {
		if q != fp {
			continue
		}
		r := &f.recent[i]
		if r.key != key || at < r.at || at-r.at > int64(copyWindow) || r.frame == 0 {
			continue
		}
		if s.IPID == 0 && r.where == where &&
			(s.Flags&FlagRST != 0 || at-r.at > int64(sameLinkWindow) || f.answeredSince(i, s)) {
			continue
		}
		return r.frame
	}
	f.quick[f.next] = fp
	f.recent[f.next] = recentSegment{key, at, p.Frame, where}
	f.next = (f.next + 1) % recentCopies
	return 0
}

// answeredSince reports whether a segment of s's connection sent the other
// way was captured after the recent segment in slot i.
func (f *copyFilter) answeredSince(i int, s *Segment) bool {
	for j := (i + 1) % recentCopies; j != f.next; j = (j + 1) % recentCopies {
		if k := &f.recent[j].key; k.src == s.Dst && k.dst == s.Src {
			return true
		}
	}
	return false
}
