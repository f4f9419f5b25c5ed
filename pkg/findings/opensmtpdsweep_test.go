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

func TestARetryLoopInsideOneConnection(t *testing.T) {
	// OpenSMTPD as the client retries a deferred message on the same
	// connection: osr-451-data.pcap sends one message five times, each
	// answered 451 after its end of data (frames 25, 38, 51, 64, 77).
	r := analyze(t, capturePath("opensmtpd-sweep/osr-451-data.pcap"))
	loops := retryLoops(r)
	if len(loops) != 1 || loops[0].Severity != Warning || !slices.Equal(loops[0].Streams, []int{0}) ||
		!slices.Equal(loops[0].Frames, []int{15, 27, 40, 53, 66}) ||
		!strings.Contains(loops[0].Summary, "was tried 5 times in stream 0 without a 2xx final reply, the client retrying in the same connection; each ended with 451") {
		t.Errorf("retry loops %v", loops)
	}
	if d := connectionOf(t, r, 0).Diagnosis; !strings.Contains(d, "The same envelope was tried 5 times in this connection; each ended with 451") {
		t.Errorf("diagnosis %q", d)
	}
	// A test client's one envelope refused three ways (501, 504, 450 to
	// three HELOs) in one connection is no retry.
	if loops := retryLoops(analyze(t, capturePath("postfix-sweep2/helo.pcap"))); len(loops) != 0 {
		t.Errorf("helo.pcap: %v", loops)
	}
}

func TestAClientIdlingBeforeQUITIsNoStall(t *testing.T) {
	// OpenSMTPD as the client keeps a connection 10 s after its last
	// message before QUIT (osx-exim-idle.pcap, frames 25 to 27): a
	// delivery, and nothing wrong with it.
	r := analyze(t, capturePath("opensmtpd-sweep/osx-exim-idle.pcap"))
	if r.Findings.Len() != 0 {
		for _, f := range r.Findings.All() {
			t.Errorf("%s %v: %s", f.ID, f.Frames, f.Summary)
		}
	}
	// A client silent after the greeting owes its hello: still a stall
	// (exim-sweep2/slowclient-exim.pcap, 12 s, frames 4 to 6).
	stalls := findingsOf(analyze(t, capturePath("exim-sweep2/slowclient-exim.pcap")), "stall", 0)
	if len(stalls) != 1 || !slices.Equal(stalls[0].Frames, []int{4, 6}) {
		t.Errorf("slowclient-exim: %v", stalls)
	}
}

func TestOpenSMTPDsMessageTooBigIsTiedToItsSIZE(t *testing.T) {
	// osd-size-nosize.pcap: SIZE 20480 offered (frame 8), 30018 bytes sent
	// without SIZE=, "554 5.3.4 Message too big for system" (frame 42).
	got := findingsOf(analyze(t, capturePath("opensmtpd-sweep/osd-size-nosize.pcap")), "command-rejected", 0)
	if len(got) != 1 || !slices.Equal(got[0].Frames, []int{42}) ||
		!strings.HasSuffix(got[0].Summary, "; the client sent 30018 bytes of message, over the limit of 20480 bytes the server offered (SIZE in its EHLO reply), without declaring the size in MAIL FROM") {
		t.Errorf("command-rejected %v", got)
	}
}

func TestAMessageSentAfterARefusedDATAIsNoPipelining(t *testing.T) {
	// osd-smtputf8-not-offered.pcap: MAIL FROM:<jörg@…> SMTPUTF8 to a
	// server that offers no SMTPUTF8 (553, frames 9/10), the envelope
	// refused, DATA refused (503, frame 18); the client sent its message
	// all the same (frame 19) and OpenSMTPD answered 500 … Pipelining not
	// supported (frame 20), then QUIT (frame 22). The message lines and
	// the QUIT behind them are no pipelining of the client's.
	r := analyze(t, capturePath("opensmtpd-sweep/osd-smtputf8-not-offered.pcap"))
	if got := findingsOf(r, "pipelining-not-offered", 0); len(got) != 0 {
		t.Errorf("pipelining-not-offered %v", got)
	}
	got := findingsOf(r, "malformed-command", 0)
	if !slices.ContainsFunc(got, func(f Finding) bool {
		return slices.Equal(f.Frames, []int{9}) && strings.HasSuffix(f.Summary, "a UTF-8 address with SMTPUTF8 on MAIL FROM, though the server does not offer SMTPUTF8 (RFC 6531)")
	}) {
		t.Errorf("malformed-command %v", got)
	}
}

func TestARCPTWithoutMAILIsNoTransaction(t *testing.T) {
	// osd-errors.pcap: a RCPT with no MAIL before it (503, frames 13/14)
	// tried no message; "MAIL FROM:bad" (553, frames 21/22) tried one,
	// refused.
	if c := connectionOf(t, analyze(t, capturePath("opensmtpd-sweep/osd-errors.pcap")), 0); c.Transactions != 1 || c.Delivered != 0 {
		t.Errorf("%d/%d delivered, want 0/1", c.Delivered, c.Transactions)
	}
}

func TestTheDiagnosisNamesTheCause(t *testing.T) {
	// osd-bdat-ok-size.pcap: BDAT to OpenSMTPD, which offers no CHUNKING
	// (500, frame 14); the chunk's lines, read as commands, then drew
	// "500 … Pipelining not supported" (frame 16).
	if d := connectionOf(t, analyze(t, capturePath("opensmtpd-sweep/osd-bdat-ok-size.pcap")), 0).Diagnosis; d !=
		`The client sent a BDAT chunk to a server that did not offer CHUNKING; it refused BDAT (500 in frame 14) and reads the chunk's lines, such as "Subject: bdat", as commands (frames 14, 15). The server refused them as out of step (frame 16).` {
		t.Errorf("osd-bdat-ok-size: %q", d)
	}
	// aio-long-line.pcap: a 1200-octet message line (frame 22), the
	// message refused with aiosmtpd's "500 Line too long" (frame 25).
	if d := connectionOf(t, analyze(t, capturePath("opensmtpd-sweep/aio-long-line.pcap")), 0).Diagnosis; d !=
		"The message was rejected: 500 Line too long (see RFC5321 4.5.3.1.6) (frame 25). The message has a line longer than 998 octets (frame 22), which RFC 5321 forbids (section 4.5.3.1.6) and servers refuse." {
		t.Errorf("aio-long-line: %q", d)
	}
}

func TestTheRestOfAMessageEndedEarlyIsNoTransaction(t *testing.T) {
	// osd-bare-lf.pcap: OpenSMTPD took "…\n.\r\n" for the end of the
	// message (250, frame 16); the client's real end, "\r\n.\r\n" (frame
	// 17), drew a 500. One message, delivered.
	if c := connectionOf(t, analyze(t, capturePath("opensmtpd-sweep/osd-bare-lf.pcap")), 0); c.Transactions != 1 || c.Delivered != 1 {
		t.Errorf("%d/%d delivered, want 1/1", c.Delivered, c.Transactions)
	}
}

func TestACommandAnsweredByTheServersResetIsNoDevicesDoing(t *testing.T) {
	// osd-bare-lf.pcap: OpenSMTPD had closed (FIN, frame 19 is the
	// client's QUIT after it); its TCP answered the QUIT with a RST
	// (frame 20). No device in the path took the QUIT.
	got := findingsOf(analyze(t, capturePath("opensmtpd-sweep/osd-bare-lf.pcap")), "unanswered-command", 0)
	if len(got) != 1 || got[0].Summary != `the server never answered "QUIT" (connection ended: the server's RST in frame 20); that reset answered it: the server had already let go of the connection` {
		t.Errorf("unanswered-command %v", got)
	}
}

func TestAParameterGivenTwiceIsWorthKnowingOnly(t *testing.T) {
	// aio-smtplib-utf8.pcap: smtplib's "mail FROM:<jörg@…> size=198
	// SMTPUTF8 SMTPUTF8" (frame 15), which aiosmtpd took.
	got := findingsOf(analyze(t, capturePath("opensmtpd-sweep/aio-smtplib-utf8.pcap")), "malformed-command", 0)
	if len(got) != 1 || got[0].Severity != Info || !slices.Equal(got[0].Frames, []int{15}) || !strings.HasSuffix(got[0].Summary, ": a parameter given twice") {
		t.Errorf("malformed-command %v", got)
	}
}
