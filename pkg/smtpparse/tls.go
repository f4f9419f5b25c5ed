package smtpparse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// TLS record content types (RFC 8446, section 5.1).
const (
	tlsChangeCipherSpec = 20
	tlsAlert            = 21
	tlsHandshake        = 22
	tlsApplicationData  = 23
)

// TLSSide is what one side's TLS records show after STARTTLS, before
// encryption hides them: their types, its hello and its first alert in
// the clear. Only the record framing and the cleartext handshake are read.
type TLSSide struct {
	Records          int       // TLS records begun
	ApplicationData  int       // records of type application data (encrypted handshake or mail)
	ChangeCipherSpec bool      // sent ChangeCipherSpec: what follows is encrypted
	Hello            *TLSHello // its ClientHello or ServerHello, when it was in the clear
	Alert            *TLSAlert // its first fatal alert sent in the clear, else its first warning
	NotTLS           bool      // bytes that do not frame as TLS records: reading stopped there
	Lost             bool      // the capture lacks bytes of this side: reading stopped there
	// With NotTLS: the stream offset where the records stopped framing and,
	// when they begin as text does, the first bytes from there (at most
	// maxClear), as a server that left TLS writes them: Exim's "421 … SMTP
	// command timeout" in clear text after a TLS session.
	ClearAt int64
	Clear   []byte
	// LastRecord is the last record begun: in TLS 1.3 a side's last
	// encrypted record, when short, is most likely its alert.
	LastRecord TLSRecord

	head    [5]byte // the record header being read
	inHead  int     // header bytes read
	left    int     // body bytes of the current record still to come
	typ     uint8   // the current record's content type
	start   int64   // its stream offset
	body    []byte  // its body, kept while it may be a cleartext hello or alert
	retried bool    // the server sent a HelloRetryRequest: its ServerHello is still to come
}

// TLSRecord is a TLS record's header: its content type, its length and
// where it is, header included.
type TLSRecord struct {
	Type   uint8
	Length int
	Span   Span
}

// MayBeEncryptedAlert reports whether r could be an alert sent under TLS
// 1.3's encryption: an application data record of 19 bytes (the 2-byte
// alert, its inner content type and the 16-byte tag of AES-GCM or
// ChaCha20-Poly1305, without padding). A Finished is longer (53 bytes or
// more), so a handshake that ends in such a record ended in an alert.
func (r TLSRecord) MayBeEncryptedAlert() bool {
	return r.Type == tlsApplicationData && r.Length == 19
}

// TLSHello is the version part of a ClientHello or ServerHello.
type TLSHello struct {
	Client   bool
	Version  uint16   // ClientHello: the highest version offered; ServerHello: the version chosen
	Versions []uint16 // ClientHello: the versions of its supported_versions extension, if any
	Cipher   uint16   // ServerHello: the cipher suite chosen
	Span     Span     // the record that carried it
}

// Completed reports whether the records show a finished handshake: both
// sides sent ChangeCipherSpec (TLS 1.2 and before), or the client sent a
// second encrypted record, its Finished and then mail (TLS 1.3, where a
// single one is its Finished or an encrypted alert). Unknown without the
// ServerHello.
func (t *TLSStart) Completed() bool {
	h := t.Server.Hello
	switch {
	case h == nil:
		return false
	case h.Version >= 0x0304:
		return t.Client.ApplicationData >= 2
	}
	return t.Client.ChangeCipherSpec && t.Server.ChangeCipherSpec
}

// ClientBegan reports whether the client's bytes after the switch began
// as TLS records, or as binary bytes that do not frame as records (not
// known to be no TLS), or the capture lost them (nobody can say they did
// not): false for a client that sent nothing, or clear text, after the
// server's 220.
func (t *TLSStart) ClientBegan() bool {
	c := &t.Client
	if c.NotTLS && c.ClearAt == t.ClientStart && !c.Lost {
		return len(c.Clear) == 0 // text from the first byte is no TLS
	}
	return c.Lost || c.Records > 0
}

// Offered says which versions a ClientHello offered ("TLS 1.2 to TLS 1.3",
// "TLS 1.2 only") or a ServerHello chose ("TLS 1.3").
func (h *TLSHello) Offered() string {
	switch {
	case h.Client && len(h.Versions) > 1:
		return fmt.Sprintf("%s to %s", TLSVersionName(slices.Min(h.Versions)), TLSVersionName(h.Version))
	case h.Client:
		return TLSVersionName(h.Version) + " only"
	}
	return TLSVersionName(h.Version)
}

// TLSAlert is an alert record sent in the clear.
type TLSAlert struct {
	Level       uint8 // 1 warning, 2 fatal
	Description uint8 // RFC 8446 AlertDescription
	Span        Span
}

// Fatal reports whether the alert ends the connection.
func (a *TLSAlert) Fatal() bool { return a.Level == 2 }

// String names the alert as RFC 8446 does: "fatal handshake_failure (40)".
func (a *TLSAlert) String() string {
	level := "warning"
	if a.Fatal() {
		level = "fatal"
	} else if a.Level != 1 {
		level = fmt.Sprintf("level %d", a.Level)
	}
	return fmt.Sprintf("%s %s (%d)", level, TLSAlertName(a.Description), a.Description)
}

// TLSAlertName names an alert description as RFC 8446 and RFC 5246 do.
func TLSAlertName(d uint8) string {
	switch d {
	case 0:
		return "close_notify"
	case 10:
		return "unexpected_message"
	case 20:
		return "bad_record_mac"
	case 22:
		return "record_overflow"
	case 40:
		return "handshake_failure"
	case 42:
		return "bad_certificate"
	case 43:
		return "unsupported_certificate"
	case 44:
		return "certificate_revoked"
	case 45:
		return "certificate_expired"
	case 46:
		return "certificate_unknown"
	case 47:
		return "illegal_parameter"
	case 48:
		return "unknown_ca"
	case 49:
		return "access_denied"
	case 50:
		return "decode_error"
	case 51:
		return "decrypt_error"
	case 70:
		return "protocol_version"
	case 71:
		return "insufficient_security"
	case 80:
		return "internal_error"
	case 86:
		return "inappropriate_fallback"
	case 90:
		return "user_canceled"
	case 109:
		return "missing_extension"
	case 110:
		return "unsupported_extension"
	case 112:
		return "unrecognized_name"
	case 113:
		return "bad_certificate_status_response"
	case 115:
		return "unknown_psk_identity"
	case 116:
		return "certificate_required"
	case 120:
		return "no_application_protocol"
	}
	return "unknown alert"
}

// TLSVersionName names a TLS protocol version: "TLS 1.2".
func TLSVersionName(v uint16) string {
	switch v {
	case 0x0300:
		return "SSL 3.0"
	case 0x0301:
		return "TLS 1.0"
	case 0x0302:
		return "TLS 1.1"
	case 0x0303:
		return "TLS 1.2"
	case 0x0304:
		return "TLS 1.3"
	}
	return fmt.Sprintf("version 0x%04x", v)
}

// helloRetryRandom is the random of a ServerHello that is a
// HelloRetryRequest (RFC 8446, section 4.1.3).
const helloRetryRandom = "\xcf\x21\xad\x74\xe5\x9a\x61\x11\xbe\x1d\x8c\x02\x1e\x65\xb8\x91\xc2\xa2\x11\x16\x7a\xbb\x8c\x5e\x07\x9e\x09\xe2\xc8\xa8\x33\x9c"

// maxHelloRecord caps what is kept of a handshake record to read a hello
// from; a ClientHello is a few hundred bytes.
const maxHelloRecord = 4096

// maxClear caps TLSSide.Clear.
const maxClear = 512

// Feed reads one side's bytes at stream offset off, for a session that
// spoke TLS from its first byte (implicit TLS), where no parser switches
// to TLS after STARTTLS.
func (t *TLSSide) Feed(dir Direction, b []byte, off int64) { t.feed(dir, b, off) }

// Lose notes that the capture lacks bytes of this side: reading stops.
func (t *TLSSide) Lose() { t.Lost = true }

// feed reads one side's bytes at stream offset off.
func (t *TLSSide) feed(dir Direction, b []byte, off int64) {
	if t.NotTLS && !t.Lost {
		if len(t.Clear) > 0 {
			t.keepClear(b)
		}
		return
	}
	for len(b) > 0 && !t.NotTLS && !t.Lost {
		if t.left == 0 {
			if t.inHead == 0 {
				t.start = off
			}
			n := copy(t.head[t.inHead:], b)
			t.inHead += n
			b, off = b[n:], off+int64(n)
			if t.inHead < len(t.head) {
				return
			}
			t.inHead = 0
			t.typ = t.head[0]
			length := int(binary.BigEndian.Uint16(t.head[3:5]))
			if t.typ < tlsChangeCipherSpec || t.typ > tlsApplicationData || t.head[1] != 3 || length == 0 || length > 18432 {
				t.NotTLS, t.ClearAt = true, t.start
				if c := t.head[0]; c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
					// Text, as a reply or a command begins: kept. Other
					// bytes that are no TLS are not worth keeping.
					t.keepClear(t.head[:])
					t.keepClear(b)
				}
				return
			}
			t.Records++
			t.LastRecord = TLSRecord{Type: t.typ, Length: length, Span: Span{dir, t.start, t.start + 5 + int64(length)}}
			switch t.typ {
			case tlsApplicationData:
				t.ApplicationData++
			case tlsChangeCipherSpec:
				t.ChangeCipherSpec = true
			}
			t.left = length
			t.body = t.body[:0]
			continue
		}
		n := min(t.left, len(b))
		if t.keeps() && len(t.body) < maxHelloRecord {
			t.body = append(t.body, b[:min(n, maxHelloRecord-len(t.body))]...)
		}
		t.left -= n
		b, off = b[n:], off+int64(n)
		if t.left == 0 {
			t.record(dir, Span{Dir: dir, Start: t.start, End: off})
		}
	}
}

// ClearReply reports whether the clear text after the side's records
// (Clear) starts with an SMTP reply line, as a server that left TLS
// writes one ("421 … SMTP command timeout").
func (t *TLSSide) ClearReply() bool {
	line := t.Clear
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	_, _, _, ok := parseReplyLine(line)
	return ok
}

// keepClear keeps b in Clear, up to maxClear bytes in all.
func (t *TLSSide) keepClear(b []byte) {
	if n := maxClear - len(t.Clear); n > 0 {
		t.Clear = append(t.Clear, b[:min(n, len(b))]...)
	}
}

// keeps reports whether the current record's body is worth reading: an
// alert or a hello still in the clear.
func (t *TLSSide) keeps() bool {
	switch t.typ {
	case tlsAlert:
		return t.Alert == nil || !t.Alert.Fatal()
	case tlsHandshake:
		return t.helloInClear()
	}
	return false
}

// helloInClear reports whether the side's hello may still come, in the
// clear: not read yet, and no ChangeCipherSpec but the one TLS 1.3 sends
// for middleboxes after a HelloRetryRequest.
func (t *TLSSide) helloInClear() bool {
	return t.Hello == nil && (!t.ChangeCipherSpec || t.retried)
}

// record reads a whole record's kept body.
func (t *TLSSide) record(dir Direction, sp Span) {
	switch {
	case t.typ == tlsAlert && sp.Len() == 5+2 && (t.Alert == nil || !t.Alert.Fatal() && t.body[0] == 2):
		// Two bytes: an alert in the clear (encrypted ones are longer). A
		// warning (unrecognized_name, say) may come before the fatal one
		// that ends the handshake: that one is kept.
		t.Alert = &TLSAlert{Level: t.body[0], Description: t.body[1], Span: sp}
	case t.typ == tlsHandshake && t.helloInClear() && len(t.body) >= 4:
		// After a HelloRetryRequest (and the ChangeCipherSpec TLS 1.3
		// sends for middleboxes) the real ServerHello is still in the clear.
		if len(t.body) >= 4+2+32 && t.body[0] == 2 && string(t.body[6:38]) == helloRetryRandom {
			t.retried = true
		} else if h := parseHello(t.body, dir == ClientToServer); h != nil {
			h.Span = sp
			t.Hello = h
		}
	}
	t.body = t.body[:0]
}

// gap stops reading a side whose bytes the capture lacks.
func (t *TLSSide) gap() { t.Lost = true }

// parseHello reads the versions (and a ServerHello's cipher suite) of the
// first handshake message of a record, if it is the hello the side sends;
// nil if it is not, or is cut short before its supported_versions.
func parseHello(b []byte, client bool) *TLSHello {
	want := uint8(2) // server_hello
	if client {
		want = 1 // client_hello
	}
	if b[0] != want {
		return nil
	}
	msg := b[4:]
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if n < len(msg) {
		msg = msg[:n]
	}
	// A hello longer than what is kept of it, or split over records, may
	// have its supported_versions extension in the part that is missing:
	// its legacy version field alone would say TLS 1.2.
	whole, versions := n <= len(msg), false
	r := reader{b: msg}
	h := &TLSHello{Client: client, Version: r.u16()}
	r.skip(32) // random
	r.skip(int(r.u8()))
	if client {
		r.skip(int(r.u16())) // cipher suites
		r.skip(int(r.u8()))  // compression methods
	} else {
		h.Cipher = r.u16()
		r.skip(1) // compression method
	}
	if r.bad {
		return nil
	}
	ext := reader{b: r.bytes(int(r.u16()))}
	for !r.bad && !ext.bad && len(ext.b) >= 4 {
		typ, body := ext.u16(), ext.bytes(int(ext.u16()))
		if typ != 43 || ext.bad { // supported_versions
			continue
		}
		versions = true
		v := reader{b: body}
		if !client {
			h.Version = v.u16()
			continue
		}
		list := reader{b: v.bytes(int(v.u8()))}
		highest := uint16(0)
		for len(list.b) >= 2 {
			x := list.u16()
			if x&0x0f0f == 0x0a0a {
				continue // GREASE
			}
			h.Versions = append(h.Versions, x)
			highest = max(highest, x)
		}
		if highest != 0 {
			h.Version = highest // the list, not the legacy field, says
		}
	}
	if !whole && !versions {
		return nil
	}
	return h
}

// reader reads big-endian fields; past the end it reads zeros and sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) {
		r.bad = true
		n = len(r.b)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) skip(n int) { r.bytes(n) }

func (r *reader) u8() uint8 {
	b := r.bytes(1)
	if len(b) < 1 {
		return 0
	}
	return b[0]
}

func (r *reader) u16() uint16 {
	b := r.bytes(2)
	if len(b) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}
