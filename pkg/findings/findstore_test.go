package findings

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
)

// TestStoredFindingsComeBackAsTheyWere: findings of every kind of field
// (the catalog's texts and their own, made and hand-written filters, nil
// and empty frame lists, frames in any order, marks, times with and
// without nanoseconds) read back equal to what was stored, less what Add
// drops before storing; set replaces one; takeSorted gives them, then the
// extra ones, in stable stream order and empties the store.
func TestStoredFindingsComeBackAsTheyWere(t *testing.T) {
	catalog := catalogByID()
	var ids []string
	for id := range catalog {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rng := rand.New(rand.NewPCG(9, 10))
	ints := func() []int {
		v := randomInts(rng, 30, 5_000_000)
		if rng.IntN(2) == 0 {
			slices.Sort(v)
		}
		return v
	}
	text := func() string { return []string{"", "x", "rcpt TO:<b@example.test> \"q\"", "\x00\xff\r\n"}[rng.IntN(4)] }
	random := func(seq int) Finding {
		id := ids[rng.IntN(len(ids))]
		f := Finding{ID: id, Severity: Severity(rng.IntN(3)), Stream: rng.IntN(50), Direction: []string{"", "client", "server"}[rng.IntN(3)],
			Phase: PhaseData, Frames: ints(), Offset: int64(rng.IntN(1<<40)) - 1, Summary: text() + string(rune('a'+seq%26)),
			Evidence: text(), Explanation: catalog[id].Explanation, Remedy: catalog[id].Remedy, CaptureLoss: text(), Streams: ints(),
			Time:     time.Unix(1_700_000_000+int64(rng.IntN(1e6)), int64(rng.IntN(2))*int64(rng.IntN(1e9))).UTC(),
			envelope: rng.Uint64(), acceptedIn: rng.IntN(1000)}
		if rng.IntN(3) == 0 {
			f.Explanation = text()
		}
		if rng.IntN(3) == 0 {
			f.Remedy = text()
		}
		f.Filter = filterFor(f.Stream, f.Frames)
		if rng.IntN(3) == 0 {
			f.Filter = "tcp.stream eq 99"
		}
		if rng.IntN(4) == 0 {
			f.FileFrames = []string{"a.pcap:1", "b.pcap:7"}
		}
		for _, m := range f.marks() {
			*m = rng.IntN(2) == 0
		}
		if seq == 0 {
			f.Time = time.Time{}
		}
		return f
	}
	fs := findStore{catalog: catalog}
	var want []Finding
	for i := range 2000 {
		f := random(i)
		if got := fs.add(&f); got != i {
			t.Fatalf("finding %d stored at %d", i, got)
		}
		want = append(want, f)
	}
	changed := want[7]
	changed.Summary += "; and more"
	changed.linked = true
	fs.set(7, &changed)
	want[7] = changed
	for i, w := range want {
		if got := fs.get(i); !reflect.DeepEqual(got, w) {
			t.Fatalf("finding %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	extra := []Finding{random(1), random(2), random(3)}
	all := append(slices.Clone(want), extra...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Stream < all[j].Stream })
	list := fs.takeSorted(extra)
	if fs.len() != 0 || fs.catalog == nil {
		t.Errorf("after takeSorted: %d findings left, catalog %v", fs.len(), fs.catalog != nil)
	}
	got := list.All()
	if len(got) != len(all) {
		t.Fatalf("takeSorted gave %d findings, want %d", len(got), len(all))
	}
	for i := range all {
		if !reflect.DeepEqual(got[i], all[i]) {
			t.Fatalf("takeSorted: finding %d is stream %d %q, want stream %d %q", i, got[i].Stream, got[i].Summary, all[i].Stream, all[i].Summary)
		}
		if id, sev, stream := list.head(i); id != all[i].ID || sev != all[i].Severity || stream != all[i].Stream {
			t.Fatalf("head of finding %d: %q %v stream %d, want %q %v stream %d", i, id, sev, stream, all[i].ID, all[i].Severity, all[i].Stream)
		}
	}
	if got := fs.takeSorted(nil); got.Len() != 0 {
		t.Errorf("an empty store gave %d findings", got.Len())
	}
}

// randomInts returns nil, an empty list or up to n numbers below limit,
// at random: a finding's frames or streams.
func randomInts(rng *rand.Rand, n, limit int) []int {
	switch rng.IntN(4) {
	case 0:
		return nil
	case 1:
		return []int{}
	}
	v := make([]int, rng.IntN(n+1))
	for i := range v {
		v[i] = rng.IntN(limit)
	}
	return v
}
