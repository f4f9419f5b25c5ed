package session

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// settledSessions reads a capture and returns, in the order emit got
// them, each session's stream, first time and Settled.
func settledSessions(t *testing.T, c *reassembly.Capture, workers int) (streams []int, first, settled []time.Time) {
	t.Helper()
	streams, first, settled, _ = readSettled(t, c, workers)
	return streams, first, settled
}

// readSettled is settledSessions with each session's Unsettled too.
func readSettled(t *testing.T, c *reassembly.Capture, workers int) (streams []int, first, settled []time.Time, unsettled [][]time.Time) {
	t.Helper()
	_, err := Read(c, Options{Stream: -1, Workers: workers, Recycle: true}, func(s *Session) error {
		streams = append(streams, s.Conn.Stream)
		first = append(first, s.Conn.FirstTime)
		settled = append(settled, s.Settled)
		unsettled = append(unsettled, s.Unsettled)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return streams, first, settled, unsettled
}

// settledHolds reports, for sessions in the order emit got them, the
// first that a session emitted after it contradicts: one that started
// before its Settled time without being listed in its Unsettled.
func settledHolds(streams []int, first, settled []time.Time, unsettled [][]time.Time) error {
	for i := range streams {
		for j := i + 1; j < len(streams); j++ {
			if first[j].Before(settled[i]) && !slices.ContainsFunc(unsettled[i], first[j].Equal) {
				return fmt.Errorf("stream %d (started %s) came after stream %d, which had settled everything before %s but for %v",
					streams[j], first[j].Format(time.RFC3339Nano), streams[i], settled[i].Format(time.RFC3339Nano), unsettled[i])
			}
		}
	}
	return nil
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
			streams, first, settled, unsettled := readSettled(t, c, workers)
			if err := settledHolds(streams, first, settled, unsettled); err != nil {
				t.Errorf("%s, %d workers: %v", path, workers, err)
			}
			for _, s := range settled {
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
	open := synSession(w, "192.0.2.1:40001", 0, 100)
	open.Emit(false, 9000, capgen.SYN|capgen.ACK, nil)
	open.Ack(true)
	open.Server("220 mx\r\n")
	answerAndQuit(synSession(w, "192.0.2.2:40002", time.Second, 200))
	open.Pause(time.Hour)
	open.Ack(true)
	answerAndQuit(synSession(w, "192.0.2.3:40003", 10*time.Second, 300))
	filler(w, 20*time.Second, 0)

	c, err := reassembly.OpenReader("ahead.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	streams, first, settled, unsettled := readSettled(t, c, 1)
	if err := settledHolds(streams, first, settled, unsettled); err != nil {
		t.Error(err)
	}
	if len(streams) < 2 || streams[0] != 1 || !settled[0].Equal(synT0.Add(-time.Second)) || unsettled[0] != nil {
		t.Errorf("first session: stream %d, settled %s listing %v; want stream 1, settled %s listing none",
			streams[0], settled[0].Sub(synT0), unsettled[0], -time.Second)
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
	long := synSession(w, "192.0.2.1:40001", 0, 100) // stream 0, open from t0 to about t0+60 s
	long.Emit(false, 9000, capgen.SYN|capgen.ACK, nil)
	long.Ack(true)
	long.Server("220 mx\r\n")
	short := synSession(w, "192.0.2.2:40002", time.Second, 200) // stream 1, t0+1 s
	answerAndQuit(short)
	filler(w, 10*time.Second, 0) // stream 2, from t0+10 s to the end: never closed
	long.Pause(50 * time.Second)
	long.Client("QUIT\r\n")
	long.Server("221 bye\r\n")
	long.Close()
	late := synSession(w, "192.0.2.3:40003", 70*time.Second, 300) // stream 3: its SYN passes stream 0's linger
	answerAndQuit(late)

	c, err := reassembly.OpenReader("settled.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	streams, _, settled := settledSessions(t, c, 1)
	var got []string
	for i, s := range streams {
		got = append(got, fmt.Sprintf("%d@%s", s, settled[i].Sub(synT0)))
	}
	// Stream 1, finished by stream 2's packets at t0+10 s, waits on stream
	// 0 (t0); stream 0, finished by stream 3's SYN at t0+70 s, on stream 2
	// (t0+10 s); stream 2, finished at the end of the capture, on stream 3,
	// still lingering after its close (t0+70 s); stream 3 on nothing: the
	// last packet (t0+70.011 s). Each a second earlier.
	want := "[1@-1s 0@9s 2@1m9s 3@1m9.011s]"
	if fmt.Sprint(got) != want {
		t.Errorf("sessions and their marks %v, want %s", got, want)
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

	c, err := reassembly.OpenReader("back.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	streams, _, settled := settledSessions(t, c, 1)
	if len(streams) != 3 {
		t.Fatalf("%d sessions, want 3", len(streams))
	}
	for i, s := range settled {
		if !s.IsZero() {
			t.Errorf("stream %d carries Settled %s; want none after the clock went back", streams[i], s)
		}
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

	c, err := reassembly.OpenReader("jitter.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	streams, first, settled := settledSessions(t, c, 1)
	var got []string
	for i, s := range streams {
		got = append(got, fmt.Sprintf("%d@%s", s, settled[i].Sub(synT0)))
		for j := i + 1; j < len(streams); j++ {
			if first[j].Before(settled[i]) {
				t.Errorf("stream %d started at %s, before stream %d's mark %s", streams[j], first[j].Sub(synT0), s, settled[i].Sub(synT0))
			}
		}
	}
	// Stream 0, finished by stream 2's first packet at t0+30 s, waits on
	// stream 1 (t0-0.489 s); stream 1, finished by the same packet, on
	// nothing: that packet's time; stream 2, at the end, on its last
	// packet (t0+30.002 s). Each a second earlier.
	want := "[0@-1.489s 1@29s 2@29.002s]"
	if fmt.Sprint(got) != want {
		t.Errorf("sessions and their marks %v, want %s", got, want)
	}
}

// TestAConnectionLeftOpenIsListedNotWaitedFor: a connection greeted and
// then left open to the end of the capture (stream 0) holds the mark back
// only for its first minute; after it, it is listed in Unsettled, and the
// marks go on with the connections after it.
func TestAConnectionLeftOpenIsListedNotWaitedFor(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	open := synSession(w, "192.0.2.1:40001", 0, 100)
	open.Emit(false, 9000, capgen.SYN|capgen.ACK, nil)
	open.Ack(true)
	open.Server("220 mx\r\n")
	answerAndQuit(synSession(w, "192.0.2.2:40002", 10*time.Second, 200))
	answerAndQuit(synSession(w, "192.0.2.3:40003", 70*time.Second, 300))
	answerAndQuit(synSession(w, "192.0.2.4:40004", 80*time.Second, 400))
	filler(w, 90*time.Second, 0)

	c, err := reassembly.OpenReader("open.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	streams, _, settled, unsettled := readSettled(t, c, 1)
	var got []string
	for i, s := range streams {
		var listed []time.Duration
		for _, u := range unsettled[i] {
			listed = append(listed, u.Sub(synT0))
		}
		got = append(got, fmt.Sprintf("%d@%s%v", s, settled[i].Sub(synT0), listed))
	}
	// Streams 1, 2 and 3 are finished by the first packets of streams 2, 3
	// and 4 (t0+70, 80 and 90 s), with stream 0 open for more than a minute
	// by then: listed, and each mark a second before that packet. At the
	// end stream 0 is finished, and stream 4 (from t0+90 s) holds the mark;
	// then stream 4, on its own last packet (t0+90.002 s).
	want := "[1@1m9s[0s] 2@1m19s[0s] 3@1m29s[0s] 0@1m29s[] 4@1m29.002s[]]"
	if fmt.Sprint(got) != want {
		t.Errorf("sessions, marks and what they list %v, want %s", got, want)
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
		c, err := reassembly.OpenReader("web.pcap", bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		var streams []int
		var first, settled []time.Time
		if _, err := Read(c, Options{Stream: -1, Workers: 2, Selection: sel}, func(s *Session) error {
			streams, first, settled = append(streams, s.Conn.Stream), append(first, s.Conn.FirstTime), append(settled, s.Settled)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		marked := 0
		for i := range streams {
			if !settled[i].IsZero() {
				marked++
			}
			for j := i + 1; j < len(streams); j++ {
				if first[j].Before(settled[i]) {
					t.Errorf("ports %v: stream %d started at %s, before stream %d's mark %s", sel.Ports, streams[j], first[j].Sub(synT0), streams[i], settled[i].Sub(synT0))
				}
			}
		}
		if len(streams) != 21 || sel.Ports != nil && marked < 18 {
			t.Errorf("ports %v: %d sessions, %d of them with a Settled time; want 21, and all but the first few", sel.Ports, len(streams), marked)
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
