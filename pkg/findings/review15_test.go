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

// A review of the last changes for lossy captures and proxies: each case
// a crafted session where they went wrong.

func TestReview15ARefusalAfterAnOlderGapIsNoTLS(t *testing.T) {
	// The tail of the EHLO reply was lost (an older gap); the client sends
	// its hello right behind STARTTLS, and the server refuses with 454.
	r := craftedReport(t, "r15-454", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx.example.test\r\n250 STAR")
		s.Skip(false, uint32(len("TTLS\r\n")))
		s.Client("STARTTLS\r\n\x16\x03\x01\x00\x10" + strings.Repeat("\xaa", 16))
		s.Server("454 4.7.0 TLS not available due to local problem\r\n")
		s.Server("500 5.5.2 Error: bad syntax\r\n")
		fin(true)
		fin(false)
	})
	if got := findingsOf(r, "tls-started", 0); len(got) != 0 {
		t.Errorf("tls-started though the server refused STARTTLS: %v", got)
	}
}

func TestReview15TwoHostsAtOnceAreNotOneRetry(t *testing.T) {
	// Two hosts of a bulk sender each send the same envelope at once, in
	// three rounds: several messages, not one retried.
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	t0 := time.Unix(1_700_000_000, 0)
	n := 0
	for round := range 3 {
		var ss []*capgen.Session
		for h, client := range []string{"192.0.2.10", "192.0.2.77"} {
			s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("%s:%d", client, 40000+n)),
				netip.MustParseAddrPort("198.51.100.25:25"), t0.Add(time.Duration(round)*10*time.Minute+time.Duration(h)*300*time.Millisecond), uint32(1000+n*7919), uint32(5000+n*104729))
			s.Step = 100 * time.Millisecond
			ss = append(ss, s)
			n++
		}
		steps := []func(s *capgen.Session){
			func(s *capgen.Session) { s.Handshake() },
			func(s *capgen.Session) { s.Server("220 mx ESMTP\r\n") },
			func(s *capgen.Session) { s.Client("EHLO c\r\n") },
			func(s *capgen.Session) { s.Server("250 mx\r\n") },
			func(s *capgen.Session) { s.Client("MAIL FROM:<news@example.org>\r\n") },
			func(s *capgen.Session) { s.Server("250 ok\r\n") },
			func(s *capgen.Session) { s.Client("RCPT TO:<b@example.test>\r\n") },
			func(s *capgen.Session) { s.Server("250 ok\r\n") },
			func(s *capgen.Session) { s.Client("DATA\r\n") },
			func(s *capgen.Session) { s.Server("354 go\r\n") },
			func(s *capgen.Session) { s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n") },
			func(s *capgen.Session) { s.Server("451 4.7.1 try later\r\n") },
			func(s *capgen.Session) { s.Client("QUIT\r\n") },
			func(s *capgen.Session) { s.Server("221 bye\r\n") },
			func(s *capgen.Session) { s.Close() },
		}
		for _, st := range steps { // interleaved: one host's step, then the other's
			for _, s := range ss {
				st(s)
			}
		}
	}
	if loops := retryLoops(analyzeBytes(t, "r15-bulk.pcap", buf.Bytes())); len(loops) != 0 {
		t.Errorf("retry loops %v", loops)
	}
}
