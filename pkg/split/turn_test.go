package split

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// turnedSplit splits a connection whose roles turn at the server's
// greeting, handing every packet to the writer at once, and returns the
// splitter before Finish or Abort.
func turnedSplit(t *testing.T, dir string) *Splitter {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	client, server := netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.25:2626")
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, time.Unix(1_700_000_000, 0), 100, 200)
	s.Ack(false)
	s.Server("220 mx ready\r\n")
	s.Client("EHLO x\r\n")
	s.Server("250 mx\r\n")
	s.Client("QUIT\r\n")
	s.Server("221 bye\r\n")
	inputs := []string{"turn.pcap"}
	c, err := reassembly.OpenReader("turn.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := New(Options{Dir: dir, Prefix: "turn", LinkType: c.Inputs[0].LinkType, Snaplen: c.Inputs[0].Snaplen, Inputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	sp.gather = gatherLimits{piece: 1, minPiece: 1, held: 1}
	sniff := func(b []byte) (server, client bool) { return bytes.HasPrefix(b, []byte("220 ")), false }
	if _, err := reassembly.Walk(c, reassembly.NewTracker(reassembly.TrackerOptions{Sniff: sniff}), func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		return sp.Add(cn, p)
	}); err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestAbortRemovesTheFileOfAConnectionWhoseRolesTurned: the .part file was
// created under the roles as first guessed; Abort, after the greeting
// turned them, still finds and removes it.
func TestAbortRemovesTheFileOfAConnectionWhoseRolesTurned(t *testing.T) {
	dir := t.TempDir()
	sp := turnedSplit(t, dir)
	if err := sp.stopWriters(); err != nil {
		t.Fatal(err)
	}
	before, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(before) != 1 || !strings.HasSuffix(before[0], ".part") || !strings.Contains(before[0], "198.51.100.25-2626.192.0.2.10-41000") {
		t.Fatalf("before Abort the directory holds %v, want one .part named after the first guess", before)
	}
	sp.Abort()
	after, _ := os.ReadDir(dir)
	if len(after) != 0 {
		t.Errorf("Abort left %v", after)
	}
}
