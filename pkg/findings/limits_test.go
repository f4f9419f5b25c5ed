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
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// TestAConnectionTooLongToKeepSaysSo: a connection with more commands
// than the parser keeps (its limit and 10 NOOPs, each answered) is
// reported with counts that stop short, and its diagnosis says how much
// was not kept: 11 commands (10 NOOPs and QUIT past the limit) and 12
// replies (the greeting, the answers to them and the 221). One just
// under the limit says nothing of it.
func TestAConnectionTooLongToKeepSaysSo(t *testing.T) {
	limit := smtpparse.DefaultMaxElements
	r := analyze(t, writeCapture(t, "long.pcap", noops(limit+10)))
	c := connectionOf(t, r, 0)
	want := fmt.Sprintf("The connection was too long to keep whole: 23 of its commands, replies and transactions, past the first %d of each, were read but not kept, so its counts and findings cover the first ones only.", limit)
	if !strings.HasSuffix(c.Diagnosis, want) {
		t.Errorf("diagnosis %q, want it to end %q", c.Diagnosis, want)
	}
	if r.Findings.Len() != 0 {
		t.Errorf("findings %+v, want none: every NOOP was answered", r.Findings)
	}

	// Two NOOPs fewer than the limit: one command fewer than it and as
	// many replies, all kept, and nothing said of it.
	r = analyze(t, writeCapture(t, "kept.pcap", noops(limit-2)))
	if c := connectionOf(t, r, 0); c.Diagnosis != "" || r.Findings.Len() != 0 {
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

// TestAClientFarAheadOfItsServer: as many RSETs as the parser waits for
// at once and 5 more, then QUIT, sent before the first reply. The 6
// oldest RSETs are forgotten, and the diagnosis says so; no finding calls
// them unanswered or their replies unasked. (That the later replies
// still pair with their own commands is
// smtpparse.TestRepliesToForgottenCommandsPairWithNothing's to prove:
// here the parser keeps none of the commands past the misalignment.)
func TestAClientFarAheadOfItsServer(t *testing.T) {
	limit := smtpparse.DefaultMaxElements
	r := analyze(t, writeCapture(t, "ahead.pcap", pipelinedRsets(limit+5)))
	c := connectionOf(t, r, 0)
	want := fmt.Sprintf("More than %d commands were waiting for replies at once: the oldest 6 were no longer waited for, so they show no reply, and the replies that came for them are paired with none.", limit)
	if !strings.Contains(c.Diagnosis, want) {
		t.Errorf("diagnosis %q, want it to contain %q", c.Diagnosis, want)
	}
	for _, f := range r.Findings.All() {
		t.Errorf("finding %s: %s", f.ID, f.Summary)
	}

	// One RSET fewer than the limit, and QUIT: all awaited, nothing said
	// of it.
	r = analyze(t, writeCapture(t, "within.pcap", pipelinedRsets(limit-1)))
	if c := connectionOf(t, r, 0); strings.Contains(c.Diagnosis, "waiting for replies") || r.Findings.Len() != 0 {
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
		rsets, replies := strings.Repeat("RSET\r\n", n)+"QUIT\r\n", strings.Repeat("250 ok\r\n", n)+"221 bye\r\n"
		mss := make([]int, len(replies)/1440+1)
		for i := range mss {
			mss[i] = 1440
		}
		s.Client(rsets, mss...)
		s.Server(replies, mss...)
	})
}

// greetedConnection returns a capture of one connection from
// 192.0.2.1:40000 to 198.51.100.7:25, a packet every 100 µs: the
// handshake, the server's greeting, what talk sends, and the close.
func greetedConnection(talk func(s *capgen.Session)) []byte {
	var buf bytes.Buffer
	s := startGreeted(capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet))
	talk(s)
	s.Close()
	return buf.Bytes()
}

// startGreeted starts greetedConnection's session, writing to w: the
// handshake and the greeting.
func startGreeted(w *capgen.Writer) *capgen.Session {
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.7:25"),
		time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC), 1000, 5000)
	s.Step = 100 * time.Microsecond
	s.Handshake()
	s.Server("220 mx.example.test ESMTP\r\n")
	return s
}

// TestARelaysLongConnectionIsReadToItsEnd: a relay that reuses one
// connection for 12,000 messages (a connection cache), one of the last
// ending a line in a bare LF: the bare LF is found where it is, though
// the connection carried more than the 10,000 transactions the parser
// once kept.
func TestARelaysLongConnectionIsReadToItsEnd(t *testing.T) {
	const messages, bareIn = 12000, 11994
	var bareAt int64 // the bare LF's offset in the client's stream
	var sent int64
	capture := greetedConnection(func(s *capgen.Session) {
		say := func(text string) {
			s.Client(text)
			sent += int64(len(text))
		}
		say("EHLO relay.example.org\r\n")
		s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
		for i := range messages {
			say(fmt.Sprintf("MAIL FROM:<a%d@example.org>\r\nRCPT TO:<b%d@example.net>\r\nDATA\r\n", i, i))
			s.Server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n")
			body := fmt.Sprintf("Subject: m%d\r\n\r\nhello\r\n", i)
			if i == bareIn {
				body += "bare\nline\r\n"
				bareAt = sent + int64(strings.Index(body, "\n"+"line"))
			}
			say(body + ".\r\n")
			s.Server(fmt.Sprintf("250 2.0.0 Ok: queued as Q%d\r\n", i))
		}
		say("QUIT\r\n")
		s.Server("221 2.0.0 Bye\r\n")
	})
	r := analyze(t, writeCapture(t, "relay.pcap", capture))
	var ids []string
	for _, f := range r.Findings.All() {
		ids = append(ids, f.ID)
		if f.ID == "bare-lf-in-data" && f.Offset != bareAt {
			t.Errorf("bare-lf-in-data at offset %d, want %d: %s", f.Offset, bareAt, f.Summary)
		}
	}
	if fmt.Sprint(ids) != "[bare-lf-in-data]" {
		t.Errorf("findings %v, want the bare LF alone", ids)
	}
	if c := connectionOf(t, r, 0); c.Transactions != messages || c.Delivered != messages {
		t.Errorf("transactions %d, delivered %d; want %d of %d", c.Transactions, c.Delivered, messages, messages)
	}
}

// TestAHangUpPastTheKeptRepliesIsTold: a relay's connection with more
// replies than the parser keeps (12,600 messages), whose last envelope
// the server refuses at RCPT before it resets the connection at once: the
// hang-up is told from the connection's real last reply, not from the
// last one kept.
func TestAHangUpPastTheKeptRepliesIsTold(t *testing.T) {
	var buf bytes.Buffer
	s := startGreeted(capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet))
	s.Client("EHLO relay.example.org\r\n")
	s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
	s.RelayMessages(12600)
	s.Client("MAIL FROM:<spam@example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n")
	s.Server("250 ok\r\n550 5.7.1 rate limit exceeded\r\n")
	s.Reset(false)
	r := analyze(t, writeCapture(t, "hangup.pcap", buf.Bytes()))
	const want = `the server refused "RCPT TO:<c@example.net>" with 550 "5.7.1 rate limit exceeded"`
	var told []string
	for _, f := range r.Findings.All() {
		if f.ID == "lost-mid-transaction" && strings.HasPrefix(f.Summary, want) && strings.Contains(f.Summary, "closed the connection at once") {
			return
		}
		told = append(told, f.ID+": "+f.Summary)
	}
	t.Errorf("findings %q; want a lost-mid-transaction starting %q, the server closing at once", told, want)
}

// TestALongConnectionIdleAtTheEndIsNoStall: a relay's connection of
// 17,000 messages, more commands than the parser keeps, left open in the
// client's connection cache while another client delivers a minute later.
// Idle, its last message answered, the silence to the end of the capture
// is the cache's, not a stall; when the server's last word answered only
// the first of the RSET and NOOP the client sent last, the server is stuck:
// the NOOP is unanswered and the stall is told. Whether the client owed a
// command is judged by the last command it sent, not by the last one kept.
func TestALongConnectionIdleAtTheEndIsNoStall(t *testing.T) {
	for _, noop := range []bool{false, true} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		s := startGreeted(w)
		s.Client("EHLO relay.example.org\r\n")
		s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
		s.RelayMessages(17000)
		if noop {
			s.Client("RSET\r\nNOOP\r\n")
			s.Send(false, []byte("250 2.0.0 Ok\r\n")) // RSET's reply, the server's last word
		}
		later := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.2:40001"), netip.MustParseAddrPort("198.51.100.7:25"),
			s.Now.Add(time.Minute), 7000, 9000)
		later.SMTP("c@example.org", "d@example.net", "Subject: y\r\n\r\nhi\r\n")
		r := analyze(t, writeCapture(t, "idle.pcap", buf.Bytes()))
		var told []string
		for _, f := range r.Findings.All() {
			told = append(told, fmt.Sprintf("%d %s: %s", f.Stream, f.ID, f.Summary))
		}
		switch {
		case !noop && len(told) != 0:
			t.Errorf("idle: findings %q, want none", told)
		case noop && !slices.Equal(told, []string{
			`0 unanswered-command: the server never answered "NOOP" (the connection was still open when the capture ended); yet its bytes were acknowledged in frame 136011, so they reached the server's TCP — or a device in the path that answers for it`,
			"0 stall: client silent 60.0 s after the server's data in frame 136012, until the capture ended 60.0 s after this connection's last packet (frame 136012)"}):
			t.Errorf("NOOP unanswered: findings %q, want it unanswered and the silence to the end of the capture on stream 0", told)
		}
	}
}
