package findings

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// TestReview9DiagnosisQuotesEveryCommandAsSent: the head of a diagnosis
// quotes the client's command as sent whatever its case, not only when it
// is one of a list of verbs in lower case: "mAIL" (mixed case) and "burl"
// (RFC 4468, not in the list) are not to be capitalised either.
func TestReview9DiagnosisQuotesEveryCommandAsSent(t *testing.T) {
	for _, tc := range []struct{ line, reply, want string }{
		{"mail FROM:<a@example.org>", "550 5.7.1 sender refused", "mail FROM:<a@example.org> was rejected"}, // the case fixed
		{"mAIL FROM:<a@example.org>", "550 5.7.1 sender refused", "mAIL FROM:<a@example.org> was rejected"},
		{"burl imap://x 1", "502 5.5.1 not implemented", "burl imap://x 1 was rejected"},
	} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.25:25"), time.Unix(1_700_000_000, 0), 100, 200)
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO client.example.org\r\n")
		s.Server("250 mx.example.test\r\n")
		s.Client(tc.line + "\r\n")
		s.Server(tc.reply + "\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		rep := analyzeBytes(t, "case.pcap", buf.Bytes())
		if rep.Connections.Len() != 1 {
			t.Fatalf("%q: %d connections", tc.line, rep.Connections.Len())
		}
		if d := rep.Connections.All()[0].Diagnosis; !strings.HasPrefix(d, tc.want) {
			t.Errorf("%q: diagnosis %q, want it to begin %q", tc.line, d, tc.want)
		}
	}
}
