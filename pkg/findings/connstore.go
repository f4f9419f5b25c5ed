package findings

import (
	"encoding/binary"
	"slices"
	"time"
)

// connStore keeps the analyzer's connection summaries, one per session,
// to the end of the capture: each encoded in a few dozen bytes of a large
// byte array, with no pointers in it for the garbage collector to follow.
// As Connection values they took about 270 bytes each (its times and
// strings, and the strings' own allocations), a third of what a capture of
// many short connections held at its end.
type connStore struct {
	blocks  [][]byte  // each at most connBlock bytes long, but for a larger record alone
	at      []connRef // where each summary is, in the order added
	scratch []byte    // put's, reused
}

// connRef locates one encoded summary, and tells its stream.
type connRef struct {
	block, start, end uint32
	stream            int
}

// connBlock is how many bytes a block of a connStore holds.
const connBlock = 256 << 10

// len returns how many summaries the store holds.
func (cs *connStore) len() int { return len(cs.at) }

// add stores c and returns its index.
func (cs *connStore) add(c *Connection) int {
	cs.at = append(cs.at, cs.put(c))
	return len(cs.at) - 1
}

// stream returns the stream of the summary at index i.
func (cs *connStore) stream(i int) int { return cs.at[i].stream }

// get returns the summary at index i, which must be below len.
func (cs *connStore) get(i int) Connection {
	r := cs.at[i]
	return decodeConnection(cs.blocks[r.block][r.start:r.end])
}

// set replaces the summary at index i. The old encoding stays where it
// was: summaries are changed rarely (the views of a session seen through
// NAT, the legs of a proxied one).
func (cs *connStore) set(i int, c *Connection) { cs.at[i] = cs.put(c) }

// put encodes c at the end of the last block, or of a new one when it
// does not fit (a block never grows past what it was made with).
func (cs *connStore) put(c *Connection) connRef {
	cs.scratch = appendConnection(cs.scratch[:0], c)
	k := len(cs.blocks) - 1
	if k < 0 || cap(cs.blocks[k])-len(cs.blocks[k]) < len(cs.scratch) {
		cs.blocks = append(cs.blocks, make([]byte, 0, max(connBlock, len(cs.scratch))))
		k++
	}
	start := len(cs.blocks[k])
	cs.blocks[k] = append(cs.blocks[k], cs.scratch...)
	return connRef{uint32(k), uint32(start), uint32(len(cs.blocks[k])), c.Stream}
}

// takeSorted returns the summaries as a ConnectionList in stream order
// (those of one stream in the order added), and empties the store. The
// references are sorted, not the summaries; none is decoded.
func (cs *connStore) takeSorted() ConnectionList {
	slices.SortStableFunc(cs.at, func(x, y connRef) int { return x.stream - y.stream })
	l := ConnectionList{store: *cs}
	l.store.scratch = nil
	*cs = connStore{}
	return l
}

// Flags of an encoded Connection.
const (
	connHandshake = 1 << iota
	connTLS
	connTLSAgreed
	connSameSession
)

// appendConnection appends c's encoding to b: its numbers as varints,
// its strings each after its length, its times (in UTC, as the capture
// reader gives them) as Unix seconds, the last after the first, and
// nanoseconds.
func appendConnection(b []byte, c *Connection) []byte {
	var flags byte
	if c.Handshake {
		flags |= connHandshake
	}
	if c.TLS {
		flags |= connTLS
	}
	if c.tlsAgreed {
		flags |= connTLSAgreed
	}
	if c.SameSessionAs != nil {
		flags |= connSameSession
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, c.First.Unix())
	b = binary.AppendUvarint(b, uint64(c.First.Nanosecond()))
	b = binary.AppendVarint(b, c.Last.Unix()-c.First.Unix())
	b = binary.AppendUvarint(b, uint64(c.Last.Nanosecond()))
	for _, n := range []int{c.Stream, c.Packets, c.Transactions, c.Delivered, c.EnvelopeOnly, c.Findings} {
		b = binary.AppendVarint(b, int64(n))
	}
	if c.SameSessionAs != nil {
		b = binary.AppendVarint(b, int64(*c.SameSessionAs))
	}
	for _, s := range []string{c.Client, c.Server, c.End, c.Helo, c.Worst, c.Diagnosis} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// decodeConnection returns the Connection appendConnection encoded in b.
func decodeConnection(b []byte) Connection {
	flags := b[0]
	b = b[1:]
	varint := func() int64 {
		v, n := binary.Varint(b)
		b = b[n:]
		return v
	}
	str := func() string {
		n, k := binary.Uvarint(b)
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s
	}
	uvarint := func() int64 {
		v, n := binary.Uvarint(b)
		b = b[n:]
		return int64(v)
	}
	first := varint()
	firstNanos := uvarint()
	last := first + varint()
	lastNanos := uvarint()
	c := Connection{
		First: time.Unix(first, firstNanos).UTC(), Last: time.Unix(last, lastNanos).UTC(),
		Handshake: flags&connHandshake != 0, TLS: flags&connTLS != 0, tlsAgreed: flags&connTLSAgreed != 0,
	}
	for _, n := range []*int{&c.Stream, &c.Packets, &c.Transactions, &c.Delivered, &c.EnvelopeOnly, &c.Findings} {
		*n = int(varint())
	}
	if flags&connSameSession != 0 {
		same := int(varint())
		c.SameSessionAs = &same
	}
	for _, s := range []*string{&c.Client, &c.Server, &c.End, &c.Helo, &c.Worst, &c.Diagnosis} {
		*s = str()
	}
	return c
}
