package findings

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestChunkedKeepsOrderAcrossChunks: elements added one by one and in
// runs that straddle chunks come back in order, by index and as a slice,
// and an element changed through at stays changed.
func TestChunkedKeepsOrderAcrossChunks(t *testing.T) {
	var c chunked[int]
	if c.len() != 0 || c.take() != nil || c.contains(func(*int) bool { return true }) {
		t.Fatal("an empty list is not empty")
	}
	var want []int
	for i := 0; len(want) < 3*chunkLen+7; i++ {
		run := make([]int, i%5) // runs of 0 to 4, some across a chunk's end
		for j := range run {
			run[j] = len(want) + j
		}
		c.add(run...)
		want = append(want, run...)
	}
	if c.len() != len(want) {
		t.Fatalf("len %d, want %d", c.len(), len(want))
	}
	for _, i := range []int{0, chunkLen - 1, chunkLen, 2*chunkLen + 1, len(want) - 1} {
		if *c.at(i) != i {
			t.Errorf("at(%d) = %d", i, *c.at(i))
		}
	}
	*c.at(chunkLen) = -1
	want[chunkLen] = -1
	if !c.contains(func(v *int) bool { return *v == -1 }) {
		t.Error("a change through at is lost")
	}
	if got := c.take(); !slices.Equal(got, want) {
		t.Fatalf("take returned %d elements, want %d, or the elements differ", len(got), len(want))
	}
	if c.len() != 0 || c.chunks != nil {
		t.Errorf("after take: len %d, %d chunks kept, want an empty list", c.len(), len(c.chunks))
	}
}

// TestSlabKeepsEachRunWhole: runs of every length, some longer than an
// array, come back whole and unchanged after many more were added.
func TestSlabKeepsEachRunWhole(t *testing.T) {
	var s slab[int]
	if r, v := s.alloc(0); r != (slabRun{}) || v != nil || s.get(r) != nil {
		t.Fatal("an empty run is not empty")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var runs []slabRun
	var want [][]int
	next := 0
	for range 3000 {
		n := rng.IntN(40)
		if rng.IntN(500) == 0 {
			n = slabLen + rng.IntN(100) // longer than an array
		}
		r, into := s.alloc(n)
		if len(into) != n {
			t.Fatalf("alloc(%d) gave %d values", n, len(into))
		}
		vals := make([]int, n)
		for i := range into {
			into[i], vals[i] = next, next
			next++
		}
		runs, want = append(runs, r), append(want, vals)
	}
	for i, r := range runs {
		got := s.get(r)
		if !slices.Equal(got, want[i]) && len(want[i]) > 0 {
			t.Fatalf("run %d: %d values, want %d (first %v)", i, len(got), len(want[i]), want[i][:1])
		}
		if len(want[i]) == 0 && got != nil {
			t.Fatalf("run %d: %v for an empty run", i, got)
		}
		if cap(got) != len(got) {
			t.Fatalf("run %d can be appended to over its neighbour", i)
		}
	}
}
