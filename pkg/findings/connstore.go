package findings

import "github.com/smtpcap/smtpcap/internal/recstore"

// connStore keeps the analyzer's connection summaries, one per session,
// to the end of the capture: each encoded in a few dozen bytes of a
// recstore, keyed by stream. As Connection values they took about 270
// bytes each (its times and strings, and the strings' own allocations), a
// third of what a capture of many short connections held at its end.
type connStore struct {
	recs    recstore.Store
	scratch []byte // the encoding of the summary being stored, reused
}

// len returns how many summaries the store holds.
func (cs *connStore) len() int { return cs.recs.Len() }

// add stores c and returns its index.
func (cs *connStore) add(c *Connection) int {
	cs.scratch = appendConnection(cs.scratch[:0], c)
	return cs.recs.Add(c.Stream, cs.scratch)
}

// stream returns the stream of the summary at index i.
func (cs *connStore) stream(i int) int { return cs.recs.Key(i) }

// get returns the summary at index i, which must be below len.
func (cs *connStore) get(i int) (c Connection) {
	cs.recs.View(i, func(rec []byte) { c = decodeConnection(rec) })
	return c
}

// set replaces the summary at index i, whose stream c must keep. Summaries
// are changed rarely (the views of a session seen through NAT, the legs of
// a proxied one, a report's retry loops).
func (cs *connStore) set(i int, c *Connection) {
	cs.scratch = appendConnection(cs.scratch[:0], c)
	cs.recs.Replace(i, cs.scratch)
}

// takeSorted returns the summaries as a ConnectionList in stream order
// (those of one stream in the order added), and empties the store. None
// is decoded.
func (cs *connStore) takeSorted() ConnectionList {
	cs.recs.SortByKey()
	l := ConnectionList{store: connStore{recs: cs.recs}}
	*cs = connStore{}
	return l
}

// appendConnection appends c's encoding to b: its numbers as varints,
// its strings each after its length, its times (in UTC, as the capture
// reader gives them) as Unix seconds, the last after the first, and
// nanoseconds. The stream is the store's key, and in the record too, so
// that a record is the whole summary.
func appendConnection(b []byte, c *Connection) []byte {
	sameSession := c.SameSessionAs != nil
	b = recstore.AppendBits(b, &c.Handshake, &c.TLS, &c.tlsAgreed, &sameSession)
	b = recstore.AppendTime(b, c.First)
	b = recstore.AppendTimeAfter(b, c.Last, c.First)
	for _, n := range []int{c.Stream, c.Packets, c.Transactions, c.Delivered, c.EnvelopeOnly, c.Findings} {
		b = recstore.AppendInt(b, int64(n))
	}
	if c.SameSessionAs != nil {
		b = recstore.AppendInt(b, int64(*c.SameSessionAs))
	}
	for _, s := range []string{c.Client, c.Server, c.End, c.Helo, c.Worst, c.Diagnosis} {
		b = recstore.AppendString(b, s)
	}
	return b
}

// decodeConnection returns the Connection appendConnection encoded in b.
func decodeConnection(b []byte) Connection {
	r := recstore.NewReader(b)
	var c Connection
	var sameSession bool
	r.Bits(&c.Handshake, &c.TLS, &c.tlsAgreed, &sameSession)
	c.First = r.Time()
	c.Last = r.TimeAfter(c.First)
	for _, n := range []*int{&c.Stream, &c.Packets, &c.Transactions, &c.Delivered, &c.EnvelopeOnly, &c.Findings} {
		*n = int(r.Int())
	}
	if sameSession {
		same := int(r.Int())
		c.SameSessionAs = &same
	}
	for _, s := range []*string{&c.Client, &c.Server, &c.End, &c.Helo, &c.Worst, &c.Diagnosis} {
		*s = r.String()
	}
	return c
}
