package findings

import (
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// TestAClientThatWentOnToTheNextMX: a real Exim client (testdata/pcaps/
// fallback, testdata/record/fallback) finds nothing listening on its
// first MX host (RST), its SYNs to the second dropped, and delivers
// through the third. Both connect-failed findings name where the mail
// went, and the third connection names the failures before it. With a
// second session of the same client's open all the while, which
// connection carried the mail is not plain: nothing is tied.
func TestAClientThatWentOnToTheNextMX(t *testing.T) {
	r := analyze(t, testcaps.Path("fallback/mx-fallback.pcap"))
	const went = "(stream 2, 4.0 s after this one's first SYN) reached 127.0.0.7:25 and delivered 1 of 1 transactions there: most likely the next MX host or address of the same domain"
	for _, c := range []struct {
		stream int
		want   string
	}{
		{0, "the server refused the connection: its RST in frame 2 answered the client's SYN (frame 1); nothing listens on 127.0.0.5:25; " +
			"after stream 1 failed too, the client's next connection on port 25 " + went},
		{1, "the client's SYN got no answer: 4 SYNs over 3.1 s (frames 3, 4, 5, 6) and no SYN-ACK; 127.0.0.6:25 is unreachable or a firewall drops the packets; " +
			"the client's next connection on port 25 " + went},
	} {
		got := findingsOf(r, "connect-failed", c.stream)
		if len(got) != 1 || got[0].Summary != c.want || got[0].Severity != Error {
			t.Errorf("stream %d: connect-failed %+v\nwant an error: %s", c.stream, got, c.want)
		}
	}
	if d := connectionOf(t, r, 0).Diagnosis; !strings.HasSuffix(d, "listens on 127.0.0.5:25. After stream 1 failed too, the client's next connection on port 25 "+went+".") {
		t.Errorf("stream 0 diagnosis: %s", d)
	}
	if d := connectionOf(t, r, 1).Diagnosis; !strings.HasSuffix(d, "drops the packets. The client's next connection on port 25 "+went+".") {
		t.Errorf("stream 1 diagnosis: %s", d)
	}
	if d := connectionOf(t, r, 2).Diagnosis; d != "The client came here after it failed to connect to 127.0.0.5:25 (stream 0) and 127.0.0.6:25 (stream 1)." {
		t.Errorf("stream 2 diagnosis: %q", d)
	}
	if r.Findings.Len() != 2 {
		t.Errorf("findings: %+v; want the two connect-failed alone", r.Findings)
	}

	r = analyze(t, testcaps.Path("fallback/mx-fallback-busy.pcap"))
	for stream, want := range map[int]string{
		1: "the server refused the connection: its RST in frame 10 answered the client's SYN (frame 9); nothing listens on 127.0.0.5:25",
		2: "the client's SYN got no answer: 4 SYNs over 3.1 s (frames 11, 12, 16, 17) and no SYN-ACK; 127.0.0.6:25 is unreachable or a firewall drops the packets",
	} {
		if got := findingsOf(r, "connect-failed", stream); len(got) != 1 || got[0].Summary != want {
			t.Errorf("busy client, stream %d: connect-failed %+v\nwant, nothing tied: %s", stream, got, want)
		}
	}
	for _, stream := range []int{0, 3} {
		if d := connectionOf(t, r, stream).Diagnosis; strings.Contains(d, "came here") {
			t.Errorf("busy client, stream %d: %s", stream, d)
		}
	}

	// Postfix 3.7 over the same three hosts (relayhost list): the same
	// ties, one connection at a time, its own timings.
	r = analyze(t, testcaps.Path("fallback/postfix-mx-fallback.pcap"))
	const pfWent = "(stream 2, 4.0 s after this one's first SYN) reached 127.0.0.7:25 and delivered 1 of 1 transactions there: most likely the next MX host or address of the same domain"
	for stream, want := range map[int]string{
		0: "the server refused the connection: its RST in frame 2 answered the client's SYN (frame 1); nothing listens on 127.0.0.5:25; after stream 1 failed too, the client's next connection on port 25 " + pfWent,
		1: "the client's SYN got no answer: 4 SYNs over 3.1 s (frames 3, 4, 5, 6) and no SYN-ACK; 127.0.0.6:25 is unreachable or a firewall drops the packets; the client's next connection on port 25 " + pfWent,
	} {
		if got := findingsOf(r, "connect-failed", stream); len(got) != 1 || got[0].Summary != want {
			t.Errorf("Postfix, stream %d: connect-failed %+v\nwant: %s", stream, got, want)
		}
	}
	if d := connectionOf(t, r, 2).Diagnosis; d != "The client came here after it failed to connect to 127.0.0.5:25 (stream 0) and 127.0.0.6:25 (stream 1)." {
		t.Errorf("Postfix, stream 2 diagnosis: %q", d)
	}

	// The same server refusing the client's retry: no next host.
	r = analyze(t, testcaps.Path("crafted/connect-failed.pcap"))
	for _, f := range r.Findings.All() {
		if f.ID == "connect-failed" && strings.Contains(f.Summary, "next connection") {
			t.Errorf("crafted/connect-failed.pcap, stream %d: %s", f.Stream, f.Summary)
		}
	}
}
