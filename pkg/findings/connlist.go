package findings

import (
	"encoding/json"
)

// ConnectionList is a report's connections in stream order. Each stays
// encoded, in a few dozen bytes, until it is read: a gateway's capture
// gives hundreds of thousands, and a report that decoded them all at once
// would need three times the memory the whole capture's reading did at
// its end, only to write them out one after another.
type ConnectionList struct {
	store connStore // its references sorted by stream
}

// NewConnectionList returns a list of the given connections in stream
// order, those of one stream in the order given.
func NewConnectionList(conns ...Connection) ConnectionList {
	var l ConnectionList
	for i := range conns {
		l.store.add(&conns[i])
	}
	l.store.recs.SortByKey()
	l.store.scratch = nil
	return l
}

// Len returns how many connections the list holds.
func (l ConnectionList) Len() int { return l.store.len() }

// At returns the i'th connection, which must be below Len.
func (l ConnectionList) At(i int) Connection { return l.store.get(i) }

// All returns every connection of the list, decoded: for small reports
// and tests; a writer of a large one reads them with At, one at a time.
func (l ConnectionList) All() []Connection {
	out := make([]Connection, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

// index returns where the first connection of the given stream is, and
// whether there is one.
func (l ConnectionList) index(stream int) (int, bool) {
	return l.store.recs.Find(stream)
}

// update applies change to the connection of the given stream, if the
// list has one, and keeps what it made of it.
func (l *ConnectionList) update(stream int, change func(c *Connection)) {
	i, ok := l.index(stream)
	if !ok {
		return
	}
	c := l.At(i)
	change(&c)
	l.store.set(i, &c)
}

// updateAll applies each stream's changes, in their order, to the
// connection of that stream, if the list has one: all of them in one pass
// in stream order, each connection decoded and stored once.
func (l *ConnectionList) updateAll(changes map[int][]func(c *Connection)) {
	if len(changes) == 0 {
		return
	}
	for i := range l.Len() {
		stream := l.store.stream(i)
		todo, ok := changes[stream]
		if !ok {
			continue
		}
		delete(changes, stream) // the first connection of a stream, as update does
		c := l.At(i)
		for _, change := range todo {
			change(&c)
		}
		l.store.set(i, &c)
	}
}

// MarshalJSON encodes the list as a JSON array of connections.
func (l ConnectionList) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i := range l.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		c := l.At(i)
		var err error
		if b, err = appendConnectionJSON(b, &c); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// UnmarshalJSON decodes a JSON array of connections into the list, in
// stream order.
func (l *ConnectionList) UnmarshalJSON(b []byte) error {
	var conns []Connection
	if err := json.Unmarshal(b, &conns); err != nil {
		return err
	}
	*l = NewConnectionList(conns...)
	return nil
}
