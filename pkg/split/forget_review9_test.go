package split

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
)

// review9Split splits the inputs as the command does (session.Sniff, the
// given selection), forgetting retired connections when forget is set.
func review9Split(t *testing.T, dir string, sel *session.Selection, forget, eager bool, open func() (*reassembly.Capture, error)) []File {
	t.Helper()
	c, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topts := reassembly.TrackerOptions{Sniff: session.Sniff}
	first := c.Inputs[0]
	o := Options{Dir: dir, Prefix: "r9", Format: first.Format, LinkType: first.LinkType, Snaplen: first.Snaplen, Nanosecond: first.Nanosecond}
	for _, in := range c.Inputs {
		o.Inputs = append(o.Inputs, in.Name)
		if in.Format == reassembly.FormatPcapNG || in.LinkType != first.LinkType {
			o.Format = reassembly.FormatPcapNG
		}
		o.Nanosecond = o.Nanosecond || in.Nanosecond
		o.Snaplen = max(o.Snaplen, in.Snaplen)
	}
	if sel != nil {
		sl := *sel
		o.Select = func(c *reassembly.Conn, final bool) Decision {
			switch sl.Decide(c, final) {
			case session.Take:
				return Take
			case session.Skip:
				return Skip
			}
			return Undecided
		}
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	tracker := reassembly.NewTracker(topts)
	if forget {
		tracker = s.Tracker(topts)
	}
	if eager {
		s.gather = gatherLimits{piece: 1, minPiece: 1, held: 1}
	}
	if _, err := reassembly.Walk(c, tracker, func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		return s.Add(cn, p)
	}); err != nil {
		t.Fatal(err)
	}
	files, index, err := s.Finish(c.Errors())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	var idx Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	_ = files
	return idx.Files
}

func review9Bytes(capture []byte) func() (*reassembly.Capture, error) {
	return func() (*reassembly.Capture, error) { return reassembly.OpenReader("r9.pcap", bytes.NewReader(capture)) }
}

// review9Compare splits twice, forgetting and not, and reports the first
// difference.
func review9Compare(t *testing.T, sel *session.Selection, eager bool, open func() (*reassembly.Capture, error)) (keep, forget []File, diff string) {
	t.Helper()
	kd, fd := t.TempDir(), t.TempDir()
	keep = review9Split(t, kd, sel, false, eager, open)
	forget = review9Split(t, fd, sel, true, eager, open)
	ea, _ := os.ReadDir(kd)
	eb, _ := os.ReadDir(fd)
	var na, nb []string
	for _, e := range ea {
		na = append(na, e.Name())
	}
	for _, e := range eb {
		nb = append(nb, e.Name())
	}
	if strings.Join(na, "\n") != strings.Join(nb, "\n") {
		return keep, forget, "files without forgetting " + strings.Join(na, " ") + "; with forgetting " + strings.Join(nb, " ")
	}
	for _, n := range na {
		ba, _ := os.ReadFile(filepath.Join(kd, n))
		bb, _ := os.ReadFile(filepath.Join(fd, n))
		if !bytes.Equal(ba, bb) {
			return keep, forget, n + " differs"
		}
	}
	return keep, forget, ""
}

// TestReview9RolesTurnedByALatePacketAfterRetirement: a connection on a
// port that is not an SMTP port (split --port 2626, or --all), seen from
// the middle, whose first packet is the server's bare ACK, closes before
// either side sent payload in the capture; the server's greeting,
// retransmitted, comes after the close. Without forgetting, the tracker
// sniffs the greeting and turns the roles, and the file is named after the
// real client; with forgetting, the roles are frozen at retirement.
func TestReview9RolesTurnedByALatePacketAfterRetirement(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	client, server := netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.25:2626")
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, time.Unix(1_700_000_000, 0), 100, 200)
	s.Ack(false) // the server's bare ACK first: its sender is taken for the client
	s.Skip(false, 14)
	s.Close()                                         // client FIN, server FIN, last ACK: finished
	s.SegmentAt(false, 0, []byte("220 mx ready\r\n")) // frame 5: the greeting, resent, late
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	sel := &session.Selection{Ports: []uint16{2626}}
	keep, forget, diff := review9Compare(t, sel, false, review9Bytes(buf.Bytes()))
	t.Logf("without forgetting: %s client %s; with: %s client %s", keep[0].Name, keep[0].Client, forget[0].Name, forget[0].Client)
	if diff != "" {
		t.Errorf("forgetting changed the split: %s", diff)
	}
	if keep[0].Client != forget[0].Client {
		t.Errorf("index client: %s without forgetting, %s with", keep[0].Client, forget[0].Client)
	}
}

// TestReview9LateSYNACKWhoseFirstWasNotCaptured: the server's SYN-ACK was
// not captured; the connection finishes and is retired; a retransmitted
// SYN-ACK (its ack the client's ISN+1) comes late. Without forgetting, the
// tracker takes it for a new connection (startsNew: the old one is
// closed and no SYN-ACK of its own was seen); with forgetting, for a late
// packet of the old one.
func TestReview9LateSYNACKWhoseFirstWasNotCaptured(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	client, server := netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.25:25")
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, time.Unix(1_700_000_000, 0), 100, 200)
	s.Emit(true, 100, capgen.SYN, nil) // frame 1; the SYN-ACK is not in the capture
	s.Ack(true)                        // frame 2
	s.Server("220 mx\r\n")             // 3, 4
	s.Client("QUIT\r\n")               // 5, 6
	s.Server("221 bye\r\n")            // 7, 8
	s.Close()                          // 9, 10, 11
	s.Pause(time.Second)
	// frame 12: the SYN-ACK, resent: seq the server's ISN, ack the client's ISN+1
	w.WriteFrame(s.Now, capgen.LinkEthernet, capgen.Frame(capgen.LinkEthernet, &capgen.Packet{
		Src: server, Dst: client, Seq: 200, Ack: 101, Flags: capgen.SYN | capgen.ACK, TTL: 64, IPID: 0x3000, MSS: 1460}))
	// Another connection after it, to show the stream numbers that follow.
	b := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.11:41001"), server, s.Now.Add(time.Second), 300, 400)
	b.SMTP("a@example.org", "b@example.net", "Subject: b\r\n\r\nhi\r\n")
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	for _, eager := range []bool{false, true} {
		keep, forget, diff := review9Compare(t, nil, eager, review9Bytes(buf.Bytes()))
		if diff != "" {
			t.Errorf("eager %v: forgetting changed the split: %s", eager, diff)
			for _, f := range keep {
				t.Logf("  without forgetting: stream %d frames %v", f.Stream, f.Frames)
			}
			for _, f := range forget {
				t.Logf("  with forgetting:    stream %d frames %v", f.Stream, f.Frames)
			}
		}
	}
}

// TestReview9ForgettingChangesNoRealCapture: every bundled capture (and
// the shared corpus when present) splits the same with and without
// forgetting, by the default selection and with --all.
func TestReview9ForgettingChangesNoRealCapture(t *testing.T) {
	paths := testcaps.All()
	corpus, _ := filepath.Glob("/work/shared/corpus/*/*")
	more, _ := filepath.Glob("/work/shared/corpus/*")
	for _, p := range append(corpus, more...) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && (strings.Contains(p, ".pcap") || strings.HasSuffix(p, ".cap")) {
			paths = append(paths, p)
		}
	}
	n := 0
	for _, p := range paths {
		for _, sel := range []*session.Selection{{}, {All: true}} {
			open := func() (*reassembly.Capture, error) { return reassembly.Open(p) }
			if c, err := open(); err != nil {
				continue
			} else {
				c.Close()
			}
			n++
			for _, eager := range []bool{false, true} {
				if _, _, diff := review9Compare(t, sel, eager, open); diff != "" {
					t.Errorf("%s (all %v, eager %v): %s", p, sel.All, eager, diff)
				}
			}
		}
	}
	t.Logf("%d splits compared", n)
}

// TestReview9ForgettingChangesNoMultiInputSplit: several inputs read as
// one (input_frames), the same with and without forgetting.
func TestReview9ForgettingChangesNoMultiInputSplit(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "pcaps")
	for _, pair := range [][]string{
		{"hold513-client-side.pcap", "hold513-server-side.pcap"},
		{"passthrough-client-side.pcap", "passthrough-server-side.pcap"},
		{"pix-client-side.pcap", "pix-server-side.pcap"},
		{"copies/bridge-any.pcap", "copies/bridge-single.pcap"},
		{"clean.pcapng", "commented.pcapng", "portreuse.pcap"},
		{"multi.pcap", "portreuse.pcap", "midstream.pcap"},
	} {
		var paths []string
		for _, p := range pair {
			paths = append(paths, filepath.Join(root, p))
		}
		open := func() (*reassembly.Capture, error) { return reassembly.Open(paths...) }
		for _, sel := range []*session.Selection{{}, {All: true}} {
			for _, eager := range []bool{false, true} {
				keep, _, diff := review9Compare(t, sel, eager, open)
				if diff != "" {
					t.Errorf("%v (all %v, eager %v): %s", pair, sel.All, eager, diff)
				}
				if len(keep) == 0 {
					t.Errorf("%v: no files", pair)
				}
			}
		}
	}
}
