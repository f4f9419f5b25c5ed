package session

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

var (
	synServer = netip.MustParseAddrPort("192.0.2.25:25")
	synT0     = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
)

// synSession starts a connection from client at t0+at with a SYN.
func synSession(w *capgen.Writer, client string, at time.Duration, isn uint32) *capgen.Session {
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(client), synServer, synT0.Add(at), isn, 9000)
	s.Emit(true, isn, capgen.SYN, nil)
	return s
}

// filler writes a connection of n+3 packets from t0+at, a millisecond apart.
func filler(w *capgen.Writer, at time.Duration, n int) *capgen.Session {
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.9:40009"), synServer, synT0.Add(at), 50, 60)
	s.Handshake()
	for range n {
		s.Ack(true)
	}
	return s
}

// readSYNs reads a capture and returns "stream:packets" of each session,
// sorted, the late segments and the streams the tracker still holds.
func readSYNs(t *testing.T, capture []byte) (emitted []string, late int, kept string, count int) {
	t.Helper()
	c, err := reassembly.OpenReader("syns.pcap", bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Read(c, Options{Stream: -1, Selection: Selection{All: true}}, func(s *Session) error {
		emitted = append(emitted, fmt.Sprintf("%d:%d", s.Conn.Stream,
			s.Conn.Packets(reassembly.ClientToServer)+s.Conn.Packets(reassembly.ServerToClient)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(emitted)
	var held []int
	for _, cn := range res.Tracker.Conns() {
		held = append(held, cn.Stream)
	}
	return emitted, res.Stats.Late, fmt.Sprint(held), res.Tracker.Count()
}

func TestUnansweredSYNsAreGivenUpOn(t *testing.T) {
	cases := []struct {
		name    string
		synAck  time.Duration // when the server's answer to stream 0's SYN comes
		emitted string        // stream:packets of each session
		late    int
		kept    string // streams the tracker holds at the end
	}{
		// Stream 0's wait runs from its retransmitted SYN (2 min): it is
		// given up on when stream 3 opens, 3.5 min and over 10,000
		// packets later, and the answer after that is a late packet.
		{"answer after giving up", 5*time.Minute + 31*time.Second, "[0:2 1:10004 2:1 3:1]", 1, "[1 2 3]"},
		// When stream 2 opens, 4 min after stream 0's first SYN but 2 min
		// after its last, it still waits, and the answer is its own.
		{"answer within the wait", 4*time.Minute + time.Second, "[0:3 1:10004 2:1 3:1]", 0, "[0 1 2 3]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
			answer := func(s *capgen.Session) {
				s.Now = synT0.Add(tc.synAck)
				s.Emit(false, 9000, capgen.SYN|capgen.ACK, nil)
			}
			a := synSession(w, "192.0.2.1:40001", 0, 100)
			a.Now = synT0.Add(2 * time.Minute)
			a.Emit(true, 100, capgen.SYN, nil) // retransmitted
			filler(w, 2*time.Minute+time.Second, 10001)
			synSession(w, "192.0.2.2:40002", 4*time.Minute, 200)
			if tc.synAck < 5*time.Minute {
				answer(a)
			}
			synSession(w, "192.0.2.3:40003", 5*time.Minute+30*time.Second, 300)
			if tc.synAck > 5*time.Minute {
				answer(a)
			}
			emitted, late, kept, count := readSYNs(t, buf.Bytes())
			if fmt.Sprint(emitted) != tc.emitted || late != tc.late || kept != tc.kept || count != 4 {
				t.Errorf("sessions %v, late %d, held %s, count %d; want %s, %d, %s, 4", emitted, late, kept, count, tc.emitted, tc.late, tc.kept)
			}
		})
	}
}

// answerAndQuit completes a synSession: the server's SYN-ACK, a greeting,
// QUIT and its reply, and the close (12 packets with the SYN).
func answerAndQuit(a *capgen.Session) {
	a.Emit(false, 9000, capgen.SYN|capgen.ACK, nil)
	a.Ack(true)
	a.Server("220 mx\r\n")
	a.Client("QUIT\r\n")
	a.Server("221 bye\r\n")
	a.Close()
}

// TestAPacketStampedAheadGivesUpOnNoSYN: one packet stamped ten minutes
// ahead (a corrupt record, a clock step) right after a SYN does not end
// the connection: its answer and its whole session follow at the right
// time and stay with it.
func TestAPacketStampedAheadGivesUpOnNoSYN(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	a := synSession(w, "192.0.2.1:40001", 0, 100)
	f := filler(w, 10*time.Minute, 0)
	answerAndQuit(a)
	f.Ack(true)
	emitted, late, _, _ := readSYNs(t, buf.Bytes())
	if fmt.Sprint(emitted) != "[0:12 1:4]" || late != 0 {
		t.Errorf("sessions %v, late %d; want [0:12 1:4] and none late", emitted, late)
	}
}

// TestALatePacketOfItsOwnIsLate: a connection's own packet that comes
// after its linger (a FIN resent after the last ACK was lost) is a late
// packet, told once with the connection's packets before it, whether or
// not another connection's packet came in between to end it first. (On a
// quiet link it once became a second session of the same stream.)
func TestALatePacketOfItsOwnIsLate(t *testing.T) {
	for _, between := range []bool{false, true} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		a := synSession(w, "192.0.2.1:40001", 0, 100)
		answerAndQuit(a)
		a.Pause(10 * time.Second)
		want := "[0:12 1:4]"
		if between {
			synSession(w, "192.0.2.2:40002", 8*time.Second, 300)
			want = "[0:12 1:1 2:4]"
		}
		a.Emit(false, a.Sent(false)+9001, capgen.FIN|capgen.ACK, nil) // the server's FIN again
		filler(w, 30*time.Second, 1)
		emitted, late, _, _ := readSYNs(t, buf.Bytes())
		if fmt.Sprint(emitted) != want || late != 1 {
			t.Errorf("another connection between: %v; sessions %v, late %d; want %s and 1 late", between, emitted, late, want)
		}
	}
}

// TestBareSYNsWaitOnTheReader: a connection that has sent nothing but
// bare SYNs has nothing on its worker (no reassembly state, no parser)
// until something more comes: its SYNs wait on the reader, and go to the
// worker ahead of that, or when it is finished. A client's ninth SYN
// sends them anyway. Every session still counts every packet.
func TestBareSYNsWaitOnTheReader(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	synSession(w, "192.0.2.1:40001", 0, 100)                            // stream 0: one SYN, never answered
	answered := synSession(w, "192.0.2.2:40002", time.Millisecond, 200) // stream 1: answered, greeted, closed
	answered.Emit(true, 200, capgen.SYN, nil)                           // its SYN again
	answerAndQuit(answered)
	retried := synSession(w, "192.0.2.3:40003", time.Second, 300) // stream 2: nine SYNs
	for range 8 {
		retried.Pause(time.Second)
		retried.Emit(true, 300, capgen.SYN, nil)
	}
	tfo := synSession(w, "192.0.2.4:40004", 20*time.Second, 400) // stream 3: a SYN with data (TCP Fast Open)
	tfo.Emit(true, 400, capgen.SYN, []byte("EHLO x\r\n"))

	c, err := reassembly.OpenReader("syns.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var emitted []string
	r := newReader(Options{Stream: -1, Selection: Selection{All: true}}, func(s *Session) error {
		emitted = append(emitted, fmt.Sprintf("%d:%d", s.Conn.Stream,
			s.Conn.Packets(reassembly.ClientToServer)+s.Conn.Packets(reassembly.ServerToClient)))
		return nil
	})
	r.start()
	if _, err := reassembly.Walk(c, r.tracker, r.visit); err != nil {
		t.Fatal(err)
	}
	// Stream 1 was released after its linger; what the others left on
	// the reader is what their workers have not seen.
	want := []string{"held 1, sent false", "released", "held 0, sent true", "held 0, sent true"}
	for stream, wantState := range want {
		got := "released"
		if rt := r.routes[stream]; rt != nil {
			got = fmt.Sprintf("held %d, sent %v", len(rt.syns), rt.sent)
		}
		if got != wantState {
			t.Errorf("stream %d: %s, want %s", stream, got, wantState)
		}
	}
	r.finishAll()
	r.stop()
	slices.Sort(emitted)
	if fmt.Sprint(emitted) != "[0:1 1:13 2:9 3:2]" {
		t.Errorf("sessions %v, want [0:1 1:13 2:9 3:2]", emitted)
	}
}
