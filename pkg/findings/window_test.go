package findings

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// TestAServerThatStoppedReadingIsTheStory: real Exim 4.96 servers stopped
// (SIGSTOP) in the middle of a message (testdata/pcaps/zerowindow). The
// closed window is the finding; the client's silence behind it is no stall
// of the client's, the chunk cut by it no wrongly sized BDAT, and the bytes
// the server's TCP took before it closed no sign of a middlebox.
func TestAServerThatStoppedReadingIsTheStory(t *testing.T) {
	cases := []struct {
		capture   string
		frames    []int
		severity  Severity
		diagnosis string // how the connection's diagnosis starts
	}{
		{"zerowindow/paused-resumed.pcap", []int{180, 189}, Warning,
			"The server stopped reading: it advertised a zero TCP receive window in frame 180 while the client was sending message data, and kept it closed 5.8 s, probed by the client 4 times (frames 181, 183, 185, 187); it opened again in frame 189."},
		{"zerowindow/paused-data-30s.pcap", []int{173, 186}, Warning,
			"The server stopped reading: it advertised a zero TCP receive window in frame 173 while the client was sending message data, and kept it closed 29.8 s, probed by the client 6 times, the first in frame 174, the last in frame 184; it opened again in frame 186."},
		{"zerowindow/paused-killed.pcap", []int{174, 187}, Error,
			"The server stopped reading: it advertised a zero TCP receive window in frame 174 while the client was sending message data, and kept it closed 19.8 s, probed by the client 6 times, the first in frame 175, the last in frame 185; it never opened again before the connection ended. " +
				"The transaction from <reports@example.org> was lost during BDAT, after 179371 bytes of message: the connection ended with the server's RST in frame 187 before a final reply."},
		{"zerowindow/paused-client-aborts.pcap", []int{168, 177}, Error,
			"The server stopped reading: it advertised a zero TCP receive window in frame 168 while the client was sending message data, and kept it closed 4.7 s, probed by the client 4 times (frames 169, 171, 173, 175); the client gave up with its RST in frame 177, the window still closed. " +
				"The transaction from <reports@example.org> was lost during DATA"},
	}
	for _, c := range cases {
		t.Run(c.capture, func(t *testing.T) {
			r := analyze(t, testcaps.Path(c.capture))
			got := findingsOf(r, "window-closed", 0)
			if len(got) != 1 {
				t.Fatalf("%d window-closed findings, want 1: %+v", len(got), got)
			}
			f := got[0]
			if !slices.Equal(f.Frames, c.frames) || f.Severity != c.severity || f.Direction != "server" || f.Stream != 0 {
				t.Errorf("window-closed: frames %v severity %s direction %q stream %d, want frames %v severity %s from the server",
					f.Frames, f.Severity, f.Direction, f.Stream, c.frames, c.severity)
			}
			if d := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(d, c.diagnosis) {
				t.Errorf("diagnosis:\n%s\nwant it to start:\n%s", d, c.diagnosis)
			}
			for _, id := range []string{"stall", "bdat-size-mismatch"} {
				if n := len(findingsOf(r, id, 0)); n > 0 {
					t.Errorf("%d %s findings: the server's closed window explains the wait", n, id)
				}
			}
			for _, u := range findingsOf(r, "unanswered-command", 0) {
				if strings.Contains(u.Summary, "device in the path") {
					t.Errorf("unanswered-command suspects a middlebox: %s", u.Summary)
				}
			}
		})
	}
	r := analyze(t, testcaps.Path("zerowindow/paused-killed.pcap"))
	u := findingsOf(r, "unanswered-command", 0)
	want := `the server never answered "BDAT 375000 LAST" (connection ended: the server's RST in frame 187); the server had stopped reading: its receive window closed in frame 174 and never opened again`
	if len(u) != 1 || u[0].Summary != want || !slices.Equal(u[0].Frames, []int{10, 174}) {
		t.Errorf("unanswered-command: %+v\nwant frames [10 174] and %s", u, want)
	}
}

// TestABriefZeroWindowIsFlowControl: a receiver that closes its window for
// a millisecond or two, as any busy reader does under a fast sender, did
// not stop reading. The realism sweep's captures of a real 1 MB message
// hold such windows (checked here, so the test cannot pass for want of
// them); the same message without a pause (zerowindow/clean-big.pcap) is
// in TestCleanCapturesStayQuiet.
func TestABriefZeroWindowIsFlowControl(t *testing.T) {
	for _, name := range []string{"realism-sweep/s4-tshark-eth-any.pcapng", "realism-sweep/s3-any-client-kerneldrops.pcap"} {
		t.Run(name, func(t *testing.T) {
			c, err := reassembly.Open(testcaps.Path(name))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			an := NewAnalyzer(Options{})
			zero := 0
			if _, err := session.Read(c, session.Options{Stream: -1}, func(s *session.Session) error {
				if st := s.Stream(smtpparse.ServerToClient); st != nil {
					for _, sf := range st.Segments {
						if sf.Window == 0 && sf.Flags&reassembly.FlagACK != 0 && sf.Flags&reassembly.FlagRST == 0 {
							zero++
						}
					}
				}
				an.Add(s)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if zero == 0 {
				t.Fatal("no zero window in the capture: the test proves nothing")
			}
			for _, f := range an.Report(nil).Findings.All() {
				if f.ID == "window-closed" {
					t.Errorf("%d zero-window packets from the server, yet window-closed: %+v", zero, f)
				}
			}
		})
	}
}

// TestAClientThatPipelinesWithoutReadingDeadlocks: a client that writes
// MAIL and 20000 RCPTs to a real Exim 4.96 without reading a reply
// (zerowindow/deaf-client.pcap). Its receive window closes (frame 191)
// with the replies unread, Exim's (frame 189) as Exim blocks sending them:
// one deadlock, told as the client's doing, not two windows nor a server
// that stopped of its own accord; the command and the reply the closed
// windows cut are not malformed.
func TestAClientThatPipelinesWithoutReadingDeadlocks(t *testing.T) {
	r := analyze(t, testcaps.Path("zerowindow/deaf-client.pcap"))
	got := findingsOf(r, "window-closed", 0)
	if len(got) != 1 {
		t.Fatalf("%d window-closed findings, want 1: %+v", len(got), got)
	}
	want := `deadlock: the client kept sending (the last "RCPT TO:<member04741@example.") without reading the replies (RFC 2920, section 3.1): ` +
		"its receive window closed in frame 191 with the server's replies unread, and the server, unable to send them, stopped reading too (its window closed in frame 189); " +
		"for 9.3 s neither side could send, each only probing the other; the client gave up with its RST in frame 211"
	if f := got[0]; f.Summary != want || !slices.Equal(f.Frames, []int{189, 191, 211}) || f.Severity != Error || f.Direction != "client" {
		t.Errorf("window-closed: frames %v severity %s direction %q\n%s\nwant frames [189 191 211], error, client:\n%s", f.Frames, f.Severity, f.Direction, f.Summary, want)
	}
	if d := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(d, "Deadlock: the client kept sending") {
		t.Errorf("diagnosis: %s", d)
	}
	for _, id := range []string{"malformed-command", "malformed-reply", "stall"} {
		if n := len(findingsOf(r, id, 0)); n > 0 {
			t.Errorf("%d %s findings: the closed windows cut the last command and reply", n, id)
		}
	}
	u := findingsOf(r, "unanswered-command", 0)
	if len(u) != 1 || !strings.HasSuffix(u[0].Summary, "the client sent in 73 segments, frames 94 to 188 (connection ended: the client's RST in frame 211); "+
		"the client was not reading the replies: its receive window closed in frame 191 and never opened again, so the server could send no more") {
		t.Errorf("unanswered-command: %+v", u)
	}
}

// TestProbesOfOtherStacks: stacks other than Linux probe a closed window
// with the next byte of data (Windows, the BSDs), where Linux sends a
// keep-alive-shaped empty segment; both are probes. A bare ACK of the
// receiver's own data is none: a side that only acknowledged was not
// waiting to send (crafted with internal/capgen).
func TestProbesOfOtherStacks(t *testing.T) {
	body := strings.Repeat("0123456789 a line of the message body\r\n", 100)
	r := craftedReport(t, "window-byte-probes", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		pipelinedEnvelope(s)                    // frames 4 to 13
		s.Send(true, []byte(body[:2896]), 1448) // 14, 15
		s.CloseWindow(false, true)
		s.Ack(false) // 16: the server's window closes
		for k := range 4 {
			s.Pause(250 * time.Millisecond << k)
			s.SegmentAt(true, s.Sent(true), []byte{body[2896]}) // 17, 19, 21, 23: the next byte
			s.Ack(false)                                        // 18, 20, 22, 24: not taken
		}
		s.Pause(time.Second)
		s.CloseWindow(false, false)
		s.Ack(false) // 25: open again
		s.Client(body[2896:] + ".\r\n")
		s.Server("250 ok\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	got := findingsOf(r, "window-closed", 0)
	want := "the server stopped reading: it advertised a zero TCP receive window in frame 16 while the client was sending message data, and kept it closed 4.8 s, probed by the client 4 times (frames 17, 19, 21, 23); it opened again in frame 25"
	if len(got) != 1 || got[0].Summary != want || !slices.Equal(got[0].Frames, []int{16, 25}) || got[0].Severity != Warning {
		t.Errorf("window-closed: %+v\nwant frames [16 25], a warning: %s", got, want)
	}
	if c := r.Connections.All()[0]; c.Delivered != 1 {
		t.Errorf("connection %+v: the message was delivered", c)
	}

	// A probe's byte is the first of the next command: the command came
	// whole once the window opened, no split of the client's.
	r = craftedReport(t, "window-probe-in-command", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250 mx\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.CloseWindow(false, true)
		s.Server("250 ok\r\n") // 12: the window closes
		for k := range 3 {
			s.Pause(500 * time.Millisecond << k)
			s.SegmentAt(true, s.Sent(true), []byte("R")) // 14, 16, 18
			s.Ack(false)
		}
		s.CloseWindow(false, false)
		s.Ack(false) // 20
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	if got := findingsOf(r, "window-closed", 0); len(got) != 1 || !slices.Equal(got[0].Frames, []int{12, 20}) {
		t.Errorf("window-closed: %+v", got)
	}
	if got := findingsOf(r, "command-split-across-segments", 0); len(got) > 0 {
		t.Errorf("a probe's byte taken for the client's own split: %+v", got)
	}

	r = craftedReport(t, "window-bare-acks", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.CloseWindow(false, true)
		for _, line := range []string{"250-mx\r\n", "250-PIPELINING\r\n", "250 8BITMIME\r\n"} {
			s.Server(line) // the client acknowledges each, and sends nothing else
			s.Pause(1500 * time.Millisecond)
		}
		s.CloseWindow(false, false)
		s.Ack(false)
		s.Pause(time.Second)
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	if got := findingsOf(r, "window-closed", 0); len(got) > 0 {
		t.Errorf("a client that only acknowledged was taken for one waiting to send: %+v", got)
	}
}
