package findings

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// TestAMessageAcceptedAfterTheClientLeftIsADuplicate: a real Exim client
// waits 5 s for the reply to its end of data (testdata/pcaps/late-accept).
// Python's smtpd answers 250 after 12 s, to a client whose TCP resets it:
// accepted-after-client-left, and the retry in stream 1 is a second copy.
// So is Exim's 250 lost on the way back (dropped by iptables).
// Exim as the server notices the client leaving and keeps nothing: no
// duplicate, and lost-mid-transaction says how long the client waited.
func TestAMessageAcceptedAfterTheClientLeftIsADuplicate(t *testing.T) {
	r := analyze(t, testcaps.Path("late-accept/late-250-python.pcap"))
	want := "the server accepted the message from <billing@example.org> (250 in frame 21) 12.0 s after the end of data (frame 17), when the client had already given up: " +
		"it closed the connection 5.0 s after the end of data (its FIN in frame 19), and its TCP answered the 250 with a reset (frame 22). " +
		"The client never read the acceptance and will send the message again: a duplicate; the same envelope was delivered again in stream 1: 2 copies"
	got := findingsOf(r, "accepted-after-client-left", 0)
	if len(got) != 1 || got[0].Summary != want || !slices.Equal(got[0].Frames, []int{17, 19, 21, 22}) || got[0].Phase != PhaseAfterData || !slices.Equal(got[0].Streams, []int{0, 1}) {
		t.Errorf("accepted-after-client-left: %+v\nwant frames [17 19 21 22], streams [0 1]: %s", got, want)
	}
	if d := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(d, "The server accepted the message from <billing@example.org> (250 in frame 21)") ||
		!strings.HasSuffix(d, "a duplicate. The same envelope was delivered again in stream 1: 2 copies.") {
		t.Errorf("diagnosis: %s", d)
	}
	if r.Connections.Len() != 2 || r.Connections.All()[1].Delivered != 1 || len(findingsOf(r, "accepted-after-client-left", 1)) > 0 ||
		r.Connections.All()[1].Diagnosis != "Another copy: stream 0's server had accepted this envelope, and the client never learned it (the acceptance in frame 21)." {
		t.Errorf("stream 1, the retry, delivered at once, a second copy: %+v", r.Connections)
	}

	// Exim answered at once, but its 250 was lost on the way back: resent
	// again and again, never acknowledged, while the client timed out.
	r = analyze(t, testcaps.Path("late-accept/lost-250-exim.pcap"))
	want = "the server accepted the message from <billing@example.org> (250 in frame 15, sent again 8 times, the last in frame 45), but the reply never reached the client: " +
		"its TCP never acknowledged it, and the client gave up 5.0 s after the end of data (frame 14), its FIN in frame 23 acknowledging nothing of the reply. " +
		"The client never read the acceptance and will send the message again: a duplicate; the same envelope was delivered again in stream 1: 2 copies"
	got = findingsOf(r, "accepted-after-client-left", 0)
	if len(got) != 1 || got[0].Summary != want || !slices.Equal(got[0].Frames, []int{14, 15, 23, 45}) {
		t.Errorf("accepted-after-client-left, the 250 lost: %+v\nwant frames [14 15 23 45]: %s", got, want)
	}
	if d := r.Connections.All()[1].Diagnosis; d != "Another copy: stream 0's server had accepted this envelope, and the client never learned it (the acceptance in frame 15)." {
		t.Errorf("stream 1: %s", d)
	}

	r = analyze(t, testcaps.Path("late-accept/late-250-exim.pcap"))
	lost := findingsOf(r, "lost-mid-transaction", 0)
	want = "the transaction from <billing@example.org> was lost after the end of data, before the server's final reply: the connection ended with the client's FIN in frame 16 before a final reply; " +
		"the client gave up 5.0 s after its end of data (frame 14), where RFC 5321 (section 4.5.3.2.6) lets the server take 10 minutes over that reply"
	if len(lost) != 1 || lost[0].Summary != want || !slices.Equal(lost[0].Frames, []int{7, 14, 16}) {
		t.Errorf("lost-mid-transaction: %+v\nwant frames [7 14 16]: %s", lost, want)
	}

	// Real Postfix as the client says as much in its log ("timed out while
	// sending end of data -- message may be sent more than once"), and the
	// capture shows it: both ways, each with its second copy in stream 1.
	for name, frames := range map[string][]int{
		"late-accept/late-250-postfix-python.pcap": {18, 20, 22, 23},
		"late-accept/lost-250-postfix-python.pcap": {18, 19, 27, 53},
	} {
		r := analyze(t, testcaps.Path(name))
		got := findingsOf(r, "accepted-after-client-left", 0)
		if len(got) != 1 || !slices.Equal(got[0].Frames, frames) || !slices.Equal(got[0].Streams, []int{0, 1}) || !strings.HasSuffix(got[0].Summary, "a duplicate; the same envelope was delivered again in stream 1: 2 copies") {
			t.Errorf("%s: %+v\nwant frames %v, streams [0 1]", name, got, frames)
		}
		if r.Findings.Len() != 1 {
			t.Errorf("%s: %d findings, want only accepted-after-client-left", name, r.Findings.Len())
		}
	}

	// Real Postfix as the server, its end-of-data restrictions sleeping
	// 12 s; swaks gives up after 5 s, says QUIT, waits 5 s more and
	// leaves. The QUIT Postfix never answered is no finding of its own
	// (it came while Postfix was still at the message).
	r = analyze(t, testcaps.Path("late-accept/late-250-postfix-server.pcap"))
	want = `the server accepted the message from <billing@example.org> (250 in frame 21) 12.0 s after the end of data (frame 15), when the client had already given up: ` +
		`it sent "QUIT" 5.0 s after the end of data (frame 17) and closed the connection 5.0 s later (its FIN in frame 19), and its TCP answered the 250 with a reset (frame 22). ` +
		"The client never read the acceptance and will send the message again: a duplicate; the same envelope was delivered again in stream 1: 2 copies"
	if got := findingsOf(r, "accepted-after-client-left", 0); len(got) != 1 || got[0].Summary != want || !slices.Equal(got[0].Frames, []int{15, 17, 19, 21, 22}) {
		t.Errorf("postfix server: %+v\nwant frames [15 17 19 21 22]: %s", got, want)
	}
	if r.Findings.Len() != 1 || !strings.HasPrefix(r.Connections.All()[0].Diagnosis, "The server accepted the message") {
		t.Errorf("postfix server: findings %+v, diagnosis %s", r.Findings, r.Connections.All()[0].Diagnosis)
	}

	// A client that closes its side at once, QUIT pipelined behind its
	// end of data, gave up on nothing (core-sweep/retry-rst.pcap: a device
	// in the path swallowed the QUIT).
	r = analyze(t, testcaps.Path("core-sweep/retry-rst.pcap"))
	for _, f := range findingsOf(r, "lost-mid-transaction", 0) {
		if strings.Contains(f.Summary, "gave up") {
			t.Errorf("a client that closed as soon as it had sent all is said to have given up: %s", f.Summary)
		}
	}
}

// TestOnlyALateAcceptanceIsADuplicate: no other capture has a 250
// the client did not read. Among them, nullmailer sends its FIN right after
// QUIT and resets the 221 (more-sweep/nm-plain.pcap): the 250 it had read.
func TestOnlyALateAcceptanceIsADuplicate(t *testing.T) {
	duplicated := []string{"late-accept/late-250-python.pcap", "late-accept/lost-250-exim.pcap",
		"late-accept/late-250-postfix-python.pcap", "late-accept/lost-250-postfix-python.pcap", "late-accept/late-250-postfix-server.pcap",
		"late-accept/lost-250-pipelined-server-side.pcap"}
	for _, path := range testcaps.Every() {
		if testcaps.Broken(path) || slices.ContainsFunc(duplicated, func(name string) bool { return strings.HasSuffix(path, filepath.FromSlash(name)) }) {
			continue
		}
		for _, f := range analyze(t, path).Findings.All() {
			if f.ID == "accepted-after-client-left" {
				t.Errorf("%s stream %d: %s", path, f.Stream, f.Summary)
			}
		}
	}
}

// TestAClientThatShutItsSideStillReadsTheReply: a client that pipelines
// QUIT behind its end of data and shuts its sending side (FIN) at once
// still reads what comes; it closes after the 250, and its reset answers
// the 221. Its ACK of the 250 shows it took it: no duplicate (crafted with
// internal/capgen).
func TestAClientThatShutItsSideStillReadsTheReply(t *testing.T) {
	r := craftedReport(t, "half-close", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		pipelinedEnvelope(s)
		s.Client("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
		fin(true)
		s.Pause(12 * time.Second) // a slow scanner
		s.Server("250 ok\r\n")    // acknowledged by the client
		s.Send(false, []byte("221 bye\r\n"))
		s.Reset(true) // closed after the 250: the 221 finds no socket
	})
	if got := findingsOf(r, "accepted-after-client-left", 0); len(got) > 0 {
		t.Errorf("a client that read the 250 after shutting its side: %+v", got)
	}
	if c := r.Connections.All()[0]; c.Delivered != 1 {
		t.Errorf("connection %+v", c)
	}
}

// TestALateAcceptanceOfBDAT: the same with CHUNKING: the end of the
// message is the end of its BDAT LAST chunk, and the late 250 answers that
// (crafted with internal/capgen).
func TestALateAcceptanceOfBDAT(t *testing.T) {
	r := craftedReport(t, "bdat-late", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		eximGreetsWithChunking(s)                                             // 4 to 9
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\n") // 10, 11
		s.Server("250 OK\r\n250 Accepted\r\n")                                // 12, 13
		s.Client("BDAT 21 LAST\r\nSubject: x\r\n\r\nhello\r\n")               // 14, 15
		s.Pause(5 * time.Second)
		fin(true) // 16
		s.Pause(7 * time.Second)
		s.Send(false, []byte("250 OK id=1\r\n")) // 17
		s.Reset(true)                            // 18: the client's socket is closed
	})
	got := findingsOf(r, "accepted-after-client-left", 0)
	if len(got) != 1 || !slices.Equal(got[0].Frames, []int{14, 16, 17, 18}) || !strings.Contains(got[0].Summary, "(250 in frame 17) 12.0 s after the end of data (frame 14)") {
		t.Errorf("accepted-after-client-left: %+v", got)
	}
	for _, f := range r.Findings.All() {
		if f.ID != "accepted-after-client-left" && f.Severity > Info {
			t.Errorf("%s %s: %s", f.Severity, f.ID, f.Summary)
		}
	}
}

// TestALateAcceptanceWithoutItsMAIL: a transaction whose MAIL command the
// parser never saw (here mangled on the way, "MAIL$FROM", yet accepted;
// as in a capture begun after it) has no sender to name and no envelope
// to find copies by; its late acceptance is told all the same, without a
// sender (crafted with internal/capgen; it crashed the analyzer once).
func TestALateAcceptanceWithoutItsMAIL(t *testing.T) {
	r := craftedReport(t, "late-no-mail", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO client.example.org\r\n")
		s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
		s.Client("MAIL$FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
		s.Server("250 OK\r\n250 Accepted\r\n354 go ahead\r\n")
		s.Client("Subject: x\r\n\r\nhello\r\n.\r\n")
		s.Pause(5 * time.Second)
		fin(true)
		s.Pause(7 * time.Second)
		s.Send(false, []byte("250 OK id=1\r\n"))
		s.Reset(true)
	})
	got := findingsOf(r, "accepted-after-client-left", 0)
	if len(got) != 1 || !strings.HasPrefix(got[0].Summary, "the server accepted the message (250 in frame 17) 12.0 s after the end of data (frame 14)") ||
		!slices.Equal(got[0].Frames, []int{14, 16, 17, 18}) ||
		len(got[0].Streams) != 0 {
		t.Errorf("accepted-after-client-left: %+v", got)
	}
}

// TestALostReplyToAPipelinedEndOfData: a real Exim 4.96 client pipelines
// MAIL, RCPT, BDAT LAST with the message, and QUIT, and shuts its sending
// side in the same segment (frame 7); Exim accepts and answers at once
// (testdata/pcaps/late-accept, recorded in the seventeenth session), but
// iptables drops the segment with "250 OK id=" on its way to the client.
// Seen on the server's side, the reply is resent until the client's TCP
// resets it (frame 29), 13.5 s later, past the 5 s a closed connection
// normally waits for late packets: the resends and the reset stay with
// stream 0 (a closed connection with data unacknowledged waits longer),
// the FIN sent with the end of data is no leaving, the reset is, and the
// retry in stream 1 is a second copy. Seen on the client's side, nothing
// comes back in the 5 minutes the client waits: no final reply, the
// client half-closed and still waiting, not a connection it ended; its
// queue run delivers the envelope again in stream 2, perhaps a copy.
func TestALostReplyToAPipelinedEndOfData(t *testing.T) {
	r := analyze(t, testcaps.Path("late-accept/lost-250-pipelined-server-side.pcap"))
	want := "the server accepted the message from <s@example.org> (250 in frame 9, sent again 7 times, the last in frame 28), but the reply never reached the client: " +
		"its TCP never acknowledged it, and the client gave up 13.5 s after the end of data (frame 7), its RST in frame 29 acknowledging nothing of the reply. " +
		"The client never read the acceptance and will send the message again: a duplicate; the same envelope was delivered again in stream 1: 2 copies"
	if r.Findings.Len() != 1 {
		t.Errorf("findings: %+v; want accepted-after-client-left alone", r.Findings)
	}
	got := findingsOf(r, "accepted-after-client-left", 0)
	if len(got) != 1 || got[0].Summary != want || !slices.Equal(got[0].Frames, []int{7, 9, 28, 29}) || got[0].Severity != Error || got[0].Phase != PhaseAfterData {
		t.Errorf("accepted-after-client-left: %+v\nwant frames [7 9 28 29]: %s", got, want)
	}
	if c := connectionOf(t, r, 0); c.End != "rst" || c.Packets != 17 || c.Last.Sub(c.First) != 13468384*time.Microsecond {
		t.Errorf("stream 0: end %q, %d packets over %v; want rst, 17 (the 250's 7 resends and the reset among them) over 13.468384 s",
			c.End, c.Packets, c.Last.Sub(c.First))
	}
	if d := connectionOf(t, r, 1).Diagnosis; d != "Another copy: stream 0's server had accepted this envelope, and the client never learned it (the acceptance in frame 9)." {
		t.Errorf("stream 1: %s", d)
	}

	r = analyze(t, testcaps.Path("late-accept/lost-250-pipelined-client-side.pcap"))
	lost := findingsOf(r, "lost-mid-transaction", 0)
	want = "the transaction from <s@example.org> got no final reply: the client sent the whole message (its end of data in frame 7) and shut its sending side with it " +
		"(its FIN in frame 7: it had sent all it had, QUIT pipelined, and went on waiting for the replies), and nothing more of this connection came in the 5 min the capture went on after its last packet (frame 8); " +
		"the same envelope was delivered later in stream 2: a second copy if the server had accepted this one"
	if len(lost) != 1 || lost[0].Summary != want || !slices.Equal(lost[0].Frames, []int{7, 8}) || lost[0].Severity != Error || lost[0].Phase != PhaseAfterData ||
		!slices.Equal(lost[0].Streams, []int{0, 2}) {
		t.Errorf("lost-mid-transaction: %+v\nwant an error after the data, frames [7 8]: %s", lost, want)
	}
	if d := connectionOf(t, r, 2).Diagnosis; d != "The same envelope as stream 0's, whose final reply never came: a second copy if that server had accepted it." {
		t.Errorf("stream 2, the same envelope delivered 5 min later: %q", d)
	}
	if d := connectionOf(t, r, 1).Diagnosis; d != "" {
		t.Errorf("stream 1, another message: %q", d)
	}
	unanswered := findingsOf(r, "unanswered-command", 0)
	if len(unanswered) != 1 || !strings.Contains(unanswered[0].Summary, "(the client shut its sending side with its FIN in frame 7, and the connection was still half-open when the capture ended)") {
		t.Errorf("unanswered-command: %+v", unanswered)
	}
	if r.Findings.Len() != 2 {
		t.Errorf("findings: %+v; want lost-mid-transaction and unanswered-command alone", r.Findings)
	}
}
