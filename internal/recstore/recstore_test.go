package recstore

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestRecordsComeBackWhole: records larger than what is left of a block,
// or than a block, go into a new one; no block grows past the size it
// was made with (so no record moves), and each record comes back whole,
// the replaced one as it was replaced.
func TestRecordsComeBackWhole(t *testing.T) {
	var s Store
	var want [][]byte
	for i := range 40 {
		rec := bytes.Repeat([]byte{byte('a' + i%26)}, (i%7)*20<<10) // up to 120 KiB
		if i == 13 {
			rec = bytes.Repeat([]byte{'y'}, blockSize+1) // larger than a block
		}
		want = append(want, bytes.Clone(rec))
		if got := s.Add(i, rec); got != i {
			t.Fatalf("record %d added at index %d", i, got)
		}
		copy(rec, "changed after Add") // the store keeps its own copy
	}
	first := s.Record(1)
	s.Replace(5, []byte("five"))
	want[5] = []byte("five")
	for i, b := range s.blocks {
		if cap(b) != max(blockSize, len(b)) {
			t.Errorf("block %d: %d bytes of %d made; want made with %d", i, len(b), cap(b), max(blockSize, len(b)))
		}
	}
	if s.Len() != len(want) {
		t.Fatalf("%d records, want %d", s.Len(), len(want))
	}
	for i, w := range want {
		if got := s.Record(i); !bytes.Equal(got, w) || s.Key(i) != i {
			t.Errorf("record %d: key %d, %d bytes; want %d bytes", i, s.Key(i), len(got), len(w))
		}
	}
	if !bytes.Equal(first, want[1]) {
		t.Errorf("record 1 as read before later records were added changed")
	}
	if got := append(s.Record(2), 'z'); &got[0] == &s.Record(2)[0] {
		t.Errorf("appending to a record wrote into the store")
	}
}

// TestLargeStoresCompressWhatTheyFill: past compressFrom bytes a store
// compresses each block it fills (text that repeats takes far less room),
// and every record comes back whole, in any order, from several
// goroutines at once (by Record and by View), the replaced one as replaced; incompressible blocks
// stay as they are.
func TestLargeStoresCompressWhatTheyFill(t *testing.T) {
	var s Store
	var want [][]byte
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; s.size < compressFrom+4<<20; i++ {
		rec := fmt.Appendf(nil, "stream %d: RCPT TO:<user%d@example.test> was rejected: 550 5.7.1 client host [10.1.%d.%d] listed at zen.example.test",
			i, rng.IntN(1000), i>>8&255, i&255)
		if i%1000 == 999 {
			rec = make([]byte, 3000) // random bytes: no smaller compressed
			for j := range rec {
				rec[j] = byte(rng.Uint32())
			}
		}
		want = append(want, rec)
		s.Add(rng.IntN(100), rec)
	}
	noise := len(s.blocks) // from here on, blocks of random bytes
	for range 3 * blockSize / (64 << 10) {
		rec := make([]byte, 64<<10)
		for j := range rec {
			rec[j] = byte(rng.Uint32())
		}
		want = append(want, rec)
		s.Add(rng.IntN(100), rec)
	}
	for k := noise; k < len(s.blocks); k++ {
		if s.packed[k] {
			t.Errorf("block %d of random bytes was compressed", k)
		}
	}
	s.Replace(3, []byte("three"))
	want[3] = []byte("three")
	plain, packed, stored, held := 0, 0, 0, 0 // held: bytes of the records in compressed blocks
	for k, b := range s.blocks {
		if s.packed[k] {
			packed++
			stored += len(b)
		} else {
			plain++
		}
	}
	for _, r := range s.refs {
		if s.packed[r.block] {
			held += int(r.end - r.start)
		}
	}
	if plain < compressFrom/blockSize || packed < 10 || stored > held/3 {
		t.Errorf("%d blocks compressed, %d not; %d bytes stored for the %d bytes of records in compressed blocks", packed, plain, stored, held)
	}
	var wg sync.WaitGroup
	errs := make([]int, 4)
	for g := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			order := rand.New(rand.NewPCG(uint64(g), 3)).Perm(len(want))
			for _, i := range order {
				if g%2 == 0 && !bytes.Equal(s.Record(i), want[i]) {
					errs[g]++
				}
				if g%2 == 1 {
					s.View(i, func(rec []byte) {
						if !bytes.Equal(rec, want[i]) {
							errs[g]++
						}
					})
				}
			}
		}()
	}
	wg.Wait()
	for g, n := range errs {
		if n > 0 {
			t.Errorf("reader %d: %d records read back wrong", g, n)
		}
	}
	first := s.Record(0)
	s.SortByKey()
	for i := 1; i < s.Len(); i++ {
		if s.Key(i) < s.Key(i-1) {
			t.Fatalf("record %d out of key order after sorting", i)
		}
	}
	if !bytes.Equal(first, want[0]) {
		t.Errorf("a record read from a compressed block changed when others were read")
	}
}

// TestSortByKeyIsStable: records come back in key order, those of one key
// in the order added, and Find gives the first of a key.
func TestSortByKeyIsStable(t *testing.T) {
	var s Store
	keys := []int{7, 3, 7, 1, 3, 9, 7}
	for i, k := range keys {
		s.Add(k, []byte{byte(i)})
	}
	s.SortByKey()
	var gotKeys []int
	var gotRecs []byte
	for i := range s.Len() {
		gotKeys = append(gotKeys, s.Key(i))
		gotRecs = append(gotRecs, s.Record(i)[0])
	}
	if want := []int{1, 3, 3, 7, 7, 7, 9}; !equalInts(gotKeys, want) {
		t.Errorf("keys %v, want %v", gotKeys, want)
	}
	if want := []byte{3, 1, 4, 0, 2, 6, 5}; !bytes.Equal(gotRecs, want) {
		t.Errorf("records %v, want %v (added order within a key)", gotRecs, want)
	}
	for _, c := range []struct {
		key int
		at  int
		ok  bool
	}{{1, 0, true}, {3, 1, true}, {7, 3, true}, {9, 6, true}, {0, 0, false}, {5, 3, false}, {10, 7, false}} {
		if at, ok := s.Find(c.key); at != c.at || ok != c.ok {
			t.Errorf("Find(%d) = %d, %v; want %d, %v", c.key, at, ok, c.at, c.ok)
		}
	}
}

// TestKeepDropsTheOthersInOrder: Keep asks of each record by its index
// before any is dropped, keeps those it is told to in their order, and
// leaves a store that still sorts and finds.
func TestKeepDropsTheOthersInOrder(t *testing.T) {
	var s Store
	keys := []int{5, 2, 5, 8, 2, 1}
	for i, k := range keys {
		s.Add(k, []byte{byte(i)})
	}
	var asked []int
	s.Keep(func(i int) bool {
		asked = append(asked, i)
		return s.Record(i)[0]%2 == 0 // records 0, 2, 4
	})
	if want := []int{0, 1, 2, 3, 4, 5}; !equalInts(asked, want) {
		t.Errorf("Keep asked of %v, want %v", asked, want)
	}
	var got []byte
	for i := range s.Len() {
		got = append(got, s.Record(i)[0])
	}
	if want := []byte{0, 2, 4}; !bytes.Equal(got, want) {
		t.Fatalf("kept records %v, want %v", got, want)
	}
	s.SortByKey()
	if at, ok := s.Find(5); !ok || at != 1 || s.Record(at)[0] != 0 {
		t.Errorf("Find(5) after Keep and SortByKey = %d, %v", at, ok)
	}
	s.Keep(func(int) bool { return false })
	if s.Len() != 0 {
		t.Errorf("%d records left after keeping none", s.Len())
	}
}

// TestTagsStayWithTheirRecords: a record's tag moves with it when the
// store is sorted or records are dropped, and stays when it is replaced.
func TestTagsStayWithTheirRecords(t *testing.T) {
	var s Store
	for i, k := range []int{4, 1, 4, 0} {
		s.SetTag(s.Add(k, []byte{byte(i)}), uint32(100+i))
	}
	s.Replace(2, []byte("two"))
	s.SortByKey()
	s.Keep(func(i int) bool { return s.Key(i) != 0 })
	var got []uint32
	for i := range s.Len() {
		got = append(got, s.Tag(i))
	}
	if want := []uint32{101, 100, 102}; !slices.Equal(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	if rec := s.Record(2); string(rec) != "two" {
		t.Errorf("record tagged 102 is %q", rec)
	}
}

// TestReaderReadsWhatWasAppended: numbers at their limits, strings and
// byte slices of any bytes and times (zero, before 1970, before and long after the one they
// follow) read back in order.
func TestReaderReadsWhatWasAppended(t *testing.T) {
	var b []byte
	b = append(b, 0xfe)
	ints := []int64{0, -1, 1, math.MinInt64, math.MaxInt64, 300}
	for _, v := range ints {
		b = AppendInt(b, v)
	}
	b = AppendUint(b, math.MaxUint64)
	strs := []string{"", "192.0.2.1:25", "\x00\xff\n", string(bytes.Repeat([]byte{'x'}, 1000))}
	for _, s := range strs {
		b = AppendString(b, s)
	}
	yes, no := true, false
	b = AppendBits(b, &yes, &no, &yes)
	many := make([]*bool, 64)
	for i := range many {
		many[i] = &no
		if i%3 == 0 || i == 63 {
			many[i] = &yes
		}
	}
	b = AppendBits(b, many...)
	blobs := [][]byte{nil, {0}, bytes.Repeat([]byte{0xff}, 200)}
	for _, p := range blobs {
		b = AppendBytes(b, p)
	}
	first := time.Date(2026, 12, 5, 13, 0, 0, 999_999_999, time.UTC)
	times := []time.Time{time.Time{}.UTC(), time.Unix(-1, 5).UTC(), first, first.Add(-3 * time.Second), first.Add(90 * 24 * time.Hour)}
	for _, tm := range times {
		b = AppendTime(b, tm)
		b = AppendTimeAfter(b, tm, first)
	}
	r := NewReader(b)
	if got := r.Byte(); got != 0xfe {
		t.Errorf("byte %#x", got)
	}
	for _, v := range ints {
		if got := r.Int(); got != v {
			t.Errorf("int %d, want %d", got, v)
		}
	}
	if got := r.Uint(); got != math.MaxUint64 {
		t.Errorf("uint %d", got)
	}
	for _, s := range strs {
		if got := r.String(); got != s {
			t.Errorf("string %q, want %q", got, s)
		}
	}
	var x, y, z bool
	if r.Bits(&x, &y, &z); !x || y || !z {
		t.Errorf("bits %v %v %v, want true false true", x, y, z)
	}
	got := make([]bool, 64)
	ptrs := make([]*bool, 64)
	for i := range ptrs {
		ptrs[i] = &got[i]
	}
	r.Bits(ptrs...)
	for i := range got {
		if want := i%3 == 0 || i == 63; got[i] != want {
			t.Errorf("bit %d of 64: %v", i, got[i])
		}
	}
	for _, p := range blobs {
		got := r.Bytes()
		if !bytes.Equal(got, p) {
			t.Errorf("bytes %x, want %x", got, p)
		}
		if len(got) > 0 && &append(got, 'z')[0] == &got[0] {
			t.Errorf("appending to bytes read wrote into the record")
		}
	}
	for _, tm := range times {
		if got := r.Time(); !got.Equal(tm) || got.Location() != time.UTC {
			t.Errorf("time %v, want %v", got, tm)
		}
		if got := r.TimeAfter(first); !got.Equal(tm) {
			t.Errorf("time after %v: %v, want %v", first, got, tm)
		}
	}
	if len(r.rec) != 0 {
		t.Errorf("%d bytes left unread", len(r.rec))
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
