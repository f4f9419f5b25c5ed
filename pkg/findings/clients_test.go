package findings

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// TestEverydayClientsToExim: curl and msmtp from Debian talking to a real
// Exim (testdata/pcaps/clients): each capture gives exactly these
// findings, with these frames, and the connection this diagnosis. The
// clean sessions stay quiet; the mistakes are told for what they are: a
// lone "." line in an LF-only file that the server took for the end of
// data, a 552 for a message over the offered SIZE (Exim's 421 to the
// client that then left is no deferral), a client that drops its message
// when one recipient is refused (no lost transaction), and a client and a
// server that disagree on implicit TLS, either way round.
func TestEverydayClientsToExim(t *testing.T) {
	type finding struct {
		id     string
		sev    Severity
		frames []int
		says   string // a part of the summary
	}
	for _, tc := range []struct {
		capture   string
		findings  []finding
		diagnosis string // a part of it; "" for none at all
	}{
		{"curl-plain.pcap", nil, ""},
		{"msmtp-plain.pcap", nil, ""},
		{"curl-lf-crlf.pcap", nil, ""},
		{"msmtp-lf.pcap", nil, ""},
		{"curl-smtps.pcap", []finding{{"tls-started", Info, []int{4}, "implicit TLS"}}, ""},
		{"msmtp-smtps.pcap", []finding{{"tls-started", Info, []int{4}, "implicit TLS"}}, ""},
		{"curl-rcpt3.pcap", []finding{{"command-rejected", Info, []int{12, 13}, "RCPT TO:<nobody@example.test> was rejected: 550 unknown user; the client then sent QUIT without sending the message, so the accepted <a@example.test> got nothing either"}},
			"RCPT TO:<nobody@example.test> was rejected"},
		{"curl-lf.pcap", []finding{
			{"sync-error-reply", Error, []int{18}, "554 SMTP synchronization error"},
			{"unanswered-command", Info, []int{20}, `"QUIT"`},
			{"reply-without-command", Info, []int{18}, "where the server ended the message"},
			{"smuggling-end-of-data", Error, []int{15, 18}, `the server ended the message at the non-standard end-of-data "\n.\n" at offset 233: after its 250 (frame 18) it answered what followed in the message, "after a lone dot line", with 554`},
			{"bare-lf-in-data", Warning, []int{15}, "9 bare LF line endings"},
		}, `The message was taken cut short there: the server answered the line after the sequence, "after a lone dot line", with 554 (frame 18). The client sent a line with a lone "." among bare LF line endings`},
		{"msmtp-big.pcap", []finding{
			{"command-rejected", Info, []int{143}, "552 Message size exceeds maximum permitted; the client sent 93775 bytes of message, over the limit of 65536 bytes the server offered (SIZE in its EHLO reply), without declaring the size in MAIL FROM"},
		}, "The message was rejected: 552"},
		{"msmtp-rcpt3.pcap", []finding{
			{"command-rejected", Info, []int{10, 12}, "RCPT TO:<nobody@example.test> was rejected: 550 unknown user"},
			{"lost-mid-transaction", Warning, []int{12, 13}, `the client gave up the message from <sender@example.org> itself: the server refused <nobody@example.test> (550 "unknown user", frame 12), and after the 354 the client closed the connection (its FIN in frame 13) without sending the message, to the 2 accepted recipients either`},
		}, "The client gave up the message"},
		{"msmtp-smtps-to-25.pcap", []finding{
			// The 554 is the server's synchronization error (Exim's answer
			// to a TLS hello before its greeting), told here, not also as
			// a rejection.
			{"tls-handshake-failed", Error, []int{4, 5}, `to server port 25, where the server speaks plain SMTP: after the TLS hello (frame 4) it sent 554 "SMTP synchronization error" (frame 5) in clear text`},
		}, "The client spoke TLS from its first byte"},
		{"msmtp-starttls-to-465.pcap", []finding{
			{"tls-handshake-failed", Error, []int{4, 5}, "the client waited for a greeting in the clear and closed its side after 8.1 s (its FIN in frame 4); the server's first bytes were a TLS fatal unexpected_message (10) alert (frame 5)"},
		}, "The server on port 465 speaks TLS from the first byte"},
		{"snail-8bit.pcap", []finding{
			{"eightbit-not-offered", Warning, []int{17}, "9 bytes with the high bit set in the message (first at offset 383), but the client greeted with HELO, so no extension was negotiated"},
		}, "the client greeted with HELO"},
		{"perl-starttls.pcap", []finding{
			{"stall", Warning, []int{20, 22}, "the server gave up waiting and sent 421 reply in clear text in frame 22"},
			{"command-deferred", Info, []int{22}, `the server left TLS and closed the session with 421 "mx.example.test: SMTP command timeout - closing connection", sent in clear text`},
			{"tls-started", Info, []int{8, 9}, "STARTTLS succeeded"},
		}, "421 reply in clear text"},
		// Python's smtplib writes its verbs in lower case: quoted as sent,
		// in the summary and at the head of the diagnosis.
		{"smtplib-rcpt3.pcap", []finding{
			{"command-rejected", Info, []int{12, 13}, "rcpt TO:<nobody@example.test> was rejected: 550 unknown user"},
		}, "rcpt TO:<nobody@example.test> was rejected: 550 unknown user (frames 12, 13)."},
		{"curl-plain-to-465.pcap", []finding{
			{"tls-handshake-failed", Error, []int{4, 5}, "the client waited for a greeting in the clear and closed its side after 8.0 s (its FIN in frame 4); the server's first bytes were a TLS fatal unexpected_message (10) alert (frame 5)"},
		}, "The server on port 465 speaks TLS from the first byte"},
	} {
		r := analyze(t, testcaps.Path("clients/"+tc.capture))
		if r.Connections.Len() != 1 {
			t.Errorf("%s: %d connections, want 1", tc.capture, r.Connections.Len())
			continue
		}
		var got []string
		for _, f := range r.Findings.All() {
			got = append(got, fmt.Sprintf("%s %s %v: %s", f.Severity, f.ID, f.Frames, f.Summary))
		}
		if r.Findings.Len() != len(tc.findings) {
			t.Errorf("%s: %d findings, want %d:\n%s", tc.capture, r.Findings.Len(), len(tc.findings), strings.Join(got, "\n"))
			continue
		}
		for _, w := range tc.findings {
			if !slices.ContainsFunc(r.Findings.All(), func(f Finding) bool {
				return f.ID == w.id && f.Severity == w.sev && slices.Equal(f.Frames, w.frames) && strings.Contains(f.Summary, w.says)
			}) {
				t.Errorf("%s: no %s %s with frames %v saying %q; found:\n%s", tc.capture, w.sev, w.id, w.frames, w.says, strings.Join(got, "\n"))
			}
		}
		if d := r.Connections.All()[0].Diagnosis; tc.diagnosis == "" && d != "" || !strings.Contains(d, tc.diagnosis) {
			t.Errorf("%s: diagnosis %q, want one with %q", tc.capture, d, tc.diagnosis)
		}
		// Only a TLS session that began counts as TLS: not a TLS hello
		// the server answered in clear text.
		if got, want := r.Connections.All()[0].TLS, strings.Contains(tc.capture, "smtps.pcap") || tc.capture == "perl-starttls.pcap"; got != want {
			t.Errorf("%s: tls %v, want %v", tc.capture, got, want)
		}
	}
}

// TestASnaplenCutCaptureBlamesNoServer: five real sessions to Exim
// captured with tcpdump -s 96 (testdata/pcaps/snaplen), where every
// packet's payload stops after 30 bytes and commands and replies can no
// longer be paired reliably: nothing is an error, a transaction that
// looks unfinished is an info that names the capture's loss, and failures
// seen through the cuts are no retry loop. The snaplen is told as such.
func TestASnaplenCutMultiLineReplyIsReadAcrossItsPackets(t *testing.T) {
	// snap96-multiline.pcap: the server wrote its EHLO reply in three
	// pieces (frames 8, 10, 12), each but the last cut by the snaplen;
	// the pieces are one reply to EHLO, not two replies nobody asked for.
	r := analyze(t, testcaps.Path("snaplen/snap96-multiline.pcap"))
	for _, f := range r.Findings.All() {
		if f.ID != "snaplen-truncated" {
			t.Errorf("%s %s frames %v: %s", f.Severity, f.ID, f.Frames, f.Summary)
		}
	}
	if c := connectionOf(t, r, 0); c.Delivered != 1 || c.Findings != 2 {
		t.Errorf("stream 0: %+v; want 1 delivered and 2 findings (the snaplen on each side)", c)
	}
}

func TestASnaplenCutCaptureBlamesNoServer(t *testing.T) {
	r := analyze(t, testcaps.Path("snaplen/snap96-exim.pcap"))
	cut := 0
	for _, f := range r.Findings.All() {
		switch {
		case f.Severity == Error || f.ID == "retry-loop":
			t.Errorf("%s %s stream %d %v: %s", f.Severity, f.ID, f.Stream, f.Frames, f.Summary)
		case f.ID == "lost-mid-transaction" && (f.Severity != Info || !strings.Contains(f.CaptureLoss, "cut by snaplen")):
			t.Errorf("lost-mid-transaction %s without the capture's loss: %+v", f.Severity, f)
		case f.ID == "snaplen-truncated":
			cut++
		}
	}
	if cut == 0 {
		t.Error("no snaplen-truncated finding")
	}
	// Each packet's first 30 bytes are still read: stream 3's message
	// was delivered (its "250 OK id=" in frame 82 begins a packet after
	// a cut one), and nothing but the snaplen is found there; stream 1's
	// refusal answers the second RCPT (frame 33), not the first.
	if c := connectionOf(t, r, 3); c.Delivered != 1 || c.Findings != 2 {
		t.Errorf("stream 3: %+v; want 1 delivered and 2 findings (the snaplen on each side)", c)
	}
	// Stream 2 pipelined RCPT and DATA in frame 54, cut after the "D":
	// the 354 in frame 56 says it was DATA, and frames 57 and 59 are
	// the message Exim took in frame 61.
	if c := connectionOf(t, r, 2); c.Delivered != 1 || c.Findings != 2 {
		t.Errorf("stream 2: %+v; want 1 delivered and 2 findings (the snaplen on each side)", c)
	}
	if got := findingsOf(r, "command-rejected", 1); len(got) != 1 || !slices.Equal(got[0].Frames, []int{33, 34}) || !strings.Contains(got[0].Summary, "nobody@example.test") {
		t.Errorf("stream 1 command-rejected: %+v", got)
	}
	for _, f := range r.Findings.All() {
		if f.ID == "pipelining-not-offered" {
			t.Errorf("the EHLO replies were cut: nobody knows what they offered, yet %+v", f)
		}
	}
}
