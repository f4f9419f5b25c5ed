package reassembly

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// A run of segments with a lost one in the middle and every twentieth sent
// twice (a retransmission, held or not), sent in order, in reverse and
// shuffled: the stream must hold the same bytes, each attributed to the
// frame that first carried it, and the same gap, whatever the order.
func TestHeldSegmentsAreDeliveredAsInOrderWhateverTheArrivalOrder(t *testing.T) {
	const n, lost = 3000, 1700
	offsets := make([]uint32, n+1)
	for i := range n {
		offsets[i+1] = offsets[i] + uint32(1+i%7)
	}
	content := make([]byte, offsets[n])
	for i := range content {
		content[i] = 'a' + byte(i%26)
	}
	segment := func(i int) []byte { return content[offsets[i]:offsets[i+1]] }
	var inOrder []int // segment indexes in sending order
	for i := range n {
		if i == lost {
			continue
		}
		inOrder = append(inOrder, i)
		if i%20 == 0 {
			inOrder = append(inOrder, i)
		}
	}
	reversed := slices.Clone(inOrder)
	slices.Reverse(reversed)
	shuffled := slices.Clone(inOrder)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	wantText := fmt.Sprintf("%s[gap %d not captured]%s", content[:offsets[lost]], offsets[lost+1]-offsets[lost], content[offsets[lost+1]:])
	for _, tc := range []struct {
		name  string
		order []int
	}{{"in order", inOrder}, {"reverse", reversed}, {"shuffled", shuffled}} {
		t.Run(tc.name, func(t *testing.T) {
			cn, rec := assemble(t, func(s *capgen.Session) {
				s.Handshake() // frames 1-3
				for _, i := range tc.order {
					s.SegmentAt(true, offsets[i], segment(i))
				}
			}, capgen.Format{})
			if got := rec.text[ClientToServer].String(); got != wantText {
				t.Fatalf("stream differs from the bytes sent (%d bytes, want %d)", len(got), len(wantText))
			}
			firstFrame := map[int]int{} // segment index: frame of its first copy
			for k, i := range tc.order {
				if _, ok := firstFrame[i]; !ok {
					firstFrame[i] = 4 + k
				}
			}
			st := cn.ByteStream(ClientToServer)
			for i := range n {
				if i == lost {
					continue
				}
				for off := int64(offsets[i]); off < int64(offsets[i+1]); off++ {
					if got := st.FrameAt(off); got != firstFrame[i] {
						t.Fatalf("FrameAt(%d) = %d, want %d (segment %d)", off, got, firstFrame[i], i)
					}
				}
			}
			lastFrame := 3 + len(tc.order)
			want := Gap{Start: int64(offsets[lost]), End: int64(offsets[lost+1]), Reason: GapNotCaptured, Frame: lastFrame, Next: firstFrame[lost+1]}
			if len(st.Gaps) != 1 || st.Gaps[0] != want {
				t.Errorf("gaps %+v, want %+v", st.Gaps, want)
			}
			if st.Next != int64(offsets[n]) || len(st.Conflicts) != 0 {
				t.Errorf("next %d conflicts %+v", st.Next, st.Conflicts)
			}
		})
	}
}

// Out-of-order segments whose payload snaplen cut entirely hold no bytes,
// but they count against the buffer: with room for ten of them, the
// eleventh makes smtpcap give up on the hole before the first it holds, as
// it does when held bytes overflow.
func TestHeldSegmentsWithoutCapturedBytesFillTheBuffer(t *testing.T) {
	const n, size, room = 40, 100, 10
	lim := Limits{MaxOutOfOrder: room*heldSegmentCost + heldSegmentCost/2}
	cn, rec := assembleWith(t, lim, func(s *capgen.Session) {
		s.Handshake() // frames 1-3, then segment i in frame 3+n-i
		for i := n - 1; i >= 0; i-- {
			s.SegmentAt(true, uint32(i*size), bytes.Repeat([]byte("x"), size))
		}
	}, capgen.Format{Snaplen: 54}) // Ethernet, IPv4 and TCP headers only
	// Segments 39 down to 30 are held. Segment 29 is one too many: the
	// bytes before it are given up, and it and those held after it are
	// delivered, all as snaplen gaps; 28 down to 0 are then retransmissions.
	const full = n - room - 1
	want := fmt.Sprintf("[gap %d out-of-order buffer full]", full*size)
	for range n - full {
		want += fmt.Sprintf("[gap %d cut by snaplen]", size)
	}
	if got := rec.text[ClientToServer].String(); got != want {
		t.Errorf("stream %q, want %q", got, want)
	}
	st := cn.ByteStream(ClientToServer)
	if g := st.Gaps[0]; g != (Gap{Start: 0, End: full * size, Reason: GapBufferFull, Frame: 3 + n - full, Next: 3 + n - full}) {
		t.Errorf("first gap %+v", g)
	}
	if len(st.Gaps) != 1+n-full || st.Next != n*size {
		t.Errorf("%d gaps, next %d", len(st.Gaps), st.Next)
	}
}

// sortedHeld is the sorted list the held segments used to be kept in,
// inserting each after those at the same offset unless one of them has its
// length: what heldSegments must deliver, in the same order.
type sortedHeld []pending

func (l *sortedHeld) add(q pending) bool {
	i := sort.Search(len(*l), func(i int) bool { return (*l)[i].offset > q.offset })
	for j := i - 1; j >= 0 && (*l)[j].offset == q.offset; j-- {
		if (*l)[j].length == q.length {
			return false
		}
	}
	*l = slices.Insert(*l, i, q)
	return true
}

func TestHeldSegmentsComeOutInTheOrderOfASortedList(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		var h heldSegments
		var ref sortedHeld
		for op := range 300 {
			if h.len() != len(ref) || h.bytes != heldBytes(ref) {
				t.Fatalf("round %d op %d: %d segments (%d bytes) held, want %d (%d)", round, op, h.len(), h.bytes, len(ref), heldBytes(ref))
			}
			if len(ref) > 0 && rng.IntN(3) == 0 {
				got, want := h.pop(), ref[0]
				ref = ref[1:]
				if got.offset != want.offset || got.length != want.length || got.frame != want.frame || !bytes.Equal(got.data, want.data) {
					t.Fatalf("round %d op %d: popped %+v, want %+v", round, op, got, want)
				}
				continue
			}
			// Few distinct offsets and lengths, so that segments often start
			// together and retransmissions are common.
			q := pending{offset: int64(rng.IntN(20)), length: int64(1 + rng.IntN(3)), frame: op + 1}
			q.data = bytes.Repeat([]byte{byte(op)}, rng.IntN(int(q.length)+1))
			if got, want := h.add(q.offset, q.data, q.length, q.frame), ref.add(q); got != want {
				t.Fatalf("round %d op %d: add(%d, len %d) = %v, want %v", round, op, q.offset, q.length, got, want)
			}
		}
	}
}

func heldBytes(l sortedHeld) int {
	n := 0
	for _, q := range l {
		n += len(q.data)
	}
	return n
}

// BenchmarkHoldReverse assembles a stream of one-byte segments that arrive
// in reverse order: all but the last are held, then delivered at once.
func BenchmarkHoldReverse(b *testing.B) {
	order := make([]int, 20_000)
	for i := range order {
		order[i] = len(order) - 1 - i
	}
	benchmarkHold(b, order)
}

// BenchmarkHoldShuffled is BenchmarkHoldReverse with the segments in a
// random order: holes open and fill all along.
func BenchmarkHoldShuffled(b *testing.B) {
	order := rand.New(rand.NewPCG(5, 6)).Perm(20_000)
	benchmarkHold(b, order)
}

// benchmarkHold assembles one direction of one-byte segments, segment i
// carrying stream byte i, sent in the given order after a SYN.
func benchmarkHold(b *testing.B, order []int) {
	segs := make([]Segment, 1, len(order)+1)
	segs[0] = Segment{Seq: 1000, Flags: FlagSYN}
	for _, i := range order {
		seq := uint32(1001 + i)
		segs = append(segs, Segment{Seq: seq, Flags: FlagPSH, Payload: []byte{byte(seq)}, PayloadLen: 1})
	}
	var delivered, runs int64
	b.ReportAllocs()
	for b.Loop() {
		runs++
		asm := NewAssembler(Limits{}, func(*Conn) Consumer { return discard{&delivered} })
		c := &Conn{}
		var p Packet
		for i := range segs {
			p.Frame = i + 1
			asm.AddSide(c, 0, ClientToServer, &segs[i], &p)
		}
		asm.Finish(c, ClientToServer, &p)
	}
	if want := runs * int64(len(order)); delivered != want {
		b.Fatalf("%d bytes delivered, want %d", delivered, want)
	}
}
