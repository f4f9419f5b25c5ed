package split

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// lateCapture builds three connections whose packets come after they
// finished: A closes cleanly and its server sends its FIN again 30 s
// later; B closes without the last ACK, which comes 2 s later; C reuses
// A's 4-tuple (another ISN) after that. It returns the capture and the
// timestamps of A's and B's late packets.
func lateCapture(t *testing.T) (capture []byte, lateA, lateB time.Time) {
	return lateCaptureIn(t, capgen.Format{})
}

// lateCaptureIn is lateCapture written in format f.
func lateCaptureIn(t *testing.T, f capgen.Format) (capture []byte, lateA, lateB time.Time) {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, f, capgen.LinkEthernet)
	client, server := netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.25:25")
	t0 := time.Unix(1_700_000_000, 0)

	a := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 2000)
	a.SMTP("a@example.org", "b@example.net", "Subject: a\r\n\r\nhello\r\n")
	a.Pause(30 * time.Second)
	lateA = a.Now
	a.Emit(false, a.Sent(false)+2000+1, capgen.FIN|capgen.ACK, nil) // the server's FIN once more

	b := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.11:41001"), server, a.Now.Add(time.Second), 3000, 4000)
	b.Handshake()
	b.Server("220 mx\r\n")
	b.Client("QUIT\r\n")
	b.Server("221 bye\r\n")
	// B's FINs and its last ACK, sequence and acknowledgement numbers by hand.
	cseq, sseq := 3000+1+b.Sent(true), 4000+1+b.Sent(false)
	segment := func(fromClient bool, seq, ack uint32, flags uint8, ts time.Time) {
		p := capgen.Packet{Src: b.ClientAddr, Dst: b.ServerAddr, TTL: 64, Flags: flags, Seq: seq, Ack: ack}
		if !fromClient {
			p.Src, p.Dst = p.Dst, p.Src
		}
		w.WriteFrame(ts, capgen.LinkEthernet, capgen.Frame(capgen.LinkEthernet, &p))
	}
	segment(true, cseq, sseq, capgen.FIN|capgen.ACK, b.Now)
	segment(false, sseq, cseq+1, capgen.FIN|capgen.ACK, b.Now.Add(time.Millisecond))
	lateB = b.Now.Add(2 * time.Second)
	segment(true, cseq+1, sseq+1, capgen.ACK, lateB) // the last ACK, late

	c := capgen.NewSession(w, capgen.LinkEthernet, client, server, lateB.Add(time.Second), 90000, 95000)
	c.SMTP("c@example.org", "d@example.net", "Subject: c\r\n\r\nagain\r\n")
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), lateA, lateB
}

// splitBytes splits a capture held in memory into dir, the tracker
// forgetting finished connections when forget is set, with gathering
// limits tiny when eager is set (every closed file written at once).
func splitBytes(t *testing.T, capture []byte, dir string, forget, eager bool) ([]File, *reassembly.Tracker) {
	t.Helper()
	c, err := reassembly.OpenReader("late.pcap", bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Dir: dir, Prefix: "late", LinkType: c.Inputs[0].LinkType, Snaplen: c.Inputs[0].Snaplen, Inputs: []string{"late.pcap"}})
	if err != nil {
		t.Fatal(err)
	}
	tracker := reassembly.NewTracker(reassembly.TrackerOptions{})
	if forget {
		tracker = s.Tracker(reassembly.TrackerOptions{})
	}
	if eager {
		s.gather = gatherLimits{piece: 1, minPiece: 1, held: 1}
	}
	if _, err := reassembly.Walk(c, tracker, func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		return s.Add(cn, p)
	}); err != nil {
		t.Fatal(err)
	}
	files, index, err := s.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	return indexedFiles(t, files, index), tracker
}

// TestForgottenConnectionsKeepTheirLatePackets: with the tracker forgetting
// every connection the splitter is done with, a packet that comes after
// its connection finished still goes to that connection's file, a new
// connection on the same 4-tuple still gets its own, and the files and
// index are byte for byte those of a split that forgets nothing.
func TestForgottenConnectionsKeepTheirLatePackets(t *testing.T) {
	capture, lateA, lateB := lateCapture(t)
	orig, _ := readOriginalBytes(t, capture)
	frameAt := func(ts time.Time) int {
		for f, p := range orig {
			if p.ts.Equal(ts) {
				return f
			}
		}
		t.Fatalf("no frame at %v", ts)
		return 0
	}
	frameA, frameB := frameAt(lateA), frameAt(lateB)

	for _, eager := range []bool{false, true} {
		keep, forget := t.TempDir(), t.TempDir()
		splitBytes(t, capture, keep, false, eager)
		files, tracker := splitBytes(t, capture, forget, true, eager)

		if len(files) != 3 || files[0].Stream != 0 || files[1].Stream != 1 || files[2].Stream != 2 {
			t.Fatalf("eager %v: files %+v, want streams 0, 1, 2", eager, files)
		}
		if !slices.Contains(files[0].Frames, frameA) || files[0].Frames[len(files[0].Frames)-1] != frameA {
			t.Errorf("eager %v: A's late FIN (frame %d) is not the last of its file: %v", eager, frameA, files[0].Frames)
		}
		if files[1].Frames[len(files[1].Frames)-1] != frameB {
			t.Errorf("eager %v: B's late ACK (frame %d) is not the last of its file: %v", eager, frameB, files[1].Frames)
		}
		if files[2].Client != files[0].Client || files[2].Frames[0] <= frameB {
			t.Errorf("eager %v: the new connection on A's 4-tuple: %+v", eager, files[2])
		}
		if n := len(tracker.Conns()); n != 0 || tracker.Count() != 3 {
			t.Errorf("eager %v: the tracker still holds %d of %d connections; every one finished", eager, n, tracker.Count())
		}
		if diff := dirDifference(t, keep, forget); diff != "" {
			t.Errorf("eager %v: forgetting changed the split: %s", eager, diff)
		}
	}
}

// TestKeptOutputsTakeLatePacketsInEveryFormat: what a retired output
// keeps, encoded, serves the late packets of lateCapture as the live
// output did, to pcap and to pcapng files (each with its interfaces) and
// with several inputs (each packet's input and frame there): the files
// and the index are those of a split that forgets nothing.
func TestKeptOutputsTakeLatePacketsInEveryFormat(t *testing.T) {
	for _, ng := range []bool{false, true} {
		capture, _, _ := lateCaptureIn(t, capgen.Format{PcapNG: ng})
		path := filepath.Join(t.TempDir(), "late.pcap")
		if err := os.WriteFile(path, capture, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, inputs := range [][]string{{path}, {path, testcaps.Path("clean.pcapng")}} {
			split := func(dir string, forget bool) (kept, late int) {
				c, err := reassembly.Open(inputs...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				in := c.Inputs[0]
				s, err := New(Options{Dir: dir, Prefix: "late", Format: in.Format, LinkType: in.LinkType, Snaplen: in.Snaplen, Inputs: inputs})
				if err != nil {
					t.Fatal(err)
				}
				tracker := reassembly.NewTracker(reassembly.TrackerOptions{})
				if forget {
					tracker = s.Tracker(reassembly.TrackerOptions{})
				}
				st, err := reassembly.Walk(c, tracker, func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
					return s.Add(cn, p)
				})
				if err != nil {
					t.Fatal(err)
				}
				kept = s.kept.Len()
				if _, _, err := s.Finish(nil); err != nil {
					t.Fatal(err)
				}
				return kept, st.Late
			}
			keep, forget := t.TempDir(), t.TempDir()
			split(keep, false)
			kept, late := split(forget, true)
			if kept != len(inputs)+2 || late != 1 {
				t.Errorf("pcapng %v, %d inputs: %d outputs kept, %d late packets; want every connection's kept, A's late FIN",
					ng, len(inputs), kept, late)
			}
			if diff := dirDifference(t, keep, forget); diff != "" {
				t.Errorf("pcapng %v, %d inputs: forgetting changed the split: %s", ng, len(inputs), diff)
			}
		}
	}
}

// dirDifference names the first file that differs between two directories.
func dirDifference(t *testing.T, a, b string) string {
	t.Helper()
	ea, _ := os.ReadDir(a)
	eb, _ := os.ReadDir(b)
	if len(ea) != len(eb) || len(ea) == 0 {
		return "different files"
	}
	for i := range ea {
		if ea[i].Name() != eb[i].Name() {
			return ea[i].Name() + " against " + eb[i].Name()
		}
		ba, _ := os.ReadFile(filepath.Join(a, ea[i].Name()))
		bb, _ := os.ReadFile(filepath.Join(b, eb[i].Name()))
		if !bytes.Equal(ba, bb) {
			return ea[i].Name()
		}
	}
	return ""
}

// TestAbandonedSYNsAreWrittenAndForgotten: a connection that sent only
// SYNs is written and forgotten once its client has stopped retrying (3
// minutes and 10,000 packets after its last SYN, as analyze gives up on
// it); the SYN-ACK that comes after all is a late packet, the last of its
// file; and the files and index are those of a split that forgets
// nothing.
func TestAbandonedSYNsAreWrittenAndForgotten(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	t0 := time.Unix(1_700_000_000, 0)
	a := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.25:25"), t0, 1000, 2000)
	a.Emit(true, 1000, capgen.SYN, nil)
	a.Pause(time.Second)
	a.Emit(true, 1000, capgen.SYN, nil) // its retry
	a.Now = busyMinutes(w, t0.Add(2*time.Second)).Add(time.Second)
	answer := a.Now
	a.Emit(false, 2000, capgen.SYN|capgen.ACK, nil)
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}

	keep, forget := t.TempDir(), t.TempDir()
	splitBytes(t, buf.Bytes(), keep, false, false)
	files, tracker := splitBytes(t, buf.Bytes(), forget, true, false)
	if len(files) != 2 || files[0].Stream != 0 || files[0].Packets != 3 || !files[0].Last.Equal(answer) {
		t.Fatalf("files %+v; want stream 0 first, its two SYNs and the SYN-ACK at %v", files, answer)
	}
	for _, c := range tracker.Conns() {
		if c.Stream == 0 {
			t.Errorf("the tracker still holds stream 0, abandoned 3 minutes before the capture ended")
		}
	}
	if diff := dirDifference(t, keep, forget); diff != "" {
		t.Errorf("giving up changed the split: %s", diff)
	}
}

// TestAConnectionJoinedMidStreamIsNotAbandoned: a connection whose first
// packet is an empty ACK (the capture began after its handshake) is no
// unanswered SYN: it stays open however long it is quiet, and its data
// minutes later is its own, not a late packet or a new stream.
func TestAConnectionJoinedMidStreamIsNotAbandoned(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	t0 := time.Unix(1_700_000_000, 0)
	a := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.25:25"), t0, 1000, 2000)
	a.Ack(true)
	a.Now = busyMinutes(w, t0.Add(2*time.Second)).Add(time.Second)
	a.Client("NOOP\r\n")
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	keep, forget := t.TempDir(), t.TempDir()
	splitBytes(t, buf.Bytes(), keep, false, false)
	files, _ := splitBytes(t, buf.Bytes(), forget, true, false)
	if len(files) != 2 || files[0].Stream != 0 || files[0].Packets != 3 {
		t.Fatalf("files %+v; want stream 0 first, with its ACK, NOOP and the server's ACK", files)
	}
	if diff := dirDifference(t, keep, forget); diff != "" {
		t.Errorf("forgetting changed the split: %s", diff)
	}
}

// busyMinutes writes, from at, another client's connection of 10,004
// packets over 200 s (more than the 3 minutes and 10,000 packets after
// which unanswered SYNs are given up on) and returns the time of its last
// packet.
func busyMinutes(w *capgen.Writer, at time.Time) time.Time {
	busy := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.11:41001"), netip.MustParseAddrPort("198.51.100.25:25"), at, 3000, 4000)
	busy.Step = 20 * time.Millisecond
	busy.Handshake()
	for range 10001 {
		busy.Ack(true)
	}
	return busy.Now
}
