package findings

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestNanosBetweenIsTimeSub(t *testing.T) {
	edges := []int64{math.MinInt64, math.MinInt64 + 1, -1e18, -1, 0, 1, 1e18, math.MaxInt64 - 1, math.MaxInt64}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		edges = append(edges, rng.Int64(), rng.Int64N(1e12)+1.7e18)
	}
	for i, from := range edges {
		for _, to := range edges[max(0, i-40):min(len(edges), i+40)] {
			want := time.Unix(0, to).Sub(time.Unix(0, from))
			if got := nanosBetween(from, to); got != want {
				t.Fatalf("nanosBetween(%d, %d) = %d, time.Sub says %d", from, to, got, want)
			}
		}
	}
}
