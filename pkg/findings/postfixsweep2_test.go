package findings

import (
	"slices"
	"strings"
	"testing"
)

// Cases from the blind Postfix sweep (testdata/pcaps/postfix-sweep2, its
// README names the frames).

func TestMessageLinesAfterARefusedDataAreNoFirewallsWork(t *testing.T) {
	// size.pcap: DATA refused (503, frame 16), the client sends its
	// message anyway, 60 lines of small x's among them (frames 17–20);
	// Postfix hangs up with 221 (frame 23); the client's next MAIL
	// (frame 24) meets the RST (25).
	r := analyze(t, capturePath("postfix-sweep2/size.pcap"))
	for _, id := range []string{"pix-masked-command", "command-split-across-segments", "lost-mid-transaction", "unanswered-command"} {
		if got := findingsOf(r, id, 0); len(got) != 0 {
			t.Errorf("%s: %v", id, got)
		}
	}
	if d := connectionOf(t, r, 0).Diagnosis; !strings.HasPrefix(d, "The client sent its message although DATA was refused (503 in frame 16)") {
		t.Errorf("diagnosis %q", d)
	}
}

func TestAMessageThatNeverBeganIsNotSaidToHaveStopped(t *testing.T) {
	// stall354.pcap: nothing after the 354 for 5 s, Postfix's 421 (frame
	// 12), the whole message in frame 14.
	r := analyze(t, capturePath("postfix-sweep2/stall354.pcap"))
	lost := findingsOf(r, "lost-mid-transaction", 0)
	if len(lost) != 1 || !strings.Contains(lost[0].Summary, "the message never began (nothing from the client for 5.0 s after frame 9)") ||
		!strings.Contains(lost[0].Summary, "the client sent it only after that, in frame 14, too late") {
		t.Errorf("lost-mid-transaction: %v", lost)
	}
}

func TestACommandInClearTextBehindSTARTTLSIsNamed(t *testing.T) {
	// tlsreq2.pcap: "STARTTLS\r\nRSET\r\n" in one segment (frame 13), the
	// ClientHello in frame 16.
	r := analyze(t, capturePath("postfix-sweep2/tlsreq2.pcap"))
	got := findingsOf(r, "pipelining-bad-sequence", 0)
	if len(got) != 1 || !strings.HasSuffix(got[0].Summary, "(the STARTTLS command injection of CVE-2011-0411)") {
		t.Errorf("pipelining-bad-sequence: %v", got)
	}
}

func TestAHelloSentAlthoughSTARTTLSWasRefused(t *testing.T) {
	// tlsreq.pcap: STARTTLS refused with 454 (frame 14), the ClientHello
	// anyway (frame 15), Postfix's "500 5.5.2 Error: bad UTF-8 syntax"
	// (frame 16): one story, not binary read as garbage commands.
	r := analyze(t, capturePath("postfix-sweep2/tlsreq.pcap"))
	got := findingsOf(r, "tls-handshake-failed", 0)
	if len(got) != 1 || !slices.Equal(got[0].Frames, []int{14, 15, 16}) ||
		!strings.HasPrefix(got[0].Summary, `the client began TLS (a ClientHello, frame 15) although the server had refused STARTTLS (454 "4.7.0 TLS not available due to local problem", frame 14)`) {
		t.Errorf("tls-handshake-failed: %v", got)
	}
	for _, id := range []string{"malformed-command", "unanswered-command"} {
		if got := findingsOf(r, id, 0); len(got) != 0 {
			t.Errorf("%s: %v", id, got)
		}
	}
}

func TestACommandTooLongForOneSegmentIsNotBlamedOnTheSplit(t *testing.T) {
	// straddle.pcap: unknown users refused (550) whose RCPTs TCP cut at
	// the MSS of one 3009-byte write; oddcmds.pcap: a 3034-byte RCPT line
	// (frames 19–21) refused with 501 for its syntax.
	for _, name := range []string{"postfix-sweep2/straddle.pcap", "postfix-sweep2/oddcmds.pcap"} {
		r := analyze(t, capturePath(name))
		for _, f := range r.Findings.All() {
			if f.ID == "command-split-across-segments" {
				t.Errorf("%s: %s %s", name, f.Severity, f.Summary)
			}
		}
	}
}
