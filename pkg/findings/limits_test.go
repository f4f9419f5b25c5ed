package findings

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// TestAConnectionTooLongToKeepSaysSo: a connection with more commands
// than the parser keeps (10,010 NOOPs, each answered) is reported with
// counts that stop short, and its diagnosis says how much was not kept:
// 11 commands (10,010 NOOPs and QUIT past 10,000) and 12 replies (the
// greeting, 10,010 answers and 221 past 10,000). One just under the
// limit says nothing of it.
func TestAConnectionTooLongToKeepSaysSo(t *testing.T) {
	r := analyze(t, writeCapture(t, "long.pcap", noops(10010)))
	c := connectionOf(t, r, 0)
	const want = "The connection was too long to keep whole: 23 of its commands, replies and transactions, past the first 10000 of each, were read but not kept, so its counts and findings cover the first ones only."
	if !strings.HasSuffix(c.Diagnosis, want) {
		t.Errorf("diagnosis %q, want it to end %q", c.Diagnosis, want)
	}
	if len(r.Findings) != 0 {
		t.Errorf("findings %+v, want none: every NOOP was answered", r.Findings)
	}

	// 9,998 NOOPs: 9,999 commands and 10,000 replies, all kept, and
	// nothing said of it.
	r = analyze(t, writeCapture(t, "kept.pcap", noops(9998)))
	if c := connectionOf(t, r, 0); c.Diagnosis != "" || len(r.Findings) != 0 {
		t.Errorf("all kept: diagnosis %q, findings %+v; want neither", c.Diagnosis, r.Findings)
	}
}

// noops returns a capture of one connection that sends n NOOPs, each
// answered, and QUIT.
func noops(n int) []byte {
	return greetedConnection(func(s *capgen.Session) {
		for range n {
			s.Client("NOOP\r\n")
			s.Server("250 ok\r\n")
		}
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
}

// TestAClientFarAheadOfItsServer: 10,005 RSETs and QUIT sent before the
// first reply, 10,006 requests outstanding (more than the parser waits for
// at once). The 6 oldest RSETs are forgotten, and the diagnosis says so;
// no finding calls them unanswered or their replies unasked. (That the
// later replies still pair with their own commands is
// smtpparse.TestRepliesToForgottenCommandsPairWithNothing's to prove:
// here the parser keeps none of the commands past the misalignment.)
func TestAClientFarAheadOfItsServer(t *testing.T) {
	r := analyze(t, writeCapture(t, "ahead.pcap", pipelinedRsets(10005)))
	c := connectionOf(t, r, 0)
	const want = "More than 10000 commands were waiting for replies at once: the oldest 6 were no longer waited for, so they show no reply, and the replies that came for them are paired with none."
	if !strings.Contains(c.Diagnosis, want) {
		t.Errorf("diagnosis %q, want it to contain %q", c.Diagnosis, want)
	}
	for _, f := range r.Findings {
		t.Errorf("finding %s: %s", f.ID, f.Summary)
	}

	// 9,999 RSETs and QUIT at once: all awaited, nothing said of it.
	r = analyze(t, writeCapture(t, "within.pcap", pipelinedRsets(9999)))
	if c := connectionOf(t, r, 0); strings.Contains(c.Diagnosis, "waiting for replies") || len(r.Findings) != 0 {
		t.Errorf("all awaited: diagnosis %q, findings %+v; want neither", c.Diagnosis, r.Findings)
	}
}

// pipelinedRsets returns a capture of one connection whose client sends
// n RSETs and QUIT in one go after EHLO (in segments of 1440 bytes), and
// whose server then answers them all.
func pipelinedRsets(n int) []byte {
	return greetedConnection(func(s *capgen.Session) {
		s.Client("EHLO c.example.test\r\n")
		s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
		mss := make([]int, 100)
		for i := range mss {
			mss[i] = 1440
		}
		s.Client(strings.Repeat("RSET\r\n", n)+"QUIT\r\n", mss...)
		s.Server(strings.Repeat("250 ok\r\n", n)+"221 bye\r\n", mss...)
	})
}

// greetedConnection returns a capture of one connection from
// 192.0.2.1:40000 to 198.51.100.7:25, a packet every 100 µs: the
// handshake, the server's greeting, what talk sends, and the close.
func greetedConnection(talk func(s *capgen.Session)) []byte {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.7:25"),
		time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC), 1000, 5000)
	s.Step = 100 * time.Microsecond
	s.Handshake()
	s.Server("220 mx.example.test ESMTP\r\n")
	talk(s)
	s.Close()
	return buf.Bytes()
}
