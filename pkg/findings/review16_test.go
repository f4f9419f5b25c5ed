package findings

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// cliKeepAlive writes a Linux keep-alive (or zero-window probe) from the
// client: no payload, one below what it has sent.
func cliKeepAlive(s *capgen.Session) { s.Emit(true, 11+s.Sent(true), capgen.ACK, nil) }

// rv16Streams analyses one capture of the sessions the scripts write, one
// after the other, each from its own client port.
func rv16Streams(t *testing.T, scripts ...func(s *capgen.Session, fin func(bool))) *Report {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	now := time.Unix(1_700_000_000, 0)
	for i, script := range scripts {
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), uint16(40000+i)),
			netip.MustParseAddrPort("198.51.100.25:25"), now, 11, 22)
		var fins [2]uint32
		fin := func(client bool) {
			k, isn := 1, uint32(22)
			if client {
				k, isn = 0, 11
			}
			s.Emit(client, isn+1+s.Sent(client)+fins[k], capgen.FIN|capgen.ACK, nil)
			fins[k]++
		}
		script(s, fin)
		now = s.Now.Add(time.Second)
	}
	return analyzeBytes(t, "rv16-streams.pcap", buf.Bytes())
}

// rv16Late is a session whose 250 comes 7 s after the client left.
func rv16Late(s *capgen.Session, fin func(bool)) {
	s.Handshake()
	pipelinedEnvelope(s)
	s.Client("Subject: x\r\n\r\nbody\r\n.\r\n") // 14, 15
	s.Pause(5 * time.Second)
	fin(true) // 16
	s.Pause(7 * time.Second)
	s.Send(false, []byte("250 ok\r\n")) // 17
	s.Reset(true)                       // 18
}

// rv16Clean is a session delivered and closed as usual.
func rv16Clean(s *capgen.Session, fin func(bool)) {
	s.Handshake()
	pipelinedEnvelope(s)
	s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
	s.Server("250 ok\r\n")
	s.Client("QUIT\r\n")
	s.Server("221 bye\r\n")
	fin(true)
	fin(false)
	s.Ack(true)
}

// rv16ManyTx returns a script of n messages in one connection.
func rv16ManyTx(n int) func(s *capgen.Session, fin func(bool)) {
	return func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx\r\n250 PIPELINING\r\n")
		for i := range n {
			_ = i
			s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
			s.Server("250 ok\r\n250 ok\r\n354 go\r\n")
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
			s.Server("250 ok\r\n")
		}
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
		s.Ack(true)
	}
}

// rv16Only fails the test unless the report holds exactly the given
// number of findings with id (in any stream), returning them.
func rv16Only(t *testing.T, r *Report, id string, n int) []Finding {
	t.Helper()
	var got []Finding
	for _, f := range r.Findings.All() {
		if f.ID == id {
			got = append(got, f)
		}
	}
	if len(got) != n {
		t.Errorf("%d %s findings, want %d: %+v", len(got), id, n, got)
	}
	return got
}

// TestRV16ABriefClosedWindowWithProbes: the server closes its window for
// 0.85 s while the client probes (Linux's keep-alive-shaped probe): flow
// control, no finding, and the message is delivered.
func TestRV16ABriefClosedWindowWithProbes(t *testing.T) {
	body := strings.Repeat("0123456789 a line of the message body\r\n", 100)
	r := craftedReport(t, "rv16-brief", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		pipelinedEnvelope(s)
		s.Send(true, []byte(body[:2896]), 1448)
		s.CloseWindow(false, true)
		s.Ack(false)
		for range 3 {
			s.Pause(200 * time.Millisecond)
			cliKeepAlive(s)
			s.Ack(false)
		}
		s.Pause(200 * time.Millisecond)
		s.CloseWindow(false, false)
		s.Ack(false)
		s.Client(body[2896:] + ".\r\n")
		s.Server("250 ok\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	rv16Only(t, r, "window-closed", 0)
	rv16Only(t, r, "stall", 0)
	if c := r.Connections.All()[0]; c.Delivered != 1 {
		t.Errorf("connection %+v: the message was delivered", c)
	}
}

// TestRV16ReadRepliesAreNoDuplicates: clients that read (ACKed) the 250,
// however they then closed, and captures that stop before the 250's fate
// shows, get no accepted-after-client-left.
func TestRV16ReadRepliesAreNoDuplicates(t *testing.T) {
	cases := map[string]func(s *capgen.Session, fin func(bool)){
		// QUIT and FIN after reading the 250; a clean close.
		"clean": rv16Clean,
		// The 250 ACKed, then the client resets the 221.
		"rst-on-221": func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
			s.Server("250 ok\r\n")
			s.Send(true, []byte("QUIT\r\n"))
			fin(true)
			s.Send(false, []byte("221 bye\r\n"))
			s.Reset(true)
		},
		// QUIT pipelined, its FIN crossing the 250 (acknowledging none
		// of it); the client ACKs the 250 afterwards.
		"fin-crosses-250": func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Send(true, []byte("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"))
			s.Ack(false)
			s.SegmentAt(false, s.Sent(false), []byte("250 ok\r\n"))
			fin(true)
			s.Skip(false, 8)
			s.Server("221 bye\r\n")
			fin(false)
			s.Ack(true)
		},
		// A FIN 5 s after the end of data, then a 250 the half-closed
		// client still reads and acknowledges.
		"half-closed-reads-late-250": func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
			s.Pause(5 * time.Second)
			fin(true)
			s.Pause(7 * time.Second)
			s.Send(false, []byte("250 ok\r\n"))
			s.Ack(true)
			s.Send(false, []byte("221 bye\r\n"))
			fin(false)
			s.Ack(true)
		},
		// The client left (FIN) 5 s after the end of data; the late 250
		// is the capture's last packet: its fate is unknown.
		"capture-ends-after-late-250": func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
			s.Pause(5 * time.Second)
			fin(true)
			s.Pause(7 * time.Second)
			s.Send(false, []byte("250 ok\r\n"))
		},
		// The 250 is the capture's last packet, and the client never closed.
		"capture-ends-at-250": func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
			s.Send(false, []byte("250 ok\r\n"))
		},
		// LMTP: one final reply per recipient, both read.
		"lmtp": func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			s.Server("220 lmtp ready\r\n")
			s.Client("LHLO c.example.org\r\n")
			s.Server("250-lmtp\r\n250 PIPELINING\r\n")
			s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n")
			s.Server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n")
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
			s.Pause(3 * time.Second)
			s.Server("250 2.0.0 <b@example.test> ok\r\n")
			s.Server("250 2.0.0 <c@example.test> ok\r\n")
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			fin(true)
			fin(false)
			s.Ack(true)
		},
	}
	for name, script := range cases {
		t.Run(name, func(t *testing.T) {
			port := uint16(25)
			if name == "lmtp" {
				port = 24
			}
			r := craftedReport(t, "rv16-"+name, port, script)
			rv16Only(t, r, "accepted-after-client-left", 0)
			rv16Only(t, r, "window-closed", 0)
		})
	}
}

// TestRV16OnlyTheLateTransaction: two transactions in one connection, the
// first answered late (8 s) but read; the client gives up on the second
// and resets its late 250. One finding, for the second envelope.
func TestRV16OnlyTheLateTransaction(t *testing.T) {
	r := craftedReport(t, "rv16-two", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		pipelinedEnvelope(s)
		s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
		s.Pause(8 * time.Second)
		s.Server("250 ok 1\r\n")
		s.Client("MAIL FROM:<a2@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
		s.Server("250 ok\r\n250 ok\r\n354 go\r\n")
		s.Client("Subject: y\r\n\r\nbody\r\n.\r\n") // 22, 23
		s.Pause(5 * time.Second)
		fin(true) // 24
		s.Pause(5 * time.Second)
		s.Send(false, []byte("250 ok 2\r\n")) // 25
		s.Reset(true)                         // 26
	})
	got := rv16Only(t, r, "accepted-after-client-left", 1)
	if len(got) == 1 && (!slices.Equal(got[0].Frames, []int{22, 24, 25, 26}) ||
		!strings.HasPrefix(got[0].Summary, "the server accepted the message from <a2@example.org> (250 in frame 25) 10.0 s after the end of data (frame 22), when the client had already given up: it closed the connection 5.0 s after the end of data (its FIN in frame 24), and its TCP answered the 250 with a reset (frame 26)")) {
		t.Errorf("accepted-after-client-left: %+v", got[0])
	}
	rv16Only(t, r, "window-closed", 0)
}

// TestRV16LateFirstOfAPipelinedPair: the client pipelines the next
// envelope behind its end of data, gives up 5 s later; the late 250 (and
// the replies to the next envelope) meet its reset. The first message is
// the duplicate.
func TestRV16LateFirstOfAPipelinedPair(t *testing.T) {
	r := craftedReport(t, "rv16-pipelined-next", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		pipelinedEnvelope(s)
		s.Client("Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a2@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n") // 14, 15
		s.Pause(5 * time.Second)
		fin(true) // 16
		s.Pause(5 * time.Second)
		s.Send(false, []byte("250 ok 1\r\n250 ok\r\n250 ok\r\n354 go\r\n")) // 17
		s.Reset(true)                                                       // 18
	})
	got := rv16Only(t, r, "accepted-after-client-left", 1)
	if len(got) == 1 && (!slices.Equal(got[0].Frames, []int{14, 16, 17, 18}) || !strings.Contains(got[0].Summary, "from <a@example.org> (250 in frame 17)")) {
		t.Errorf("accepted-after-client-left: %+v", got[0])
	}
}

// TestRV16LostReplyThenReset: the 250 goes out and again, never ACKed,
// and the client resets 3 s after its end of data.
func TestRV16LostReplyThenReset(t *testing.T) {
	r := craftedReport(t, "rv16-lost-rst", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		pipelinedEnvelope(s)
		s.Client("Subject: x\r\n\r\nbody\r\n.\r\n") // 14, 15
		off := s.Sent(false)
		s.SegmentAt(false, off, []byte("250 ok\r\n")) // 16
		s.Pause(time.Second)
		s.SegmentAt(false, off, []byte("250 ok\r\n")) // 17
		s.Pause(2 * time.Second)
		s.Reset(true) // 18
	})
	want := "the server accepted the message from <a@example.org> (250 in frame 16, sent again 1 time, the last in frame 17), but the reply never reached the client: its TCP never acknowledged it, and the client gave up 3.0 s after the end of data (frame 14), its RST in frame 18 acknowledging nothing of the reply. The client never read the acceptance and will send the message again: a duplicate"
	got := rv16Only(t, r, "accepted-after-client-left", 1)
	if len(got) == 1 && (got[0].Summary != want || !slices.Equal(got[0].Frames, []int{14, 16, 17, 18})) {
		t.Errorf("accepted-after-client-left: %+v\nwant frames [14 16 17 18]: %s", got[0], want)
	}
}

// TestRV16OneSidedCapturesWithAZeroWindow: one side's packets only, with
// a zero window and a long silence: no panic, no window-closed, no
// accepted-after-client-left.
func TestRV16OneSidedCapturesWithAZeroWindow(t *testing.T) {
	for name, script := range map[string]func(s *capgen.Session, fin func(bool)){
		"server-only": func(s *capgen.Session, fin func(bool)) {
			s.Emit(false, 22, capgen.SYN|capgen.ACK, nil)
			s.Send(false, []byte("220 mx\r\n"))
			s.CloseWindow(false, true)
			s.Send(false, []byte("250 mx\r\n"))
			s.Pause(3 * time.Second)
			s.Send(false, []byte("221 mx\r\n"))
			fin(false)
		},
		"client-only": func(s *capgen.Session, fin func(bool)) {
			s.Emit(true, 11, capgen.SYN, nil)
			s.Emit(true, 12, capgen.ACK, nil)
			s.CloseWindow(true, true)
			s.Send(true, []byte("EHLO x\r\n"))
			s.Pause(3 * time.Second)
			s.Send(true, []byte("MAIL FROM:<a@b>\r\n"))
			fin(true)
			s.Reset(true)
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := craftedReport(t, "rv16-"+name, 25, script)
			rv16Only(t, r, "window-closed", 0)
			rv16Only(t, r, "accepted-after-client-left", 0)
			rv16Only(t, r, "one-sided-capture", 1)
		})
	}
}

// TestRV16ManyTransactionsEndingInAFIN: 300 messages in one connection,
// each 250 read, closed with FINs: neither detector speaks.
func TestRV16ManyTransactionsEndingInAFIN(t *testing.T) {
	r := rv16Streams(t, rv16ManyTx(300))
	rv16Only(t, r, "accepted-after-client-left", 0)
	rv16Only(t, r, "window-closed", 0)
	if c := r.Connections.All()[0]; c.Delivered != 300 {
		t.Errorf("delivered %d, want 300", c.Delivered)
	}
}

// TestRV16OneLateCopyAndItsRetry: a late 250 reset by the client, then the
// same envelope delivered in stream 1: the finding names the copy.
func TestRV16OneLateCopyAndItsRetry(t *testing.T) {
	r := rv16Streams(t, rv16Late, rv16Clean)
	got := rv16Only(t, r, "accepted-after-client-left", 1)
	if len(got) == 1 && (!slices.Equal(got[0].Frames, []int{14, 16, 17, 18}) || !slices.Equal(got[0].Streams, []int{0, 1}) ||
		!strings.HasSuffix(got[0].Summary, "a duplicate; the same envelope was delivered again in stream 1: 2 copies")) {
		t.Errorf("accepted-after-client-left: %+v", got[0])
	}
}

// TestRV16TheCasesTheReviewFound: what a second read of window-closed and
// accepted-after-client-left found wrong, each fixed.
func TestRV16TheCasesTheReviewFound(t *testing.T) {
	none := func(t *testing.T, r *Report, ids ...string) {
		t.Helper()
		for _, f := range r.Findings.All() {
			if slices.Contains(ids, f.ID) {
				t.Errorf("%s frames %v: %s", f.ID, f.Frames, f.Summary)
			}
		}
	}
	t.Run("a FIN crossing the 250, and the capture ends", func(t *testing.T) {
		r := craftedReport(t, "rv16-crossing", 25, func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Send(true, []byte("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"))
			s.Ack(false)
			s.SegmentAt(false, s.Sent(false), []byte("250 ok\r\n"))
			fin(true) // acknowledges nothing of the 250: it was in flight
		})
		none(t, r, "accepted-after-client-left")
	})
	t.Run("a FIN at once, then a reset for the 250 and the 221 together", func(t *testing.T) {
		r := craftedReport(t, "rv16-half-close", 25, func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
			fin(true)
			s.Pause(3 * time.Second)
			s.Send(false, []byte("250 ok\r\n221 bye\r\n"))
			s.Reset(true) // an abortive close after reading both, or not: no telling
		})
		none(t, r, "accepted-after-client-left")
	})
	t.Run("LMTP: the second recipient's 250 after the client left", func(t *testing.T) {
		r := craftedReport(t, "rv16-lmtp", 24, func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			s.Server("220 lmtp ready\r\n")                                                                            // 4, 5
			s.Client("LHLO c.example.org\r\n")                                                                        // 6, 7
			s.Server("250-lmtp\r\n250 PIPELINING\r\n")                                                                // 8, 9
			s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n") // 10, 11
			s.Server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n")                                                      // 12, 13
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")                                                               // 14, 15
			s.Server("250 2.0.0 <b@example.test> delivered\r\n")                                                      // 16, 17
			s.Pause(3 * time.Second)
			fin(true) // 18
			s.Pause(3 * time.Second)
			s.Send(false, []byte("250 2.0.0 <c@example.test> delivered\r\n")) // 19
			s.Reset(true)                                                     // 20
		})
		got := findingsOf(r, "accepted-after-client-left", 0)
		if len(got) != 1 || !slices.Equal(got[0].Frames, []int{14, 18, 19, 20}) {
			t.Errorf("accepted-after-client-left: %+v", got)
		}
	})
	t.Run("copies in stream order, told once per envelope", func(t *testing.T) {
		r := rv16Streams(t, rv16Late, rv16Late, rv16Clean)
		got := findingsOf(r, "accepted-after-client-left", 0)
		if len(got) != 1 || !slices.Equal(got[0].Streams, []int{0, 1, 2}) || !strings.HasSuffix(got[0].Summary, "delivered again in streams 1, 2: 3 copies") {
			t.Errorf("stream 0: %+v", got)
		}
		for _, c := range r.Connections.All()[1:] {
			if strings.Count(c.Diagnosis, "Another copy") != 1 || strings.Contains(c.Diagnosis, "copies.") {
				t.Errorf("stream %d: %s", c.Stream, c.Diagnosis)
			}
		}
		r = rv16Streams(t, rv16Late, rv16Clean, rv16Clean)
		if got := findingsOf(r, "accepted-after-client-left", 0); len(got) != 1 || !slices.Equal(got[0].Streams, []int{0, 1, 2}) {
			t.Errorf("late, clean, clean: %+v", got)
		}
	})
	t.Run("keep-alives of a client with nothing to send", func(t *testing.T) {
		body := strings.Repeat("a line of the body\r\n", 100)
		r := craftedReport(t, "rv16-keepalives", 25, func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Send(true, []byte(body+".\r\n"), 1448, 1448)
			s.CloseWindow(false, true)
			s.Ack(false)
			for range 6 {
				s.Pause(10 * time.Second)
				cliKeepAlive(s)
				s.Ack(false)
			}
			s.Pause(10 * time.Second)
			s.CloseWindow(false, false)
			s.Server("250 ok\r\n")
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			fin(true)
			fin(false)
		})
		none(t, r, "window-closed")
		if len(findingsOf(r, "stall", 0)) != 1 {
			t.Errorf("the server's 70 s silence after the end of data is a stall: %+v", r.Findings)
		}
	})
	t.Run("data the receiver took is no probe, a FIN after it no giving up", func(t *testing.T) {
		r := craftedReport(t, "rv16-taken", 25, func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			pipelinedEnvelope(s)
			s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
			s.Server("250 ok\r\n")
			s.Client("QUIT\r\n")
			s.CloseWindow(true, true)
			fin(true)
			s.Pause(1500 * time.Millisecond)
			s.Send(false, []byte("221 bye\r\n"))
			s.Ack(true)
			fin(false)
			s.Ack(true)
		})
		none(t, r, "window-closed")
	})
}
