package findings

import (
	"slices"
	"strings"
	"testing"
)

// Cases from the second Exim sweep (testdata/pcaps/exim-sweep2, its README
// names the frames): real Exim 4.96 sessions a helper recorded blind.

// connectionOf returns the report's row for a stream.
func connectionOf(t *testing.T, r *Report, stream int) Connection {
	t.Helper()
	for _, c := range r.Connections.All() {
		if c.Stream == stream {
			return c
		}
	}
	t.Fatalf("no connection %d in the report", stream)
	return Connection{}
}

func TestRefusalsThatDifferAreNotFoldedTogether(t *testing.T) {
	r := analyze(t, capturePath("exim-sweep2/misc-exim.pcap"))
	// Stream 0: two VRFYs (501), EXPN (550) and FOO (500): four
	// refusals, each its own.
	if got := len(findingsOf(r, "command-rejected", 0)); got != 4 {
		t.Errorf("stream 0: %d command-rejected findings, want 4 (VRFY, VRFY, EXPN, FOO)", got)
	}
	// Stream 1: four unknown commands refused with 500, the last with
	// "Too many unrecognized commands", after which Exim hangs up.
	var told bool
	for _, f := range findingsOf(r, "command-rejected", 1) {
		if strings.Contains(f.Summary, "500 Too many unrecognized commands") && slices.Contains(f.Frames, 63) {
			told = true
		}
		if strings.Contains(f.Summary, "more like it") {
			t.Errorf("stream 1: %q folds other commands as alike", f.Summary)
		}
	}
	if !told {
		t.Errorf("stream 1: no finding tells of Exim's 500 Too many unrecognized commands in frame 63: %v", findingsOf(r, "command-rejected", 1))
	}
}

func TestFoldedRefusalsAreCountedAndNamed(t *testing.T) {
	r := analyze(t, capturePath("exim-sweep2/rcpts-max-shortto-exim.pcap"))
	// 120 pipelined RCPTs, Exim's recipients_max = 50: 70 deferred with
	// 452, 30 of the replies in frame 13 and 40 in frame 14.
	deferred := findingsOf(r, "command-deferred", 0)
	if len(deferred) != 3 {
		t.Fatalf("stream 0: %d command-deferred findings, want 3 (the rest folded): %v", len(deferred), deferred)
	}
	if want := "(and 67 more like it in this stream, frames 13, 14)"; !strings.HasSuffix(deferred[2].Summary, want) {
		t.Errorf("stream 0: last kept refusal %q, want it to end %q", deferred[2].Summary, want)
	}
	if want := "The server turned down 69 more commands (frames 9, 13, 14); the findings tell of each."; !strings.Contains(connectionOf(t, r, 0).Diagnosis, want) {
		t.Errorf("stream 0: diagnosis %q, want %q", connectionOf(t, r, 0).Diagnosis, want)
	}
}

func TestServerThatHangsUpAfterARefusal(t *testing.T) {
	r := analyze(t, capturePath("exim-sweep2/drop-exim.pcap"))
	// Stream 2: MAIL, RCPT user, RCPT dropme and DATA pipelined in frame
	// 43; Exim answers 250, 250, "550 5.7.1 go away" (frame 45) and
	// closes (FIN, frame 46): its ACL said drop. DATA goes unanswered as a
	// matter of course, and nothing was lost in the network.
	if got := findingsOf(r, "unanswered-command", 2); len(got) != 0 {
		t.Errorf("stream 2: DATA, pipelined behind the refused RCPT, reported unanswered: %v", got)
	}
	lost := findingsOf(r, "lost-mid-transaction", 2)
	if len(lost) != 1 {
		t.Fatalf("stream 2: %d lost-mid-transaction findings, want 1", len(lost))
	}
	f := lost[0]
	want := `the server refused "RCPT TO:<dropme@example.test>" with 550 "5.7.1 go away" (frame 45) and closed the connection at once (its FIN in frame 46): the message from <sender@example.org> was not sent, though the server had accepted 1 recipient`
	if f.Severity != Warning || f.Summary != want || !slices.Equal(f.Frames, []int{43, 45, 46}) {
		t.Errorf("stream 2: %s %q frames %v, want warning %q frames [43 45 46]", f.Severity, f.Summary, f.Frames, want)
	}
	if d := connectionOf(t, r, 2).Diagnosis; !strings.HasPrefix(d, "The server refused ") {
		t.Errorf("stream 2: diagnosis %q, want it to tell of the refusal and the hang-up", d)
	}
	// Stream 0 (no pipelining): the client's QUIT after the refusal
	// finds the connection closed; that is no unanswered command either.
	if got := findingsOf(r, "unanswered-command", 0); len(got) != 0 {
		t.Errorf("stream 0: %v", got)
	}
}

func TestAGreetingTooSlowForTheClient(t *testing.T) {
	r := analyze(t, capturePath("exim-sweep2/banner-giveup-exim.pcap"))
	// Stream 1: swaks waits 5 s for Exim's greeting (delayed 12 s), then
	// sends QUIT (frame 11); Exim answers with a 554 synchronization
	// error greeting (frame 14). A client that waited is no early talker.
	if got := findingsOf(r, "early-talker", 1); len(got) != 0 {
		t.Errorf("stream 1: a client that waited 5 s for the greeting called an early talker: %v", got)
	}
	want := `The client waited 5.0 s after the TCP handshake (the server's SYN-ACK in frame 9) for a greeting that did not come, then sent "QUIT" in frame 11 without it; the greeting came 10.0 s after the handshake, in frame 14. The server then refused the session: 554 SMTP synchronization error (frame 14); no mail can go through this connection.`
	if d := connectionOf(t, r, 1).Diagnosis; d != want {
		t.Errorf("stream 1: diagnosis\n%s\nwant\n%s", d, want)
	}
}

func TestNothingIsUnansweredAfterAGreetingThatRefuses(t *testing.T) {
	r := analyze(t, capturePath("exim-sweep2/edge-exim.pcap"))
	// Stream 3: EHLO before the greeting (frame 65), answered with a 554
	// synchronization error greeting (frame 67), and Exim hangs up.
	if got := findingsOf(r, "unanswered-command", 3); len(got) != 0 {
		t.Errorf("stream 3: %v", got)
	}
	if got := findingsOf(r, "early-talker", 3); len(got) != 1 || !slices.Equal(got[0].Frames, []int{65}) {
		t.Errorf("stream 3: early-talker %v, want one in frame 65", got)
	}
}

// retryLoops returns a report's retry-loop findings.
func retryLoops(r *Report) []Finding {
	var out []Finding
	for _, f := range r.Findings.All() {
		if f.ID == "retry-loop" {
			out = append(out, f)
		}
	}
	return out
}

func TestGreylistingThatLetsTheMessageThroughIsNoError(t *testing.T) {
	// Streams 0–2 deferred with 451 at RCPT (no Message-ID seen: they
	// never reached DATA), stream 3 delivered with one.
	for _, name := range []string{"exim-sweep2/greypass-exim.pcap", "exim-sweep2/greypass-nomid-exim.pcap"} {
		loops := retryLoops(analyze(t, capturePath(name)))
		if len(loops) != 1 {
			t.Fatalf("%s: %d retry loops, want 1", name, len(loops))
		}
		f := loops[0]
		if f.Severity != Info || !slices.Equal(f.Streams, []int{0, 1, 2}) || !strings.HasSuffix(f.Summary, "; it was finally accepted in stream 3") ||
			!strings.HasPrefix(f.Explanation, "The message got through in the end, 7 s after the first attempt") {
			t.Errorf("%s: %s %v %q\n%s", name, f.Severity, f.Streams, f.Summary, f.Explanation)
		}
	}
}

func TestEnvelopesRefusedForGoodAreNotCalledOneMessage(t *testing.T) {
	// Four different alerts from one monitor to an unknown user, each
	// refused with 550 at RCPT: nothing tells them from one message
	// retried, and a client does not retry after a 5xx.
	loops := retryLoops(analyze(t, capturePath("exim-sweep2/many-exim.pcap")))
	if len(loops) != 1 || loops[0].Severity != Warning || !strings.Contains(loops[0].Summary, "; every attempt was refused for good (5xx) before its message was sent") {
		t.Errorf("many-exim: %v", loops)
	}
	// Exim's own callouts from the null sender, shown as <>.
	for _, f := range retryLoops(analyze(t, capturePath("exim-sweep2/callout-exim.pcap"))) {
		if slices.Equal(f.Streams, []int{1, 3, 5}) && (f.Severity != Info || !strings.HasPrefix(f.Summary, "the same envelope (<> → nobody@example.test)")) {
			t.Errorf("callouts: %s %q", f.Severity, f.Summary)
		}
	}
}

func TestTheRefusalFollowsAnotherStory(t *testing.T) {
	// size-exim stream 2: SIZE=1000 declared, 48 337 bytes sent, and
	// Exim's 552 after the data (frame 127): the misdeclared size leads,
	// the refusal that was the outcome follows.
	r := analyze(t, capturePath("exim-sweep2/size-exim.pcap"))
	want := "The client declared SIZE=1000 but sent 48337 bytes of message, over the limit of 10240 bytes the server offered. Also: the message was rejected: 552 Message size exceeds maximum permitted (frame 127)."
	if d := connectionOf(t, r, 2).Diagnosis; d != want {
		t.Errorf("size-exim stream 2: diagnosis\n%s\nwant\n%s", d, want)
	}
	// rcpts-max stream 0: swaks's 2163-byte To: header leads; the 70
	// recipients deferred with 452 follow.
	r = analyze(t, capturePath("exim-sweep2/rcpts-max-exim.pcap"))
	if d := connectionOf(t, r, 0).Diagnosis; !strings.Contains(d, "Also: RCPT TO:<u050@example.test> was deferred: 452 too many recipients (frames 9, 13). The server turned down 69 more commands") {
		t.Errorf("rcpts-max stream 0: diagnosis %s", d)
	}
}

func TestAuthRefusalsNameTheMechanismAndACancelIsNone(t *testing.T) {
	r := analyze(t, capturePath("exim-sweep2/auth-exim.pcap"))
	var summaries []string
	for _, f := range r.Findings.All() {
		if f.ID == "command-rejected" {
			summaries = append(summaries, f.Summary)
		}
	}
	// Stream 3: the password answering AUTH LOGIN's challenge refused
	// with 535; stream 4: the client's "*" (frame 92) cancels an exchange,
	// and Exim's 501 (frame 93) answers that: no refusal.
	want := "(an AUTH LOGIN response; credentials not shown) was rejected: 535 Incorrect authentication data"
	if !slices.Contains(summaries, want) {
		t.Errorf("refusals %q, want one %q", summaries, want)
	}
	for _, s := range summaries {
		if strings.Contains(s, "501") {
			t.Errorf("the client's own cancel reported as a refusal: %q", s)
		}
	}
}

func TestAReplysFullStopIsNotDoubled(t *testing.T) {
	// Exim's "421 … closing connection." ends the retry loop's attempts.
	r := analyze(t, capturePath("exim-sweep2/abrupt-exim.pcap"))
	for _, c := range r.Connections.All() {
		if strings.Contains(c.Diagnosis, "..") || strings.Contains(c.Diagnosis, ".;") {
			t.Errorf("stream %d: %s", c.Stream, c.Diagnosis)
		}
	}
	for _, f := range r.Findings.All() {
		if strings.Contains(f.Summary, ".;") || strings.HasSuffix(f.Summary, ".") {
			t.Errorf("%s stream %d: %s", f.ID, f.Stream, f.Summary)
		}
	}
}

func TestAMailRefusedAndSentAgainIsOneTransaction(t *testing.T) {
	// Stream 0: after HELO, MAIL with SIZE= and BODY= is refused with
	// 501 (frames 8, 9) and sent again at once without them: one message.
	c := connectionOf(t, analyze(t, capturePath("exim-sweep2/helo-ext-exim.pcap")), 0)
	if c.Transactions != 1 || c.Delivered != 1 {
		t.Errorf("stream 0: %d/%d delivered, want 1/1", c.Delivered, c.Transactions)
	}
}

func TestCommandsSplitByAFullSegmentAreNotReported(t *testing.T) {
	// swaks pipelines 120 RCPTs in one write; TCP cuts it in segments of
	// the MSS, two RCPTs straddle the cuts (frames 8/9, 9/10) and both
	// are answered 250: nothing a per-segment inspector broke.
	r := analyze(t, capturePath("exim-sweep2/rcpts-max-exim.pcap"))
	if got := findingsOf(r, "command-split-across-segments", 0); len(got) != 0 {
		t.Errorf("stream 0: %v", got)
	}
}

func TestAnMTARetriesOnlyTheRecipientsDeferred(t *testing.T) {
	// Real Exim as the client: stream 0 delivers to user@ and has
	// greypass@ deferred (451, frame 9); streams 1 and 2 retry greypass@
	// alone and are deferred again; stream 3 delivers.
	loops := retryLoops(analyze(t, capturePath("exim-sweep2/eximclient-grey-ipv6.pcap")))
	if len(loops) != 1 || !slices.Equal(loops[0].Streams, []int{0, 1, 2}) || loops[0].Severity != Info ||
		!strings.HasSuffix(loops[0].Summary, "; it was finally accepted in stream 3") {
		t.Errorf("retry loops %v", loops)
	}
}
