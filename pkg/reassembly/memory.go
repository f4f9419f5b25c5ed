package reassembly

import "math/bits"

// streamMemory recycles what one Assembler's streams grow and drop: the
// arrays a growing slice leaves behind, and the buffers that hold bytes
// until the peer acknowledges them. An Assembler runs on one goroutine, so
// none of this is locked. Without it the garbage collector took a fifth of
// the time on a gateway capture.
type streamMemory struct {
	facts  arrayPool[SegmentFact]
	pieces arrayPool[piece]
	recent [][]byte
}

const (
	recentBufferBytes = 16 << 10 // a new comparison buffer's capacity
	keepRecent        = 64       // comparison buffers kept for reuse
	maxRecentReuse    = 64 << 10 // larger comparison buffers are left to the GC
)

// recentBuffer returns an empty comparison buffer.
func (m *streamMemory) recentBuffer() []byte {
	if m == nil {
		return nil
	}
	if n := len(m.recent); n > 0 {
		b := m.recent[n-1]
		m.recent = m.recent[:n-1]
		return b
	}
	return make([]byte, 0, recentBufferBytes)
}

// releaseRecent takes back a comparison buffer no stream uses any more.
func (m *streamMemory) releaseRecent(b []byte) {
	if m != nil && cap(b) > 0 && cap(b) <= maxRecentReuse && len(m.recent) < keepRecent {
		m.recent = append(m.recent, b[:0])
	}
}

// arrayPool grows slices by doubling into power-of-two arrays and keeps the
// arrays they outgrow for the next slice that grows to that size. Only the
// arrays a slice ends with are new; the ones it passed through are reused.
// The elements must hold no pointers: released arrays are not cleared.
type arrayPool[T any] struct {
	free [arrayClasses][][]T // by log2 of capacity
}

const (
	minPooledLen = 4  // the smallest array made: class 2
	arrayClasses = 13 // arrays up to 4096 elements are kept
	keepPerClass = 16
)

// append appends v to s, growing it from the pool.
func (p *arrayPool[T]) append(s []T, v T) []T {
	if len(s) < cap(s) || p == nil {
		return append(s, v)
	}
	c := max(minPooledLen, 2*cap(s))
	c = 1 << bits.Len(uint(c-1)) // a power of two
	var n []T
	if k := bits.Len(uint(c)) - 1; k < arrayClasses && len(p.free[k]) > 0 {
		last := len(p.free[k]) - 1
		n, p.free[k] = p.free[k][last], p.free[k][:last]
	} else {
		n = make([]T, 0, c)
	}
	n = append(append(n, s...), v)
	p.release(s)
	return n
}

// release takes back an array no slice uses any more.
func (p *arrayPool[T]) release(s []T) {
	c := cap(s)
	if c < minPooledLen || c&(c-1) != 0 {
		return
	}
	if k := bits.Len(uint(c)) - 1; k < arrayClasses && len(p.free[k]) < keepPerClass {
		p.free[k] = append(p.free[k], s[:0])
	}
}

func (m *streamMemory) factPool() *arrayPool[SegmentFact] {
	if m == nil {
		return nil
	}
	return &m.facts
}

func (m *streamMemory) piecePool() *arrayPool[piece] {
	if m == nil {
		return nil
	}
	return &m.pieces
}
