package findings

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
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
	// sweep20/nonmail.pcap: NOOP after NOOP to Exim, 554 on the eleventh
	// (frame 29), its FIN (frame 31), and two more NOOPs (frames 30, 32).
	var drop []string
	for _, f := range analyze(t, testcaps.Path("sweep20/nonmail.pcap")).Findings.All() {
		if f.Stream != 0 {
			continue
		}
		if f.ID == "pipelining-bad-sequence" {
			t.Errorf("nonmail stream 0: %s", f.Summary)
		}
		if f.ID == "command-rejected" && f.hungUp {
			drop = append(drop, fmt.Sprint(f.Frames, " ", f.Summary))
		}
	}
	if w := "[28 29] NOOP was rejected: 554 Too many nonmail commands, and the server closed the connection at once (its FIN in frame 31)"; !slices.Equal(drop, []string{w}) {
		t.Errorf("nonmail stream 0: the refusals the server hung up on %q, want %q", drop, w)
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

// TestATLSSessionCutMidTransferIsTold: inside TLS nothing of the dialogue
// can be read, but who ended the connection and what was on its way can.
// sweep20/tls-kill.pcap (Exim 4.96, swaks --tls, a 450 KB message over a
// 1 Mbit/s link): in stream 0 swaks is killed after its whole message and
// before the reply (its FIN in frame 725, 616863 bytes after the server's
// last record, the 354 in frame 24); in stream 1 Exim's session process is
// killed while the message comes (its FIN in frame 1091, and the client's
// bytes go on to frame 1159); stream 2 is a clean session, told as TLS
// only.
func TestATLSSessionCutMidTransferIsTold(t *testing.T) {
	want := map[int]struct {
		frames  []int
		summary string
	}{
		0: {[]int{24, 25, 725}, "inside TLS, the client ended the connection (its FIN in frame 725) right after sending 616863 bytes (frames 25 to 725), with no word from the server since frame 24"},
		1: {[]int{1091, 1105, 1159}, "inside TLS, the server ended the connection (its FIN in frame 1091) while the client was still sending: 102808 bytes more came after it (frames 1105 to 1159)"},
	}
	got := map[int][]Finding{}
	for _, f := range analyze(t, testcaps.Path("sweep20/tls-kill.pcap")).Findings.All() {
		if f.ID == "tls-session-cut" {
			got[f.Stream] = append(got[f.Stream], f)
		}
	}
	for stream, w := range want {
		if fs := got[stream]; len(fs) != 1 || !slices.Equal(fs[0].Frames, w.frames) || !strings.HasPrefix(fs[0].Summary, w.summary) || fs[0].Severity != Error {
			t.Errorf("stream %d: %+v; want one error in frames %v saying %q", stream, fs, w.frames, w.summary)
		}
	}
	if len(got[2]) > 0 {
		t.Errorf("the clean TLS session (stream 2) is told as cut: %+v", got[2])
	}
}

// TestABDATChunkCutByTheClientIsLost: sweep20/fin-mid-bdat.pcap, a raw
// client to Exim 4.96: "BDAT 1000 LAST" and 80 bytes, then its FIN (frame
// 13) and Exim's 421 (frame 14); then the same inside DATA (stream 1).
// Both are lost transactions.
func TestABDATChunkCutByTheClientIsLost(t *testing.T) {
	want := map[int]string{
		0: `the transaction from <a@example.org> was lost during BDAT, after 80 bytes of message: the client closed its side first (its FIN in frame 13), and the server answered with 421 "Lost incoming connection" in frame 14`,
		1: `the transaction from <a@example.org> was lost during DATA: the client closed its side first (its FIN in frame 32), and the server answered with 421 "Lost incoming connection" in frame 33`,
	}
	frames := map[int][]int{0: {9, 13, 14, 16}, 1: {26, 32, 33, 35}}
	for _, f := range analyze(t, testcaps.Path("sweep20/fin-mid-bdat.pcap")).Findings.All() {
		if f.ID == "lost-mid-transaction" && strings.HasPrefix(f.Summary, want[f.Stream]) && slices.Equal(f.Frames, frames[f.Stream]) {
			delete(want, f.Stream)
		}
	}
	if len(want) > 0 {
		t.Errorf("no lost-mid-transaction for %v", want)
	}
}

// TestAClientThatGaveUpOnATarpitIsAStall: sweep20/tarpit.pcap, Exim 4.96
// delaying its answer to RCPT by 15 s (an ACL's "delay") and swaks with a
// 5 s timeout: RCPT in frame 10, QUIT 5 s later (frame 12), the client's
// FIN 5 s after that (frame 14), and only then Exim's 250 (frame 15). No
// silence between two packets passed the 10 s threshold, but the server
// took 10 s to answer. Stream 1, an Exim client delivering at once, is
// quiet.
func TestAClientThatGaveUpOnATarpitIsAStall(t *testing.T) {
	var got []string
	for _, f := range analyze(t, testcaps.Path("sweep20/tarpit.pcap")).Findings.All() {
		got = append(got, fmt.Sprint(f.Stream, " ", f.ID, " ", f.Frames, " ", f.Summary))
	}
	want := `0 stall [10 15] server silent 10.0 s after the client's "RCPT TO:<tarpit@example.test>" in frame 10, until its answer in frame 15; the client gave up waiting meanwhile: it sent "QUIT" in frame 12, then closed its side (its FIN in frame 14)`
	if !slices.Equal(got, []string{want}) {
		t.Errorf("findings %q, want only %q", got, want)
	}
}

// TestACommandLineLeftHalfSentIsNoUnansweredCommand: sweep20/partial-stall.pcap,
// Exim 4.96 with a 3 s smtp_receive_timeout and a client that sends
// "MAIL FROM:<alice@exa" (frame 8) and the rest 6 s later (frame 14):
// Exim's 421 command timeout (frame 10) came while the line was half
// sent. The server could not have answered that MAIL; the 421 says why
// the session ended.
func TestACommandLineLeftHalfSentIsNoUnansweredCommand(t *testing.T) {
	var deferred []string
	for _, f := range analyze(t, testcaps.Path("sweep20/partial-stall.pcap")).Findings.All() {
		if f.Stream != 0 {
			continue
		}
		if f.ID == "unanswered-command" {
			t.Errorf("unanswered-command: %s", f.Summary)
		}
		if f.ID == "command-deferred" {
			deferred = append(deferred, fmt.Sprint(f.Frames, " ", f.Summary))
		}
	}
	want := `[8 10 14] the server closed the session unasked with 421 "mx.example.test: SMTP command timeout - closing connection" while the client's command "MAIL FROM:<alice@example.org>" was still incomplete: frame 8 held its first 20 bytes, and the rest came only in frame 14, after that`
	if !slices.Equal(deferred, []string{want}) {
		t.Errorf("command-deferred %q, want %q", deferred, want)
	}
}

// TestAClientPipeliningThroughASlowAnswerDidNotGiveUp: a slow answer with
// the client's next commands in between, but no QUIT or close, is no
// client giving up: the client pipelined (crafted with internal/capgen:
// MAIL, RCPT 6 s later, the answers 12 s after the MAIL). No silence
// between two packets passed the threshold either.
func TestAClientPipeliningThroughASlowAnswerDidNotGiveUp(t *testing.T) {
	r := craftedReport(t, "slow-pipelined", 25, func(s *capgen.Session, fin func(client bool)) {
		s.Handshake()
		eximGreetsWithChunking(s)
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Pause(6 * time.Second)
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Pause(6 * time.Second)
		s.Server("250 OK\r\n250 Accepted\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		fin(false)
		fin(true)
	})
	for _, f := range r.Findings.All() {
		if f.ID == "stall" {
			t.Errorf("stall: %s", f.Summary)
		}
	}
}
