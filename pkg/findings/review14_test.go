package findings

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// A third review, of the changes for lossy captures: each case a crafted
// session where they went wrong.

const r14ClientISN, r14ServerISN = 100000, 500000

// r14Report builds one session with the helper's ISNs and analyses it.
func r14Report(t *testing.T, script func(s *capgen.Session)) *Report {
	t.Helper()
	return craftedReportISN(t, "r14", 25, r14ClientISN, r14ServerISN, func(s *capgen.Session, _ func(bool)) { script(s) })
}

func r14Delivery(s *capgen.Session) {
	s.Server("220 mx.example.test ESMTP\r\n")
	s.Client("EHLO client.example.org\r\n")
	s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250 8BITMIME\r\n")
	s.Client("MAIL FROM:<a@example.org>\r\n")
	s.Server("250 OK\r\n")
	s.Client("RCPT TO:<b@example.test>\r\n")
	s.Server("250 Accepted\r\n")
	s.Client("DATA\r\n")
	s.Server("354 go\r\n")
	s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n")
	s.Server("250 OK id=1abc\r\n")
	s.Client("QUIT\r\n")
	s.Server("221 bye\r\n")
	s.Close()
}

func TestReview14AStrayACKBeforeTheSynAckTakesNothingAway(t *testing.T) {
	for name, ack := range map[string]uint32{"an older connection's ACK": r14ServerISN + 0x40000000, "a broken stack's ACK of 0": 0} {
		r := r14Report(t, func(s *capgen.Session) {
			s.Emit(true, r14ClientISN, capgen.SYN, nil)
			s.Skip(false, ack-(r14ServerISN+1)) // the server's next sequence number: ack
			s.Emit(true, r14ClientISN-5000, capgen.ACK, nil)
			s.Skip(false, (r14ServerISN+1)-ack)
			s.Emit(false, r14ServerISN, capgen.SYN|capgen.ACK, nil)
			s.Emit(true, r14ClientISN+1, capgen.ACK, nil)
			r14Delivery(s)
		})
		if r.Findings.Len() != 0 || r.Connections.Len() != 1 || r.Connections.All()[0].Delivered != 1 {
			t.Errorf("%s: %v", name, r.Findings)
		}
	}
}

func TestReview14AOneSidedCaptureIsToldAsSuch(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:40000"),
		netip.MustParseAddrPort("198.51.100.25:25"), time.Unix(1_700_000_000, 0), r14ClientISN, r14ServerISN)
	s.Handshake()
	r14Delivery(s)
	// Keep the client's packets only (asymmetric routing).
	c, err := capgenFilter(buf.Bytes(), func(client bool) bool { return client })
	if err != nil {
		t.Fatal(err)
	}
	r := analyzeBytes(t, "client-only.pcap", c)
	var ids []string
	for _, f := range r.Findings.All() {
		ids = append(ids, f.ID)
	}
	if !slices.Equal(ids, []string{"one-sided-capture"}) {
		t.Errorf("findings %v, want one-sided-capture alone", ids)
	}
}

func TestReview14AHelloSentWithTheRefusedSTARTTLSIsFound(t *testing.T) {
	hello := "\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03" + strings.Repeat("\xaa", 20) + "\n" + strings.Repeat("\x00\x2f", 10) + "\r\n" + "\x00\x0a\x00\x05"
	r := r14Report(t, func(s *capgen.Session) {
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
		s.Client("STARTTLS\r\n" + hello)
		s.Server("454 4.7.0 TLS not available\r\n500 5.5.2 Error: bad syntax\r\n500 5.5.2 Error: bad syntax\r\n")
		s.Pause(300 * time.Second)
		s.Server("421 4.4.2 timeout\r\n")
		s.Close()
	})
	for _, f := range r.Findings.All() {
		if f.ID == "malformed-command" || f.ID == "pipelining-bad-sequence" || f.ID == "unanswered-command" {
			t.Errorf("%s: %s", f.ID, f.Summary)
		}
	}
	if got := findingsOf(r, "tls-handshake-failed", 0); len(got) != 1 {
		t.Errorf("tls-handshake-failed: %v", got)
	}
}

func TestReview14AMidStreamBDATReplyIsNoEHLOReply(t *testing.T) {
	r := r14Report(t, func(s *capgen.Session) {
		s.Server("250- 312 byte chunk, total 312\r\n250 OK id=1xZAtR-0000fV-1o\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 OK\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 Accepted\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go\r\n")
		s.Client("Subject: x\r\n\r\nb\xc3\xa9\r\n.\r\n")
		s.Server("250 OK id=2\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
	})
	if r.Findings.Len() != 0 {
		t.Errorf("findings %v", r.Findings)
	}
}

func TestReview14ALostGreetingPutsNoLaterPairingInDoubt(t *testing.T) {
	r := r14Report(t, func(s *capgen.Session) {
		s.Emit(true, r14ClientISN, capgen.SYN, nil)
		s.Emit(true, r14ClientISN+1, capgen.ACK, nil)
		s.Skip(false, 27)
		s.Client("EHLO client.example.org\r\n")
		s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 OK\r\n")
		s.Client("RCPT TO:<nobody@example.test>\r\n")
		s.Server("550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown\r\n")
		s.Client("GET / HTTP/1.0\r\n")
		s.Server("221 2.7.0 Error: I can break rules, too. Goodbye.\r\n")
		s.Close()
	})
	var hangUp bool
	for _, f := range r.Findings.All() {
		hangUp = hangUp || strings.Contains(f.Summary, `ended the session on "GET / HTTP/1.0"`)
		if f.ID == "command-rejected" && f.CaptureLoss != "" {
			t.Errorf("a refusal put in doubt by the lost greeting: %s", f.Summary)
		}
	}
	if !hangUp {
		t.Errorf("the hang-up on GET is not told: %v", r.Findings)
	}
}

// capgenFilter keeps the records of a capgen capture (Ethernet, IPv4,
// TCP without options... as capgen writes them) whose sender keep says
// to keep: the client's when client is true. The client is the side
// whose source port is 40000.
func capgenFilter(capture []byte, keep func(client bool) bool) ([]byte, error) {
	out := append([]byte(nil), capture[:24]...)
	for off := 24; off+16 <= len(capture); {
		n := int(binary.LittleEndian.Uint32(capture[off+8:]))
		rec := capture[off : off+16+n]
		data := rec[16:]
		ihl := int(data[14]&0x0f) * 4
		client := binary.BigEndian.Uint16(data[14+ihl:]) == 40000
		if keep(client) {
			out = append(out, rec...)
		}
		off += 16 + n
	}
	return out, nil
}
