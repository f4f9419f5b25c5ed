package findings

import (
	"slices"
	"strings"
	"testing"
)

// Cases from the blind re-recording of the core problems
// (testdata/pcaps/core-sweep, its README names the frames).

func TestARetryLoopThroughAProxyIsToldOnce(t *testing.T) {
	// Both sides of the proxy are in the capture: each attempt is there
	// twice, at once; the loop is the client's four attempts.
	loops := retryLoops(analyze(t, capturePath("core-sweep/retry-rst.pcap")))
	if len(loops) != 1 || !slices.Equal(loops[0].Streams, []int{0, 2, 4, 6}) || loops[0].Severity != Error {
		t.Errorf("retry loops %v", loops)
	}
}

func TestABDATChunkThatNeverCameIsNotTheClientsSize(t *testing.T) {
	// bdat-drop-wait.pcap, stream 1 (the server's side of the proxy):
	// BDAT 192 LAST (frame 31) with no bytes behind it; Exim waited and
	// gave up with its 421 data timeout (frame 34); the 6 bytes after
	// are the client's QUIT.
	r := analyze(t, capturePath("core-sweep/bdat-drop-wait.pcap"))
	got := findingsOf(r, "bdat-size-mismatch", 1)
	if len(got) != 1 || got[0].Severity != Warning || !slices.Equal(got[0].Frames, []int{31, 34}) ||
		!strings.Contains(got[0].Summary, "but none of them came for 5 s: the server gave up with 421") {
		t.Errorf("bdat-size-mismatch: %v", got)
	}
	if d := connectionOf(t, r, 1).Diagnosis; !strings.HasPrefix(d, "A BDAT chunk never reached the server") {
		t.Errorf("diagnosis %q", d)
	}
}

func TestABinaryPartOfAMultipartMessageSentWithDATA(t *testing.T) {
	// binary-data.pcap: swaks sends a multipart/mixed message with DATA
	// (frame 12) whose second part says Content-Transfer-Encoding: binary
	// (its header at byte 226 of the content, after "--BB\r\n");
	// Exim offers no BINARYMIME and takes it.
	r := analyze(t, capturePath("core-sweep/binary-data.pcap"))
	got := findingsOf(r, "binary-via-data", 0)
	if len(got) != 1 || got[0].Severity != Error || !slices.Equal(got[0].Frames, []int{12}) ||
		!strings.Contains(got[0].Summary, "a MIME part with Content-Transfer-Encoding: binary, its header at byte 226 of the message") {
		t.Errorf("binary-via-data: %v", got)
	}
	// Its top-level sibling says so of the message itself.
	got = findingsOf(analyze(t, capturePath("core-sweep/binary-toplevel.pcap")), "binary-via-data", 0)
	if len(got) != 1 || !strings.Contains(got[0].Summary, "(Content-Transfer-Encoding: binary)") {
		t.Errorf("binary-via-data, top level: %v", got)
	}
}
