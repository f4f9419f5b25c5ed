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
	for _, f := range r.Findings.All() {
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

func TestEveryRecipientTurnedDownLeadsTheDiagnosis(t *testing.T) {
	// courier-rcpts-nousers.pcap: authdaemond was not running, so Courier
	// answered every RCPT "450 Service temporarily unavailable." (frames
	// 11–16): the message reached no one, which the reader must learn
	// first, not from three findings read one by one.
	r := analyze(t, capturePath("more-sweep/courier-rcpts-nousers.pcap"))
	want := "All 3 recipients of the message from <a@example.org> were deferred alike: 450 Service temporarily unavailable (frames 11 to 16). Nothing was delivered and the client will try again later;"
	if got := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(got, want) || strings.Contains(got, "more command") {
		t.Errorf("diagnosis %q, want it to start %q and count no refusal again", got, want)
	}
	if n := len(findingsOf(r, "command-deferred", 0)); n != 3 {
		t.Errorf("%d command-deferred findings, want one per RCPT (3)", n)
	}
	// chasquid-rcpts-nousers.pcap: 550, 550, then 421 on the third RCPT.
	r = analyze(t, capturePath("more-sweep/chasquid-rcpts-nousers.pcap"))
	want = "All 3 recipients of the message from <a@example.org> were turned down (2 refused, 1 ended with 421); the first: 550 5.1.1 Destination address is unknown (user does not exist) (frames 11 to 16)."
	if got := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(got, want) {
		t.Errorf("diagnosis %q, want it to start %q", got, want)
	}
	// A refused MAIL is the story, not the RCPTs refused after it
	// (node-sweep/ss-authreq.pcap: 530 authentication required).
	r = analyze(t, capturePath("node-sweep/ss-authreq.pcap"))
	if got := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(got, "MAIL FROM:<alice@example.org> was rejected: 530") {
		t.Errorf("ss-authreq diagnosis %q", got)
	}
	// One recipient of two accepted: no such sentence (courier-rcpts.pcap).
	r = analyze(t, capturePath("more-sweep/courier-rcpts.pcap"))
	if got := r.Connections.All()[0].Diagnosis; strings.Contains(got, "recipients of the message") {
		t.Errorf("courier-rcpts diagnosis %q", got)
	}
}
