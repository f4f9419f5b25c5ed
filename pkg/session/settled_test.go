package session

import (
	"bytes"
	"fmt"
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
	_, err := Read(c, Options{Stream: -1, Workers: workers, Recycle: true}, func(s *Session) error {
		streams = append(streams, s.Conn.Stream)
		first = append(first, s.Conn.FirstTime)
		settled = append(settled, s.Settled)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return streams, first, settled
}

// TestNoSessionStartedBeforeASettledMarkComesAfterIt: on every bundled and
// corpus capture, with one worker and with three, no session emitted
// after another started before the earlier one's Settled time.
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
			streams, first, settled := settledSessions(t, c, workers)
			var mark time.Time
			markedBy := -1
			for i := range streams {
				if first[i].Before(mark) {
					t.Errorf("%s, %d workers: stream %d (started %s) came after stream %d had settled everything before %s",
						path, workers, streams[i], first[i].Format(time.RFC3339Nano), markedBy, mark.Format(time.RFC3339Nano))
				}
				if settled[i].After(mark) {
					mark, markedBy = settled[i], streams[i]
				}
				if !settled[i].IsZero() {
					marked++
				}
			}
		}
	}
	if marked == 0 {
		t.Error("no session of any capture carried a Settled time")
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
