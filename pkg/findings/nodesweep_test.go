package findings

import (
	"slices"
	"strings"
	"testing"
)

// Cases from the blind recording of Node.js mail software: nodemailer,
// smtp-server and Haraka, with Exim (testdata/pcaps/node-sweep, its
// README names the frames).

func TestAClientThatRefusedTheCertificateIsNotTheServersAlert(t *testing.T) {
	// nm-exim-tlsfail.pcap: nodemailer, TLS 1.3, rejectUnauthorized: the
	// server's whole flight, Finished included (frame 12), then the
	// client's FIN (14) without its Finished; Exim's 19-byte record (15)
	// came after the FIN.
	got := findingsOf(analyze(t, capturePath("node-sweep/nm-exim-tlsfail.pcap")), "tls-handshake-failed", 0)
	if len(got) != 1 || !strings.Contains(got[0].Summary, "the client never finished the handshake after the server's (TLS 1.3, frame 11) and closed the connection first: most likely it refused the server's certificate") {
		t.Errorf("nm-exim-tlsfail: %v", got)
	}
	// nm-exim-tlsfail12.pcap: TLS 1.2 completed (frames 10–13), then the
	// client's FIN at once (14) with nothing sent under TLS.
	got = findingsOf(analyze(t, capturePath("node-sweep/nm-exim-tlsfail12.pcap")), "tls-handshake-failed", 0)
	if len(got) != 1 || got[0].Severity != Warning ||
		!strings.HasPrefix(got[0].Summary, "the client completed the TLS handshake (TLS 1.2, frame 11) but sent nothing under TLS: it closed the connection at once") {
		t.Errorf("nm-exim-tlsfail12: %v", got)
	}
}

func TestHarakasMessageTooBigIsTiedToItsSIZE(t *testing.T) {
	// h-size.pcap: SIZE 20000 offered, 82772 bytes sent without SIZE=,
	// "550 Message too big!" (frame 79): no enhanced code, the words say it.
	got := findingsOf(analyze(t, capturePath("node-sweep/h-size.pcap")), "command-rejected", 0)
	if !slices.ContainsFunc(got, func(f Finding) bool {
		return strings.HasSuffix(f.Summary, "550 Message too big!; the client sent 82772 bytes of message, over the limit of 20000 bytes the server offered (SIZE in its EHLO reply), without declaring the size in MAIL FROM")
	}) {
		t.Errorf("command-rejected %v", got)
	}
}

func TestAPoolsNextMessageIsNoRetry(t *testing.T) {
	// nm-exim-grey.pcap: nodemailer's first message to grey@ is deferred
	// (451, frame 9) and given up; 3 ms later its pool sends another
	// message to grey@ and bob@ (stream 1): grey@ deferred, bob@ delivered.
	// Another message, no retry. The 503 to the first DATA follows from
	// the deferral.
	r := analyze(t, capturePath("node-sweep/nm-exim-grey.pcap"))
	if loops := retryLoops(r); len(loops) != 0 {
		t.Errorf("retry loops %v", loops)
	}
	got := findingsOf(r, "command-rejected", 0)
	if len(got) != 1 || !strings.HasPrefix(got[0].Summary, "DATA was rejected: 503") || !strings.HasPrefix(got[0].Explanation, "DATA was refused because no recipient had been accepted") {
		t.Errorf("command-rejected %v", got)
	}
}

func TestABDATChunkTheServerReadAsCommands(t *testing.T) {
	// h-bdat.pcap: Haraka offers no CHUNKING; "BDAT 33 LAST" and its
	// three-line chunk in one segment (frame 13), then QUIT (15). Haraka
	// answers BDAT with 500 (14) and each chunk line with 500 (16, 18);
	// the QUIT got no answer.
	r := analyze(t, capturePath("node-sweep/h-bdat.pcap"))
	if got := findingsOf(r, "unanswered-command", 0); len(got) != 1 || !strings.HasPrefix(got[0].Summary, `the server never answered "QUIT"`) {
		t.Errorf("unanswered-command %v", got)
	}
	for _, f := range findingsOf(r, "command-rejected", 0) {
		if strings.HasPrefix(f.Summary, "QUIT") {
			t.Errorf("QUIT paired with a chunk line's refusal: %s", f.Summary)
		}
	}
	if d := connectionOf(t, r, 0).Diagnosis; !strings.HasPrefix(d, `The client sent a BDAT chunk to a server that did not offer CHUNKING; it refused BDAT (500 in frame 14) and reads the chunk's lines, such as "Subject: bdat", as commands`) {
		t.Errorf("diagnosis %q", d)
	}
}

func TestAnOversizeMessageTheServerTookAllTheSame(t *testing.T) {
	// ss-size.pcap: smtp-server offers SIZE 2000 but does not enforce it:
	// MAIL … SIZE=500, 4336 bytes sent, 250 (frame 21).
	got := findingsOf(analyze(t, capturePath("node-sweep/ss-size.pcap")), "size-mismatch", 0)
	if len(got) != 1 || got[0].Summary != "the client declared SIZE=500 but sent 4336 bytes of message, over the limit of 2000 bytes the server offered, which it took all the same" {
		t.Errorf("size-mismatch %v", got)
	}
}

func TestAnImplicitTLSHandshakeTheClientGaveUp(t *testing.T) {
	// ss-smtpsfail.pcap: port 465, nodemailer refuses smtp-server's
	// self-signed certificate: ClientHello (frame 4), the server's whole
	// flight (6), the client's FIN (8) without its Finished. ss-smtps.pcap
	// is the same session that worked.
	got := findingsOf(analyze(t, capturePath("node-sweep/ss-smtpsfail.pcap")), "tls-handshake-failed", 0)
	if len(got) != 1 || got[0].Severity != Warning || !slices.Equal(got[0].Frames, []int{4, 6, 8}) ||
		!strings.HasPrefix(got[0].Summary, "the TLS handshake of the implicit-TLS session did not complete: the client never finished the handshake after the server's (TLS 1.3, frame 6) and closed the connection first") {
		t.Errorf("ss-smtpsfail: %v", got)
	}
	r := analyze(t, capturePath("node-sweep/ss-smtps.pcap"))
	if got := findingsOf(r, "tls-started", 0); len(got) != 1 || r.Findings.Len() != 1 {
		t.Errorf("ss-smtps: %v", r.Findings)
	}
}

func TestAnIdleTimeoutAfterAResetTransactionIsTold(t *testing.T) {
	// nm-exim-poolidle.pcap: four messages on one nodemailer connection,
	// the third refused (550, 503) and reset; 4 s idle later Exim closes
	// with 421 … SMTP command timeout (frame 39). The reset transaction
	// was over: the 421 closed an idle session, and says so.
	r := analyze(t, capturePath("node-sweep/nm-exim-poolidle.pcap"))
	got := findingsOf(r, "command-deferred", 0)
	if len(got) != 1 || !slices.Equal(got[0].Frames, []int{39}) || !strings.HasPrefix(got[0].Summary, "the server closed the session unasked with 421") {
		t.Errorf("command-deferred %v", got)
	}
	if d := connectionOf(t, r, 0).Diagnosis; !strings.HasSuffix(d, `The server then closed the session unasked with 421 "mx.example.test: SMTP command timeout - closing connection" (frame 39).`) {
		t.Errorf("diagnosis %q", d)
	}
}

func TestAnOutOfStepRefusalAfterAWaitIsNotTheStory(t *testing.T) {
	// h-eximdown.pcap: Haraka could not reach Exim and sat on the end of
	// data for 30 s (frame 15); swaks gave up and sent QUIT (19); Haraka
	// then answered 450 plugin timeout and 503 pipelined after end of
	// DATA together (21). The wait leads, not the 503.
	d := connectionOf(t, analyze(t, capturePath("node-sweep/h-eximdown.pcap")), 0).Diagnosis
	if !strings.HasPrefix(d, `Server silent 30.0 s after the client's end of data in frame 15; the client gave up waiting and sent "QUIT" in frame 19. The server answered the message only then: the message was deferred: 450 plugin timeout`) ||
		!strings.HasSuffix(d, "What the client had sent meanwhile it refused as out of step (frame 21).") {
		t.Errorf("diagnosis %q", d)
	}
}
