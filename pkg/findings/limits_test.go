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
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.7:25"),
		time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC), 1000, 5000)
	s.Step = 100 * time.Microsecond
	s.Handshake()
	s.Server("220 mx.example.test ESMTP\r\n")
	for range n {
		s.Client("NOOP\r\n")
		s.Server("250 ok\r\n")
	}
	s.Client("QUIT\r\n")
	s.Server("221 bye\r\n")
	s.Close()
	return buf.Bytes()
}
