package session

import (
	"bytes"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// FuzzCaptureToDialogue runs arbitrary capture bytes through the whole
// chain — reader, decoder, tracker, reassembler, SMTP parser — on two
// workers: no panic, no hang, every session's streams consistent.
func FuzzCaptureToDialogue(f *testing.F) {
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for _, fx := range capgen.Fixtures() {
		f.Add(capgen.BuildFixture(fx))
	}
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{PcapNG: true}, capgen.LinkLinuxSLL2)
	s := capgen.NewSession(w, capgen.LinkLinuxSLL2, netip.MustParseAddrPort("[2001:db8::1]:4000"), netip.MustParseAddrPort("[2001:db8::2]:25"), start, 7, 9)
	s.SMTP("a@x", "b@y", "hi\r\n")
	f.Add(buf.Bytes())
	// Real captures of the paths the fixtures do not take: TLS records
	// after STARTTLS, IP fragments.
	for _, name := range []string{"tls/starttls-failures.pcap", "fragments/frag-postfix.pcap"} {
		if b, err := os.ReadFile(testcaps.Path(name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := reassembly.OpenReader("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		_, err = Read(c, Options{Stream: -1, Workers: 2, Selection: Selection{All: true}}, func(s *Session) error {
			for _, dir := range []int{0, 1} {
				st := s.streams[dir]
				if st == nil {
					continue
				}
				for _, g := range st.Gaps {
					if g.End <= g.Start || g.End > st.Next {
						t.Fatalf("bad gap %+v (next %d)", g, st.Next)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
