package findings

import (
	"strings"
	"testing"
)

// Cases from the blind recording of captures taken the ways mail
// administrators take them (testdata/pcaps/realism-sweep, its README names
// the frames): snaplen, one direction only, kernel drops, a capture
// stopped early.

func TestASnaplenCutIsNoBareLF(t *testing.T) {
	// s7-snap200.pcap (tcpdump -s 200): each data segment's CR before its
	// last LF was cut off with the rest; the full capture of the same
	// session (s7-ipv4-fragments.pcap) has no bare LF.
	for _, name := range []string{"s7-snap200.pcap", "s7-ipv4-fragments.pcap"} {
		r := analyze(t, capturePath("realism-sweep/"+name))
		for _, f := range r.Findings.All() {
			if f.ID == "bare-lf-in-data" {
				t.Errorf("%s: %s in stream %d: %s", name, f.ID, f.Stream, f.Summary)
			}
		}
	}
}

func TestAServerOnlyCaptureIsOneSided(t *testing.T) {
	// s1-server-only.pcap: the server's packets of two sessions, none of
	// the clients' (asymmetric routing looks the same).
	r := analyze(t, capturePath("realism-sweep/s1-server-only.pcap"))
	for _, stream := range []int{0, 1} {
		got := findingsOf(r, "one-sided-capture", stream)
		if len(got) != 1 || !strings.HasPrefix(got[0].Summary, "the capture holds only the server's packets") {
			t.Errorf("stream %d: one-sided-capture %v", stream, got)
		}
		if got := findingsOf(r, "reply-without-command", stream); len(got) != 0 {
			t.Errorf("stream %d: reply-without-command %v", stream, got)
		}
	}
}

func TestADATALostInAKernelDropIsNoProbe(t *testing.T) {
	// s3-any-client-kerneldrops.pcap, streams 1 and 4: MAIL and RCPT
	// accepted, then the DATA, the message and the 354 lost in the
	// kernel's drops (frames 36, 37 and 136, 137), "250 OK id=…" and QUIT
	// captured. Not an envelope dropped without a message.
	r := analyze(t, capturePath("realism-sweep/s3-any-client-kerneldrops.pcap"))
	for _, stream := range []int{1, 4} {
		if c := connectionOf(t, r, stream); c.EnvelopeOnly != 0 || c.Transactions != 1 {
			t.Errorf("stream %d: %d transactions, %d probes", stream, c.Transactions, c.EnvelopeOnly)
		}
	}
}

func TestACaptureStoppedEarlyDoesNotSayTheMessageFailed(t *testing.T) {
	// s5-count-cut.pcap (tcpdump -c 150): the capture ends inside DATA of
	// stream 2 (frames 128 to 150);
	// Exim delivered the message.
	got := findingsOf(analyze(t, capturePath("realism-sweep/s5-count-cut.pcap")), "lost-mid-transaction", 2)
	if len(got) != 1 || got[0].Severity != Warning || !strings.HasPrefix(got[0].Explanation, "The capture ended while this transaction was still under way") {
		t.Errorf("lost-mid-transaction %v", got)
	}
}
