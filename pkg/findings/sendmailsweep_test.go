package findings

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// Cases from the blind recording of Sendmail 8.17 as server and client
// (testdata/pcaps/sendmail-sweep, its README names the frames).

func TestAClientThatNeverBeganTLSAfterThe220(t *testing.T) {
	r := analyze(t, capturePath("sendmail-sweep/s07-starttls.pcap"))
	// Stream 1: STARTTLS (frame 40), 220 (frame 41), then the client's
	// "EHLO peer.example.test" in clear text (frame 42); Sendmail resets
	// (frame 43, "accept failed … wrong version number").
	got := findingsOf(r, "tls-handshake-failed", 1)
	if len(got) != 1 || got[0].Severity != Error || !slices.Equal(got[0].Frames, []int{40, 41, 42, 43}) ||
		!strings.HasPrefix(got[0].Summary, `the client did not begin TLS after the server's 220 (frame 41): it sent "EHLO peer.example.test" in clear text (frame 42)`) {
		t.Errorf("stream 1: %v", got)
	}
	// Stream 2: STARTTLS, 220 (frame 53), then nothing from the client
	// until Sendmail gave up 8 s later (FIN, frame 55). Stream 2 sent
	// STARTTLS itself: no plaintext fallback of stream 1.
	got = findingsOf(r, "tls-handshake-failed", 2)
	if len(got) != 1 || got[0].Severity != Warning || !slices.Equal(got[0].Frames, []int{52, 53, 55}) ||
		got[0].Summary != "the client never began TLS after the server's 220 (frame 53): it sent nothing in 8.0 s; connection ended: the server's FIN in frame 55" {
		t.Errorf("stream 2: %v", got)
	}
	for _, f := range r.Findings.All() {
		if f.ID == "tls-started" && f.Stream != 0 || strings.Contains(f.Summary, "plaintext fallback") {
			t.Errorf("finding %s in stream %d: %s", f.ID, f.Stream, f.Summary)
		}
	}
	for _, c := range r.Connections.All() {
		if c.TLS != (c.Stream == 0) {
			t.Errorf("stream %d: TLS %v", c.Stream, c.TLS)
		}
	}
}

func TestA250ForAMessageWithEveryRecipientRefusedDeliversNothing(t *testing.T) {
	// s08-sendmail-client.pcap, streams 2, 4, 6: Sendmail as the client
	// pipelines MAIL, RCPT and DATA; the RCPT is greylisted (451, frames
	// 58/59), the test server answers the DATA with 354 all the same
	// (RFC 2920 wants 554), Sendmail sends only "." and gets 250 (frame
	// 64). Nobody took the message: three attempts of one envelope are a
	// retry loop.
	r := analyze(t, capturePath("sendmail-sweep/s08-sendmail-client.pcap"))
	for _, stream := range []int{2, 4, 6} {
		if c := connectionOf(t, r, stream); c.Transactions != 1 || c.Delivered != 0 {
			t.Errorf("stream %d: %d of %d delivered", stream, c.Delivered, c.Transactions)
		}
	}
	if c := connectionOf(t, r, 0); c.Delivered != 1 {
		t.Errorf("stream 0, delivered: %d", c.Delivered)
	}
	loops := retryLoops(r)
	if len(loops) != 2 || !slices.Equal(loops[1].Streams, []int{2, 4, 6}) || loops[1].Severity != Error ||
		!strings.HasSuffix(loops[1].Summary, "each ended with 451 4.7.1 greylisted, try again later") {
		t.Errorf("retry loops %v", loops)
	}
}

func TestAClientStalledInTheMiddleOfACommandLine(t *testing.T) {
	// s05-server-timeouts.pcap, stream 0: the client sent
	// "MAIL FROM:<alice@peer" without its line ending (frame 18);
	// Sendmail's 12 s command timeout fired and it answered what it had:
	// 553 … Unbalanced '<' (frame 65). The server answered the line, and
	// the silence was the client's.
	r := analyze(t, capturePath("sendmail-sweep/s05-server-timeouts.pcap"))
	got := findingsOf(r, "command-rejected", 0)
	if len(got) != 1 || !slices.Equal(got[0].Frames, []int{18, 65}) {
		t.Errorf("command-rejected %v", got)
	}
	stalls := findingsOf(r, "stall", 0)
	if len(stalls) == 0 || !strings.HasPrefix(stalls[0].Summary, `client silent 12.0 s in the middle of its command line "MAIL FROM:<alice@peer", after frame 18, while the server waited for the rest; then the server sent 553 reply in frame 65`) ||
		stalls[0].Direction != "client" {
		t.Errorf("stall %v", stalls)
	}
	for _, id := range []string{"unanswered-command", "reply-without-command"} {
		if got := findingsOf(r, id, 0); len(got) != 0 {
			t.Errorf("%s: %v", id, got)
		}
	}
}

func TestSendmailsTooManyBadCommandsAndItsVERB(t *testing.T) {
	r := analyze(t, capturePath("sendmail-sweep/s10-misc-commands.pcap"))
	// Stream 0: after a HELO (no extensions offered) the client sent
	// VERB (frame 27), Sendmail's own command, and got 250 Verbose mode:
	// a verb the server took is no unknown one.
	for _, f := range findingsOf(r, "malformed-command", 0) {
		t.Errorf("stream 0: %s", f.Summary)
	}
	// Stream 1: 25 unknown commands, each 500 'Command unrecognized:
	// "XFOOn bar"'; the 26th got 421 Too many bad commands; closing
	// connection (frame 95). The refusals fold as alike, the 421 is the
	// server ending the session, not a deferral.
	closed := findingsOf(r, "command-deferred", 1)
	if len(closed) != 1 || closed[0].Severity != Warning || !slices.Equal(closed[0].Frames, []int{94, 95}) ||
		closed[0].Summary != `the server closed the session after "XFOO26 bar" with 421 "4.7.0 mx.example.test Too many bad commands; closing connection"` {
		t.Errorf("command-deferred %v", closed)
	}
	refused := findingsOf(r, "command-rejected", 1)
	if len(refused) != 3 || !strings.HasSuffix(refused[2].Summary, "(and 22 more like it in this stream, frames 51 to 93)") {
		t.Errorf("command-rejected %v", refused)
	}
	if d := connectionOf(t, r, 1).Diagnosis; !strings.Contains(d, `The server then closed the session after "XFOO26 bar" with 421 "4.7.0 mx.example.test Too many bad commands; closing connection" (frames 94, 95).`) {
		t.Errorf("diagnosis %q", d)
	}
}

func TestABareLFEndRefusedAtOnceIsNoWait(t *testing.T) {
	// s05-server-timeouts.pcap, stream 1: the body ends "last line\n.\r\n"
	// (frame 27) and Sendmail refuses at once: 421 4.5.0 Bare linefeed
	// (LF) not allowed (frame 28). The server did not keep waiting, and
	// the client had sent all of its message.
	r := analyze(t, capturePath("sendmail-sweep/s05-server-timeouts.pcap"))
	end := findingsOf(r, "data-terminator-not-at-line-start", 1)
	if len(end) != 1 || !strings.HasSuffix(end[0].Summary, `so a strict server never sees <CRLF>.<CRLF>; this one refused the message at once with 421 "4.5.0 Bare linefeed (LF) not allowed" (frame 28)`) {
		t.Errorf("data-terminator-not-at-line-start %v", end)
	}
	lost := findingsOf(r, "lost-mid-transaction", 1)
	if len(lost) != 1 || !strings.Contains(lost[0].Summary, "the server refused the message once the client had sent all of it (ending in <LF>.<CRLF>, which is no end of data), with 421") {
		t.Errorf("lost-mid-transaction %v", lost)
	}
	// Exim, strict, waits for the end and times out (421 data timeout
	// after 4 s, frame 13).
	end = findingsOf(analyze(t, capturePath("exim-sweep2/barelf-timeout-exim.pcap")), "data-terminator-not-at-line-start", 0)
	if len(end) != 1 || !strings.Contains(end[0].Summary, "and keeps waiting: this one gave up after 4 s with 421") {
		t.Errorf("barelf-timeout-exim: %v", end)
	}
}

func TestAMessageRefusedAfterItsContentLeadsTheRefusals(t *testing.T) {
	// s00-queue-write-fail.pcap: two RCPTs refused (550, frame 10), the
	// third accepted, the message sent (frame 11), then Sendmail could not
	// write its queue file: 421 4.3.0 collect: Cannot write … (frame 12).
	// That refusal, not the recipients', is what lost the message.
	d := connectionOf(t, analyze(t, capturePath("sendmail-sweep/s00-queue-write-fail.pcap")), 0).Diagnosis
	if !strings.HasPrefix(d, "The message was deferred: 421 4.3.0 collect: Cannot write") || !strings.HasSuffix(d, "(frame 12). The server turned down 2 more commands (frame 9); the findings tell of each.") {
		t.Errorf("diagnosis %q", d)
	}
}

// TestBinaryAfterThe220IsNoClearText: bytes after STARTTLS's 220 that do
// not frame as TLS records but are no text either (a record header this
// reader does not know) are not "no TLS": tls-started stays.
func TestBinaryAfterThe220IsNoClearText(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx\r\n250 STARTTLS\r\n")
		s.Client("STARTTLS\r\n")
		s.Server("220 2.0.0 Ready to start TLS\r\n")
		s.Client("\x17\x03\x03\x00\x00\x00\x00\x00")
		s.Server("\x17\x03\x03\x00\x00\x00")
	})
	if got := findingsOf(r, "tls-started", 0); len(got) != 1 {
		t.Errorf("tls-started %v; all: %v", got, r.Findings)
	}
	if got := findingsOf(r, "tls-handshake-failed", 0); len(got) != 0 {
		t.Errorf("tls-handshake-failed %v", got)
	}
}

// Crafted from the second read of this session's changes: a client
// silent after the EHLO reply, before any MAIL, owes the server its
// envelope: a stall, not idling between transactions; and a slow EHLO
// reply is no cause of a later synchronization error from pipelining.
func TestSecondReadStallsAndSyncErrors(t *testing.T) {
	r := craftedReport(t, "idle-after-ehlo", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
		s.Pause(200 * time.Second)
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
	})
	if len(findingsOf(r, "stall", 0)) != 1 {
		t.Errorf("no stall: %v", r.Findings)
	}
	r = craftedReport(t, "early-stall-sync", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("220 mx.example.test ESMTP Exim 4.96\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Pause(15 * time.Second)
		s.Server("250-mx.example.test\r\n250 8BITMIME\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\n")
		s.Server("554 SMTP synchronization error\r\n")
		s.Close()
	})
	if d := connectionOf(t, r, 0).Diagnosis; !strings.HasPrefix(d, "The server rejected the client's input as out of step (frame") {
		t.Errorf("diagnosis %q", d)
	}
}
