package findings

import (
	"slices"
	"strings"
	"testing"
)

// Cases from the blind recording of OpenSMTPD 6.8, aiosmtpd 1.4 and Go's
// net/smtp (testdata/pcaps/opensmtpd-sweep, its README names the frames).

func TestATLS13ServerThatEndedItsOwnHandshake(t *testing.T) {
	// OpenSMTPD 6.8 fails its STARTTLS ("EVP lib"): its flight is
	// ServerHello, ChangeCipherSpec, then encrypted records of 23, 807
	// and 19 bytes, no CertificateVerify and no Finished; the 19 bytes are
	// its internal_error alert. Go's client then sent a ChangeCipherSpec
	// and its own 19-byte alert (go-osd-sendmail, frame 15) after the
	// server's FIN (frame 13): the server, not the client, refused.
	for name, frames := range map[string][]int{
		"osd-starttls-swaks.pcap": {9, 10, 12, 13, 15},
		"go-osd-starttls.pcap":    {9, 10, 11, 12, 16},
		"go-osd-sendmail.pcap":    {9, 10, 11, 12, 16},
	} {
		got := findingsOf(analyze(t, capturePath("opensmtpd-sweep/"+name)), "tls-handshake-failed", 0)
		if len(got) != 1 || !slices.Equal(got[0].Frames, frames) ||
			!strings.Contains(got[0].Summary, "the server ended its own handshake (TLS 1.3, frame") ||
			!strings.Contains(got[0].Summary, "without its Finished: its last record, a short encrypted one") {
			t.Errorf("%s: %v", name, got)
		}
	}
	// A client that refused a good server's certificate (Go, unverified:
	// the server's flight ends in its 69-byte Finished, frame 18) is the
	// client's alert still.
	got := findingsOf(analyze(t, capturePath("opensmtpd-sweep/go-aio-sendmail-tls-unverified.pcap")), "tls-handshake-failed", 0)
	if len(got) != 1 || !strings.Contains(got[0].Summary, "the client sent one encrypted record and no mail, most likely an encrypted alert") {
		t.Errorf("go-aio-sendmail-tls-unverified: %v", got)
	}
}

func TestOpenSMTPDsSTARTTLSWithoutTLS(t *testing.T) {
	// osd-starttls-plaintext: 220 Ready to start TLS (frame 10), then the
	// client's MAIL FROM in clear text (frame 11), the server's RST
	// (frame 12).
	got := findingsOf(analyze(t, capturePath("opensmtpd-sweep/osd-starttls-plaintext.pcap")), "tls-handshake-failed", 0)
	if len(got) != 1 || got[0].Severity != Error || !strings.HasPrefix(got[0].Summary, "the client did not begin TLS after the server's 220 (frame 10): it sent \"MAIL FROM:") {
		t.Errorf("osd-starttls-plaintext: %v", got)
	}
}
