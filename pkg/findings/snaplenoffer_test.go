package findings

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// TestASnaplenCutEHLOReplyOffersNothingItLost: with -s 96 the server's
// EHLO reply keeps its first 42 bytes, and CHUNKING, BINARYMIME and
// 8BITMIME, offered after them, are lost. A client that uses them did
// what it was offered as far as anyone can tell: no "not offered" error.
// The same session captured whole is told as it should be when the
// server offers none of them, which proves the detectors still look.
func TestASnaplenCutEHLOReplyOffersNothingItLost(t *testing.T) {
	capture := func(snaplen uint32, ehloReply string, bdat bool) []byte {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{Snaplen: snaplen}, capgen.LinkEthernet)
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:40000"),
			netip.MustParseAddrPort("198.51.100.25:25"), time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC), 1000, 5000)
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO client.example.org\r\n")
		s.Server(ehloReply)
		if bdat {
			s.Client("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n")
		} else {
			s.Client("MAIL FROM:<a@example.org>\r\n")
		}
		s.Server("250 OK\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 Accepted\r\n")
		if bdat {
			s.Client("BDAT 12 LAST\r\n")
			s.Client("Subject: \xe9\r\n")
		} else {
			s.Client("DATA\r\n")
			s.Server("354 go ahead\r\n")
			s.Client("Subject: \xe9\r\n\r\n\xe9t\xe9\r\n.\r\n")
		}
		s.Server("250 OK queued\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
		return buf.Bytes()
	}
	offered := "250-mx.example.test Hello client.example.org\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250 8BITMIME\r\n"
	notOffered := "250-mx.example.test Hello client.example.org\r\n250-PIPELINING\r\n250 SIZE 10485760\r\n"
	ids := func(r *Report) map[string]bool {
		m := map[string]bool{}
		for _, f := range r.Findings.All() {
			m[f.ID] = true
		}
		return m
	}
	for _, bdat := range []bool{true, false} {
		want := []string{"eightbit-not-offered"}
		if bdat {
			want = []string{"bdat-not-offered", "binarymime-not-offered"}
		}
		whole := ids(analyzeBytes(t, "whole.pcap", capture(0, notOffered, bdat)))
		for _, id := range want {
			if !whole[id] {
				t.Errorf("captured whole, to a server that offers none: no %s in %v", id, whole)
			}
		}
		for _, reply := range []string{offered, notOffered} {
			cut := ids(analyzeBytes(t, "cut.pcap", capture(96, reply, bdat)))
			if !cut["snaplen-truncated"] {
				t.Errorf("cut by the snaplen: no snaplen-truncated in %v", cut)
			}
			for _, id := range want {
				if cut[id] {
					t.Errorf("EHLO reply cut by the snaplen, yet %s (findings %v)", id, cut)
				}
			}
		}
	}
}
