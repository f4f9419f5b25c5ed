package main

import "bytes"

// TEMPORARY until pkg/smtpparse lands.
func looksLikeGreeting(b []byte) bool {
	return len(b) >= 4 && bytes.HasPrefix(b, []byte("220")) && (b[3] == ' ' || b[3] == '-')
}

func looksLikeClientStart(b []byte) bool {
	if len(b) < 5 {
		return false
	}
	v := bytes.ToUpper(b[:4])
	return (bytes.Equal(v, []byte("EHLO")) || bytes.Equal(v, []byte("HELO"))) && (b[4] == ' ' || b[4] == '\r' || b[4] == '\n')
}
