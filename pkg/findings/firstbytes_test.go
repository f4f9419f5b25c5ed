package findings

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// reviewCapture writes a session from 192.0.2.10:40000 to 198.51.100.25:port;
// script does everything, the handshake included (craftedReport; with
// SMTPCAP_DUMP set the capture is also written out).
func reviewLines(r *Report) string {
	var b strings.Builder
	for _, f := range r.Findings.All() {
		fmt.Fprintf(&b, "%s %s %v: %s\n", f.Severity, f.ID, f.Frames, f.Summary)
	}
	for _, c := range r.Connections.All() {
		fmt.Fprintf(&b, "diagnosis: %s\n", c.Diagnosis)
	}
	return b.String()
}

func tlsRec(typ byte, body []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

func clientHello() []byte {
	b := append([]byte{3, 3}, bytes.Repeat([]byte{0x11}, 32)...)
	b = append(b, 0, 0, 2, 0x13, 0x01, 1, 0, 0, 7, 0, 0x2b, 0, 3, 2, 3, 4)
	return tlsRec(22, append([]byte{1, 0, 0, byte(len(b))}, b...))
}

func serverHello() []byte {
	b := append([]byte{3, 3}, bytes.Repeat([]byte{0x22}, 32)...)
	b = append(b, 0, 0x13, 0x01, 0, 0, 6, 0, 0x2b, 0, 2, 3, 4)
	return tlsRec(22, append([]byte{2, 0, 0, byte(len(b))}, b...))
}

// openEnvelope greets, says EHLO and has MAIL and one RCPT accepted.
func openEnvelope(s *capgen.Session) {
	s.Server("220 mx.example.test ESMTP\r\n")
	s.Client("EHLO client.example.org\r\n")
	s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
	s.Client("MAIL FROM:<a@example.org>\r\n")
	s.Server("250 OK\r\n")
	s.Client("RCPT TO:<b@example.test>\r\n")
	s.Server("250 Accepted\r\n")
}

func strictMessage(s *capgen.Session, body string) {
	openEnvelope(s)
	s.Client("DATA\r\n")
	s.Server("354 go ahead\r\n")
	s.Client(body + "\r\n.\r\n")
	s.Server("250 2.6.0 queued\r\n")
}

// TestAStrictServersLaterReplyIsNoCutShort: a message
// with a lone "." line after a bare LF, which a strict server ends at the
// real <CRLF>.<CRLF> and answers 250. The next reply the server sends
// unasked is not an answer to the rest of the message when it comes ten
// minutes later (Exchange's "451 4.7.0 Timeout waiting for client input"),
// when it is a 221 on an idle timeout, or when it answers a QUIT the
// capture lost. None of them may turn smuggling-end-of-data into the error
// that the server ended the message early and took it cut short.
func TestAStrictServersLaterReplyIsNoCutShort(t *testing.T) {
	const body = "Subject: x\r\n\r\nsome lines\n.\nmore text"
	for _, tc := range []struct {
		name  string
		after func(s *capgen.Session, fin func(bool))
	}{
		{"timeout-451", func(s *capgen.Session, fin func(bool)) {
			s.Pause(10 * time.Minute)
			s.Server("451 4.7.0 Timeout waiting for client input\r\n")
			fin(false)
			fin(true)
		}},
		{"idle-221", func(s *capgen.Session, fin func(bool)) {
			s.Pause(5 * time.Minute)
			s.Server("221 mx.example.test idle timeout, closing\r\n")
			fin(false)
			fin(true)
		}},
		{"quit-not-captured", func(s *capgen.Session, fin func(bool)) {
			s.Skip(true, uint32(len("QUIT\r\n")))
			s.Server("221 mx.example.test closing connection\r\n")
			s.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := craftedReport(t, "strict-"+tc.name, 25, func(s *capgen.Session, fin func(bool)) {
				s.Handshake()
				strictMessage(s, body)
				tc.after(s, fin)
			})
			for _, f := range r.Findings.All() {
				if f.ID == "smuggling-end-of-data" && (f.Severity == Error || strings.Contains(f.Summary, "cut short")) {
					t.Errorf("a strict server's later reply taken for the answer to the rest of the message:\n%s", reviewLines(r))
				}
				if f.ID == "reply-without-command" && strings.Contains(f.Summary, "where the server ended the message") {
					t.Errorf("reply-without-command blames an early end of data:\n%s", reviewLines(r))
				}
			}
			if d := r.Connections.All()[0].Diagnosis; strings.Contains(d, "cut short") {
				t.Errorf("diagnosis %q", d)
			}
		})
	}
}

// TestMidStreamTLSIsNoImplicitTLSMismatch: a capture that starts in
// the middle of a STARTTLS session, with the server's "220 Ready to start
// TLS" and then the client's hello, or with the server's ServerHello, is
// no disagreement about implicit TLS: nothing of the session's start is in
// the capture. Before 0f4ae90 the first was an info (implicit TLS), the
// second nothing.
func TestMidStreamTLSIsNoImplicitTLSMismatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(s *capgen.Session, fin func(bool))
	}{
		{"starttls-220-then-hello", func(s *capgen.Session, fin func(bool)) {
			s.Server("220 2.0.0 Ready to start TLS\r\n")
			s.Send(true, clientHello())
			s.Ack(false)
			s.Send(false, serverHello())
			s.Ack(true)
			s.Send(true, tlsRec(23, bytes.Repeat([]byte{0x55}, 300)))
			s.Ack(false)
			s.Send(false, tlsRec(23, bytes.Repeat([]byte{0x66}, 200)))
			s.Ack(true)
			s.Close()
		}},
		{"server-hello-first", func(s *capgen.Session, fin func(bool)) {
			s.Send(false, serverHello())
			s.Ack(true)
			s.Send(true, tlsRec(20, []byte{1}))
			s.Ack(false)
			s.Send(true, tlsRec(23, bytes.Repeat([]byte{0x55}, 300)))
			s.Ack(false)
			s.Send(false, tlsRec(23, bytes.Repeat([]byte{0x66}, 200)))
			s.Ack(true)
			s.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := craftedReport(t, "midstream-"+tc.name, 25, tc.script)
			if tc.name == "starttls-220-then-hello" && !r.Connections.All()[0].TLS {
				// The 220 is the end of a STARTTLS, not a clear-text answer
				// to a TLS hello: the session is encrypted.
				t.Errorf("mid-stream STARTTLS session reported as not encrypted:\n%s", reviewLines(r))
			}
			for _, f := range r.Findings.All() {
				if f.ID == "tls-handshake-failed" || f.Severity == Error || f.ID == "malformed-reply" {
					t.Errorf("mid-stream TLS reported as a failure:\n%s", reviewLines(r))
					break
				}
			}
		})
	}
}

// TestAServersTLSAlertInTwoSegments: a server on port 465 answering a
// plain client's EHLO with a TLS alert is told the same whether the alert's
// 7 bytes come in one segment, or split after 5 bytes, or after 1 byte.
// Likewise a TLS client's Exim 554 whose first segment holds one byte.
func TestAServersTLSAlertInTwoSegments(t *testing.T) {
	for _, first := range []int{0, 5, 1} {
		t.Run(fmt.Sprint("alert first segment ", first), func(t *testing.T) {
			r := craftedReport(t, fmt.Sprint("plain-to-465-alert-", first), 465, func(s *capgen.Session, fin func(bool)) {
				s.Handshake()
				s.Client("EHLO client.example.org\r\n")
				if first == 0 {
					s.Send(false, tlsRec(21, []byte{2, 10}))
				} else {
					s.Send(false, tlsRec(21, []byte{2, 10}), first)
				}
				s.Ack(true)
				fin(false)
				fin(true)
			})
			if !slices.ContainsFunc(r.Findings.All(), func(f Finding) bool { return f.ID == "tls-handshake-failed" && f.Severity == Error }) {
				t.Errorf("no implicit-TLS mismatch:\n%s", reviewLines(r))
			}
			for _, f := range r.Findings.All() {
				if f.ID == "tls-handshake-failed" && !strings.Contains(f.Summary, "a TLS fatal unexpected_message (10) alert") {
					t.Errorf("the alert is not named: %s", f.Summary)
				}
			}
		})
	}
	t.Run("554 first segment 1", func(t *testing.T) {
		r := craftedReport(t, "tls-to-25-554-split1", 25, func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			s.Send(true, clientHello())
			s.Send(false, []byte("554 SMTP synchronization error\r\n"), 1)
			s.Ack(true)
			fin(false)
			fin(true)
		})
		if !slices.ContainsFunc(r.Findings.All(), func(f Finding) bool {
			return f.ID == "tls-handshake-failed" && f.Severity == Error && strings.Contains(f.Summary, `554 "SMTP synchronization error"`)
		}) {
			t.Errorf("no implicit-TLS mismatch:\n%s", reviewLines(r))
		}
	})
}

// TestACleartextGreetingOn465BlamesTheServer: on port 465 a server
// that greets in clear text (the Suricata protodetect capture) is the one
// out of step; the remedy must not send the client to port 465, where it
// already is, nor say that the server refused the hello.
func TestACleartextGreetingOn465BlamesTheServer(t *testing.T) {
	r := craftedReport(t, "tls-to-465-cleartext-greeting", 465, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Send(true, clientHello())
		s.Ack(false)
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Reset(true)
	})
	for _, f := range r.Findings.All() {
		if f.ID == "tls-handshake-failed" && strings.Contains(f.Remedy, "port (465)") {
			t.Errorf("on port 465 the remedy is %q", f.Remedy)
		}
	}
}

// TestAClientThatLeavesAfterARefusedRecipient: a client that closes the
// connection once the server refused one of its recipients, before DATA,
// gave the message up itself (a warning, in the envelope); one that closed
// before the refusal could reach it lost the transaction (an error).
func TestAClientThatLeavesAfterARefusedRecipient(t *testing.T) {
	envelope := func(s *capgen.Session) {
		s.Handshake()
		openEnvelope(s)
		s.Client("RCPT TO:<nobody@example.test>\r\n")
	}
	r := craftedReport(t, "leaves-after-refusal", 25, func(s *capgen.Session, fin func(bool)) {
		envelope(s)
		s.Server("550 unknown user\r\n")
		fin(true)
		fin(false)
		s.Ack(true)
	})
	var lost []Finding
	for _, f := range r.Findings.All() {
		if f.ID == "lost-mid-transaction" {
			lost = append(lost, f)
		}
	}
	if len(lost) != 1 || lost[0].Severity != Warning || lost[0].Phase != PhaseEnvelope ||
		!strings.Contains(lost[0].Summary, `the client gave up the message from <a@example.org> itself: the server refused <nobody@example.test> (550 "unknown user", frame 20), and the client closed the connection (its FIN in frame 22) without sending the message, to the 1 accepted recipient either`) {
		t.Errorf("after the refusal:\n%s", reviewLines(r))
	}
	r = craftedReport(t, "leaves-before-refusal", 25, func(s *capgen.Session, fin func(bool)) {
		envelope(s)
		fin(true)
		s.Server("550 unknown user\r\n")
		fin(false)
		s.Ack(true)
	})
	if !slices.ContainsFunc(r.Findings.All(), func(f Finding) bool {
		return f.ID == "lost-mid-transaction" && f.Severity == Error && strings.Contains(f.Summary, "was lost in the envelope")
	}) {
		t.Errorf("before the refusal:\n%s", reviewLines(r))
	}
}

// TestSilenceOnPort465: a plain client on port 465 of a server that sends
// no alert (Postfix): nothing either way until the client gives up after
// 8 s is told as the likely mismatch, a warning; a connection closed at
// once (a port check) and the same silence on port 25 are not.
func TestSilenceOnPort465(t *testing.T) {
	silent := func(wait time.Duration) func(s *capgen.Session, fin func(bool)) {
		return func(s *capgen.Session, fin func(bool)) {
			s.Handshake()
			s.Pause(wait)
			fin(true)
			s.Ack(false)
			fin(false)
			s.Ack(true)
		}
	}
	r := craftedReport(t, "silent-465", 465, silent(8*time.Second))
	if r.Findings.Len() != 1 || r.Findings.All()[0].ID != "tls-handshake-failed" || r.Findings.All()[0].Severity != Warning ||
		!slices.Equal(r.Findings.All()[0].Frames, []int{4}) ||
		!strings.Contains(r.Findings.All()[0].Summary, "nothing was sent either way for 8.0 s on port 465, the implicit-TLS port, until the client closed the connection (frame 4)") {
		t.Errorf("8 s of silence on 465:\n%s", reviewLines(r))
	}
	for _, tc := range []struct {
		port uint16
		wait time.Duration
	}{{465, 100 * time.Millisecond}, {25, 8 * time.Second}} {
		r := craftedReport(t, "silent", tc.port, silent(tc.wait))
		if slices.ContainsFunc(r.Findings.All(), func(f Finding) bool { return f.ID == "tls-handshake-failed" }) {
			t.Errorf("port %d, %v of silence:\n%s", tc.port, tc.wait, reviewLines(r))
		}
	}
}
