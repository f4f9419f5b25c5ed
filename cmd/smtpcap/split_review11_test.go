package main

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

// TestReview11SplitKeepsFragmentCopiesToo: split says copies are "kept as
// captured", and its own test checks every frame is written. A capture
// that holds a fragmented datagram twice (tcpdump -i any across a bridge,
// each fragment on the port and on the bridge, 20 µs apart) loses the copy
// of the fragment that completes each datagram: the defragmenter counts
// it in Stats.FragmentCopies and skips it, whatever CountCopies says, and
// no warning names it.
func TestReview11SplitKeepsFragmentCopiesToo(t *testing.T) {
	var one bytes.Buffer
	w1 := capgen.NewWriter(&one, capgen.Format{}, capgen.LinkEthernet)
	t0 := time.Unix(1_700_000_000, 0)
	s := capgen.NewSession(w1, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:40000"),
		netip.MustParseAddrPort("198.51.100.25:25"), t0, 100, 200)
	s.Handshake()
	s.FragmentAt = 600
	s.Server("220 " + string(bytes.Repeat([]byte("x"), 1000)) + "\r\n")
	s.Client("QUIT\r\n")
	s.Server("221 bye\r\n")
	s.Close()
	if err := w1.Err(); err != nil {
		t.Fatal(err)
	}
	c, err := reassembly.OpenReader("one.pcap", bytes.NewReader(one.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var twice bytes.Buffer
	w2 := capgen.NewWriter(&twice, capgen.Format{}, capgen.LinkEthernet)
	var p reassembly.Packet
	frames := 0
	for c.Next(&p) == nil {
		w2.WriteFrame(p.Timestamp, capgen.LinkEthernet, bytes.Clone(p.Data))
		w2.WriteFrame(p.Timestamp.Add(20*time.Microsecond), capgen.LinkEthernet, bytes.Clone(p.Data))
		frames += 2
	}
	if err := w2.Err(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	capture := filepath.Join(dir, "twice.pcap")
	if err := os.WriteFile(capture, twice.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, errOut := runCLI(t, nil, "split", "-o", out, capture)
	idx := readIndex(t, filepath.Join(out, "twice.index.json"))
	written := 0
	for _, f := range idx.Files {
		written += f.Packets
	}
	if code != 0 || written != frames {
		t.Errorf("exit %d, %d of %d frames written; stderr %q", code, written, frames, errOut)
	}
	// The kept copy of a completing fragment is no packet cut by the
	// snaplen, and it counts among the copies: one warning, about copies.
	// All 13 frames captured twice count, the copy of the first fragment
	// too, which joins its datagram before the datagram completes.
	if n := strings.Count(errOut, "\n"); n != 1 || !strings.Contains(errOut, ": 13 packets are the same IP packet as one captured just before") {
		t.Errorf("stderr %q; want one warning, counting 13 copies", errOut)
	}
}
