package capgen

import (
	"bytes"
	"net/netip"
	"strings"
	"time"
)

// Fixture is a crafted capture of testdata/pcaps/crafted: a situation real
// software will not produce on demand.
type Fixture struct {
	Name  string // file name
	About string // what it shows, for the README
	Build func(w *Writer)
}

var (
	fixtureStart  = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	fixtureClient = netip.MustParseAddrPort("192.0.2.10:50555")
	fixtureServer = netip.MustParseAddrPort("198.51.100.25:25")
)

func fixtureSession(w *Writer) *Session {
	return NewSession(w, LinkEthernet, fixtureClient, fixtureServer, fixtureStart, 1_000_000, 5_000_000)
}

// greet writes the handshake, greeting and an EHLO exchange offering the
// usual extensions.
func greet(s *Session) {
	s.Handshake()
	s.Server("220 mx.example.test ESMTP\r\n")
	s.Client("EHLO client.example.org\r\n")
	s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250 CHUNKING\r\n")
}

// mailRcpt sends the fixtures' sender and recipient; the server answers
// the recipient with rcptReply.
func mailRcpt(s *Session, rcptReply string) {
	s.Client("MAIL FROM:<a@example.org>\r\n")
	s.Server("250 OK\r\n")
	s.Client("RCPT TO:<b@example.test>\r\n")
	s.Server(rcptReply)
}

func envelope(s *Session) {
	mailRcpt(s, "250 Accepted\r\n")
	s.Client("DATA\r\n")
	s.Server("354 Go ahead\r\n")
}

func finish(s *Session) {
	s.Server("250 OK queued\r\n")
	quit(s)
}

// quit ends a fixture session politely.
func quit(s *Session) {
	s.Client("QUIT\r\n")
	s.Server("221 bye\r\n")
	s.Close()
}

const fixtureBody = "From: a@example.org\r\nTo: b@example.test\r\nSubject: crafted\r\nMessage-ID: <crafted@example.org>\r\n\r\nline one\r\nline two\r\n"

// blackHoleBody is a message of 2.9 KB, ended: two full-size segments.
func blackHoleBody() []byte {
	return []byte(fixtureBody + strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrst\r\n", 41) + ".\r\n")
}

// startTLS writes the handshake, a greeting and an EHLO reply offering
// STARTTLS, then STARTTLS and its 220.
func startTLS(s *Session) {
	s.Handshake()
	s.Server("220 mx.example.test ESMTP\r\n")
	s.Client("EHLO client.example.org\r\n")
	s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
	s.Client("STARTTLS\r\n")
	s.Server("220 2.0.0 Ready to start TLS\r\n")
}

// tlsRecord frames a TLS record of content type typ.
func tlsRecord(typ byte, body []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

// tlsHandshakeMessage frames a TLS handshake message.
func tlsHandshakeMessage(typ byte, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// tlsClientHello13 is a ClientHello offering TLS 1.3 only
// (supported_versions) and one cipher suite.
func tlsClientHello13() []byte {
	b := append([]byte{3, 3}, bytes.Repeat([]byte{0x11}, 32)...) // legacy version, random
	b = append(b, 0, 0, 2, 0x13, 0x01, 1, 0)                     // no session id, TLS_AES_128_GCM_SHA256, no compression
	b = append(b, 0, 7, 0, 0x2b, 0, 3, 2, 3, 4)                  // extensions: supported_versions [TLS 1.3]
	return tlsHandshakeMessage(1, b)
}

// tlsServerHello13 is a ServerHello choosing TLS 1.3 and
// TLS_AES_128_GCM_SHA256.
func tlsServerHello13() []byte {
	b := append([]byte{3, 3}, bytes.Repeat([]byte{0x22}, 32)...)
	b = append(b, 0, 0x13, 0x01, 0)
	b = append(b, 0, 6, 0, 0x2b, 0, 2, 3, 4)
	return tlsHandshakeMessage(2, b)
}

// Fixtures returns every crafted capture.
func Fixtures() []Fixture {
	return []Fixture{
		{"ooo-retrans.pcap", "A clean session whose message body arrives in three segments, the third before the second, and the first retransmitted unchanged.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				envelope(s)
				body := []byte(fixtureBody + ".\r\n")
				at := s.Sent(true)
				s.SegmentAt(true, at, body[:40])
				s.SegmentAt(true, at+80, body[80:])
				s.SegmentAt(true, at+40, body[40:80])
				s.SegmentAt(true, at, body[:40])
				s.Skip(true, uint32(len(body))) // SegmentAt does not count bytes as sent
				s.Ack(false)
				finish(s)
			}},
		{"retrans-conflict.pcap", "The RCPT command is retransmitted with different bytes (XXXX TO:…): something in the path rewrote it.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				s.Client("MAIL FROM:<a@example.org>\r\n")
				s.Server("250 OK\r\n")
				at := s.Sent(true)
				s.Send(true, []byte("RCPT TO:<b@example.test>\r\n"))
				s.SegmentAt(true, at, []byte("XXXX TO:<b@example.test>\r\n"))
				s.Server("250 Accepted\r\n")
				quit(s)
			}},
		{"gap.pcap", "24 bytes of the message body were acknowledged by the server but are not in the capture.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				envelope(s)
				s.Send(true, []byte(fixtureBody[:60]))
				s.Skip(true, 24)
				s.Send(true, []byte(fixtureBody[84:]+".\r\n"))
				s.Ack(false)
				finish(s)
			}},
		{"gap-end.pcap", "The segment with the end of the message and its <CRLF>.<CRLF> is not in the capture; the server's 250 that acknowledges it is, and then QUIT.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				envelope(s)
				s.Send(true, []byte(fixtureBody[:60]))
				s.Skip(true, uint32(len(fixtureBody)-60+len(".\r\n")))
				finish(s)
			}},
		{"onesided.pcap", "Only the client's packets were captured (asymmetric routing): no replies, no server ACKs.",
			func(w *Writer) {
				s := fixtureSession(w)
				s.Emit(true, s.isn[0], SYN, nil)
				s.next[1]++
				s.Emit(true, s.next[0], ACK, nil)
				for _, line := range []string{"EHLO client.example.org\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<b@example.test>\r\n", "DATA\r\n", fixtureBody + ".\r\n", "QUIT\r\n"} {
					s.Send(true, []byte(line))
				}
				s.Emit(true, s.next[0], FIN|ACK, nil)
			}},
		{"smuggling.pcap", "The body holds <LF>.<LF> followed by MAIL FROM: a lenient receiver would end the message there and run the rest as commands (SMTP smuggling).",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				envelope(s)
				s.Client(fixtureBody + "\n.\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n")
				finish(s)
			}},
		{"middlebox-ack.pcap", "The client's message body is acknowledged by packets whose TTL (250) and IP IDs differ from the server's own packets (TTL 64): a device in the path terminates TCP.",
			func(w *Writer) {
				s := fixtureSession(w)
				s.ServerTTL = 64
				greet(s)
				envelope(s)
				body := []byte(fixtureBody + strings.Repeat("padding line to make the body longer\r\n", 40) + ".\r\n")
				s.Send(true, body, 1448)
				// A middlebox acknowledges for the server: other TTL, other IP ID space.
				s.ServerTTL = 250
				saved := s.ipid[1]
				s.ipid[1] = 0x7000
				s.Ack(false)
				s.ipid[1] = saved
				s.ServerTTL = 64
				s.Pause(15 * time.Second)
				s.Reset(true)
			}},
		{"masked-pix.pcap", "A Cisco PIX/ASA SMTP fixup in the path: EHLO keywords masked (250-XXXXXXXA), the banner starred, and the RCPT command split across two segments with the second one's start masked (RC | XX TO:<…>); the server answers 500 and then a synchronization error.",
			func(w *Writer) {
				s := fixtureSession(w)
				s.Handshake()
				s.Server("220 ****************************2*0***0**0****\r\n")
				s.Client("EHLO client.example.org\r\n")
				s.Server("250-mx.example.test\r\n250-XXXXXXXA\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250 XXXXXXXB\r\n")
				s.Client("MAIL FROM:<a@example.org>\r\nRC")
				s.Client("XX TO:<b@example.test>\r\nDATA\r\n")
				s.Server("250 OK\r\n500 5.5.1 unrecognized command\r\n554 5.5.0 SMTP synchronization error\r\n")
				quit(s)
			}},
		{"bdat-not-offered.pcap", "The client sends BDAT to a server whose EHLO reply does not offer CHUNKING; the server takes the chunk's bytes as commands.",
			func(w *Writer) {
				s := fixtureSession(w)
				s.Handshake()
				s.Server("220 mx.example.test ESMTP\r\n")
				s.Client("EHLO client.example.org\r\n")
				s.Server("250-mx.example.test\r\n250-SIZE 10485760\r\n250 8BITMIME\r\n")
				mailRcpt(s, "250 Accepted\r\n")
				s.Client("BDAT 12 LAST\r\nSubject: x\r\n")
				s.Server("500 5.5.1 unrecognized command\r\n500 5.5.1 unrecognized command\r\n")
				quit(s)
			}},
		{"binary-data.pcap", "BODY=BINARYMIME and Content-Transfer-Encoding: binary sent with DATA to a server that offers neither BINARYMIME nor CHUNKING; the content has NUL, bare CR, 8-bit bytes and a 1200-octet line.",
			func(w *Writer) {
				s := fixtureSession(w)
				s.Handshake()
				s.Server("220 mx.example.test ESMTP\r\n")
				s.Client("EHLO client.example.org\r\n")
				s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 10485760\r\n")
				s.Client("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n")
				s.Server("250 OK\r\n")
				s.Client("RCPT TO:<b@example.test>\r\n")
				s.Server("250 Accepted\r\n")
				s.Client("DATA\r\n")
				s.Server("354 Go ahead\r\n")
				body := "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
					"\x00\x01\x02 binary \xff\xfe\r with a bare CR\r\n" + strings.Repeat("A", 1200) + "\r\n.\r\n"
				s.Send(true, []byte(body), 1448)
				s.Ack(false)
				finish(s)
			}},
		{"size.pcap", "Two transactions: SIZE=99999999 above the server's 10485760 limit (rejected 552), then SIZE=100 with a 5 KB message.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				s.Client("MAIL FROM:<a@example.org> SIZE=99999999\r\n")
				s.Server("552 5.3.4 Message size exceeds fixed maximum message size\r\n")
				s.Client("MAIL FROM:<a@example.org> SIZE=100\r\n")
				s.Server("250 OK\r\n")
				s.Client("RCPT TO:<b@example.test>\r\n")
				s.Server("250 Accepted\r\n")
				s.Client("DATA\r\n")
				s.Server("354 Go ahead\r\n")
				s.Send(true, []byte(fixtureBody+strings.Repeat("fifty bytes of text to make the message bigger..\r\n", 100)+".\r\n"), 1448, 1448, 1448)
				s.Ack(false)
				finish(s)
			}},
		{"retry.pcap", "The same envelope tried in three connections, each reset by the client in the middle of DATA, with no final reply.",
			func(w *Writer) {
				now := fixtureStart
				for i, port := range []uint16{50601, 50602, 50603} {
					cl := netip.AddrPortFrom(fixtureClient.Addr(), port)
					s := NewSession(w, LinkEthernet, cl, fixtureServer, now, uint32(2_000_000*(i+1)), uint32(9_000_000*(i+1)))
					greet(s)
					envelope(s)
					s.Send(true, []byte(fixtureBody+strings.Repeat("x", 500)))
					s.Ack(false)
					s.Pause(2 * time.Second)
					s.Reset(true)
					now = s.Now.Add(30 * time.Second)
				}
			}},
		{"out-of-step.pcap", "The server sends a reply nobody asked for and a malformed reply line, and never answers NOOP before it closes.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				s.Server("250 2.0.0 OK\r\n")
				s.Client("NOOP\r\n")
				s.Server("hello there\r\n")
				s.Emit(false, s.next[1], FIN|ACK, nil)
				s.next[1]++
				s.fins[1]++
				s.Emit(true, s.next[0], FIN|ACK, nil)
				s.next[0]++
				s.fins[0]++
				s.Ack(false)
			}},
		{"malformed.pcap", "Commands with bad syntax: MAIL FROM: SIZE=12345 without a path, and a RCPT line of 600 octets.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				s.Client("MAIL FROM: SIZE=12345\r\n")
				s.Server("501 5.1.7 Bad sender address syntax\r\n")
				s.Client("MAIL FROM:<a@example.org>\r\n")
				s.Server("250 OK\r\n")
				s.Client("RCPT TO:<" + strings.Repeat("b", 580) + "@example.test>\r\n")
				s.Server("500 5.5.2 Line too long\r\n")
				quit(s)
			}},
		{"bdat-mismatch.pcap", "A BDAT chunk declared as 20 bytes carries 31: the server reads 20 and takes the rest as a command line.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				mailRcpt(s, "250 Accepted\r\n")
				s.Client("BDAT 20 LAST\r\nSubject: mismatch\r\n\r\nhello world\r\n")
				s.Server("250 OK chunked\r\n500 5.5.1 unrecognized command\r\n")
				quit(s)
			}},
		{"implicit-tls.pcap", "SMTPS on port 465: the client opens with a TLS ClientHello, so there is no SMTP in the clear.",
			func(w *Writer) {
				s := NewSession(w, LinkEthernet, fixtureClient, netip.AddrPortFrom(fixtureServer.Addr(), 465), fixtureStart, 1_000_000, 5_000_000)
				s.Handshake()
				hello := append([]byte{0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03}, bytes.Repeat([]byte{0xa5}, 194)...)
				s.Send(true, hello)
				s.Send(false, append([]byte{0x16, 0x03, 0x03, 0x00, 0x40}, bytes.Repeat([]byte{0x5a}, 64)...))
				s.Send(true, append([]byte{0x17, 0x03, 0x03, 0x00, 0x20}, bytes.Repeat([]byte{0x11}, 32)...))
				s.Close()
			}},
		{"connect-failed.pcap", "Two failed connections to port 25: one SYN retransmitted three times with no answer (a firewall drops it), one refused with a RST.",
			func(w *Writer) {
				s := fixtureSession(w)
				for _, wait := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second} {
					s.Pause(wait)
					s.Emit(true, s.isn[0], SYN, nil)
				}
				r := NewSession(w, LinkEthernet, netip.AddrPortFrom(fixtureClient.Addr(), 50700), fixtureServer, s.Now.Add(time.Second), 3_000_000, 0)
				r.Emit(true, r.isn[0], SYN, nil)
				r.Emit(false, 0, RST|ACK, nil)
			}},
		{"deferred.pcap", "The server greylists the recipient with 451 4.7.1; the client quits and will retry later.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				mailRcpt(s, "451 4.7.1 Greylisted, please try again in 300 seconds\r\n")
				quit(s)
			}},
		{"stall-open.pcap", "The message's last line ends in a bare LF (…%%EOF<LF>.<CR><LF>): the server acknowledges the bytes and waits for <CRLF>.<CRLF>; only TCP keepalives follow, 30 and 90 s later, and the capture ends with the connection open.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				envelope(s)
				s.Client(fixtureBody + "%%EOF\n.\r\n")
				for _, wait := range []time.Duration{30 * time.Second, 60 * time.Second} {
					s.Pause(wait)
					s.Emit(true, s.next[0]-1, ACK, nil) // a keepalive: one byte before what was sent
					s.Ack(false)
				}
			}},
		{"eightbit-unoffered.pcap", "A message with UTF-8 text in its body (8-bit bytes) sent with DATA to a server whose EHLO reply does not offer 8BITMIME: such a server may strip the high bit or refuse the message.",
			func(w *Writer) {
				s := fixtureSession(w)
				s.Handshake()
				s.Server("220 mx.example.test ESMTP\r\n")
				s.Client("EHLO client.example.org\r\n")
				s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 10485760\r\n")
				envelope(s)
				s.Client(fixtureBody + "Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n.\r\n")
				finish(s)
			}},
		{"masked-quoted.pcap", "Captured on the client's side of a PIX/ASA fixup: the RCPT left the client intact, but the server (Sendmail-style) quotes what it got: 500 5.5.1 Command unrecognized: \"XXXX TO:<b@example.test>\".",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				s.Client("MAIL FROM:<a@example.org>\r\n")
				s.Server("250 OK\r\n")
				s.Client("RCPT TO:<b@example.test>\r\n")
				s.Server("500 5.5.1 Command unrecognized: \"XXXX TO:<b@example.test>\"\r\n")
				quit(s)
			}},
		{"terminal-escapes.pcap", "A client sends a line holding terminal escape sequences (ESC [2J clears the screen, CSI U+009B), a bell and bytes that are not UTF-8, and the server (Sendmail-style) quotes it back in its 500 reply: a report must show such bytes as escapes, never send them to the terminal.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				line := "\x1b[2J\x1b[31mHELO\x07 \xc2\x9b0m\xff\xfe"
				s.Client(line + "\r\n")
				s.Server("500 5.5.1 Command unrecognized: \"" + line + "\"\r\n")
				quit(s)
			}},
		{"pmtu-blackhole.pcap", "Captured on the client's side of a path-MTU black hole: after DATA the client's two 1448-byte segments are lost and the first is sent six more times with backoff, never acknowledged, while every command got through; the server times out with 421 and the client resets.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				envelope(s)
				body := blackHoleBody()
				at := s.Sent(true)
				s.SegmentAt(true, at, body[:1448])
				s.SegmentAt(true, at+1448, body[1448:2896])
				for _, backoff := range []time.Duration{200, 400, 800, 1600, 3200, 6400} {
					s.Pause(backoff * time.Millisecond)
					s.SegmentAt(true, at, body[:1448])
				}
				s.Pause(8 * time.Second)
				s.Server("421 4.4.2 mx.example.test Error: timeout exceeded\r\n")
				s.Emit(false, s.next[1], FIN|ACK, nil)
				s.next[1]++
				s.Reset(true)
			}},
		{"pmtu-probing.pcap", "The same black hole, but the client probes the path's MTU: after four tries of its 1448-byte segment it sends the same bytes in 536-byte segments, which get through, and the message is delivered 3 s late.",
			func(w *Writer) {
				s := fixtureSession(w)
				greet(s)
				envelope(s)
				body := blackHoleBody()
				at := s.Sent(true)
				s.SegmentAt(true, at, body[:1448])
				for _, backoff := range []time.Duration{200, 400, 800, 1600} {
					s.Pause(backoff * time.Millisecond)
					s.SegmentAt(true, at, body[:1448])
				}
				s.Pause(time.Second)
				s.Send(true, body, 536, 536, 536, 536, 536)
				s.Ack(false)
				finish(s)
			}},
		{"tls13-encrypted-alert.pcap", "STARTTLS, then a TLS 1.3 handshake the client gives up: after the server's ServerHello and encrypted flight it sends ChangeCipherSpec and one 19-byte encrypted record (an alert, as TLS 1.3 encrypts them) and resets the connection.",
			func(w *Writer) {
				s := fixtureSession(w)
				startTLS(s)
				s.Client(string(tlsRecord(22, tlsClientHello13())))
				s.Server(string(tlsRecord(22, tlsServerHello13())) + string(tlsRecord(20, []byte{1})) +
					string(tlsRecord(23, bytes.Repeat([]byte{0xa5}, 100))) + string(tlsRecord(23, bytes.Repeat([]byte{0x5a}, 300))))
				s.Send(true, append(tlsRecord(20, []byte{1}), tlsRecord(23, bytes.Repeat([]byte{0x3c}, 19))...))
				s.Reset(true)
			}},
		{"tls-unanswered.pcap", "STARTTLS, then the client's ClientHello goes unanswered: no ServerHello, no alert; after 5 s the client closes the connection.",
			func(w *Writer) {
				s := fixtureSession(w)
				startTLS(s)
				s.Client(string(tlsRecord(22, tlsClientHello13())))
				s.Pause(5 * time.Second)
				s.Close()
			}},
	}
}

// BuildFixture writes one fixture as a pcap file's bytes.
func BuildFixture(f Fixture) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf, Format{}, LinkEthernet)
	f.Build(w)
	return buf.Bytes()
}
