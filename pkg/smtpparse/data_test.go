package smtpparse

import (
	"bytes"
	"testing"
)

// TestPlainTextAgreesWithByteByByte checks the word-at-a-time test against
// the plain definition, with every special byte at every position of runs
// up to 40 bytes, over a background of bytes next to the special ones.
func TestPlainTextAgreesWithByteByByte(t *testing.T) {
	naive := func(b []byte) bool {
		for _, c := range b {
			if c == 0 || c == '\r' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	fills := []byte{'a', 0x01, 0x0c, 0x0e, 0x7f, ' ', '\n'}
	specials := []byte{0, '\r', 0x80, 0xff, 0x8d, 0x01, 0x0e, 0x7f}
	for n := 0; n <= 40; n++ {
		for _, fill := range fills {
			b := bytes.Repeat([]byte{fill}, n)
			if got := plainText(b); got != naive(b) {
				t.Fatalf("%q: plainText %v", b, got)
			}
			for at := 0; at < n; at++ {
				for _, sp := range specials {
					c := bytes.Clone(b)
					c[at] = sp
					if got := plainText(c); got != naive(c) {
						t.Fatalf("%q: plainText %v", c, got)
					}
				}
			}
		}
	}
}

// TestPrintableASCIIAgreesWithByteByByte checks the word-at-a-time test
// against the plain definition, every byte value at every position of runs
// up to 20 bytes.
func TestPrintableASCIIAgreesWithByteByByte(t *testing.T) {
	naive := func(b []byte) bool {
		for _, c := range b {
			if c < 0x20 || c >= 0x7f {
				return false
			}
		}
		return true
	}
	for n := 0; n <= 20; n++ {
		for _, fill := range []byte{' ', 'a', '~', 0x7e} {
			b := bytes.Repeat([]byte{fill}, n)
			for at := 0; at < n; at++ {
				for v := 0; v < 256; v++ {
					c := bytes.Clone(b)
					c[at] = byte(v)
					if got := printableASCII(c); got != naive(c) {
						t.Fatalf("%q: printableASCII %v", c, got)
					}
				}
			}
			if printableASCII(b) != naive(b) {
				t.Fatalf("%q", b)
			}
		}
	}
}

// TestAnLFRightAfterAGapIsNoBareLF: a snaplen that cut a segment before
// its CR leaves a gap followed by the LF; the CR may be in the gap.
func TestAnLFRightAfterAGapIsNoBareLF(t *testing.T) {
	d := run(t, Options{},
		srv("220 mx\r\n"), cli("EHLO c\r\n"), srv("250 mx\r\n"),
		cli("MAIL FROM:<a@b>\r\n"), srv("250 ok\r\n"), cli("RCPT TO:<c@d>\r\n"), srv("250 ok\r\n"),
		cli("DATA\r\n"), srv("354 go\r\n"),
		cli("Subject: x\r\n\r\nline one"), cliGap(5), cli("\nline two\r\n.\r\n"), srv("250 ok\r\n"))
	if b := d.Transactions[0].Body; b.BareLF.N != 0 {
		t.Errorf("bare LF %+v", b.BareLF)
	}
}
