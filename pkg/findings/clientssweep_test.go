package findings

import (
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
)

// Cases from the blind sweep of other clients and lossy captures
// (testdata/pcaps/clients-sweep, its README names the frames).

func TestALostSynAckAndGreetingAreTheCapturesLoss(t *testing.T) {
	// The client's SYN (frame 1) and its ACK of the SYN-ACK (frame 3)
	// are in the capture, the SYN-ACK and the 37-byte greeting are not:
	// the client's ACK says where the server's bytes began.
	r := analyze(t, capturePath("clients-sweep/syn-greeting-lost.pcap"))
	var ids []string
	for _, f := range r.Findings.All() {
		ids = append(ids, f.ID)
		if f.Severity > Warning {
			t.Errorf("%s %s: %s", f.Severity, f.ID, f.Summary)
		}
	}
	if strings.Join(ids, " ") != "capture-gap tls-started" {
		t.Errorf("findings %v, want capture-gap tls-started", ids)
	}
}

func TestACaptureBegunAfterTheEHLOKnowsWhatWasOffered(t *testing.T) {
	// Frame 1 is the EHLO reply (with PIPELINING) to an EHLO the capture
	// missed; the client pipelines MAIL and RCPT (frame 2).
	r := analyze(t, capturePath("clients-sweep/midstream-reply-first.pcap"))
	for _, f := range r.Findings.All() {
		if f.ID != "command-rejected" {
			t.Errorf("%s %s: %s", f.Severity, f.ID, f.Summary)
		}
	}
}

func TestALossyCaptureDoesNotMakeUpAHangUp(t *testing.T) {
	// tcpdump -i any dropped packets: the server's 250 to RCPT, its 354
	// and its 250 to the message are not in the capture; the 221 that
	// answered QUIT was paired with the RCPT. Exim delivered the message.
	r := analyze(t, capturePath("clients-sweep/any-lossy-stream2.pcap"))
	for _, f := range r.Findings.All() {
		if strings.Contains(f.Summary, "ended the session on") {
			t.Errorf("%s: %s", f.ID, f.Summary)
		}
		if (f.ID == "command-rejected" || f.ID == "command-deferred") && f.CaptureLoss == "" {
			t.Errorf("a refusal after the loss without its caveat: %s", f.Summary)
		}
	}
	if d := connectionOf(t, r, 0).Diagnosis; !strings.HasPrefix(d, "4430 bytes of the client's stream at offset 89 are not in the capture") {
		t.Errorf("diagnosis %q", d)
	}
}

func TestFramesThatCannotBeLocatedAreSaidSo(t *testing.T) {
	// Two inputs that interleave packet by packet (tcpdump and tshark
	// recording the same traffic at once) leave no map of where each
	// merged frame came from: the note must not promise file_frames.
	c, err := reassembly.Open(capturePath("barelf.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	an := NewAnalyzer(Options{Locate: func(int) (string, bool) { return "", false }})
	if _, err := session.Read(c, session.Options{Stream: -1}, func(s *session.Session) error {
		an.Add(s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := an.Report([]string{"a.pcap", "b.pcapng"})
	if !strings.Contains(r.FrameNote, "so file_frames is missing where it could not place a frame") || r.Findings.Len() == 0 || r.Findings.All()[0].FileFrames != nil {
		t.Errorf("note %q, findings %v", r.FrameNote, r.Findings)
	}
}

func TestTLSAfterALostSTARTTLSReplyIsTLS(t *testing.T) {
	// tcpdump -i any dropped the server's "220 TLS go ahead": the client's
	// ClientHello and what follows are TLS, not lines of escaped bytes.
	hello := "\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03" + strings.Repeat("\xaa", 20) + "\n" + strings.Repeat("\x00\x2f", 10) + "\r\n" + "\x00\x0a\x00\x05"
	r := craftedReport(t, "lost-220-tls", 25, func(s *capgen.Session, fin func(bool)) {
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx.example.test\r\n250 STARTTLS\r\n")
		s.Client("STARTTLS\r\n")
		s.Skip(false, uint32(len("220 2.0.0 Ready to start TLS\r\n")))
		s.Client(hello)
		s.Server("\x16\x03\x03\x00\x04\x02\x00\x00\x00")
		s.Client("\x17\x03\x03\x00\x03abc")
		fin(true)
		fin(false)
	})
	var ids []string
	for _, f := range r.Findings.All() {
		ids = append(ids, f.ID)
	}
	got := findingsOf(r, "tls-started", 0)
	if strings.Join(ids, " ") != "capture-gap tls-started" || len(got) != 1 || !strings.HasPrefix(got[0].Summary, "STARTTLS succeeded (its reply is not in the capture, but the client began TLS)") {
		t.Errorf("findings %v: %v", ids, got)
	}
}

func TestTLSAfterALostSTARTTLSReplyAndHelloIsTLS(t *testing.T) {
	// Stream 8 of the lossy -i any capture: the 220 to STARTTLS and the
	// client's hello were both dropped (frames 8, 9); what the client
	// sent next are TLS records (application data), not commands.
	r := analyze(t, capturePath("clients-sweep/any-lossy-tls.pcap"))
	for _, f := range r.Findings.All() {
		if f.ID != "capture-gap" && f.ID != "tls-started" {
			t.Errorf("%s: %s", f.ID, f.Summary)
		}
	}
	if got := findingsOf(r, "tls-started", 0); len(got) != 1 {
		t.Errorf("tls-started: %v", r.Findings)
	}
}
