package session

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// emitted is what a read gave emit, session by session in the order it
// got them: each one's stream, first time, Settled and Unsettled.
type emitted struct {
	streams        []int
	first, settled []time.Time
	unsettled      [][]time.Time
}

// readSettled reads the capture in data (name for errors) with opts (all
// streams, recycling) and returns what emit got.
func readSettled(t *testing.T, name string, data []byte, opts Options) emitted {
	t.Helper()
	c, err := reassembly.OpenReader(name, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return readCapture(t, c, opts)
}

// readCapture is readSettled for a capture already open.
func readCapture(t *testing.T, c *reassembly.Capture, opts Options) emitted {
	t.Helper()
	var e emitted
	opts.Stream, opts.Recycle = -1, true
	if _, err := Read(c, opts, func(s *Session) error {
		e.streams = append(e.streams, s.Conn.Stream)
		e.first = append(e.first, s.Conn.FirstTime)
		e.settled = append(e.settled, s.Settled)
		e.unsettled = append(e.unsettled, s.Unsettled)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// greeted starts a connection from client at t0+at whose server answers
// and greets it (5 packets), and leaves it open.
func greeted(w *capgen.Writer, client string, at time.Duration, isn uint32) *capgen.Session {
	s := synSession(w, client, at, isn)
	s.Emit(false, 9000, capgen.SYN|capgen.ACK, nil)
	s.Ack(true)
	s.Server("220 mx\r\n")
	return s
}

// holds reports the first session that one emitted after it contradicts:
// one that started before its Settled time without being listed in its
// Unsettled.
func (e emitted) holds() error {
	for i := range e.streams {
		for j := i + 1; j < len(e.streams); j++ {
			if e.first[j].Before(e.settled[i]) && !slices.ContainsFunc(e.unsettled[i], e.first[j].Equal) {
				return fmt.Errorf("stream %d (started %s) came after stream %d, which had settled everything before %s but for %v",
					e.streams[j], e.first[j].Format(time.RFC3339Nano), e.streams[i], e.settled[i].Format(time.RFC3339Nano), e.unsettled[i])
			}
		}
	}
	return nil
}

// marks tells each session as stream@mark[listed], the times since synT0.
func (e emitted) marks() string {
	var out []string
	for i, s := range e.streams {
		var listed []time.Duration
		for _, u := range e.unsettled[i] {
			listed = append(listed, u.Sub(synT0))
		}
		out = append(out, fmt.Sprintf("%d@%s%v", s, e.settled[i].Sub(synT0), listed))
	}
	return strings.Join(out, " ")
}

// TestNoSessionStartedBeforeASettledMarkComesAfterIt: on every bundled and
// corpus capture, with one worker and with three, no session emitted
// after another started before the earlier one's Settled time, unless
// the earlier one listed it in Unsettled.
func TestNoSessionStartedBeforeASettledMarkComesAfterIt(t *testing.T) {
	marked := 0
	for _, path := range testcaps.All() {
		for _, workers := range []int{1, 3} {
			c, err := reassembly.Open(path)
			if err != nil {
				if testcaps.Broken(path) {
					continue
				}
				t.Fatal(err)
			}
			e := readCapture(t, c, Options{Workers: workers})
			if err := e.holds(); err != nil {
				t.Errorf("%s, %d workers: %v", path, workers, err)
			}
			for _, s := range e.settled {
				if !s.IsZero() {
					marked++
				}
			}
		}
	}
	if marked == 0 {
		t.Error("no session of any capture carried a Settled time")
	}
}

// TestALonePacketStampedAheadMovesNoMark: one packet of a connection left
// open (stream 0), stamped an hour ahead, among packets stamped as they
// should be: the marks do not jump with it, and stream 0 holds them back
// as before.
func TestALonePacketStampedAheadMovesNoMark(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	open := greeted(w, "192.0.2.1:40001", 0, 100)
	answerAndQuit(synSession(w, "192.0.2.2:40002", time.Second, 200))
	open.Pause(time.Hour)
	open.Ack(true)
	answerAndQuit(synSession(w, "192.0.2.3:40003", 10*time.Second, 300))
	filler(w, 20*time.Second, 0)

	e := readSettled(t, "ahead.pcap", buf.Bytes(), Options{Workers: 1})
	if err := e.holds(); err != nil {
		t.Error(err)
	}
	if got, want := e.marks(), "1@-1s[] "; !strings.HasPrefix(got, want) {
		t.Errorf("sessions and their marks %s; want the first %q", got, want)
	}
}

// TestAnOpenConnectionHoldsTheSettledMark: the connection open longest
// holds the mark a second (clockSlack) before its start for every session
// that ends meanwhile; once it is finished, the mark moves to a second
// before the start of the next one still open, or before the last packet
// when none is.
func TestAnOpenConnectionHoldsTheSettledMark(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	long := greeted(w, "192.0.2.1:40001", 0, 100)               // stream 0, open from t0 to about t0+60 s
	short := synSession(w, "192.0.2.2:40002", time.Second, 200) // stream 1, t0+1 s
	answerAndQuit(short)
	filler(w, 10*time.Second, 0) // stream 2, from t0+10 s to the end: never closed
	long.Pause(50 * time.Second)
	long.Client("QUIT\r\n")
	long.Server("221 bye\r\n")
	long.Close()
	late := synSession(w, "192.0.2.3:40003", 70*time.Second, 300) // stream 3: its SYN passes stream 0's linger
	answerAndQuit(late)

	e := readSettled(t, "settled.pcap", buf.Bytes(), Options{Workers: 1})
	// Stream 1, finished by stream 2's packets at t0+10 s, waits on stream
	// 0 (t0); stream 0, finished by stream 3's SYN at t0+70 s, on stream 2
	// (t0+10 s); stream 2, finished at the end of the capture, on stream 3,
	// still lingering after its close (t0+70 s); stream 3 on nothing: the
	// last packet (t0+70.011 s). Each a second earlier.
	if got, want := e.marks(), "1@-1s[] 0@9s[] 2@1m9s[] 3@1m9.011s[]"; got != want {
		t.Errorf("sessions and their marks %s, want %s", got, want)
	}
}

// TestACaptureWhoseClockGoesBackSettlesNothing: once a packet is stamped
// before the one before it, a later stream may have started before an
// earlier one, and no session carries a Settled time from then on.
func TestACaptureWhoseClockGoesBackSettlesNothing(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	a := synSession(w, "192.0.2.1:40001", 10*time.Second, 100)
	answerAndQuit(a)
	b := synSession(w, "192.0.2.2:40002", 0, 200) // earlier than all of a
	answerAndQuit(b)
	filler(w, 30*time.Second, 0)

	e := readSettled(t, "back.pcap", buf.Bytes(), Options{Workers: 1})
	if len(e.streams) != 3 || slices.ContainsFunc(e.settled, func(s time.Time) bool { return !s.IsZero() }) {
		t.Errorf("sessions and their marks %s; want 3, none with a mark after the clock went back", e.marks())
	}
}

// TestPacketsALittleOutOfOrderKeepTheMarks: a connection whose first
// packet is stamped half a second before the last one of the connection
// before it (a capture taken on several CPUs) does not end the marks, and
// no mark passes its start.
func TestPacketsALittleOutOfOrderKeepTheMarks(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	a := synSession(w, "192.0.2.1:40001", 0, 100)
	answerAndQuit(a) // its last packet at t0+11 ms
	b := synSession(w, "192.0.2.2:40002", -489*time.Millisecond, 200)
	answerAndQuit(b)
	filler(w, 30*time.Second, 0)

	e := readSettled(t, "jitter.pcap", buf.Bytes(), Options{Workers: 1})
	if err := e.holds(); err != nil {
		t.Error(err)
	}
	// Stream 0, finished by stream 2's first packet at t0+30 s, waits on
	// stream 1 (t0-0.489 s); stream 1, finished by the same packet, on
	// nothing: that packet's time; stream 2, at the end, on its last
	// packet (t0+30.002 s). Each a second earlier.
	if got, want := e.marks(), "0@-1.489s[] 1@29s[] 2@29.002s[]"; got != want {
		t.Errorf("sessions and their marks %s, want %s", got, want)
	}
}

// TestAConnectionLeftOpenIsListedNotWaitedFor: a connection greeted and
// then left open to the end of the capture (stream 0) holds the mark back
// only for its first minute; after it, it is listed in Unsettled, and the
// marks go on with the connections after it.
func TestAConnectionLeftOpenIsListedNotWaitedFor(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	greeted(w, "192.0.2.1:40001", 0, 100) // stream 0, left open
	answerAndQuit(synSession(w, "192.0.2.2:40002", 10*time.Second, 200))
	answerAndQuit(synSession(w, "192.0.2.3:40003", 70*time.Second, 300))
	answerAndQuit(synSession(w, "192.0.2.4:40004", 80*time.Second, 400))
	filler(w, 90*time.Second, 0)

	e := readSettled(t, "open.pcap", buf.Bytes(), Options{Workers: 1})
	// Streams 1, 2 and 3 are finished by the first packets of streams 2, 3
	// and 4 (t0+70, 80 and 90 s), with stream 0 open for more than a minute
	// by then: listed, and each mark a second before that packet. At the
	// end stream 0 is finished, and stream 4 (from t0+90 s) holds the mark;
	// then stream 4, on its own last packet (t0+90.002 s).
	if got, want := e.marks(), "1@1m9s[0s] 2@1m19s[0s] 3@1m29s[0s] 0@1m29s[] 4@1m29.002s[]"; got != want {
		t.Errorf("sessions, marks and what they list %s, want %s", got, want)
	}
}

// TestAWorkerThatEmitsNothingHoldsNoMarkBack: with two workers, the odd
// streams (worker 1's) are all connections to port 443. Taken by what
// they say, they turn out not to be SMTP and are dropped by worker 1;
// taken by port (--port 25), worker 1 never hears of them. Either way it
// emits nothing, and no mark is wrong; taken by port, the marks still
// come, from worker 0's sessions. (Taken by what they say, how many
// carry a mark depends on how far worker 1 has got when worker 0 emits.)
func TestAWorkerThatEmitsNothingHoldsNoMarkBack(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	web := netip.MustParseAddrPort("192.0.2.80:443")
	for i := range 40 {
		at := synT0.Add(time.Duration(i) * time.Second)
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i)}), 40000)
		if i%2 == 0 {
			capgen.NewSession(w, capgen.LinkEthernet, client, synServer, at, uint32(1000+i), 9000).SMTP("a@example.org", "b@example.com", "Subject: x\r\n\r\nhi\r\n")
			continue
		}
		s := capgen.NewSession(w, capgen.LinkEthernet, client, web, at, uint32(1000+i), 9000)
		s.Handshake()
		s.Client("\x16\x03\x01\x00\x05hello")
		s.Close()
	}
	filler(w, 60*time.Second, 0)

	for _, sel := range []Selection{{}, {Ports: []uint16{25}}} {
		e := readSettled(t, "web.pcap", buf.Bytes(), Options{Workers: 2, Selection: sel})
		if err := e.holds(); err != nil {
			t.Errorf("ports %v: %v", sel.Ports, err)
		}
		marked := 0
		for _, s := range e.settled {
			if !s.IsZero() {
				marked++
			}
		}
		if len(e.streams) != 21 || sel.Ports != nil && marked < 18 {
			t.Errorf("ports %v: %d sessions, %d of them with a Settled time; want 21, and all but the first few", sel.Ports, len(e.streams), marked)
		}
	}
}

// TestSettledJoinsTheWorkersLists: the settled time is the least of the
// marks of the workers with work outstanding, and the connections listed
// are those all their marks list, made into one sorted list without
// repeats, once for as long as the marks' lists stay the same.
func TestSettledJoinsTheWorkersLists(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	old, older := []time.Time{at(100)}, []time.Time{at(90), at(100)}
	r := &reader{marks: []mark{{at(300).UnixNano(), old}, {at(200).UnixNano(), older}, {at(100).UnixNano(), nil}},
		dealt: make([]int64, 3), queued: make([]atomic.Int64, 3)}
	r.queued[0].Store(1)
	r.queued[1].Store(1)
	// Worker 2 has dealt with all it was sent: its mark (100) holds nothing back.
	settled, open := r.settled(0)
	if !settled.Equal(at(200)) || fmt.Sprint(open) != fmt.Sprint(older) {
		t.Errorf("settled %s, listed %v; want %s and the two lists joined, sorted, without repeats: %v", settled, open, at(200), older)
	}
	if _, again := r.settled(1); &again[0] != &open[0] {
		t.Error("the same lists were joined anew")
	}
	r.marks[1].open = old // both list the same connections now
	if _, one := r.settled(0); len(one) != 1 || &one[0] != &old[0] {
		t.Errorf("listed %v; want worker 0's own list", one)
	}
	r.queued[2].Store(1) // worker 2 has work outstanding: its mark counts
	if settled, _ := r.settled(0); !settled.Equal(at(100)) {
		t.Errorf("settled %s, want %s", settled, at(100))
	}
	r.marks[1].at = 0 // a worker with work outstanding and no mark: none
	if settled, open := r.settled(0); !settled.IsZero() || open != nil {
		t.Errorf("settled %s, listed %v; want neither", settled, open)
	}
}
