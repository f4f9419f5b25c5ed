package reassembly

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/smtpcap/smtpcap/internal/wording"
)

// Tally counts packets of one kind and remembers the first.
type Tally struct {
	N          int // how many
	FirstFrame int // frame number of the first, in its own file
	FirstInput int // input index of the first
}

// addCopy counts p as a copy of a packet captured just before, in
// another input file or in its own (fragment copies are counted there).
func (st *Stats) addCopy(p *Packet, otherInput bool) {
	st.Copies.add(p)
	if otherInput {
		st.CopiesFromInputs.add(p)
	} else {
		st.CopiesInInput.add(p)
	}
}

func (t *Tally) add(p *Packet) {
	if t.N == 0 {
		t.FirstFrame, t.FirstInput = p.FileFrame, p.Input
	}
	t.N++
}

// Stats says what a walk over a capture saw and what it could not use.
type Stats struct {
	Packets          int                 // records read
	Bytes            int64               // captured bytes read
	TCP              int                 // TCP segments
	Late             int                 // of those, segments of connections already forgotten (Tracker.Forget): skipped unless TrackerOptions.Late takes them
	Copies           Tally               // of those, copies of a segment captured just before (TrackerOptions.SkipCopies or CountCopies)
	CopiesFromInputs Tally               // of the copies, those whose segment was in another input file (the same traffic captured in several files)
	CopiesInInput    Tally               // of the copies, the others (fragment copies too): Copies is the two together
	CopiesKept       bool                // copies are visited as any segment (CountCopies without SkipCopies), not skipped
	NotTCP           int                 // non-TCP packets (ARP, UDP, ICMP …): skipped
	Fragments        Tally               // fragments of IP datagrams carrying TCP that never completed: not used
	Reassembled      int                 // IP datagrams carrying TCP reassembled from their fragments
	FragmentCopies   int                 // fragments of IP datagrams already reassembled (a capture holding packets twice): skipped
	Short            Tally               // frames cut inside the headers: cannot be tracked
	Malformed        Tally               // impossible header fields
	Truncated        Tally               // TCP segments whose payload snaplen cut
	Unsupported      map[LinkType]*Tally // frames of link types smtpcap cannot decode
	BadTime          Tally               // records whose sub-second timestamp field was out of range
	WildTime         Tally               // records timestamped before 1970 or after 2106: given the time of the record before
	Backwards        Tally               // packets timestamped ClockStep or more before the packet before them
	MostBack         time.Duration       // the largest such step back
}

// ClockStep is how far a packet's timestamp must lie before the previous
// packet's to count as a step of the capture's clock. Smaller inversions
// are ordinary in captures taken on several CPUs or interfaces, and leave
// silences that last seconds measurable.
const ClockStep = time.Second

// Visitor is called for each tracked TCP segment. The segment and packet
// are reused after it returns.
type Visitor func(c *Conn, s *Segment, p *Packet) error

// Walk reads every packet of the capture, decodes it and tracks its
// connection, calling visit for each TCP segment. A TCP segment sent in IP
// fragments is visited once, in the frame that completed its datagram,
// with the other fragments in Packet.Fragments. It stops early only when
// visit returns an error, which it returns. Faults in the input files do
// not stop it: see Capture.Errors.
func Walk(c *Capture, t *Tracker, visit Visitor) (st Stats, err error) {
	var (
		pkt    Packet
		seg    Segment
		frag   Fragment
		frags  defragmenter
		last   time.Time // the packet before's timestamp
		copies copyFilter
	)
	st.CopiesKept = t.opts.CountCopies && !t.opts.SkipCopies
	frags.keepCopies = st.CopiesKept
	defer func() {
		frags.close()
		st.Fragments, st.Reassembled, st.FragmentCopies = frags.lost, frags.done, frags.copies
	}()
	for {
		pkt.Fragments = nil
		err := c.Next(&pkt)
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		if pkt.BadTime {
			st.BadTime.add(&pkt)
		}
		if pkt.WildTime {
			st.WildTime.add(&pkt)
		}
		if st.Packets > 0 && last.Sub(pkt.Timestamp) >= ClockStep {
			st.Backwards.add(&pkt)
			st.MostBack = max(st.MostBack, last.Sub(pkt.Timestamp))
		}
		last = pkt.Timestamp
		st.Packets++
		st.Bytes += int64(len(pkt.Data))
		err = Decode(pkt.LinkType, pkt.Data, &seg, &frag)
		fragment := fragmentReassembled
		if errors.Is(err, ErrFragment) {
			fragment, err = frags.add(&pkt, &frag, &seg)
			if fragment == fragmentPendingCopy && (t.opts.SkipCopies || t.opts.CountCopies) {
				st.addCopy(&pkt, false) // held with its datagram, which uses its bytes once
			}
			if fragment == fragmentPending || fragment == fragmentPendingCopy {
				continue
			}
		}
		if err != nil {
			switch {
			case errors.Is(err, ErrNotTCP):
				st.NotTCP++
			case errors.Is(err, ErrShort):
				st.Short.add(&pkt)
			case errors.Is(err, ErrLinkType):
				if st.Unsupported == nil {
					st.Unsupported = make(map[LinkType]*Tally)
				}
				tl := st.Unsupported[pkt.LinkType]
				if tl == nil {
					tl = &Tally{}
					st.Unsupported[pkt.LinkType] = tl
				}
				tl.add(&pkt)
			default:
				st.Malformed.add(&pkt)
			}
			continue
		}
		st.TCP++
		if fragment == fragmentCopyKept {
			// A copy of a fragment of a datagram already reassembled,
			// kept: it goes with its datagram's segment.
			st.addCopy(&pkt, false)
		} else if t.opts.SkipCopies || t.opts.CountCopies {
			if frame, input := copies.copyAt(&seg, &pkt); frame != 0 {
				st.addCopy(&pkt, input != pkt.Input)
				if t.opts.SkipCopies {
					continue
				}
			}
		}
		if seg.Missing() > 0 {
			st.Truncated.add(&pkt)
		}
		if t.opts.Expire != nil {
			t.opts.Expire(&pkt)
		}
		conn, _, late := t.track(&seg, &pkt)
		if conn == nil {
			st.Late++
			if t.opts.Late != nil {
				if err := t.opts.Late(late, &seg, &pkt); err != nil {
					return st, err
				}
			}
			continue
		}
		if visit != nil {
			if err := visit(conn, &seg, &pkt); err != nil {
				return st, err
			}
		}
	}
}

// Problems turns what the walk could not use into messages that name the
// input file and the first frame. Unsupported link types are errors (the
// capture could not be analysed); the rest are warnings.
func (st *Stats) Problems(inputs []*Input) (errs, warnings []error) {
	name := func(t *Tally) string {
		if t.FirstInput < len(inputs) {
			return inputs[t.FirstInput].Name
		}
		return "capture"
	}
	types := slices.Sorted(maps.Keys(st.Unsupported))
	for _, lt := range types {
		t := st.Unsupported[lt]
		errs = append(errs, fmt.Errorf("%s: frame %d: %w %d (%s): %d packets not decoded",
			name(t), t.FirstFrame, ErrLinkType, uint32(lt), lt, t.N))
	}
	if t := &st.Fragments; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %s of TCP datagrams that never completed (fragments missing, or cut by the snaplen): their connections miss that data",
			name(t), t.FirstFrame, wording.Plural(t.N, "IP fragment", "IP fragments")))
	}
	if t := &st.Short; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %d frames end inside their headers (snaplen too small?) and were skipped",
			name(t), t.FirstFrame, t.N))
	}
	if t := &st.Malformed; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %d frames have malformed IP/TCP headers and were skipped",
			name(t), t.FirstFrame, t.N))
	}
	if t := &st.BadTime; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %s a sub-second timestamp field out of range (a corrupt record header?); read as carried into the seconds",
			name(t), t.FirstFrame, wording.Plural(t.N, "record has", "records have")))
	}
	if t := &st.WildTime; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %s timestamped before 1970 or after 2106 (a corrupt record header?); read as at the time of the record before (the first as at 1970-01-01)",
			name(t), t.FirstFrame, wording.Plural(t.N, "record is", "records are")))
	}
	if t := &st.Backwards; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %s timestamped %s or more before the packet in front (by up to %s): times, durations and stalls around them are not to be trusted, nor the pairing of connections as a proxy's two legs or as one session seen on both sides of a NAT",
			name(t), t.FirstFrame, wording.Plural(t.N, "packet is", "packets are"), ClockStep, st.MostBack.Round(time.Millisecond)))
	}
	copies := "each analysed once"
	if st.CopiesKept {
		copies = "kept as captured (analyze counts each once)"
	}
	if t := &st.CopiesFromInputs; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %s in another input file too (the same traffic captured twice, into several files at once): %s",
			name(t), t.FirstFrame, wording.Plural(t.N, "packet is", "packets are"), copies))
	}
	if t := &st.CopiesInInput; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %s the same IP packet as one captured just before (captured on more than one interface, as tcpdump -i any does on a host with a bridge, or duplicated by the network): %s",
			name(t), t.FirstFrame, wording.Plural(t.N, "packet is", "packets are"), copies))
	}
	if t := &st.Truncated; t.N > 0 {
		warnings = append(warnings, fmt.Errorf("%s: frame %d: %d TCP segments were cut by the snaplen; their payload is incomplete",
			name(t), t.FirstFrame, t.N))
	}
	return errs, warnings
}
