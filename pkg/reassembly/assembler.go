package reassembly

// ConsumerFactory returns the consumer of a new connection's bytes, or nil
// when the connection is of no interest (its bytes are then not kept).
type ConsumerFactory func(c *Conn) Consumer

// Assembler turns the segments of tracked connections into ordered byte
// streams, delivered to the consumers a factory makes.
type Assembler struct {
	limits  Limits
	factory ConsumerFactory
	conns   []*Conn
}

// NewAssembler returns an assembler.
func NewAssembler(limits Limits, factory ConsumerFactory) *Assembler {
	return &Assembler{limits: limits.withDefaults(), factory: factory}
}

// Add assembles one segment of c. Call it for every segment Walk visits.
func (a *Assembler) Add(c *Conn, s *Segment, p *Packet) {
	if !c.assemblyDecided {
		c.assemblyDecided = true
		if a.factory != nil {
			c.consumer = a.factory(c)
		}
		if c.consumer != nil {
			c.streams = [2]*Stream{{}, {}}
			a.conns = append(a.conns, c)
		}
	}
	if c.consumer == nil {
		return
	}
	side := 0
	if s.Src != c.ends[0] {
		side = 1
	}
	dir := c.DirectionFrom(s.Src)
	c.streams[side].Dir = dir
	c.streams[side].add(s, p, c.streams[1-side], a.limits, dir, c.consumer)
}

// Finish flushes every connection's held data (declaring the holes before
// it gaps) at the end of the capture. last is the capture's last packet,
// the moment the gaps are noticed.
func (a *Assembler) Finish(last *Packet) {
	for _, c := range a.conns {
		for side, st := range c.streams {
			dir := c.DirectionFrom(c.ends[side])
			st.Dir = dir
			st.flush(last, dir, c.consumer, a.limits)
		}
	}
}

// ByteStream returns the byte stream of direction d, or nil if the connection
// was not assembled.
func (c *Conn) ByteStream(d Direction) *Stream {
	if c.streams[0] == nil {
		return nil
	}
	return c.streams[c.side(d)]
}
