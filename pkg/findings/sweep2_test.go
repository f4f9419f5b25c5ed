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
	for _, c := range r.Connections {
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
