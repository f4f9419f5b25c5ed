package smtpparse

import (
	"strings"
	"testing"
	"time"
)

type write struct {
	dir   Direction
	off   int64
	data  []byte
	order int64
}

// BenchmarkParser feeds a session with a 1 MiB body in 1448-byte Writes
// (one Ethernet MSS), the shape of a real capture.
func BenchmarkParser(b *testing.B) {
	var body strings.Builder
	body.WriteString("From: a@example.com\r\nTo: b@example.org\r\nSubject: bench\r\nMessage-ID: <bench@example.com>\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for body.Len() < 1<<20 {
		body.WriteString(base64Line)
	}
	benchmarkMessage(b, body.String())
}

// BenchmarkParserMultipart is BenchmarkParser with the message as a
// multipart/mixed one, a text part and a 1 MiB base64 attachment: the
// parts' header sections are read (mimeParts).
func BenchmarkParserMultipart(b *testing.B) {
	var body strings.Builder
	body.WriteString("From: a@example.com\r\nTo: b@example.org\r\nSubject: bench\r\nMessage-ID: <bench@example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"----=_Part_1234_5678.1700000000000\"\r\n\r\n" +
		"------=_Part_1234_5678.1700000000000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n" +
		"------=_Part_1234_5678.1700000000000\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for body.Len() < 1<<20 {
		body.WriteString(base64Line)
	}
	body.WriteString("------=_Part_1234_5678.1700000000000--\r\n")
	benchmarkMessage(b, body.String())
}

// base64Line is one line of a base64 body, as mail clients wrap them.
var base64Line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0"[:76] + "\r\n"

// benchmarkMessage feeds a whole session delivering a message with body
// (without its terminator), in 1448-byte writes.
func benchmarkMessage(b *testing.B, body string) {
	events := []event{
		srv("220 mx.example.org ESMTP\r\n"),
		cli("EHLO client.example.com\r\n"),
		srv("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250 8BITMIME\r\n"),
		cli("MAIL FROM:<a@example.com> SIZE=1048576\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"),
		srv("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
		cli(body + ".\r\n"),
		srv("250 2.0.0 Ok: queued as 12345\r\n"),
		cli("QUIT\r\n"),
		srv("221 2.0.0 Bye\r\n"),
	}
	var writes []write
	var off [2]int64
	var total int64
	for k, ev := range events {
		for j, piece := range everyN(1448)(ev) {
			writes = append(writes, write{ev.dir, off[ev.dir], piece, int64(k)*orderStride + int64(j)})
			off[ev.dir] += int64(len(piece))
			total += int64(len(piece))
		}
	}
	now := time.Now()
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		p := NewParser(Options{})
		for _, w := range writes {
			p.Write(w.dir, w.off, w.data, w.order, now)
		}
		d := p.Close()
		if !d.Transactions[0].Body.Complete {
			b.Fatal("body not complete")
		}
	}
}

// BenchmarkParserMidStream feeds a 1 MiB message body to a parser that
// started mid-stream: every line goes through resynchronisation, as after
// a capture gap, until a command line shows up.
func BenchmarkParserMidStream(b *testing.B) {
	data := []byte(strings.Repeat(base64Line, (1<<20)/len(base64Line)))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p := NewParser(Options{MidStream: true})
		for off := 0; off < len(data); off += 1448 {
			end := min(off+1448, len(data))
			p.Write(ClientToServer, int64(off), data[off:end], int64(off), time.Time{})
		}
		p.Close()
	}
}
