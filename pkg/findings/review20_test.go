package findings

import (
	"slices"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// TestAServerThatLeftIsNoPipeliningPartner: a command that went unanswered
// because the server had already closed its side is not the end of a
// pipelined group the client broke. In core-sweep/hold513-b.pcap stream 2
// Exim timed out (421, its FIN in frame 81) while the client's DATA
// (frame 77) was on its way, and the client sent its message and QUIT
// (frame 85) to the closed session; in a blind sweep, Exim's "554 Too many
// nonmail commands" and FIN were followed by two NOOPs the same way. The
// loss is told (unanswered-command, the 421), not a pipelining error.
func TestAServerThatLeftIsNoPipeliningPartner(t *testing.T) {
	r := analyze(t, testcaps.Path("core-sweep/hold513-b.pcap"))
	var ids []string
	for _, f := range r.Findings.All() {
		if f.Stream == 2 {
			ids = append(ids, f.ID)
		}
	}
	if slices.Contains(ids, "pipelining-bad-sequence") || !slices.Contains(ids, "unanswered-command") || !slices.Contains(ids, "command-deferred") {
		t.Errorf("stream 2: findings %q; want the unanswered commands and the 421, and no pipelining-bad-sequence", ids)
	}
}

// TestARefusalTheServerHungUpOnSaysSo: a refusal after which the server
// closed the connection at once says so, with the frame of the FIN or
// reset: that refusal ended the session. Exim's ACL "drop" (550, FIN) and
// Postfix's postscreen (521, reset); a refusal the session went on after
// says nothing of the kind.
func TestARefusalTheServerHungUpOnSaysSo(t *testing.T) {
	for _, c := range []struct {
		capture string
		stream  int
		frames  []int
		summary string
	}{
		{"exim-sweep2/drop-exim.pcap", 0, []int{10, 12}, "RCPT TO:<dropme@example.test> was rejected: 550 5.7.1 go away, and the server closed the connection at once (its FIN in frame 13)"},
		{"postscreen/postscreen-pregreet-drop.pcap", 0, []int{4, 8}, "EHLO client.example.org was rejected: 521 5.5.1 Protocol error, and the server closed the connection at once (a reset in frame 10)"},
		{"exim-sweep2/drop-exim.pcap", 1, []int{32}, "the message was rejected: 550 5.7.1 spam, go away"},
	} {
		var got []string
		found := false
		for _, f := range analyze(t, testcaps.Path(c.capture)).Findings.All() {
			if f.ID == "command-rejected" && f.Stream == c.stream {
				got = append(got, f.Summary)
				found = found || f.Summary == c.summary && slices.Equal(f.Frames, c.frames)
			}
		}
		if !found {
			t.Errorf("%s stream %d: command-rejected %q; want %q in frames %v", c.capture, c.stream, got, c.summary, c.frames)
		}
		for _, s := range got {
			if c.stream == 1 && strings.Contains(s, "closed the connection") {
				t.Errorf("%s stream %d: %q tells a hang-up that did not happen", c.capture, c.stream, s)
			}
		}
	}
}
