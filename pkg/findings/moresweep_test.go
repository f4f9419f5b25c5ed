package findings

import (
	"strings"
	"testing"
)

// Cases from the blind recording of chasquid 1.11, Courier 1.0.16, dma
// 0.13 and nullmailer 2.2 (testdata/pcaps/more-sweep, its README names
// the frames).

func TestAClientLeavingADeferredEnvelopeLostNothing(t *testing.T) {
	// dma-defer.pcap: the only RCPT greylisted (451, frames 10–11 and
	// 24–25); dma leaves without QUIT (FIN) and tries again later, and
	// stream 2 delivers. Nothing was lost: no lost-mid-transaction, the
	// retry loop (info) tells the story.
	r := analyze(t, capturePath("more-sweep/dma-defer.pcap"))
	for _, f := range r.Findings {
		if f.ID == "lost-mid-transaction" {
			t.Errorf("stream %d: %s", f.Stream, f.Summary)
		}
	}
	loops := retryLoops(r)
	if len(loops) != 1 || loops[0].Severity != Info || !strings.HasSuffix(loops[0].Summary, "it was finally accepted in stream 2") {
		t.Errorf("retry loops %v", loops)
	}
}

func TestChasquidEndsDataAtABareLF(t *testing.T) {
	// chasquid-barelf.pcap: the message ends "\n.\r\n" (frame 15) and
	// chasquid answers 250 at once (16): it takes <LF>.<CRLF> for the end
	// of data, the shape SMTP smuggling needs.
	got := findingsOf(analyze(t, capturePath("more-sweep/chasquid-barelf.pcap")), "smuggling-end-of-data", 0)
	if len(got) != 1 || got[0].Severity != Error {
		t.Errorf("smuggling-end-of-data %v", got)
	}
}
