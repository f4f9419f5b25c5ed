package findings

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/internal/textdiff"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
)

// readPruning reads the capture of paths into an analyzer that looks for
// legs to let go of after every pruneGap sessions, and returns its JSON
// report and how many legs it held at the end of the capture.
func readPruning(t *testing.T, paths []string, workers, pruneGap int) (report []byte, legs int) {
	t.Helper()
	c, err := reassembly.Open(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	an := NewAnalyzer(Options{})
	an.pruneGap = pruneGap
	if _, err := session.Read(c, session.Options{Stream: -1, Workers: workers, Recycle: true}, func(s *session.Session) error {
		an.Add(s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	legs = an.legs.len()
	var out bytes.Buffer
	if err := WriteJSON(&out, an.Report(nil)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), legs
}

// TestLettingGoOfLegsKeepsTheProxiedSessionsLink: the two legs of a
// proxied session (middlebox-sweep/hold513-513.pcap, the device ACKed the
// client's 513 bytes and never passed them on) in a capture with 700 other
// sessions, opened every 100 ms from 21 s before to 49 s after them. With
// the legs looked over after every session, the analyzer lets go of most
// of them before the end, and the report is the same to the byte: the
// near leg is linked to its far leg, as when every leg is kept.
func TestLettingGoOfLegsKeepsTheProxiedSessionsLink(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Date(2026, 12, 2, 15, 2, 0, 0, time.UTC)
	server := netip.MustParseAddrPort("192.0.2.25:25")
	for i := range 700 {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i%200)}), uint16(30000+i))
		s := capgen.NewSession(w, capgen.LinkEthernet, client, server, start.Add(time.Duration(i)*100*time.Millisecond), uint32(1000+i), uint32(5000+i))
		s.SMTP(fmt.Sprintf("bulk%d@example.net", i), "user@example.com", "Subject: x\r\n\r\nhello\r\n")
	}
	others := filepath.Join(t.TempDir(), "others.pcap")
	if err := os.WriteFile(others, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := []string{testcaps.Path("middlebox-sweep/hold513-513.pcap"), others}
	for _, workers := range []int{1, 3} {
		kept, all := readPruning(t, paths, workers, math.MaxInt)
		pruned, few := readPruning(t, paths, workers, 1)
		if all != 702 || few >= 100 {
			t.Errorf("%d workers: %d legs held at the end without letting go, %d with; want 702 and fewer than 100", workers, all, few)
		}
		if !bytes.Equal(kept, pruned) {
			t.Errorf("%d workers: letting go of legs changed the report:\n%s", workers, textdiff.FirstLine(string(kept), string(pruned)))
		}
		if !strings.Contains(string(pruned), "which never carries them: the device between the legs acknowledged them and did not pass them on") {
			t.Errorf("%d workers: the near leg is not linked to its far leg", workers)
		}
	}
}

// TestLettingGoOfLegsChangesNoReport: on every bundled and corpus capture,
// looking the legs over after every session changes no report.
func TestLettingGoOfLegsChangesNoReport(t *testing.T) {
	for _, path := range testcaps.All() {
		if testcaps.Broken(path) {
			continue
		}
		kept, _ := readPruning(t, []string{path}, 2, math.MaxInt)
		pruned, _ := readPruning(t, []string{path}, 2, 1)
		if !bytes.Equal(kept, pruned) {
			t.Errorf("%s: letting go of legs changed the report:\n%s", path, textdiff.FirstLine(string(kept), string(pruned)))
		}
	}
}
