package findings

import (
	"fmt"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
)

// TestReview11NATViewFramesAboveFourBillion: frame numbers are ints
// everywhere else (Packet.Frame, Conn.FirstFrame, Finding.Frames); a
// capture of more than 2^32 packets (days on a busy gateway) numbers its
// late connections above 2^32. The seen-through-nat finding takes its
// frames from viewSeen.frame, now a uint32: they wrap to small numbers
// that point at other packets. nat-any.pcap is read with every
// connection's first frame moved up by 2^32, as it would be numbered
// after 2^32 earlier packets.
func TestReview11NATViewFramesAboveFourBillion(t *testing.T) {
	const shift = 1 << 32
	c, err := reassembly.Open(testcaps.Path("nat/nat-any.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	an := NewAnalyzer(Options{})
	if _, err := session.Read(c, session.Options{Stream: -1}, func(s *session.Session) error {
		s.Conn.FirstFrame += shift
		an.Add(s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range an.Report(nil).Findings.All() {
		if f.ID == "seen-through-nat" {
			got = append(got, fmt.Sprint(f.Frames))
		}
	}
	// Unshifted, the report says [1 2] and [77 78] (see nat/README.md).
	want := []string{fmt.Sprint([]int{1 + shift, 2 + shift}), fmt.Sprint([]int{77 + shift, 78 + shift})}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("seen-through-nat frames %v; want %v", got, want)
	}
}
