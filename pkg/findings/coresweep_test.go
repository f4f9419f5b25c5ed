package findings

import (
	"slices"
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
