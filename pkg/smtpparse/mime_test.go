package smtpparse

import (
	"strings"
	"testing"
)

// dataSession sends content (already dot-stuffed, without the terminator)
// with DATA and has it accepted.
func dataSession(content string) []event {
	return []event{
		srv("220 mx ESMTP\r\n"),
		cli("EHLO c\r\n"),
		srv("250-mx\r\n250 8BITMIME\r\n"),
		cli("MAIL FROM:<a@example.org>\r\n"),
		srv("250 ok\r\n"),
		cli("RCPT TO:<b@example.test>\r\n"),
		srv("250 ok\r\n"),
		cli("DATA\r\n"),
		srv("354 go\r\n"),
		cli(content + "\r\n.\r\n"),
		srv("250 queued\r\n"),
	}
}

func TestBinaryMIMEPartIsFoundAtAnyDepth(t *testing.T) {
	const binaryPart = "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding:\r\n binary\r\n\r\n\x00\x01\xff\r\x00 data\r\n"
	for _, tc := range []struct {
		name    string
		content string
		at      string // the part header BinaryPart points to; "" for none
	}{
		{"a binary attachment",
			"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"=_b1\"\r\n\r\npreamble\r\n" +
				"--=_b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
				"--=_b1\r\n" + binaryPart +
				"--=_b1--\r\nepilogue\r\n",
			"Content-Type: application/octet-stream"},
		{"in a nested multipart, after a dot-stuffed line",
			"Content-Type: multipart/mixed; boundary=outer\r\n\r\n" +
				"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n" +
				"--inner\r\nContent-Type: text/plain\r\n\r\n..a line that began with a dot\r\n" +
				"--inner\r\n" + binaryPart +
				"--inner--\r\n--outer--\r\n",
			"Content-Type: application/octet-stream"},
		{"in a nested multipart whose boundary extends the outer one",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
				"--b\r\nContent-Type: multipart/related; boundary=b2\r\n\r\n" +
				"--b2\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n" +
				"--b2--\r\n--b\r\n" + binaryPart + "--b--\r\n",
			"Content-Type: application/octet-stream"},
		{"only base64 parts",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n",
			""},
		{"binary headers after the close delimiter, or where no delimiter begins a line",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee x--b\r\n" +
				"Content-Transfer-Encoding: binary\r\n\r\n--b--\r\n--b\r\nContent-Transfer-Encoding: binary\r\n\r\n",
			""},
		{"no multipart at all",
			"Subject: x\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n\r\nx\r\n",
			""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := run(t, Options{}, dataSession(tc.content)...)
			body := d.Transactions[0].Body
			want := int64(-1)
			if tc.at != "" {
				want = int64(strings.Index(strings.ReplaceAll(tc.content, "\r\n..", "\r\n."), tc.at))
			}
			if body.BinaryPart != want {
				t.Errorf("BinaryPart = %d, want %d", body.BinaryPart, want)
			}
			if body.TransferEncoding != "" {
				t.Errorf("TransferEncoding = %q: the parts' headers are not the message's", body.TransferEncoding)
			}
		})
	}
}

// TestAHeaderThatEndsInALongWriteLeavesThePartsToBeRead: the message
// header's end in a write longer than what is left of the 64 KiB header
// window (a GRO-merged segment after a small first one) must not count
// the rest of the write as header.
func TestAHeaderThatEndsInALongWriteLeavesThePartsToBeRead(t *testing.T) {
	c := "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\r\n" +
		strings.Repeat("A", 70000) + "\r\n--b--\r\n"
	var s dataScanner
	body := newBody(0)
	s.reset(body, &budget{left: 1 << 30}, 0, false, 0)
	s.emit([]byte(c[:20]))
	s.emit([]byte(c[20:]))
	s.endContent()
	if want := int64(strings.Index(c, "Content-Transfer-Encoding")); body.BinaryPart != want {
		t.Errorf("BinaryPart = %d, want %d", body.BinaryPart, want)
	}
}
