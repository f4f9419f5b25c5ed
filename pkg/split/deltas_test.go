package split

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDeltasGiveBackWhatWasAdded: ascending frame numbers, a step back (an
// IP fragment's earlier frame), large jumps and the extremes come back as
// they went in, and a packet close to the one before takes one byte.
func TestDeltasGiveBackWhatWasAdded(t *testing.T) {
	cases := [][]int{
		nil,
		{1},
		{1, 2, 3, 5, 8, 13},
		{100, 97, 101, 102}, // a fragment's frame before the one that completed it
		{0, 1 << 40, 7, math.MaxInt, math.MinInt, 0},
	}
	r := rand.New(rand.NewPCG(1, 2))
	var walk []int
	for v, i := 1, 0; i < 5000; i++ {
		v += r.IntN(200) - 20
		walk = append(walk, v)
	}
	cases = append(cases, walk)
	for _, want := range cases {
		var d deltas
		for _, v := range want {
			d.add(v)
		}
		if got := d.ints(); !slices.Equal(got, want) || d.len() != len(want) {
			t.Errorf("added %v (%d), got %v (%d)", head(want), len(want), head(got), d.len())
		}
	}
	var d deltas
	for frame := 1; frame <= 1000; frame += 3 {
		d.add(frame)
	}
	if len(d.b) != d.len() {
		t.Errorf("%d frames three apart took %d bytes, want one each", d.len(), len(d.b))
	}
}

func head(v []int) []int { return v[:min(len(v), 8)] }
