package findings

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// A second review of the sweeps' changes: each case a crafted session
// where they went wrong.

func TestReview13AGreetingOf421EndsTheSessionBeforeAnyTransaction(t *testing.T) {
	r := craftedReport(t, "r13-421greet", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("421 mx busy, try later\r\n")
		s.Client("EHLO c.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\n")
		s.Pause(100 * time.Millisecond)
		fin(false)
		fin(true)
	})
	if got := findingsOf(r, "lost-mid-transaction", 0); len(got) != 0 {
		t.Errorf("lost-mid-transaction: %v", got)
	}
}

func TestReview13JunkLongAfterARefusedSTARTTLSIsNoHello(t *testing.T) {
	r := craftedReport(t, "r13-hellolater", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		s.Client("STARTTLS\r\n")
		s.Server("454 4.7.0 TLS not available\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go\r\n")
		s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n")
		s.Server("250 queued\r\n")
		s.Client("\x16\x03\x01\x00\x05hello\r\n")
		s.Server("500 5.5.2 Error: bad syntax\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	if got := findingsOf(r, "tls-handshake-failed", 0); len(got) != 0 {
		t.Errorf("tls-handshake-failed: %v", got)
	}
}

func TestReview13AHelloAfterARefusedSTARTTLSLeadsTheDiagnosis(t *testing.T) {
	hello := "\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03" + string(bytes.Repeat([]byte{0xaa}, 20)) + "\n" + string(bytes.Repeat([]byte{0x00, 0x2f}, 10)) + "\r\n" + "\x00\x0a\x00\x05"
	r := craftedReport(t, "r13-helloanyway", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		s.Client("STARTTLS\r\n")
		s.Server("502 5.5.1 command not implemented\r\n")
		s.Client(hello)
		s.Server("500 5.5.2 Error: bad syntax\r\n500 5.5.2 Error: bad syntax\r\n")
		s.Pause(300 * time.Second)
		s.Server("421 4.4.2 timeout\r\n")
		fin(false)
		fin(true)
	})
	got := findingsOf(r, "tls-handshake-failed", 0)
	if len(got) != 1 || !strings.Contains(got[0].Explanation, "(502;") {
		t.Fatalf("tls-handshake-failed: %v", got)
	}
	if d := connectionOf(t, r, 0).Diagnosis; !strings.HasPrefix(d, "The client began TLS") {
		t.Errorf("diagnosis %q", d)
	}
}

func TestReview13ACommandCutAndNotRecognisedIsReported(t *testing.T) {
	r := craftedReport(t, "r13-split500", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		env := "MAIL FROM:<a@example.org>\r\n"
		for i := range 30 {
			env += fmt.Sprintf("RCPT TO:<user%02d@example.test>\r\n", i)
		}
		env += "DATA\r\n"
		s.Client(env, 600)
		replies := "250 ok\r\n"
		off := len("MAIL FROM:<a@example.org>\r\n")
		for i := range 30 {
			l := len(fmt.Sprintf("RCPT TO:<user%02d@example.test>\r\n", i))
			if off < 600 && off+l > 600 {
				replies += "500 5.5.2 Error: command not recognized\r\n"
			} else {
				replies += "250 ok\r\n"
			}
			off += l
		}
		s.Server(replies + "354 go\r\n")
		s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
		s.Server("250 queued\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	got := findingsOf(r, "command-split-across-segments", 0)
	if len(got) != 1 || got[0].Severity != Error {
		t.Errorf("command-split-across-segments: %v", got)
	}
}

func TestReview13AHelloSentBeforeThe220IsTLS(t *testing.T) {
	hello := "\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03" + string(bytes.Repeat([]byte{0xaa}, 20)) + "\n" + string(bytes.Repeat([]byte{0x00, 0x2f}, 10)) + "\r\n" + "\x00\x0a\x00\x05" + string(bytes.Repeat([]byte{0xbb}, 17))
	r := craftedReport(t, "r13-hellopiped", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		s.Client("STARTTLS\r\n" + hello)
		s.Server("220 2.0.0 Ready to start TLS\r\n")
		s.Server("\x16\x03\x03\x00\x04\x02\x00\x00\x00")
		s.Client("\x17\x03\x03\x00\x03abc")
		fin(true)
		fin(false)
	})
	for _, f := range r.Findings.All() {
		if f.ID == "malformed-command" || strings.Contains(f.Summary, "CVE-2011-0411") {
			t.Errorf("%s: %s", f.ID, f.Summary)
		}
	}
	if got := findingsOf(r, "tls-started", 0); len(got) != 1 || !strings.Contains(got[0].Summary, "(83 client") {
		t.Errorf("tls-started: %v", got)
	}
}

func TestReview13AuthAfterATabIsHidden(t *testing.T) {
	r := craftedReport(t, "r13-authtab", 587, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx.example.test\r\n250 AUTH PLAIN LOGIN\r\n")
		s.Client("AUTH\tPLAIN\tAHVzZXIAc2VjcmV0cGFzcw==\r\n")
		s.Server("235 2.7.0 Authentication successful\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	for _, f := range r.Findings.All() {
		if strings.Contains(f.Summary+f.Evidence, "AHVzZXIA") {
			t.Errorf("%s shows the credential: %s / %s", f.ID, f.Summary, f.Evidence)
		}
	}
	if d := connectionOf(t, r, 0).Diagnosis; strings.Contains(d, "AHVzZXIA") {
		t.Errorf("diagnosis %q", d)
	}
}

func TestReview13ARefusalBeforeALaterGapIsStillTold(t *testing.T) {
	r := craftedReport(t, "r13-alsogap", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("550 5.1.1 <b@example.test>: Recipient address rejected: User unknown\r\n")
		s.Client("RCPT TO:<c@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go\r\n")
		s.Client("Subject: x\r\n\r\nline one\r\n")
		s.Skip(true, 1000)
		s.Client("line three\r\n.\r\n")
		s.Server("250 queued\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	if d := connectionOf(t, r, 0).Diagnosis; !strings.Contains(d, "Also: RCPT TO:<b@example.test> was rejected: 550") {
		t.Errorf("diagnosis %q", d)
	}
}

func TestReview13TwoRefusedMailsAndTheMessageAreOneTransaction(t *testing.T) {
	r := craftedReport(t, "r13-resent", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		greetEHLO(s)
		s.Client("MAIL FROM:<a@example.org> SMTPUTF8 SIZE=100\r\n")
		s.Server("555 5.5.4 Unsupported option: SMTPUTF8\r\n")
		s.Client("MAIL FROM:<a@example.org> SIZE=100\r\n")
		s.Server("452 4.3.1 Insufficient system storage\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go\r\n")
		s.Client("Subject: x\r\n\r\nbody\r\n.\r\n")
		s.Server("250 queued\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(true)
		fin(false)
	})
	if c := connectionOf(t, r, 0); c.Transactions != 1 || c.Delivered != 1 {
		t.Errorf("%d/%d delivered, want 1/1", c.Delivered, c.Transactions)
	}
}

// r13session is one delivery attempt for the retry-loop cases: each
// recipient answered as rcpts says ("250", "451", "452"), the message
// (with msgid as its Message-ID) sent when one was accepted.
type r13session struct {
	client string
	at     time.Duration
	rcpts  []string
	names  []string
	msgid  string
}

func r13Report(t *testing.T, sessions []r13session) *Report {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	t0 := time.Unix(1_700_000_000, 0)
	for i, x := range sessions {
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("%s:%d", x.client, 40000+i)),
			netip.MustParseAddrPort("198.51.100.25:25"), t0.Add(x.at), uint32(1000+i*7919), uint32(5000+i*104729))
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx\r\n250 SIZE 1000000\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		ok := false
		for j, rep := range x.rcpts {
			name := fmt.Sprintf("r%d", j)
			if x.names != nil {
				name = x.names[j]
			}
			s.Client(fmt.Sprintf("RCPT TO:<%s@example.test>\r\n", name))
			if rep == "250" {
				ok = true
				s.Server("250 ok\r\n")
			} else {
				s.Server(rep + " 4.7.1 try later\r\n")
			}
		}
		if ok {
			s.Client("DATA\r\n")
			s.Server("354 go\r\n")
			body := "Subject: hi\r\n\r\nbody\r\n.\r\n"
			if x.msgid != "" {
				body = "Message-ID: <" + x.msgid + ">\r\n" + body
			}
			s.Client(body)
			s.Server("250 queued\r\n")
		}
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
	}
	return analyzeBytes(t, "r13.pcap", buf.Bytes())
}

func TestReview13ADeliveryFromAnotherHostEndsNoLoop(t *testing.T) {
	loops := retryLoops(r13Report(t, []r13session{
		{client: "192.0.2.10", at: 0, rcpts: []string{"451"}},
		{client: "192.0.2.77", at: 10 * time.Minute, rcpts: []string{"451"}},
		{client: "192.0.2.10", at: 20 * time.Minute, rcpts: []string{"451"}},
		{client: "203.0.113.5", at: 30 * time.Minute, rcpts: []string{"250"}, msgid: "other@third"},
	}))
	if len(loops) != 1 || strings.Contains(loops[0].Summary, "accepted") {
		t.Errorf("retry loops %v", loops)
	}
}

func TestReview13DeferralsOfDifferentMessagesAreNoLoop(t *testing.T) {
	loops := retryLoops(r13Report(t, []r13session{
		{client: "192.0.2.10", at: 0, rcpts: []string{"250", "452"}, msgid: "m1@x"},
		{client: "192.0.2.10", at: 10 * time.Minute, rcpts: []string{"250", "452"}, msgid: "m2@x"},
		{client: "192.0.2.10", at: 20 * time.Minute, rcpts: []string{"250", "452"}, msgid: "m3@x"},
		{client: "192.0.2.10", at: 25 * time.Minute, rcpts: []string{"452"}, names: []string{"r1"}},
	}))
	if len(loops) != 0 {
		t.Errorf("retry loops %v", loops)
	}
}
