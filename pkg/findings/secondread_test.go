package findings

import (
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// TestASmugglingAttackIsNoCurlSlip: a "\n.\r\n" followed by a
// whole second envelope that the lenient server took (a successful SMTP
// smuggling attack) must not be diagnosed as a client that merely forgot
// CRLF (curl --upload-file without --crlf): there is one bare LF, the dot
// line ends in CRLF, and commands follow.
func TestASmugglingAttackIsNoCurlSlip(t *testing.T) {
	r := craftedReport(t, "review2-smuggle-attack", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		openEnvelope(s)
		s.Client("DATA\r\n")
		s.Server("354 go ahead\r\n")
		s.Client("Subject: x\r\n\r\nhello\r\n\n.\r\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: spoofed\r\n\r\nhi\r\n.\r\n")
		s.Server("250 queued as A\r\n250 OK\r\n250 Accepted\r\n354 go\r\n250 queued as B\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(false)
		fin(true)
	})
	d := r.Connections.All()[0].Diagnosis
	if strings.Contains(d, "curl") || strings.Contains(d, "among bare LF line endings") {
		t.Errorf("a smuggled second message is diagnosed as a bare-LF client slip:\n%s", reviewLines(r))
	}
}

// TestAMessageResentAfterRSETIsNotGivenUp: a client that, after a refused
// RCPT, sends RSET and delivers the message to the accepted recipient in a
// new transaction (JavaMail's SendFailedException retried with the valid
// addresses does so) did not leave that recipient with nothing.
func TestAMessageResentAfterRSETIsNotGivenUp(t *testing.T) {
	r := craftedReport(t, "review2-rset-resend", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		openEnvelope(s)
		s.Client("RCPT TO:<nobody@example.test>\r\n")
		s.Server("550 unknown user\r\n")
		s.Client("RSET\r\n")
		s.Server("250 OK\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 OK\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 Accepted\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go ahead\r\n")
		s.Client("Subject: x\r\n\r\nhi\r\n.\r\n")
		s.Server("250 queued\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(false)
		fin(true)
	})
	for _, f := range r.Findings.All() {
		if strings.Contains(f.Summary, "got nothing either") {
			t.Errorf("the recipient the message was then delivered to is said to have got nothing:\n%s", reviewLines(r))
		}
	}
}

// TestAPortCheckOn465AfterALostSYN: a port check on 465 whose
// first SYN went unanswered (retransmitted 1 s and 3 s later) and that
// closed as soon as the handshake completed waited for nothing: the
// silence is measured from the first SYN, not from the handshake.
func TestAPortCheckOn465AfterALostSYN(t *testing.T) {
	r := craftedReport(t, "review2-465-syn-retrans", 465, func(s *capgen.Session, fin func(bool)) {
		s.Emit(true, 11, capgen.SYN, nil)
		s.Pause(time.Second)
		s.Emit(true, 11, capgen.SYN, nil)
		s.Pause(2 * time.Second)
		s.Handshake()
		fin(true)
		s.Ack(false)
		fin(false)
		s.Ack(true)
	})
	for _, f := range r.Findings.All() {
		if f.ID == "tls-handshake-failed" {
			t.Errorf("a connection closed right after its handshake is told as a client that waited:\n%s", reviewLines(r))
		}
	}
}

// TestAServerByte0x15ThenTextIsNoAlert: a server's first segment
// holding only 0x15 is taken for a TLS alert's first byte; the second
// byte, arriving in the next segment, must still be 3 ("second byte 3
// when present"). Here it is 'g': no TLS alert should be named.
func TestAServerByte0x15ThenTextIsNoAlert(t *testing.T) {
	r := craftedReport(t, "review2-0x15-then-text", 465, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Client("EHLO client.example.org\r\n")
		s.Send(false, []byte{0x15})
		s.Send(false, []byte("garbage\r\n"))
		s.Ack(true)
		fin(false)
		fin(true)
	})
	for _, f := range r.Findings.All() {
		if strings.Contains(f.Summary, "alert") {
			t.Errorf("bytes 0x15 'g' 'a' … named a TLS alert:\n%s", reviewLines(r))
		}
	}
}
