package findings

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// TestReview10RetrySeverityFollowsTheHostThatFailedMost: what held up in
// 6706d3f. Two hosts failing twice each stay a warning over four streams;
// one host's third failure, whatever came between, makes an error; two
// failed transactions in one connection are one attempt of that host.
func TestReview10RetrySeverityFollowsTheHostThatFailedMost(t *testing.T) {
	for _, tc := range []struct {
		clients []string
		txs     []int // transactions per connection (default 1)
		want    string
	}{
		{[]string{"192.0.2.10", "192.0.2.77", "192.0.2.10", "192.0.2.77"}, nil, "[[0 1 2 3] warning]"},
		{[]string{"192.0.2.10", "192.0.2.77", "192.0.2.10", "192.0.2.10"}, nil, "[[0 1 2 3] error]"},
		{[]string{"192.0.2.10", "192.0.2.10", "192.0.2.77"}, []int{2, 1, 1}, "[[0 1 2] warning]"},
		{[]string{"192.0.2.10", "192.0.2.10", "192.0.2.10"}, nil, "[[0 1 2] error]"},
	} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		t0 := time.Unix(1_700_000_000, 0)
		for i, client := range tc.clients {
			s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("%s:%d", client, 40000+i)),
				netip.MustParseAddrPort("198.51.100.25:25"), t0.Add(time.Duration(i)*10*time.Minute), uint32(1000+i*7919), uint32(5000+i*104729))
			s.Handshake()
			n := 1
			if tc.txs != nil {
				n = tc.txs[i]
			}
			plainEnvelope(s)
			s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n")
			s.Server("554 5.7.1 rejected\r\n")
			for range n - 1 {
				s.Client("MAIL FROM:<a@example.org>\r\n")
				s.Server("250 ok\r\n")
				s.Client("RCPT TO:<b@example.test>\r\n")
				s.Server("250 ok\r\n")
				s.Client("DATA\r\n")
				s.Server("354 go\r\n")
				s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n")
				s.Server("554 5.7.1 rejected\r\n")
			}
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			s.Close()
		}
		r := analyzeBytes(t, "hosts.pcap", buf.Bytes())
		var loops []string
		for _, f := range r.Findings.All() {
			if f.ID == "retry-loop" {
				loops = append(loops, fmt.Sprint(f.Streams, " ", f.Severity))
			}
		}
		if fmt.Sprint(loops) != tc.want {
			t.Errorf("%v %v: retry loops %v, want %s", tc.clients, tc.txs, loops, tc.want)
		}
	}
}
