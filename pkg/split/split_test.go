package split

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

type origPacket struct {
	stream int
	ts     time.Time
	length int
	data   []byte
}

// readOriginal returns every tracked TCP packet of a capture by frame.
func readOriginal(t *testing.T, path string) (map[int]origPacket, *reassembly.Capture) {
	t.Helper()
	c, err := reassembly.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return originalPackets(t, c), c
}

// readOriginalBytes is readOriginal for a capture held in memory.
func readOriginalBytes(t *testing.T, capture []byte) (map[int]origPacket, *reassembly.Capture) {
	t.Helper()
	c, err := reassembly.OpenReader("capture", bytes.NewReader(capture))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return originalPackets(t, c), c
}

// originalPackets reads every tracked TCP packet of c, by frame.
func originalPackets(t *testing.T, c *reassembly.Capture) map[int]origPacket {
	t.Helper()
	pkts := map[int]origPacket{}
	_, err := reassembly.Walk(c, reassembly.NewTracker(reassembly.TrackerOptions{}), func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		pkts[p.Frame] = origPacket{cn.Stream, p.Timestamp, p.Length, bytes.Clone(p.Data)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

// splitAll splits a capture, taking every connection, into a temp dir.
func splitAll(t *testing.T, path string) (string, []File, *reassembly.Capture) {
	t.Helper()
	c, err := reassembly.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer c.Close()
	in := c.Inputs[0]
	dir := t.TempDir()
	// Wired as the command wires it: finished connections forgotten, their
	// late packets handed over by stream.
	s, err := New(Options{Dir: dir, Prefix: Prefix(path), Format: in.Format, LinkType: in.LinkType,
		Snaplen: in.Snaplen, Nanosecond: in.Nanosecond, MaxOpen: 2, Inputs: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	tracker := s.Tracker(reassembly.TrackerOptions{})
	if _, err := reassembly.Walk(c, tracker, func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		return s.Add(cn, p)
	}); err != nil {
		t.Fatal(err)
	}
	files, index, err := s.Finish(c.Errors())
	if err != nil {
		t.Fatal(err)
	}
	return dir, indexedFiles(t, files, index), c
}

// indexedFiles returns the files of the index at path, with their frame
// numbers, after checking that they are the files Finish returned, which
// leaves the frame numbers to the index.
func indexedFiles(t *testing.T, files []File, path string) []File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var idx Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(idx.Files) != len(files) {
		t.Fatalf("index lists %d files, Finish returned %d", len(idx.Files), len(files))
	}
	for i, f := range files {
		x := idx.Files[i]
		if f.Name != x.Name || f.Stream != x.Stream || f.Client != x.Client || f.Server != x.Server ||
			f.Packets != x.Packets || !f.First.Equal(x.First) || !f.Last.Equal(x.Last) || len(x.Frames) != x.Packets {
			t.Errorf("Finish returned %+v, the index lists %+v", f, x)
		}
		if f.Frames != nil || f.InputFrames != nil {
			t.Errorf("%s: Finish returned frame numbers; they are the index's", f.Name)
		}
	}
	return idx.Files
}

// TestSplitWritesEveryPacketOnceByteForByte is the split invariant: across
// all outputs, the packets are exactly the tracked TCP packets of the
// input, each once, byte for byte, with the original timestamp and length,
// in the original order, each in its own connection's file.
func TestSplitWritesEveryPacketOnceByteForByte(t *testing.T) {
	files := testcaps.All()
	if len(files) == 0 {
		t.Fatal("no captures found under testdata/pcaps")
	}
	for _, path := range files {
		if testcaps.Broken(path) && !strings.HasSuffix(path, "truncated.pcap") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			orig, _ := readOriginal(t, path)
			dir, out, c := splitAll(t, path)
			seen := map[int]bool{}
			for _, f := range out {
				oc, err := reassembly.Open(filepath.Join(dir, f.Name))
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				if oc.Inputs[0].Format != c.Inputs[0].Format {
					t.Errorf("%s: format %v, input was %v", f.Name, oc.Inputs[0].Format, c.Inputs[0].Format)
				}
				var p reassembly.Packet
				i := 0
				for oc.Next(&p) == nil {
					if i >= len(f.Frames) {
						t.Fatalf("%s: more packets than the index lists", f.Name)
					}
					frame := f.Frames[i]
					o, ok := orig[frame]
					switch {
					case !ok:
						t.Fatalf("%s: frame %d is not a tracked packet of the input", f.Name, frame)
					case seen[frame]:
						t.Fatalf("%s: frame %d written twice", f.Name, frame)
					case o.stream != f.Stream:
						t.Errorf("%s: frame %d belongs to stream %d", f.Name, frame, o.stream)
					case !bytes.Equal(p.Data, o.data) || p.Length != o.length || !p.Timestamp.Equal(o.ts):
						t.Errorf("%s: frame %d differs from the input", f.Name, frame)
					case p.LinkType != c.Inputs[0].LinkType && c.Inputs[0].Format == reassembly.FormatPcap:
						t.Errorf("%s: link type %v", f.Name, p.LinkType)
					}
					if i > 0 && frame <= f.Frames[i-1] {
						t.Errorf("%s: frame %d after %d: out of order", f.Name, frame, f.Frames[i-1])
					}
					seen[frame] = true
					i++
				}
				if errs := oc.Errors(); len(errs) > 0 {
					t.Errorf("%s: reading it back: %v", f.Name, errs)
				}
				oc.Close()
				if i != len(f.Frames) || i != f.Packets {
					t.Errorf("%s: %d packets in the file, index says %d", f.Name, i, f.Packets)
				}
			}
			if len(seen) != len(orig) {
				t.Errorf("%d packets written, input has %d tracked TCP packets", len(seen), len(orig))
			}
		})
	}
}

func TestSplitRefusesToOverwriteAndLeavesNoPartFiles(t *testing.T) {
	path := testcaps.Path("multi.pcap")
	dir, files, _ := splitAll(t, path)
	if len(files) != 5 {
		t.Fatalf("%d files, want 5", len(files))
	}
	_, err := New(Options{Dir: dir, Prefix: "multi"})
	if !errors.Is(err, ErrExists) {
		t.Errorf("second split into the same directory: %v, want ErrExists", err)
	}
	if _, err := New(Options{Dir: dir, Prefix: "multi", Force: true}); err != nil {
		t.Errorf("with Force: %v", err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "*.part"))
	if len(parts) != 0 {
		t.Errorf("left .part files: %v", parts)
	}
	var idx Index
	b, err := os.ReadFile(filepath.Join(dir, "multi.index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Schema != IndexSchema || !idx.Complete || len(idx.Files) != 5 || idx.Files[0].Frames[0] != 1 {
		t.Errorf("index %+v", idx)
	}
}

// TestSplitNeverWritesThroughALinkOrOverAPartFile: what an unfinished
// split left under .part names (or a link put there) is refused like any
// earlier output, and with Force removed, never written through: the
// file a link points at is left as it was.
func TestSplitNeverWritesThroughALinkOrOverAPartFile(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	victim := filepath.Join(elsewhere, "victim.txt")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "multi.index.json.part")
	if err := os.Symlink(victim, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	stale := filepath.Join(dir, "multi.s0.192.0.2.1-4000.192.0.2.2-25.pcap.part")
	if err := os.WriteFile(stale, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{Dir: dir, Prefix: "multi"})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), link) {
		t.Errorf("split over .part files: %v, want ErrExists naming %s", err, link)
	}
	s, err := New(Options{Dir: dir, Prefix: "multi", Force: true})
	if err != nil {
		t.Fatalf("with Force: %v", err)
	}
	s.Abort()
	for _, p := range []string{link, stale} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there with Force (%v)", p, err)
		}
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep" {
		t.Errorf("the link's target now holds %q (%v), want it untouched", b, err)
	}
	for _, prefix := range []string{"../escape", "a/b", ".."} {
		if _, err := New(Options{Dir: dir, Prefix: prefix}); err == nil || !strings.Contains(err.Error(), "not a path") {
			t.Errorf("prefix %q: %v, want it refused as a path", prefix, err)
		}
	}
}

func TestSplitOfTruncatedCaptureKeepsWhatWasReadAndSaysSo(t *testing.T) {
	dir, files, c := splitAll(t, testcaps.Path("truncated.pcap"))
	if len(c.Errors()) != 1 || len(files) != 1 {
		t.Fatalf("errors %v, files %d", c.Errors(), len(files))
	}
	var idx Index
	b, _ := os.ReadFile(filepath.Join(dir, "truncated.index.json"))
	json.Unmarshal(b, &idx)
	if idx.Complete || len(idx.Errors) != 1 || !strings.Contains(idx.Errors[0], "truncated.pcap: frame") {
		t.Errorf("index complete=%v errors=%v", idx.Complete, idx.Errors)
	}
}

func TestFileNamesSortInStreamOrderAndAreIPv6Safe(t *testing.T) {
	_, files, _ := splitAll(t, testcaps.Path("ipv6.pcap"))
	if len(files) != 1 || !strings.HasPrefix(files[0].Name, "ipv6.s0000.__1-") || !strings.HasSuffix(files[0].Name, ".__1-25.pcap") {
		t.Errorf("names %v", files)
	}
	_, files, _ = splitAll(t, testcaps.Path("portreuse.pcap"))
	if len(files) != 2 || files[0].Name >= files[1].Name || files[0].Client != files[1].Client {
		t.Errorf("port reuse gives %v", files)
	}
}

// TestWriterFailureIsReportedAndLeavesNothing removes the output directory
// under a running split: the writers' failure must come back from Add or
// Finish, naming the file, and no .part file may be left behind.
func TestWriterFailureIsReportedAndLeavesNothing(t *testing.T) {
	path := testcaps.Path("multi.pcap")
	c, err := reassembly.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := c.Inputs[0]
	dir := filepath.Join(t.TempDir(), "out")
	s, err := New(Options{Dir: dir, Prefix: "multi", Format: in.Format, LinkType: in.LinkType, Snaplen: in.Snaplen})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	_, walkErr := reassembly.Walk(c, reassembly.NewTracker(reassembly.TrackerOptions{}), func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		return s.Add(cn, p)
	})
	err = walkErr
	if err == nil {
		_, _, err = s.Finish(nil)
	} else {
		s.Abort()
	}
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "multi.s0")) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("split into a removed directory: %v", err)
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("output directory came back: %v", statErr)
	}
}

// TestFailedRenameLeavesNoIndex makes one final name a directory, so that
// renaming that output fails: the split reports it, and no index (nor its
// .part) claims a split that did not complete.
func TestFailedRenameLeavesNoIndex(t *testing.T) {
	path := testcaps.Path("multi.pcap")
	_, files, _ := splitAll(t, path)
	c, err := reassembly.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := c.Inputs[0]
	dir := t.TempDir()
	blocker := filepath.Join(dir, files[len(files)-1].Name)
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Dir: dir, Prefix: Prefix(path), Format: in.Format, LinkType: in.LinkType,
		Snaplen: in.Snaplen, Force: true, Inputs: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reassembly.Walk(c, reassembly.NewTracker(reassembly.TrackerOptions{}), func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		return s.Add(cn, p)
	}); err != nil {
		t.Fatal(err)
	}
	_, idx, err := s.Finish(nil)
	var linkErr *os.LinkError
	if !errors.As(err, &linkErr) || linkErr.New != blocker {
		t.Fatalf("Finish: %v (index %q), want the rename onto %s refused", err, idx, blocker)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*index.json*"))
	if len(names) != 0 || idx != "" {
		t.Errorf("index files %v (returned %q) after a failed rename", names, idx)
	}
}

// TestOpenFilesStayWithinMaxOpen splits a capture of 50 interleaved
// connections with MaxOpen 3 and counts, at every packet, the output files
// the process holds open (through /proc/self/fd): never more than 3. It
// also checks every connection got its file with every packet, written in
// many pieces through reopened files.
func TestOpenFilesStayWithinMaxOpen(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to count open files with")
	}
	capture := capgen.GatewayCapture(capgen.GatewayOptions{Seed: 3, TargetBytes: 2 << 20, Concurrency: 50, MaxBody: 64 << 10, NonSMTP: 10})
	c, err := reassembly.OpenReader("gateway.pcap", bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs[0]
	dir := t.TempDir()
	const maxOpen = 3
	s, err := New(Options{Dir: dir, Prefix: "gw", Format: in.Format, LinkType: in.LinkType, Snaplen: in.Snaplen, MaxOpen: maxOpen})
	if err != nil {
		t.Fatal(err)
	}
	// Small pieces and a small budget: connections are written while they
	// are open, so the writers must keep files open and close the least
	// recently written ones.
	s.gather = gatherLimits{piece: 8 << 10, minPiece: 1 << 10, held: 32 << 10}
	openOutputs := func() int {
		fds, _ := os.ReadDir("/proc/self/fd")
		n := 0
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir) {
				n++
			}
		}
		return n
	}
	most, packets := 0, 0
	tracker := reassembly.NewTracker(reassembly.TrackerOptions{})
	_, err = reassembly.Walk(c, tracker, func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		if packets++; packets%16 == 0 {
			most = max(most, openOutputs())
		}
		return s.Add(cn, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := s.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	if most > maxOpen || most < 2 {
		t.Errorf("at most %d output files open at once, MaxOpen %d", most, maxOpen)
	}
	written := 0
	for _, f := range files {
		written += f.Packets
	}
	if conns := len(tracker.Conns()); len(files) != conns || written != packets || conns < 50 {
		t.Errorf("%d files with %d packets; the capture has %d connections, %d TCP packets", len(files), written, conns, packets)
	}
}

// TestSplitNeverReplacesItsInput: an input whose name is one the split
// would write (here the output of an earlier split, split again into the
// same directory) is refused, with --force too, and left as it was;
// files that merely share the prefix do not stop a split.
func TestSplitNeverReplacesItsInput(t *testing.T) {
	dir, files, _ := splitAll(t, testcaps.Path("portreuse.pcap"))
	input := filepath.Join(dir, files[0].Name)
	before, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		_, err := New(Options{Dir: dir, Prefix: "portreuse", Force: force, Inputs: []string{input}})
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), input) {
			t.Errorf("force %v: %v, want ErrInput naming %s", force, err, input)
		}
	}
	if after, _ := os.ReadFile(input); !bytes.Equal(before, after) {
		t.Errorf("the input changed")
	}

	other := t.TempDir()
	for _, name := range []string{"dump.smtp-notes.txt", "dump.s1.pcap.bak", "dump.sx.pcap"} {
		if err := os.WriteFile(filepath.Join(other, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(Options{Dir: other, Prefix: "dump"}); err != nil {
		t.Errorf("unrelated files with the prefix: %v", err)
	}
}

// TestClosedConnectionsWithoutTheirLastACKStayBounded: connections that
// close with FIN both ways but whose last ACK is not in the capture wait
// for it in the closing list; with a small budget they are written out as
// memory runs short, so what is held never grows with their number, and
// every file is complete. A look at the list with a time writes out those
// closed closingWait before it.
func TestClosedConnectionsWithoutTheirLastACKStayBounded(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Unix(1_700_000_000, 0)
	body := strings.Repeat("x", 1500) + "\r\n"
	for i := range 30 {
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("192.0.2.10:%d", 41000+i)),
			netip.MustParseAddrPort("198.51.100.25:25"), start.Add(time.Duration(i)*time.Second), 100, 200)
		s.Handshake()
		s.Server("220 mx\r\n")
		s.Client(body)
		s.Emit(true, 100+1+uint32(len(body)), capgen.FIN|capgen.ACK, nil)
		s.Emit(false, 200+1+8, capgen.FIN|capgen.ACK, nil) // no last ACK follows
	}
	const budget = 8 << 10
	most := 0
	s, packets := splitCapture(t, "closing.pcap", buf.Bytes(), gatherLimits{piece: 256 << 10, minPiece: 16 << 10, held: budget}, func(s *Splitter) {
		most = max(most, s.held)
	})
	if most > budget+4<<10 {
		t.Errorf("held up to %d bytes with a budget of %d", most, budget)
	}
	if len(s.closing) == 0 || len(s.closing) == 30 {
		t.Errorf("%d connections waiting in the closing list at the end", len(s.closing))
	}
	// Capture time 5 s after the last connection's start: only the most
	// recent ones may still wait.
	if err := s.flushClosing(start.Add(34 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.closing {
		if o := e.o; o.closing && start.Add(34*time.Second).Sub(o.last) >= closingWait {
			t.Errorf("stream %d closed at %v still waits", o.conn.Stream, o.last)
		}
	}
	files, written := finishSplit(t, s)
	if len(files) != 30 || written != packets {
		t.Errorf("%d files with %d packets, want 30 with %d", len(files), written, packets)
	}
}

// TestClosingListLooksOnlyAtItsFront: a connection written since it joined
// the closing list leaves it when it reaches the front, one that closed
// closingWait ago is written, and one that saw packets after it closed
// waits again from its last packet.
func TestClosingListLooksOnlyAtItsFront(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Unix(1_700_000_000, 0)
	server := netip.MustParseAddrPort("198.51.100.25:25")
	session := func(port uint16, at time.Duration, lastACK bool) *capgen.Session {
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), port),
			server, start.Add(at), 100, 200)
		s.Handshake()
		s.Server("220 mx\r\n")
		if lastACK {
			s.Close()
			return s
		}
		s.Emit(true, 101, capgen.FIN|capgen.ACK, nil)
		s.Emit(false, 200+1+8, capgen.FIN|capgen.ACK, nil)
		return s
	}
	session(41000, 0, false)          // stream 0: no last ACK
	session(41001, time.Second, true) // stream 1: its last ACK finishes it
	c := session(41002, 2*time.Second, false)
	c.Pause(4500 * time.Millisecond)                   // stream 2, at 6.5 s:
	c.Emit(false, 200+1+8, capgen.FIN|capgen.ACK, nil) // its FIN again

	s, _ := splitCapture(t, "closing.pcap", buf.Bytes(), gatherLimits{}, nil)
	waiting := func() (streams []int) {
		for _, e := range s.closing {
			streams = append(streams, e.o.conn.Stream)
		}
		return streams
	}
	if got := waiting(); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("closing list holds streams %v after the walk, want [0 1 2]", got)
	}
	if s.outs[1].closing {
		t.Errorf("stream 1 finished but is still marked as waiting")
	}
	if err := s.flushClosing(start.Add(7200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got := waiting(); !slices.Equal(got, []int{2}) || !s.outs[2].closing {
		t.Errorf("at 7.2 s the closing list holds streams %v, want stream 2 waiting again", got)
	}
	if s.outs[0].closing || !s.outs[0].created {
		t.Errorf("stream 0 closed at 0 s was not written at 7.2 s")
	}
	if err := s.flushClosing(start.Add(11600 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got := waiting(); len(got) != 0 {
		t.Errorf("at 11.6 s the closing list still holds streams %v", got)
	}
	files, _, err := s.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[2].Packets != 8 {
		t.Errorf("got %d files, the third with %v packets; want 3, the third with 8", len(files), files)
	}
}

// TestOpenConnectionsWithLittleDataHoldLittleMemory: a scan's SYNs leave
// thousands of connections open with a packet or two each; each holds a
// small first block, not a 32 KiB pool block, until it grows.
func TestOpenConnectionsWithLittleDataHoldLittleMemory(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Unix(1_700_000_000, 0)
	const scans = 2000
	for i := range scans {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 40000)
		s := capgen.NewSession(w, capgen.LinkEthernet, client, netip.MustParseAddrPort("198.51.100.25:25"), start.Add(time.Duration(i)*time.Millisecond), 100, 200)
		s.Emit(true, 100, capgen.SYN, nil)
	}
	big := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.1:41000"), netip.MustParseAddrPort("198.51.100.25:25"), start.Add(3*time.Second), 100, 200)
	big.Handshake()
	big.Client(strings.Repeat("x", 1400)+"\r\n", 1402)
	big.Client(strings.Repeat("y", 1400)+"\r\n", 1402)

	s, packets := splitCapture(t, "scan.pcap", buf.Bytes(), gatherLimits{}, nil)
	held := 0
	for _, o := range s.outs[:scans] {
		for _, b := range o.buf.list {
			held += cap(b)
		}
	}
	if held != scans*firstBlockSize {
		t.Errorf("%d connections with a SYN each hold %d bytes of blocks, want %d", scans, held, scans*firstBlockSize)
	}
	if n := len(s.outs[scans].buf.list); n != 2 || cap(s.outs[scans].buf.list[1]) != blockSize {
		t.Errorf("a connection with 3 KB holds %d blocks; want its first and then a pool block", n)
	}
	files, written := finishSplit(t, s)
	if len(files) != scans+1 || written != packets {
		t.Errorf("%d files with %d packets, want %d with %d", len(files), written, scans+1, packets)
	}
}

// TestClosingListSurvivesAClockStep: one connection stamped an hour ahead
// (a clock step) closes first; 30 ordinary connections close after it
// without their last ACK. At capture time 34 s every ordinary one closed
// closingWait ago is written; the one from the future waits on.
func TestClosingListSurvivesAClockStep(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Unix(1_700_000_000, 0)
	mk := func(port int, at time.Time) {
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("192.0.2.10:%d", port)),
			netip.MustParseAddrPort("198.51.100.25:25"), at, 100, 200)
		s.Handshake()
		s.Server("220 mx\r\n")
		s.Emit(true, 101, capgen.FIN|capgen.ACK, nil)
		s.Emit(false, 200+1+8, capgen.FIN|capgen.ACK, nil) // no last ACK
	}
	mk(40999, start.Add(time.Hour))
	for i := range 30 {
		mk(41000+i, start.Add(time.Duration(i)*time.Second))
	}
	s, _ := splitCapture(t, "closing.pcap", buf.Bytes(), gatherLimits{}, nil)
	now := start.Add(34 * time.Second)
	if err := s.flushClosing(now); err != nil {
		t.Fatal(err)
	}
	stuck := 0
	for _, o := range s.outs {
		if o.closing && now.Sub(o.last) >= closingWait {
			stuck++
		}
	}
	if stuck != 0 {
		t.Errorf("%d connections closed over closingWait ago still wait (held in memory) behind one stamped in the future", stuck)
	}
	if !s.outs[0].closing {
		t.Errorf("the connection from an hour ahead was written at 34 s")
	}
	files, _, err := s.Finish(nil)
	if err != nil || len(files) != 31 {
		t.Errorf("%d files, %v; want 31", len(files), err)
	}
}

// splitCapture opens a capture built in memory, makes a Splitter for it
// (limits, when not zero, replaces the gathering limits) and offers it
// every packet, as the split command does. It returns the Splitter, not
// finished, and how many packets it was offered; after says what to do
// after each offer (nil for nothing).
func splitCapture(t *testing.T, name string, capture []byte, limits gatherLimits, after func(*Splitter)) (*Splitter, int) {
	t.Helper()
	c, err := reassembly.OpenReader(name, bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs[0]
	s, err := New(Options{Dir: t.TempDir(), Prefix: strings.TrimSuffix(name, ".pcap"), Format: in.Format, LinkType: in.LinkType, Snaplen: in.Snaplen})
	if err != nil {
		t.Fatal(err)
	}
	if limits != (gatherLimits{}) {
		s.gather = limits
	}
	packets := 0
	_, err = reassembly.Walk(c, reassembly.NewTracker(reassembly.TrackerOptions{}), func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		packets++
		err := s.Add(cn, p)
		if after != nil {
			after(s)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, packets
}

// finishSplit finishes s and returns its files and how many packets they hold.
func finishSplit(t *testing.T, s *Splitter) ([]File, int) {
	t.Helper()
	files, _, err := s.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	written := 0
	for _, f := range files {
		written += f.Packets
	}
	return files, written
}

func TestOutputNamesOfAnotherPrefixAreNotOurs(t *testing.T) {
	a, as1 := &Splitter{opts: Options{Prefix: "A"}}, &Splitter{opts: Options{Prefix: "A.s1"}}
	for _, tc := range []struct {
		s    *Splitter
		name string
		want bool
	}{
		{a, "A.s0001.192.0.2.1-4000.192.0.2.2-25.pcap", true},
		{a, "A.s0.2001_db8__1-4000.2001_db8__2-25.pcapng.part", true},
		{a, "A.index.json", true},
		{a, "A.s1.s0000.192.0.2.1-4000.192.0.2.2-25.pcap", false},
		{as1, "A.s1.s0000.192.0.2.1-4000.192.0.2.2-25.pcap", true},
		{a, "A.s1.notes.pcap", false},
	} {
		if got := tc.s.isOutputName(tc.name); got != tc.want {
			t.Errorf("prefix %s, %s: ours %v, want %v", tc.s.opts.Prefix, tc.name, got, tc.want)
		}
	}
	for in, want := range map[string]string{"..pcap": "capture", "dump.pcap.gz": "dump", "-": "stdin"} {
		if got := Prefix(in); got != want {
			t.Errorf("Prefix(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAConnectionWhoseRolesTurnKeepsItsFile: in a capture that began
// mid-stream, the first packet's sender is taken for the client until the
// server's greeting shows otherwise. The file, created before that, is
// still the one the later packets go to and the one renamed, named after
// the roles as known at the end.
func TestAConnectionWhoseRolesTurnKeepsItsFile(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	client, server := netip.MustParseAddrPort("192.0.2.10:41000"), netip.MustParseAddrPort("198.51.100.25:2626")
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, time.Unix(1_700_000_000, 0), 100, 200)
	s.Ack(false) // the server's bare ACK comes first: its sender is taken for the client
	s.Server("220 mx ready\r\n")
	s.Client("EHLO x\r\n")
	s.Server("250 mx\r\n")
	s.Close()
	c, err := reassembly.OpenReader("turn.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sp, err := New(Options{Dir: dir, Prefix: "turn", LinkType: c.Inputs[0].LinkType, Snaplen: c.Inputs[0].Snaplen})
	if err != nil {
		t.Fatal(err)
	}
	sp.gather = gatherLimits{piece: 1, minPiece: 1, held: 1} // every packet handed to the writer at once
	sniff := func(b []byte) (server, client bool) { return bytes.HasPrefix(b, []byte("220 ")), false }
	packets := 0
	if _, err := reassembly.Walk(c, reassembly.NewTracker(reassembly.TrackerOptions{Sniff: sniff}), func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		packets++
		return sp.Add(cn, p)
	}); err != nil {
		t.Fatal(err)
	}
	files, _, err := sp.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "turn.s0000.192.0.2.10-41000.198.51.100.25-2626.pcap"
	if len(files) != 1 || files[0].Name != want || files[0].Packets != packets || files[0].Client != client.String() {
		t.Fatalf("files %+v, want one, %s, with %d packets", files, want, packets)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(names) != 2 || filepath.Base(names[1]) != want {
		t.Errorf("directory holds %v, want the index and %s", names, want)
	}
	oc, err := reassembly.Open(filepath.Join(dir, want))
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	n := 0
	var p reassembly.Packet
	for oc.Next(&p) == nil {
		n++
	}
	if n != packets {
		t.Errorf("%s holds %d packets, want %d", want, n, packets)
	}
}
