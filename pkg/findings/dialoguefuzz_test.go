package findings

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// FuzzDetectorsNeverPanic runs every detector and renderer over a dialogue
// built from a script: its pieces, split at '|', go alternately from the
// server and the client (the server first), each in segments of the size
// the shape gives, with pauses, lost bytes, a missing handshake and the
// ways a connection ends chosen by the shape's bits. Byte-level fuzzing of
// whole captures seldom reaches the parser's and detectors' odd corners
// (a transaction without its MAIL, replies without commands, a BDAT
// without DATA); this reaches them in a few seconds.
func FuzzDetectorsNeverPanic(f *testing.F) {
	for _, script := range []string{
		"220 mx ESMTP\r\n|EHLO a\r\n|250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n|MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n|250 ok\r\n250 ok\r\n354 go\r\n|Subject: x\r\n\r\nbody\n.\r\n|250 ok\r\n|QUIT\r\n|221 bye\r\n",
		"220 mx\r\n|EHLO a\r\n|250 CHUNKING\r\n|MAIL$FROM:<a@b>\r\n|250 ok\r\n|RCPT TO:<c@d>\r\n|550 no\r\n|BDAT 5 LAST\r\nhello|250 ok\r\n|XXXX\r\n|500 what\r\n",
		"|STARTTLS\r\n|220 go\r\n|\x16\x03\x01\x00\x05hello|\x15\x03\x03\x00\x02\x02\x28",
		"421 busy\r\n|HELO a\r\n|250 ok\r\n250 again\r\n|DATA\r\n|503 no\r\n|.\r\n|500 ?\r\n",
	} {
		f.Add([]byte(script), uint16(0))
		f.Add([]byte(script), uint16(0xffff))
	}
	f.Fuzz(func(t *testing.T, script []byte, shape uint16) {
		if len(script) > 1<<14 {
			return
		}
		bit := func(n uint) bool { return shape&(1<<n) != 0 }
		segment := 1 + int(shape>>8)%64
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("198.51.100.25:25"),
			time.Unix(1_700_000_000, 0), 11, 22)
		if !bit(0) {
			s.Handshake()
		}
		for i, piece := range bytes.Split(script, []byte("|")) {
			client := i%2 == 1
			if bit(1) && i == 2 {
				s.Skip(client, 3) // bytes the capture lost
			}
			if len(piece) > 0 {
				s.Send(client, piece, segment)
			}
			if bit(2) {
				s.Pause(time.Duration(i) * 7 * time.Second)
			}
		}
		switch {
		case bit(3):
			s.Reset(bit(4))
		case bit(5):
			s.Close()
		}
		if buf.Len() <= 24 {
			return // no packet: the pcap header alone
		}
		r := analyzeBytes(t, "fuzz.pcap", buf.Bytes())
		for _, write := range []func(io.Writer, *Report) error{WriteJSON, WriteMarkdown,
			func(w io.Writer, r *Report) error { return WriteTable(w, r, false) }} {
			if err := write(io.Discard, r); err != nil {
				t.Fatal(err)
			}
		}
	})
}
