package findings

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// findingLines lists a report's findings as "stream id frames severity",
// in report order.
func findingLines(r *Report) []string {
	var out []string
	for _, f := range r.Findings.All() {
		out = append(out, fmt.Sprintf("%d %s %v %s", f.Stream, f.ID, f.Frames, f.Severity))
	}
	return out
}

// TestHealthySwaksSessionsAreNotFaults: 21 sessions of ordinary swaks
// traffic to Postfix (README in testdata/pcaps/swaks-sweep): refused and
// deferred recipients, a refused AUTH, TLS, IPv6, early QUITs, 998-octet
// lines. What smtpcap says of them is information, never a warning.
func TestHealthySwaksSessionsAreNotFaults(t *testing.T) {
	r := analyze(t, testcaps.Path("swaks-sweep/healthy.pcap"))
	if r.Connections.Len() != 21 {
		t.Fatalf("%d connections, want 21", r.Connections.Len())
	}
	want := []string{
		"1 command-rejected [30 31] info", // refused@
		"1 command-deferred [30 31] info", // busy@
		"1 command-rejected [30 31] info", // nobody@
		"10 eightbit-not-offered [207] info",
		"14 command-rejected [297 298] info", // 535
		"15 tls-started [312 313] info",
		"16 tls-started [342 343] info",
		"18 tls-started [386] info", // port 465: the ClientHello, not the SYN (383)
		"19 command-rejected [417 418] info",
		"19 command-rejected [417 418] info",
		"19 command-rejected [417 418] info", // DATA: no valid recipients
		"20 tls-started [432 433] info",
	}
	if got := findingLines(r); !slices.Equal(got, want) {
		t.Errorf("findings\n%q\nwant\n%q", got, want)
	}
	for _, c := range r.Connections.All() {
		// Streams 6 and 7 quit after MAIL and after RCPT: envelopes the
		// client dropped itself, not messages that failed.
		probes := 0
		if c.Stream == 6 || c.Stream == 7 {
			probes = 1
		}
		if c.Stream != 19 && (c.Transactions-c.EnvelopeOnly != c.Delivered || c.EnvelopeOnly != probes) {
			t.Errorf("stream %d: %d of %d transactions delivered, %d envelope only (want %d)", c.Stream, c.Delivered, c.Transactions, c.EnvelopeOnly, probes)
		}
	}
}

// TestBrokenSwaksSessions: what went wrong in swaks-sweep/broken.pcap, at
// the frames tshark gives (README there).
func TestBrokenSwaksSessions(t *testing.T) {
	r := analyze(t, testcaps.Path("swaks-sweep/broken.pcap"))
	want := []string{
		"0 command-rejected [50] info", // 552 after the content
		"1 lost-mid-transaction [64 72 73 75] error",
		"1 retry-loop [64 84 125 140] warning",
		"2 data-terminator-not-at-line-start [90] error", // "\n.\n\r\n", then 20 s of silence
		"2 bare-lf-in-data [90] warning",
		"2 stall [90 92] warning",
		"2 stall [92 94] warning",
		"2 lost-mid-transaction [84 94] error",
		"3 reply-without-command [112] info", // answers the "\r\n" after "\n.\n"
		"3 smuggling-end-of-data [111 112] error",
		"3 bare-lf-in-data [111] warning",
		"4 lost-mid-transaction [125 129] error",
		"5 lost-mid-transaction [140 145 147] error",
	}
	if got := findingLines(r); !slices.Equal(got, want) {
		t.Errorf("findings\n%q\nwant\n%q", got, want)
	}
}

// TestAcceptanceBetweenRetriesIsNotCalledEarlier: streams 1 and 2 failed
// before stream 3 delivered the envelope, 4 and 5 after it; stream 3 was
// neither before the failures nor the last word. The attempts came from
// three swaks runs on three addresses, with no SIZE or Message-ID: the
// report says it cannot tell one message from several, and warns only.
func TestAcceptanceBetweenRetriesIsNotCalledEarlier(t *testing.T) {
	loops := 0
	for _, f := range analyze(t, testcaps.Path("swaks-sweep/broken.pcap")).Findings.All() {
		if f.ID != "retry-loop" {
			continue
		}
		loops++
		if !strings.HasSuffix(f.Summary, "; the last ended without a final reply; it was accepted in stream 3, between them"+
			"; the attempts came from 3 client addresses (127.0.1.83, 127.0.1.84, 127.0.1.81) and carry no SIZE or Message-ID: one message retried by several hosts, or different messages with one envelope") ||
			f.Severity != Warning {
			t.Errorf("retry-loop (%s): %s", f.Severity, f.Summary)
		}
	}
	if loops != 1 {
		t.Errorf("%d retry-loop findings, want 1", loops)
	}
}

// TestClientThatLeftAfterRCPTIsNotSaidToStopAtMAIL: swaks --drop-after RCPT
// closed after the 250 to its RCPT (frame 128), not after MAIL.
func TestClientThatLeftAfterRCPTIsNotSaidToStopAtMAIL(t *testing.T) {
	for _, f := range analyze(t, testcaps.Path("swaks-sweep/broken.pcap")).Findings.All() {
		if f.ID == "lost-mid-transaction" && f.Stream == 4 &&
			!strings.HasPrefix(f.Summary, "the transaction from <a@example.org> was lost in the envelope (after MAIL FROM and 1 RCPT TO, before DATA): the connection ended with the client's FIN in frame 129") {
			t.Errorf("stream 4: %s", f.Summary)
		}
	}
}

// TestReplyToBytesAfterALenientEndIsExplained: Postfix ended the message at
// "\n.\n" (250) and answered the "\r\n" swaks sent after it with 500 in the
// same segment (frame 112): that 500 answers something, and
// smuggling-end-of-data already tells the story.
func TestReplyToBytesAfterALenientEndIsExplained(t *testing.T) {
	for _, f := range analyze(t, testcaps.Path("swaks-sweep/broken.pcap")).Findings.All() {
		if f.ID == "reply-without-command" && f.Summary != `the server sent 500 "5.5.2 Error: bad syntax" with no command waiting for it (it answered "\r\n", what the client sent after the non-standard end-of-data at offset 96, where the server ended the message)` {
			t.Errorf("stream %d: %s", f.Stream, f.Summary)
		}
	}
}

// TestLFOnlyEndOfDataToAStrictServerStalls: a client that writes LF alone
// ends its message with <LF>.<LF> (swaks with --no-data-fixup adds a CRLF
// after it) and waits for a reply; a strict server waits for
// <CRLF>.<CRLF>. That is the stranded end, not a sequence some other
// server might split on.
func TestLFOnlyEndOfDataToAStrictServerStalls(t *testing.T) {
	for _, tc := range []struct{ tail, ends string }{
		{"body\n.\n", "<LF>.<LF>"},
		{"body\n.\n\r\n", "<LF>.<LF><CRLF>"},
	} {
		r := scriptedReport(t, 25, func(s *capgen.Session) {
			plainEnvelope(s)
			s.Client("Subject: x\n\n" + tc.tail) // frame 22
			s.Pause(30 * time.Second)
			s.Client("QUIT\r\n") // frame 24, message bytes to the server
			s.Pause(30 * time.Second)
		})
		want := []string{
			"0 data-terminator-not-at-line-start [22] error",
			"0 bare-lf-in-data [22] warning",
			"0 stall [22 24] warning",
			"0 stall [24 26] warning",
			"0 lost-mid-transaction [10 26] error",
		}
		if got := findingLines(r); !slices.Equal(got, want) {
			t.Errorf("%q: findings\n%q\nwant\n%q", tc.tail, got, want)
		}
		for _, f := range r.Findings.All() {
			if f.ID == "data-terminator-not-at-line-start" && !strings.HasPrefix(f.Summary, "the message ends with "+tc.ends+" at offset 95:") {
				t.Errorf("%q: %s", tc.tail, f.Summary)
			}
		}
		if d := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(d, "The message body ended in a bare LF (frame 22), so the server never saw <CRLF>.<CRLF> and kept waiting for the end of data. Server silent 30.0 s after the client's end of data in frame 22;") {
			t.Errorf("%q: diagnosis %s", tc.tail, d)
		}
	}
	// The same from real swaks and Postfix with smtpd_forbid_bare_newline.
	r := analyze(t, testcaps.Path("swaks-sweep/broken.pcap"))
	if d := r.Connections.All()[2].Diagnosis; !strings.HasPrefix(d, "The message body ended in a bare LF (frame 90), so the server never saw <CRLF>.<CRLF> and kept waiting for the end of data. Server silent 20.0 s after the client's end of data in frame 90;") {
		t.Errorf("swaks-sweep/broken.pcap stream 2: diagnosis %s", d)
	}
}
