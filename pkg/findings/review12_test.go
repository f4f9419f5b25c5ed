package findings

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// A helper's review of the second Exim sweep's changes: each case a
// crafted session where they went wrong.

func greetEHLO(s *capgen.Session) {
	s.Server("220 mx.example.test ESMTP\r\n")
	s.Client("EHLO c.example.org\r\n")
	s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
}

// A server that closes minutes after a refusal closed on a timeout of its
// own, not "at once" on the refusal; and a DATA sent after the refusal had
// come, a second later, is a command the server never answered.
func TestReview12AServerThatClosesLaterDidNotHangUpOnTheRefusal(t *testing.T) {
	r := craftedReport(t, "r12-fin-late", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<c@example.test>\r\n")
		s.Server("550 no such user\r\n")
		s.Pause(time.Second)
		s.Client("DATA\r\n")
		s.Pause(300 * time.Second)
		fin(false)
		fin(true)
	})
	if got := findingsOf(r, "unanswered-command", 0); len(got) != 1 || !strings.Contains(got[0].Summary, `"DATA"`) {
		t.Errorf("unanswered: %v", got)
	}
	for _, f := range findingsOf(r, "lost-mid-transaction", 0) {
		if strings.Contains(f.Summary, "at once") || f.Severity != Error {
			t.Errorf("lost-mid-transaction: %s %s", f.Severity, f.Summary)
		}
	}
}

// The server closing 10 s after the handshake without a greeting, before
// the client said anything, is the server's doing.
func TestReview12AServerThatClosesWithoutAGreeting(t *testing.T) {
	r := craftedReport(t, "r12-srv-close-nogreet", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Pause(10 * time.Second)
		fin(false)
		fin(true)
	})
	got := findingsOf(r, "slow-greeting", 0)
	if len(got) != 1 || !strings.HasPrefix(got[0].Summary, "the server closed the connection (its FIN in frame 4) 10.0 s after the TCP handshake") {
		t.Errorf("slow-greeting: %v", got)
	}
}

// A late greeting is no excuse for hiding what went wrong after it.
func TestReview12ASlowGreetingDoesNotHideAnError(t *testing.T) {
	r := craftedReport(t, "r12-slow-plus-barelf", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Pause(6 * time.Second)
		greetEHLO(s)
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go\r\n")
		s.Client("Subject: x\n\nbody\n.\r\n")
		s.Server("550 bare LF not allowed\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	if d := connectionOf(t, r, 0).Diagnosis; !strings.HasPrefix(d, "The message body ended in a bare LF") {
		t.Errorf("diagnosis %q", d)
	}
}

// A refused MAIL followed by an address probe with the same sender is not
// one message sent again.
func TestReview12ARefusedMailThenAProbeAreTwoTransactions(t *testing.T) {
	r := craftedReport(t, "r12-resent-probe", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		s.Client("MAIL FROM:<a@example.org> SIZE=99999999\r\n")
		s.Server("452 insufficient storage\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RSET\r\n")
		s.Server("250 ok\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	if c := connectionOf(t, r, 0); c.Transactions != 2 || c.Delivered != 0 || c.EnvelopeOnly != 1 {
		t.Errorf("%d/%d delivered (+%d probe), want 0/2 (+1 probe)", c.Delivered, c.Transactions, c.EnvelopeOnly)
	}
}

// Greylisting seen on both sides of a NAT, the delivery only outside: it
// is the same host's, and it ends the loop.
func TestReview12ADeliveryBehindTheNATEndsTheLoop(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	attempts := func(client string, delay time.Duration, n int) func(w *capgen.Writer) {
		return func(w *capgen.Writer) {
			for i := range n {
				s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("%s:%d", client, 40000+i)),
					netip.MustParseAddrPort("198.51.100.25:25"), t0.Add(time.Duration(i)*10*time.Minute+delay), uint32(1000+i*7919), uint32(5000+i*104729))
				s.Handshake()
				s.Server("220 mx ESMTP\r\n")
				s.Client("EHLO c.example.org\r\n")
				s.Server("250 mx\r\n")
				s.Client("MAIL FROM:<a@example.org>\r\n")
				s.Server("250 ok\r\n")
				s.Client("RCPT TO:<b@example.test>\r\n")
				if i < 3 {
					s.Server("451 4.7.1 greylisted\r\n")
				} else {
					s.Server("250 ok\r\n")
					s.Client("DATA\r\n")
					s.Server("354 go\r\n")
					s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n")
					s.Server("250 queued\r\n")
				}
				s.Client("QUIT\r\n")
				s.Server("221 bye\r\n")
				s.Close()
			}
		}
	}
	r := natViewsReport(t, map[string]func(*capgen.Writer){"inside.pcap": attempts("10.0.0.2", 0, 3), "outside.pcap": attempts("192.0.2.1", 50*time.Microsecond, 4)})
	loops := retryLoops(r)
	if len(loops) != 1 || loops[0].Severity != Info || !strings.Contains(loops[0].Summary, "; it was finally accepted in stream ") {
		for _, f := range loops {
			t.Errorf("%s %v %s", f.Severity, f.Streams, f.Summary)
		}
		t.Errorf("want one info loop finally accepted")
	}
}

// A message delivered with its own Message-ID before later messages of
// the same envelope were refused is not one of them.
func TestReview12AnEarlierDeliveryIsNotTheLoopsMessage(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 4 {
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("192.0.2.10:%d", 40000+i)),
			netip.MustParseAddrPort("198.51.100.25:25"), t0.Add(time.Duration(i)*10*time.Minute), uint32(1000+i*7919), uint32(5000+i*104729))
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250 mx\r\n")
		s.Client("MAIL FROM:<monitor@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<ops@example.test>\r\n")
		if i == 0 {
			s.Server("250 ok\r\n")
			s.Client("DATA\r\n")
			s.Server("354 go\r\n")
			s.Client("Message-ID: <alert-1@example.org>\r\nSubject: alert 1\r\n\r\nbody\r\n.\r\n")
			s.Server("250 queued\r\n")
		} else {
			s.Server("452 4.2.2 mailbox full\r\n")
		}
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
	}
	loops := retryLoops(analyzeBytes(t, "accepted-before.pcap", buf.Bytes()))
	if len(loops) != 1 || strings.Contains(loops[0].Summary, "accepted") {
		t.Errorf("retry loops %v", loops)
	}
}

// A hang-up that ends the session is told, however many refusals came
// before it; folded refusals without a fold name are named by summary.
func TestReview12TheHangUpIsNeverFolded(t *testing.T) {
	r := craftedReport(t, "r12-fold-empty", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250 mx\r\n")
		for _, v := range []string{"VRFY a", "EXPN b", "HELP", "ETRN x", "TURN", "FOO", "BAR"} {
			s.Client(v + "\r\n")
			s.Server("502 5.5.1 no\r\n")
		}
		s.Client("GET / HTTP/1.0\r\n")
		s.Server("221 2.7.0 Error: I can break rules, too. Goodbye.\r\n")
		fin(false)
		fin(true)
	})
	var hangUp bool
	for _, f := range findingsOf(r, "command-rejected", 0) {
		hangUp = hangUp || strings.HasPrefix(f.Summary, `the server ended the session on "GET / HTTP/1.0" with 221`)
		if strings.Contains(f.Summary, "1 × ,") {
			t.Errorf("a folded finding without a name: %s", f.Summary)
		}
	}
	if !hangUp {
		t.Errorf("the 221 hang-up is not told: %v", findingsOf(r, "command-rejected", 0))
	}
}

// A command cut by a full-size segment that the server never answered is
// evidence still.
func TestReview12AFullSegmentSplitLeftUnansweredIsReported(t *testing.T) {
	r := craftedReport(t, "r12-fullseg-unanswered", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		var b strings.Builder
		b.WriteString("MAIL FROM:<a@example.org>\r\n")
		for i := range 60 {
			fmt.Fprintf(&b, "RCPT TO:<user%03d@example.test>\r\n", i)
		}
		s.Client(b.String(), 1448, 1448)
		var rep strings.Builder
		rep.WriteString("250 ok\r\n")
		off := len("MAIL FROM:<a@example.org>\r\n")
		for i := range 60 {
			l := len(fmt.Sprintf("RCPT TO:<user%03d@example.test>\r\n", i))
			if off+l > 1448 {
				break // the server answers nothing from the RCPT the segment cut
			}
			rep.WriteString("250 ok\r\n")
			off += l
		}
		s.Server(rep.String())
		s.Pause(300 * time.Second)
		fin(false)
		fin(true)
	})
	if got := findingsOf(r, "command-split-across-segments", 0); len(got) != 1 {
		t.Errorf("command-split-across-segments: %v", got)
	}
}

// An initial response after a tab is a credential too.
func TestReview12AnAuthResponseAfterATabIsHidden(t *testing.T) {
	r := craftedReport(t, "r12-auth-tab", 587, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx\r\n250 AUTH PLAIN LOGIN\r\n")
		s.Client("AUTH PLAIN\tAGFsaWNlAHNlY3JldHB3\r\n")
		s.Server("535 5.7.8 authentication failed\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	for _, f := range r.Findings.All() {
		if strings.Contains(f.Summary+f.Evidence, "AGFsaWNl") {
			t.Errorf("%s shows the credential: %s / %s", f.ID, f.Summary, f.Evidence)
		}
	}
	if d := connectionOf(t, r, 0).Diagnosis; strings.Contains(d, "AGFsaWNl") || !slices.ContainsFunc(r.Findings.All(), func(f Finding) bool {
		return strings.HasPrefix(f.Summary, "AUTH PLAIN (credentials not shown) was rejected: 535")
	}) {
		t.Errorf("diagnosis %q, findings %v", d, r.Findings)
	}
}

// With a snaplen that cut the lines, which reply answered which command is
// a guess: the diagnosis does not add refusals that may be its artifacts.
func TestReview12NoRefusalsAddedToACutCapturesStory(t *testing.T) {
	r := analyze(t, capturePath("snaplen96.pcap"))
	for _, c := range r.Connections.All() {
		if strings.Contains(c.Diagnosis, "Also:") {
			t.Errorf("stream %d: %s", c.Stream, c.Diagnosis)
		}
	}
}
