package findings

// chunked is an append-only list kept in chunks of chunkLen elements.
// Appending never moves what is there. An analyzer keeps the legs and
// the delivery attempts of sessions to the end (and, before they were
// encoded, their summaries and findings); on a
// capture of hundreds of thousands of connections one slice of each would
// be copied whole each time it grew, with the garbage collector running
// (the live heap is large then), which made those appends a third of the
// time spent merging sessions.
type chunked[T any] struct {
	chunks [][]T // each full but the last
}

// chunkLen is how many elements a chunk holds.
const chunkLen = 1024

// add appends vs.
func (c *chunked[T]) add(vs ...T) {
	for _, v := range vs {
		if k := len(c.chunks); k == 0 || len(c.chunks[k-1]) == chunkLen {
			c.chunks = append(c.chunks, make([]T, 0, chunkLen))
		}
		last := &c.chunks[len(c.chunks)-1]
		*last = append(*last, v)
	}
}

// len returns the number of elements.
func (c *chunked[T]) len() int {
	k := len(c.chunks)
	if k == 0 {
		return 0
	}
	return (k-1)*chunkLen + len(c.chunks[k-1])
}

// at returns the element at index i, which must be below len.
func (c *chunked[T]) at(i int) *T { return &c.chunks[i/chunkLen][i%chunkLen] }

// take returns the elements as one new slice, nil when there are none,
// and empties c, letting go of each chunk as soon as it is copied: the
// list is never held twice over.
func (c *chunked[T]) take() []T {
	n := c.len()
	if n == 0 {
		return nil
	}
	out := make([]T, 0, n)
	for i, chunk := range c.chunks {
		out = append(out, chunk...)
		c.chunks[i] = nil
	}
	c.chunks = nil
	return out
}

// contains reports whether some element satisfies f.
func (c *chunked[T]) contains(f func(*T) bool) bool {
	for _, chunk := range c.chunks {
		for i := range chunk {
			if f(&chunk[i]) {
				return true
			}
		}
	}
	return false
}

// each calls f on every element in order.
func (c *chunked[T]) each(f func(*T)) {
	for _, chunk := range c.chunks {
		for i := range chunk {
			f(&chunk[i])
		}
	}
}

// slab keeps runs of values, each run in one piece, in arrays of slabLen
// values (a longer run in an array of its own). A run is named by a
// slabRun, so what refers to it holds no pointer for the garbage
// collector to follow, and nothing is copied as the slab grows.
type slab[T any] struct {
	arrays [][]T
}

// slabRun names a run of values in a slab; the zero slabRun is empty.
type slabRun struct{ array, start, n int }

// slabLen is how many values a slab's array holds.
const slabLen = 4096

// alloc reserves a run of n zero values and returns it, to be filled.
func (s *slab[T]) alloc(n int) (slabRun, []T) {
	if n <= 0 {
		return slabRun{}, nil
	}
	k := len(s.arrays) - 1
	if k < 0 || cap(s.arrays[k])-len(s.arrays[k]) < n {
		s.arrays = append(s.arrays, make([]T, 0, max(slabLen, n)))
		k++
	}
	start := len(s.arrays[k])
	s.arrays[k] = s.arrays[k][:start+n]
	return slabRun{k, start, n}, s.arrays[k][start : start+n : start+n]
}

// get returns the values of run r.
func (s *slab[T]) get(r slabRun) []T {
	if r.n == 0 {
		return nil
	}
	return s.arrays[r.array][r.start : r.start+r.n : r.start+r.n]
}
