package findings

import (
	"slices"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// TestExchangeAnonymousTLSStartsTLS: Microsoft Exchange servers of one
// organisation start TLS with X-ANONYMOUSTLS, offered in their EHLO reply,
// where others say STARTTLS (crafted with internal/capgen: Exchange does
// not run here). After its 220 the bytes are TLS records, not commands to
// call malformed or unanswered; a refused X-ANONYMOUSTLS leaves the
// session in the clear.
func TestExchangeAnonymousTLSStartsTLS(t *testing.T) {
	hello := append([]byte{0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03}, make([]byte, 42)...)
	serverHello := []byte{0x16, 0x03, 0x03, 0x00, 0x10, 2, 0, 0, 12, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0}
	ehlo := "250-ex1.corp.example Hello [10.0.0.2]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n250-STARTTLS\r\n250-X-ANONYMOUSTLS\r\n" +
		"250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n250-BINARYMIME\r\n250 CHUNKING\r\n"
	r := craftedReport(t, "x-anonymoustls", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		s.Server("220 ex1.corp.example Microsoft ESMTP MAIL Service ready\r\n") // 4, 5
		s.Client("EHLO ex2.corp.example\r\n")                                   // 6, 7
		s.Server(ehlo)                                                          // 8, 9
		s.Client("X-ANONYMOUSTLS\r\n")                                          // 10, 11
		s.Server("220 2.0.0 SMTP server ready\r\n")                             // 12, 13
		s.Client(string(hello))                                                 // 14, 15
		s.Server(string(serverHello))                                           // 16, 17
		s.Client(string([]byte{0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5}))
		fin(true)
		fin(false)
	})
	var ids []string
	for _, f := range r.Findings.All() {
		ids = append(ids, f.ID)
		if f.Severity > Info {
			t.Errorf("%s %s frames %v: %s", f.Severity, f.ID, f.Frames, f.Summary)
		}
	}
	started := findingsOf(r, "tls-started", 0)
	want := "X-ANONYMOUSTLS succeeded (220 2.0.0 SMTP server ready); the rest of the connection (63 client and 21 server bytes) is encrypted and not analysed"
	if len(started) != 1 || started[0].Summary != want || !slices.Equal(started[0].Frames, []int{10, 12}) {
		t.Errorf("findings %v; tls-started: %+v\nwant frames [10 12]: %s", ids, started, want)
	}

	r = craftedReport(t, "x-anonymoustls-refused", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		s.Server("220 ex1.corp.example Microsoft ESMTP MAIL Service ready\r\n")
		s.Client("EHLO ex2.corp.example\r\n")
		s.Server(ehlo)
		s.Client("X-ANONYMOUSTLS\r\n")
		s.Server("454 4.7.0 Temporary authentication failure\r\n") // 12, 13
		s.Client("MAIL FROM:<a@corp.example>\r\n")
		s.Server("250 2.1.0 Sender OK\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 2.0.0 Service closing transmission channel\r\n")
		fin(true)
		fin(false)
	})
	for _, f := range r.Findings.All() {
		if f.ID != "command-deferred" && f.Severity > Info {
			t.Errorf("refused: %s %s frames %v: %s", f.Severity, f.ID, f.Frames, f.Summary)
		}
	}
	if d := findingsOf(r, "command-deferred", 0); len(d) != 1 || !slices.Equal(d[0].Frames, []int{10, 12}) {
		t.Errorf("the refused X-ANONYMOUSTLS: %+v", d)
	}
}
