package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
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
	"github.com/smtpcap/smtpcap/pkg/split"
)

// runCLI runs smtpcap with args and returns its exit status and output.
func runCLI(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"smtpcap"}, args...), bytes.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// mixedCapture writes a capture with an SMTP session on port 25, an SMTP
// session on an odd port (3025), and a non-SMTP connection on port 80.
func mixedCapture(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	srv := netip.MustParseAddr("198.51.100.25")
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:50000"), netip.AddrPortFrom(srv, 25), start, 1, 2)
	s.SMTP("a@example.org", "b@example.test", "hi\r\n")
	h := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:50001"), netip.AddrPortFrom(srv, 80), s.Now, 3, 4)
	h.Handshake()
	h.Client("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	h.Server("HTTP/1.1 200 OK\r\n\r\n")
	h.Close()
	o := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:50002"), netip.AddrPortFrom(srv, 3025), h.Now, 5, 6)
	o.SMTP("a@example.org", "b@example.test", "hi\r\n")
	path := filepath.Join(t.TempDir(), "mixed.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readIndex(t *testing.T, path string) split.Index {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var idx split.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestSplitSelectsSMTPConnectionsByPortAndByContent(t *testing.T) {
	capture := mixedCapture(t)
	cases := []struct {
		args    []string
		streams []int
	}{
		{nil, []int{0, 2}},
		{[]string{"--all"}, []int{0, 1, 2}},
		{[]string{"--port", "80"}, []int{1}},
		{[]string{"--port", "25", "--port", "3025"}, []int{0, 2}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			code, out, errOut := runCLI(t, nil, append(append([]string{"split", "-o", dir}, tc.args...), capture)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			idx := readIndex(t, filepath.Join(dir, "mixed.index.json"))
			var got []int
			for _, f := range idx.Files {
				got = append(got, f.Stream)
				if _, err := os.Stat(filepath.Join(dir, f.Name)); err != nil {
					t.Errorf("index lists %s: %v", f.Name, err)
				}
			}
			if !slices.Equal(got, tc.streams) {
				t.Errorf("streams %v, want %v", got, tc.streams)
			}
			want := fmt.Sprintf("%d connections written to", len(tc.streams))
			if len(tc.streams) == 1 {
				want = "1 connection written to"
			}
			if !strings.Contains(out, want) {
				t.Errorf("no summary in output:\n%s", out)
			}
		})
	}
}

func TestSplitNamesFilesByStreamAndEndpoints(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, nil, "split", "-o", dir, testcaps.Path("portreuse.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "portreuse.s*.pcap"))
	if len(names) != 2 {
		t.Fatalf("files %v", names)
	}
	first := filepath.Base(names[0])
	if !strings.HasPrefix(first, "portreuse.s0000.127.0.1.13-") || !strings.HasSuffix(first, ".127.0.0.13-25.pcap") {
		t.Errorf("first file named %s", first)
	}
	if !strings.Contains(out, first) {
		t.Errorf("summary does not name %s:\n%s", first, out)
	}
}

func TestSplitReadsStandardInputAndGzip(t *testing.T) {
	gz, err := os.ReadFile(testcaps.Path("multi.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, _, errOut := runCLI(t, gz, "split", "-o", dir, "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	idx := readIndex(t, filepath.Join(dir, "stdin.index.json"))
	if len(idx.Files) != 5 || idx.Inputs[0] != "-" {
		t.Errorf("%d files from stdin, inputs %v", len(idx.Files), idx.Inputs)
	}
}

func TestSplitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	capture := testcaps.Path("clean.pcap")
	if code, _, errOut := runCLI(t, nil, "split", "-o", dir, capture); code != 0 {
		t.Fatalf("first split: exit %d: %s", code, errOut)
	}
	code, _, errOut := runCLI(t, nil, "split", "-o", dir, capture)
	if code != 2 || !strings.Contains(errOut, "output file exists (use --force to overwrite)") {
		t.Errorf("second split: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "split", "--force", "-o", dir, capture); code != 0 {
		t.Errorf("with --force: exit %d: %s", code, errOut)
	}
}

func TestBadInputExitsWithStatus2AndNamesTheSpot(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args    []string
		stderr  string
		written int // connection files still written
	}{
		{[]string{"split", "-o", dir, testcaps.Path("empty.pcap")}, "smtpcap: " + testcaps.Path("empty.pcap") + ": empty file\n", 0},
		{[]string{"split", "-o", dir, testcaps.Path("garbage.pcap")}, "smtpcap: " + testcaps.Path("garbage.pcap") + " (offset 0x0): not a pcap or pcapng capture (starts with 12 93 70 db)\n", 0},
		{[]string{"split", "-o", dir, testcaps.Path("truncated.pcap")}, "smtpcap: " + testcaps.Path("truncated.pcap") + ": frame 21 (offset 0x913): file ends inside a record (truncated capture)\n", 1},
		{[]string{"streams", filepath.Join(dir, "missing.pcap")}, "smtpcap: " + filepath.Join(dir, "missing.pcap") + ": no such file or directory\n", 0},
		{[]string{"streams", testcaps.Path("crafted")}, "smtpcap: " + testcaps.Path("crafted") + ": is a directory\n", 0},
		{[]string{"streams", "--format", "xml", testcaps.Path("clean.pcap")}, "smtpcap: --format \"xml\": want table or json\n", 0},
		{[]string{"split"}, "smtpcap: no capture given: smtpcap split FILE [FILE…]\n", 0},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runCLI(t, nil, tc.args...)
			if code != 2 || errOut != tc.stderr {
				t.Errorf("exit %d, stderr %q; want 2, %q", code, errOut, tc.stderr)
			}
		})
	}
	if n, _ := filepath.Glob(filepath.Join(dir, "truncated.s*.pcap")); len(n) != 1 {
		t.Errorf("split of the truncated capture wrote %v, want its one connection", n)
	}
	if idx := readIndex(t, filepath.Join(dir, "truncated.index.json")); idx.Complete {
		t.Errorf("index of a truncated capture says complete")
	}
}

func TestStreamsJSONListsEveryConnection(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "streams", "--format", "json", testcaps.Path("multi.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []streamRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	for i, r := range rows {
		if r.Stream != i || r.End != "fin" || !r.Handshake || r.ClientBy != "handshake" ||
			!strings.HasSuffix(r.Server, ":25") || r.ClientPackets == 0 || r.ServerBytes == 0 {
			t.Errorf("row %d: %+v", i, r)
		}
	}
}

// TestStreamsSaysWhenThereIsNothingToList: instead of an empty table,
// one line says whether the capture had TCP at all and how to list it.
func TestStreamsSaysWhenThereIsNothingToList(t *testing.T) {
	arp := filepath.Join(t.TempDir(), "arp.pcap")
	frame := append(bytes.Repeat([]byte{0xff}, 6), 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x06)
	frame = append(frame, make([]byte, 28)...)
	file := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	file = binary.LittleEndian.AppendUint16(file, 2)
	file = binary.LittleEndian.AppendUint16(file, 4)
	file = binary.LittleEndian.AppendUint32(file, 0)
	file = binary.LittleEndian.AppendUint32(file, 0)
	file = binary.LittleEndian.AppendUint32(file, 65535)
	file = binary.LittleEndian.AppendUint32(file, 1) // Ethernet
	for _, v := range []uint32{1_700_000_000, 0, uint32(len(frame)), uint32(len(frame))} {
		file = binary.LittleEndian.AppendUint32(file, v)
	}
	if err := os.WriteFile(arp, append(file, frame...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"streams", arp}, "no TCP connections in the capture\n"},
		{[]string{"streams", "--port", "80", testcaps.Path("clean.pcap")}, "no connection on port 80 (the capture has 1 TCP connection; --all lists it)\n"},
		{[]string{"streams", "--port", "80", "--port", "8080", testcaps.Path("multi.pcap")}, "no connection on port 80, 8080 (the capture has 5 TCP connections; --all lists them)\n"},
	} {
		code, out, errOut := runCLI(t, nil, tc.args...)
		if code != 0 || out != tc.out || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, %q", tc.args, code, out, errOut, tc.out)
		}
	}
}

func TestStreamsReadsARotatedSetAsOneCapture(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "streams", "--format", "json", testcaps.Path("clean.pcap"), testcaps.Path("portreuse.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []streamRow
	json.Unmarshal([]byte(out), &rows)
	if len(rows) != 3 || rows[0].FirstFrame != 1 || rows[1].FirstFrame != 22 {
		t.Errorf("rows %+v", rows)
	}
}

func TestSplitOfSeveralInputsIndexesEachFilesFrames(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCLI(t, nil, "split", "-o", dir, testcaps.Path("clean.pcap"), testcaps.Path("barelf.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	idx := readIndex(t, filepath.Join(dir, "clean.index.json"))
	if len(idx.Files) != 2 {
		t.Fatalf("%d files", len(idx.Files))
	}
	// clean.pcap (21 frames) comes first in time; barelf.pcap's frame 1 is merged frame 22.
	f := idx.Files[1]
	if f.Frames[0] != 22 || f.InputFrames[0] != "1:1" || f.InputFrames[len(f.InputFrames)-1] != "1:17" || idx.Files[0].InputFrames[20] != "0:21" {
		t.Errorf("frames %v input frames %v", f.Frames, f.InputFrames)
	}
}

// TestSplitIndexCountsOnlyTheInputsRead: a file that cannot be opened,
// given first or between two that can, is an error in the index and no
// input of it, so that "input:frame" numbers name the file the packet
// came from; the outputs are named after the first file read.
func TestSplitIndexCountsOnlyTheInputsRead(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pcap")
	first, second := testcaps.Path("clean.pcap"), testcaps.Path("barelf.pcap")
	code, _, errOut := runCLI(t, nil, "split", "-o", filepath.Join(dir, "out"), missing, first, missing, second)
	if code != 2 || !strings.Contains(errOut, missing+": no such file or directory") {
		t.Fatalf("exit %d, stderr %q; want 2 naming %s", code, errOut, missing)
	}
	idx := readIndex(t, filepath.Join(dir, "out", "clean.index.json"))
	if !slices.Equal(idx.Inputs, []string{first, second}) || idx.Complete || len(idx.Errors) != 2 {
		t.Fatalf("inputs %q, complete %v, errors %q; want the two read, incomplete, two errors", idx.Inputs, idx.Complete, idx.Errors)
	}
	if len(idx.Files) != 2 {
		t.Fatalf("%d files", len(idx.Files))
	}
	if f := idx.Files[1]; f.Frames[0] != 22 || f.InputFrames[0] != "1:1" || f.InputFrames[len(f.InputFrames)-1] != "1:17" {
		t.Errorf("barelf.pcap's connection: frames %v, input frames %v; want 22… and 1:1…1:17", f.Frames, f.InputFrames)
	}
}

// TestSplitIndexIsIncompleteWhenPacketsCouldNotBeDecoded: a capture of a
// link type smtpcap does not decode exits 2, and its index must not claim
// to be complete.
func TestSplitIndexIsIncompleteWhenPacketsCouldNotBeDecoded(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "lt147.pcap")
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 147) // LINKTYPE_USER0
	b = append(b, make([]byte, 8)...)            // timestamp
	b = binary.LittleEndian.AppendUint32(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 4)
	b = append(b, 1, 2, 3, 4)
	if err := os.WriteFile(capture, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, errOut := runCLI(t, nil, "split", "-o", out, capture)
	want := "smtpcap: " + capture + ": frame 1: unsupported link type 147 (LINKTYPE_147): 1 packets not decoded\n"
	if code != 2 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", code, errOut, want)
	}
	if idx := readIndex(t, filepath.Join(out, "lt147.index.json")); idx.Complete || len(idx.Errors) != 1 || idx.Errors[0]+"\n" != strings.TrimPrefix(want, "smtpcap: ") {
		t.Errorf("index complete %v, errors %q", idx.Complete, idx.Errors)
	}
}

// TestMemoryLimitFollowsTheLiveHeap: the limit stays while the live heap
// is well under it, rises to half again a live heap that nears it, and
// never falls.
func TestMemoryLimitFollowsTheLiveHeap(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct{ limit, live, want int64 }{
		{192 * mib, 100 * mib, 192 * mib},
		{192 * mib, 128 * mib, 192 * mib},
		{192 * mib, 160 * mib, 240 * mib},
		{400 * mib, 100 * mib, 400 * mib},
		{192 * mib, 0, 192 * mib},
	} {
		if got := limitFor(tc.limit, tc.live); got != tc.want {
			t.Errorf("limitFor(%d MiB, %d MiB) = %d MiB, want %d MiB", tc.limit/mib, tc.live/mib, got/mib, tc.want/mib)
		}
	}
}

// TestSplitKeepsCopiesAndSaysSo: split writes every frame of a capture
// that holds each packet twice (tcpdump -i any across a bridge) and says
// the copies are there, where analyze counts each packet once.
func TestSplitKeepsCopiesAndSaysSo(t *testing.T) {
	capture := testcaps.Path("copies/bridge-any.pcap")
	dir := t.TempDir()
	code, _, errOut := runCLI(t, nil, "split", "-o", dir, capture)
	want := "smtpcap: warning: " + capture + ": frame 2: 62 packets are the same IP packet as one captured just before (captured on more than one interface, as tcpdump -i any does on a host with a bridge, or duplicated by the network): kept as captured (analyze counts each once)\n"
	if code != 0 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 0, %q", code, errOut, want)
	}
	idx := readIndex(t, filepath.Join(dir, "bridge-any.index.json"))
	if len(idx.Files) != 2 || idx.Files[0].Packets != 78 || idx.Files[1].Packets != 46 {
		t.Errorf("index: %+v; want 78 and 46 packets, every frame", idx.Files)
	}
}

// TestResendingsAreNoCopies: a SYN resent with a new TCP timestamp, and a
// segment resent with a new IPv6 flow label, look the same to a checksum
// that offload left unfilled; only a byte-identical packet (frame 15) is
// a copy (realism-sweep/s7-ipv6-srh.pcap).
func TestResendingsAreNoCopies(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "streams", testcaps.Path("realism-sweep/s7-ipv6-srh.pcap"))
	if code != 0 || !strings.Contains(errOut, "frame 15: 1 packet is the same IP packet as one captured just before") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// TestSplitKeepsTheCaptureComments: the comments of a pcapng's section
// header (Wireshark's capture comments: where and why it was captured) go
// into each file split writes (capture-comment.pcapng, made with editcap).
func TestSplitKeepsTheCaptureComments(t *testing.T) {
	want := []string{"mx1 eth0, ticket 4711: mail to example.test times out", "second line"}
	in, err := reassembly.Open(testcaps.Path("capture-comment.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
	if got := in.Inputs[0].Comments; !slices.Equal(got, want) {
		t.Fatalf("the input's comments: %q, want %q", got, want)
	}
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, nil, "split", "-o", dir, testcaps.Path("capture-comment.pcapng")); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	if len(files) != 1 {
		t.Fatalf("files written: %v", files)
	}
	out, err := reassembly.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var p reassembly.Packet
	n := 0
	for out.Next(&p) == nil {
		n++
	}
	if got := out.Inputs[0].Comments; !slices.Equal(got, want) || n != 21 || len(out.Errors()) > 0 {
		t.Errorf("%s: comments %q, %d packets, errors %v; want %q and 21 packets", files[0], got, n, out.Errors(), want)
	}
}
