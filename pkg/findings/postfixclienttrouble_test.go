package findings

import (
	"slices"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// findingsOf returns the findings with id on stream in r.
func findingsOf(r *Report, id string, stream int) []Finding {
	var out []Finding
	for _, f := range r.Findings.All() {
		if f.ID == id && f.Stream == stream {
			out = append(out, f)
		}
	}
	return out
}

// Postfix pipelines QUIT behind its end of data. Behind a path-MTU black
// hole that last segment never reached the server (its ACKs stop where the
// body starts): the QUIT is unanswered because the server never had it.
func TestUnansweredCommandTheServerNeverReceived(t *testing.T) {
	r := analyze(t, testcaps.Path("postfix-client-trouble/postfix-client-pmtu-sender-side.pcap"))
	for stream, want := range map[int]string{
		0: `the server never answered "QUIT" (connection ended: the client's RST in frame 35); its bytes never reached the server: the server's ACKs (last in frame 34) never went past offset 139 of the client's stream`,
		1: `the server never answered "QUIT" (connection ended: the client's RST in frame 70); its bytes never reached the server: the server's ACKs (last in frame 69) never went past offset 139 of the client's stream`,
	} {
		got := findingsOf(r, "unanswered-command", stream)
		if len(got) != 1 || got[0].Summary != want || got[0].Severity != Info {
			t.Errorf("stream %d: %+v\nwant one info finding %q", stream, got, want)
		}
	}
}

// A server that waits for a message resends its 354 when the client's ACK
// for it was lost (here in the black hole with the body). The client's
// silence starts at the first 354, not at its retransmission.
func TestStallCountsFromTheFirstCopyOfAResentReply(t *testing.T) {
	r := analyze(t, testcaps.Path("postfix-client-trouble/postfix-client-pmtu-receiver-side.pcap"))
	for stream, want := range map[int]struct {
		frames  []int
		summary string
	}{
		0: {[]int{10, 13}, "client silent 60.1 s after the server's 354 reply in frame 10 (sent again in frame 11); the server gave up waiting and sent 421 reply in frame 13"},
		1: {[]int{24, 27}, "client silent 60.1 s after the server's 354 reply in frame 24 (sent again in frame 25); the server gave up waiting and sent 421 reply in frame 27"},
	} {
		got := findingsOf(r, "stall", stream)
		if len(got) != 1 || got[0].Summary != want.summary || !slices.Equal(got[0].Frames, want.frames) {
			t.Errorf("stream %d: %+v\nwant frames %v, %q", stream, got, want.frames, want.summary)
		}
	}
}

// On the receiver's side of a path-MTU black hole the message does not
// stop coming: it never comes, and the client's own ACKs say it was sent
// (their sequence number is past every byte that arrived).
func TestMessageLostOnTheWayIsNotCalledStopped(t *testing.T) {
	r := analyze(t, testcaps.Path("postfix-client-trouble/postfix-client-pmtu-receiver-side.pcap"))
	for stream, want := range map[int]string{
		0: `the transaction from <sender@client.example.org> was lost during DATA: the message never reached the server: nothing of it arrived for 60.1 s after frame 9, though the client's ACK in frame 12 shows it had sent 18783 bytes past offset 139 (lost on the way: a capture on the client's side tells whether it kept resending them), and the server gave up with 421 "4.4.2 mx.example.test Error: timeout exceeded" in frame 13, and the connection ended with the client's RST in frame 14`,
		1: `the transaction from <sender@client.example.org> was lost during DATA: the message never reached the server: nothing of it arrived for 60.1 s after frame 23, though the client's ACK in frame 26 shows it had sent 18783 bytes past offset 139 (lost on the way: a capture on the client's side tells whether it kept resending them), and the server gave up with 421 "4.4.2 mx.example.test Error: timeout exceeded" in frame 27, and the connection ended with the client's RST in frame 28`,
	} {
		got := findingsOf(r, "lost-mid-transaction", stream)
		if len(got) != 1 || got[0].Summary != want || got[0].Severity != Error {
			t.Errorf("stream %d: %+v\nwant %q", stream, got, want)
		}
	}
}

// Postfix with smtp_tls_security_level = may, after a failed handshake on
// mail that has waited, connects again at once without STARTTLS and
// delivers in the clear. The failed stream says so; the first failure
// (mail deferred, the next attempt 3 s later with TLS again) and mandatory
// TLS (deferred twice) do not.
func TestPlaintextFallbackAfterAFailedHandshake(t *testing.T) {
	r := analyze(t, testcaps.Path("postfix-client-trouble/postfix-client-tls-may.pcap"))
	const fallback = "; the client connected to the same server again in stream 2, 0.0 s after this STARTTLS, without STARTTLS, and delivered 1 of 1 transactions in the clear: a plaintext fallback"
	for stream, wantFallback := range map[int]bool{0: false, 1: true} {
		got := findingsOf(r, "tls-handshake-failed", stream)
		if len(got) != 1 || strings.HasSuffix(got[0].Summary, fallback) != wantFallback {
			t.Errorf("may, stream %d: %+v, want the fallback told: %v", stream, got, wantFallback)
		}
	}
	if d := r.Connections.All()[1].Diagnosis; !strings.Contains(d, "The client connected to the same server again in stream 2") {
		t.Errorf("may, stream 1 diagnosis %q does not tell of the fallback", d)
	}
	for _, f := range analyze(t, testcaps.Path("postfix-client-trouble/postfix-client-tls-encrypt.pcap")).Findings.All() {
		if strings.Contains(f.Summary, "fallback") {
			t.Errorf("encrypt, stream %d: %s", f.Stream, f.Summary)
		}
	}
}

// TestPostfixClientTroubleFindings pins what analyze says about the
// captures of testdata/pcaps/postfix-client-trouble (see its README for
// the truth per the Postfix logs and tshark): every finding, in order,
// with its stream(s), frames and severity.
func TestPostfixClientTroubleFindings(t *testing.T) {
	type row struct {
		id      string
		stream  int
		streams []int
		frames  []int
		sev     Severity
	}
	for file, want := range map[string][]row{
		"postfix-client-tls-may.pcap": {
			{"tls-handshake-failed", 0, nil, []int{9, 10, 11, 12}, Error},
			{"tls-handshake-failed", 1, nil, []int{26, 27, 28, 29}, Error},
		},
		"postfix-client-tls-encrypt.pcap": {
			{"tls-handshake-failed", 0, nil, []int{9, 10, 11, 12}, Error},
			{"tls-handshake-failed", 1, nil, []int{26, 27, 28, 29}, Error},
		},
		"postfix-client-pmtu-sender-side.pcap": {
			{"large-segments-lost", 0, nil, []int{11, 26, 27, 28, 29, 30, 31, 32, 33}, Error},
			{"unanswered-command", 0, nil, []int{23}, Info},
			{"command-deferred", 0, nil, []int{34}, Info},
			// No stall between the resends: the client was backing off, not silent.
			{"retry-loop", 0, []int{0, 1}, []int{9, 44}, Warning},
			{"large-segments-lost", 1, nil, []int{46, 61, 62, 63, 64, 65, 66, 67, 68}, Error},
			{"unanswered-command", 1, nil, []int{58}, Info},
			{"command-deferred", 1, nil, []int{69}, Info},
		},
		"postfix-client-pmtu-receiver-side.pcap": {
			{"stall", 0, nil, []int{10, 13}, Warning},
			{"lost-mid-transaction", 0, nil, []int{9, 13, 14}, Error},
			{"retry-loop", 0, []int{0, 1}, []int{9, 23}, Warning},
			{"stall", 1, nil, []int{24, 27}, Warning},
			{"lost-mid-transaction", 1, nil, []int{23, 27, 28}, Error},
		},
	} {
		r := analyze(t, testcaps.Path("postfix-client-trouble/"+file))
		var got []row
		for _, f := range r.Findings.All() {
			got = append(got, row{f.ID, f.Stream, f.Streams, f.Frames, f.Severity})
		}
		same := len(got) == len(want)
		for i := 0; same && i < len(got); i++ {
			g, w := got[i], want[i]
			same = g.id == w.id && g.stream == w.stream && slices.Equal(g.streams, w.streams) && slices.Equal(g.frames, w.frames) && g.sev == w.sev
		}
		if !same {
			t.Errorf("%s:\n got %v\nwant %v", file, got, want)
		}
	}
	// The black hole on the sender's side, in its words.
	r := analyze(t, testcaps.Path("postfix-client-trouble/postfix-client-pmtu-sender-side.pcap"))
	want := "the client's 1448-byte segment at offset 139 was sent 9 times in 53.2 s (frames 11,26,27,28,29,30,31,32,…) and never acknowledged, while its segments of up to 114 bytes were: a path-MTU black hole"
	if got := findingsOf(r, "large-segments-lost", 0); len(got) != 1 || got[0].Summary != want {
		t.Errorf("sender side, stream 0: %+v\nwant %q", got, want)
	}
}
