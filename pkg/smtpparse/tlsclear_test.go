package smtpparse

import (
	"bytes"
	"strings"
	"testing"
)

// TestTLSSideKeepsWhatStopsFramingAsRecords: after a whole record, bytes
// that are no TLS record (a reply in clear text) are kept from where they
// begin, across writes, up to maxClear, and their offset is known.
func TestTLSSideKeepsWhatStopsFramingAsRecords(t *testing.T) {
	record := []byte{23, 3, 3, 0, 4, 1, 2, 3, 4} // application data, 4 bytes
	clear := "421 mx.example.test: SMTP command timeout - closing connection\r\n"
	var s TLSSide
	s.feed(ServerToClient, append(record, clear[:2]...), 100)
	s.feed(ServerToClient, []byte(clear[2:7]), 111)
	s.feed(ServerToClient, []byte(clear[7:]), 116)
	if !s.NotTLS || s.ClearAt != 109 || string(s.Clear) != clear || s.Records != 1 {
		t.Errorf("NotTLS %v at %d, records %d, clear %q", s.NotTLS, s.ClearAt, s.Records, s.Clear)
	}
	s.feed(ServerToClient, bytes.Repeat([]byte("x"), 2*maxClear), 200)
	if len(s.Clear) != maxClear || !strings.HasPrefix(string(s.Clear), clear) {
		t.Errorf("kept %d bytes, want %d starting with the reply", len(s.Clear), maxClear)
	}
}
