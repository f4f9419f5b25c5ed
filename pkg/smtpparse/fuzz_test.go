package smtpparse

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/textdiff"
)

// decodeEvents turns fuzz bytes into a script: each event starts with a
// header byte whose low bit is the direction; 0bxxxx111d is a gap of
// 1+xxxx bytes, anything else is followed by 1+(h>>1) data bytes.
func decodeEvents(data []byte) []event {
	var events []event
	for len(data) > 0 {
		h := data[0]
		data = data[1:]
		dir := Direction(h & 1)
		if h&0x0e == 0x0e {
			events = append(events, event{dir: dir, gap: int64(h>>4) + 1})
			continue
		}
		n := min(int(h>>1)+1, len(data))
		events = append(events, event{dir: dir, data: string(data[:n])})
		data = data[n:]
	}
	return events
}

// encodeEvents is decodeEvents' inverse, for seeds.
func encodeEvents(events []event) []byte {
	var out []byte
	for _, ev := range events {
		if ev.gap > 0 {
			out = append(out, byte(min(ev.gap-1, 15))<<4|0x0e|byte(ev.dir))
			continue
		}
		for s := ev.data; len(s) > 0; {
			n := min(len(s), 128)
			for h := byte(n-1)<<1 | byte(ev.dir); h&0x0e == 0x0e; h = byte(n-1)<<1 | byte(ev.dir) {
				n--
			}
			out = append(out, byte(n-1)<<1|byte(ev.dir))
			out = append(out, s[:n]...)
			s = s[n:]
		}
	}
	return out
}

func FuzzParser(f *testing.F) {
	seeds := [][]event{
		{srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
			cli("MAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<c@d>\r\nDATA\r\n"), srv("250 ok\r\n250 ok\r\n354 go\r\n"),
			cli("Subject: x\r\n\r\n..dot\r\nhi\n.\nMAIL FROM:<x>\r\n.\r\nQUIT\r\n"), srv("250 ok\r\n221 bye\r\n")},
		{srv("220 mx\r\n"), cli("BDAT 5\r\nhello"), cli("BDAT 0 LAST\r\n"), srv("250 a\r\n250 b\r\n")},
		{srv("220 mx\r\n"), cli("AUTH LOGIN\r\n"), srv("334 VXNlcm5hbWU6\r\n"), cli("YQ==\r\n"), srv("235 ok\r\n")},
		{cli("XXXX TO:<b@x>\r\n"), srvGap(3), srv("0 ok\r\n500 x\r\n"), cliGap(4), cli("x\r\n.\r\nQUIT\r\n")},
		{srv("220 mx\r\n"), cli("STARTTLS\r\n"), srv("220 go\r\n"), cli("\x16\x03\x01")},
		// A multipart message with a nested multipart and a binary part;
		// a refused STARTTLS and a hello sent anyway; a line answered
		// before it ended.
		{srv("220 mx\r\n"), cli("DATA\r\n"), srv("354 go\r\n"),
			cli("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\n" +
				"Content-Transfer-Encoding: binary\r\n\r\n\x00x\r\n--b2--\r\n--b--\r\n.\r\n"), srv("250 ok\r\n")},
		{srv("220 mx\r\n"), cli("STARTTLS\r\n"), srv("454 no\r\n"), cli("\x16\x03\x01\x00\x05\x01\x00\x00\x01\n"), srv("500 x\r\n")},
		{srv("220 mx\r\n"), cli("MAIL FROM:<a@b"), srv("553 unbalanced\r\n"), srv("421 timeout\r\n")},
		// Whole TLS records after STARTTLS: a ClientHello with supported_versions, a
		// ServerHello, ChangeCipherSpec, application data and alerts in the clear.
		{srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250-mx\r\n250 STARTTLS\r\n"), cli("STARTTLS\r\n"), srv("220 go\r\n"),
			cli(tlsRecord(22, 0x0301, handshakeMessage(1, "\x03\x03"+strings.Repeat("r", 32)+"\x00\x00\x02\x13\x01\x01\x00\x00\x0b\x00\x2b\x00\x07\x06\x0a\x0a\x03\x04\x03\x03"))),
			srv(tlsRecord(22, 0x0303, handshakeMessage(2, "\x03\x03"+strings.Repeat("r", 32)+"\x00\x13\x02\x00\x00\x06\x00\x2b\x00\x02\x03\x04")) +
				tlsRecord(21, 0x0303, "\x01\x70") + tlsRecord(20, 0x0303, "\x01") + tlsRecord(23, 0x0303, "12345")),
			cli(tlsRecord(21, 0x0303, "\x02\x30")), srvGap(2), srv(tlsRecord(21, 0x0303, "\x02\x28"))},
		{cli("DATA\r\n"), cli("body\r\n.\r\n")},
		{srv("220 lmtp\r\n"), cli("LHLO c\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nRCPT TO:<c>\r\nDATA\r\n"),
			srv("250 PIPELINING\r\n250 a\r\n250 b\r\n250 c\r\n354 go\r\n"), cli("x\r\n.\r\nQUIT\r\n"), srv("250 b\r\n452 c\r\n221 bye\r\n")},
		{srv("220 mx\r\n"), cli("HELO c\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n"), srv("250 a\r\n250 b\r\n250 c\r\n354 go\r\n"),
			cli("first\n"), srv("421 4.5.0 Bare linefeed\r\n"), cli("rest\r\n.\r\n")},
	}
	for _, s := range seeds {
		f.Add(byte(0), encodeEvents(s))
		f.Add(byte(1), encodeEvents(s))
	}
	f.Fuzz(func(t *testing.T, flags byte, data []byte) {
		events := decodeEvents(data)
		mid := flags&1 != 0

		// Tight limits: nothing kept may exceed them.
		tight := Options{MaxLineKeep: 16, MaxBodyKeep: 32, MaxHeld: 64, MaxElements: 20, MaxKeep: 1024, MidStream: mid}
		if flags&2 != 0 {
			tight.MaxHeld = -1
		}
		d := feed(tight, events, canonicalSplit)
		checkBounds(t, tight, d, events)

		// Roomy limits: pieces must not matter.
		roomy := Options{MaxHeld: 1 << 30, MidStream: mid}
		want := dump(feed(roomy, events, canonicalSplit))
		if got := dump(feed(roomy, events, everyN(1))); got != want {
			t.Fatalf("byte-wise Writes give a different dialogue:\n%s", textdiff.FirstLine(want, got))
		}
	})
}

func checkBounds(t *testing.T, o Options, d *Dialogue, events []event) {
	t.Helper()
	var size [2]int64
	for _, ev := range events {
		size[ev.dir] += ev.gap + int64(len(ev.data))
	}
	okSpan := func(what string, s Span) {
		if s.Start < 0 || s.End < s.Start || s.End > size[s.Dir] {
			t.Fatalf("%s span %v outside stream of %d bytes", what, s, size[s.Dir])
		}
	}
	for _, n := range []int{len(d.Commands), len(d.Replies), len(d.Transactions), len(d.Gaps), len(d.Unparsed)} {
		if n > o.MaxElements {
			t.Fatalf("%d elements kept, MaxElements %d", n, o.MaxElements)
		}
	}
	for _, c := range d.Commands {
		if len(c.Line) > o.MaxLineKeep || c.Length != c.Span.Len() || c.Span.Dir != ClientToServer {
			t.Fatalf("command line %d bytes, length %d, span %v", len(c.Line), c.Length, c.Span)
		}
		okSpan("command", c.Span)
		if c.EndOrder < c.Order {
			t.Fatalf("command orders %d..%d", c.Order, c.EndOrder)
		}
	}
	for _, r := range d.Replies {
		okSpan("reply", r.Span)
		if len(r.Lines) > maxReplyLines || r.Span.Dir != ServerToClient {
			t.Fatalf("reply with %d lines", len(r.Lines))
		}
		for _, l := range r.Lines {
			if len(l) > o.MaxLineKeep {
				t.Fatalf("reply line of %d bytes", len(l))
			}
		}
		if r.Code == 0 && r.Command != nil && !r.Gap {
			t.Fatalf("malformed reply matched to %q", r.Command.Verb)
		}
	}
	for _, tx := range d.Transactions {
		b := tx.Body
		if b == nil {
			continue
		}
		okSpan("body", b.Span)
		if len(b.Kept) > o.MaxBodyKeep || int64(len(b.Kept)) > b.Size || len(b.Lenient) > maxLenient || int64(len(b.Lenient)) > b.LenientTotal {
			t.Fatalf("body kept %d size %d lenient %d/%d", len(b.Kept), b.Size, len(b.Lenient), b.LenientTotal)
		}
		if len(b.Tail) > tailLen || int64(len(b.Tail)) > b.Size ||
			(int64(len(b.Kept)) == b.Size && !bytes.HasSuffix(b.Kept, b.Tail)) {
			t.Fatalf("body tail %q, kept %q, size %d", b.Tail, b.Kept, b.Size)
		}
		if b.Terminator != nil {
			okSpan("terminator", *b.Terminator)
		}
		for _, e := range b.Lenient {
			okSpan("lenient", e.At)
			if len(e.After) > afterLen || strings.Count(e.Seq, ".") != 1 || int64(len(e.Seq)) != e.At.Len() {
				t.Fatalf("lenient %q after %d bytes", e.Seq, len(e.After))
			}
		}
		for _, c := range []Count{b.BareLF, b.BareCR, b.NUL, b.EightBit, b.LongLines} {
			if (c.N == 0) != (c.First < 0) {
				t.Fatalf("count %+v", c)
			}
		}
	}
	for _, s := range append(append([]Span(nil), d.Gaps...), d.Unparsed...) {
		okSpan("gap/unparsed", s)
	}
}
