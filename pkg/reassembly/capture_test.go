package reassembly

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

var (
	t0     = time.Date(2026, 11, 1, 10, 0, 0, 123456789, time.UTC)
	client = netip.MustParseAddrPort("192.0.2.10:50555")
	server = netip.MustParseAddrPort("198.51.100.25:25")
	c6     = netip.MustParseAddrPort("[2001:db8::10]:50555")
	s6     = netip.MustParseAddrPort("[2001:db8::25]:25")
)

// walkAll reads a capture from memory and returns its connections and stats.
func walkAll(t *testing.T, name string, data []byte) ([]*Conn, Stats, *Capture) {
	t.Helper()
	c, err := OpenReader(name, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	tr := NewTracker(TrackerOptions{})
	st, err := Walk(c, tr, nil)
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return tr.Conns(), st, c
}

func cleanSession(w *capgen.Writer, link uint32, cl, sv netip.AddrPort, start time.Time) *capgen.Session {
	s := capgen.NewSession(w, link, cl, sv, start, 1000, 5000)
	s.SMTP("a@example.org", "b@example.test", "Subject: t\r\n\r\nhello\r\n")
	return s
}

func TestReadsEveryFormatAndLinkType(t *testing.T) {
	formats := map[string]capgen.Format{
		"pcap-le-usec":   {},
		"pcap-le-nsec":   {Nano: true},
		"pcap-be-usec":   {BigEndian: true},
		"pcap-be-nsec":   {BigEndian: true, Nano: true},
		"pcapng-le":      {PcapNG: true},
		"pcapng-be-nsec": {PcapNG: true, BigEndian: true, Nano: true},
	}
	links := map[string]uint32{
		"ethernet": capgen.LinkEthernet, "null": capgen.LinkNull, "loop": capgen.LinkLoop,
		"raw": capgen.LinkRaw, "sll": capgen.LinkLinuxSLL, "sll2": capgen.LinkLinuxSLL2,
	}
	for fname, f := range formats {
		for lname, link := range links {
			for _, v6 := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/v6=%v", fname, lname, v6), func(t *testing.T) {
					var buf bytes.Buffer
					w := capgen.NewWriter(&buf, f, link)
					cl, sv := client, server
					if v6 {
						cl, sv = c6, s6
					}
					s := cleanSession(w, link, cl, sv, t0)
					conns, st, c := walkAll(t, "gen.pcap", buf.Bytes())
					if len(c.Errors()) != 0 {
						t.Fatalf("errors: %v", c.Errors())
					}
					if st.TCP != st.Packets || st.Packets != 32 {
						t.Fatalf("packets %d, tcp %d; want 32 TCP", st.Packets, st.TCP)
					}
					if len(conns) != 1 {
						t.Fatalf("%d connections, want 1", len(conns))
					}
					cn := conns[0]
					if cn.Client() != cl || cn.Server() != sv || cn.Role != RoleSYN || !cn.Handshake || cn.End() != EndFIN {
						t.Errorf("conn %v→%v role %v handshake %v end %v", cn.Client(), cn.Server(), cn.Role, cn.Handshake, cn.End())
					}
					if got, want := cn.Bytes(ClientToServer), int64(s.Sent(true)); got != want {
						t.Errorf("client bytes %d, want %d", got, want)
					}
					if got, want := cn.Bytes(ServerToClient), int64(s.Sent(false)); got != want {
						t.Errorf("server bytes %d, want %d", got, want)
					}
					want := t0
					if !f.Nano {
						want = t0.Truncate(time.Microsecond)
					}
					if !cn.FirstTime.Equal(want) {
						t.Errorf("first packet at %v, want %v", cn.FirstTime, want)
					}
					if cn.FirstFrame != 1 || cn.LastFrame != 32 {
						t.Errorf("frames %d..%d, want 1..32", cn.FirstFrame, cn.LastFrame)
					}
					if c.Inputs[0].LinkType != LinkType(link) {
						t.Errorf("link type %v, want %d", c.Inputs[0].LinkType, link)
					}
				})
			}
		}
	}
}

func TestVLANAndQinQFramesAreDecoded(t *testing.T) {
	for _, tags := range [][]uint16{{100}, {100, 200}} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1, 2)
		s.VLANs = tags
		s.SMTP("a@x", "b@y", "x\r\n")
		conns, st, _ := walkAll(t, "vlan.pcap", buf.Bytes())
		if len(conns) != 1 || st.TCP != st.Packets {
			t.Errorf("tags %v: %d conns, %d/%d TCP", tags, len(conns), st.TCP, st.Packets)
		}
	}
}

// TestConnSaysWhoClosedFirst: the client's FIN, then the server's RST:
// the connection knows the RST's sender and that the client began to end it.
func TestConnSaysWhoClosedFirst(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1, 2)
	s.Handshake()
	s.Server("220 mx\r\n")
	s.Emit(true, s.Sent(true)+2, capgen.FIN|capgen.ACK, nil) // frame 6
	s.Reset(false)                                           // frame 7
	conns, _, _ := walkAll(t, "closing.pcap", buf.Bytes())
	c := conns[0]
	rd, reset := c.RSTDirection()
	frame, first := c.FirstClose()
	fin, finDir := c.FirstFIN()
	if !reset || rd != ServerToClient || c.RSTFrame != 7 || frame != 6 || first != ClientToServer || fin != 6 || finDir != ClientToServer {
		t.Errorf("RST %v from %v in frame %d; first close frame %d by %v; first FIN %d by %v", reset, rd, c.RSTFrame, frame, first, fin, finDir)
	}
}

// TestPPPoEAndMPLSFramesAreDecoded: a session over a PPPoE session (DSL
// links) and one under an MPLS label stack of two (carrier links) are read
// like any other; a PPP frame that is not IP is no TCP.
func TestPPPoEAndMPLSFramesAreDecoded(t *testing.T) {
	eth := func(ethertype uint16, inner []byte) []byte {
		f := append(make([]byte, 12), byte(ethertype>>8), byte(ethertype))
		return append(f, inner...)
	}
	p := &capgen.Packet{Src: client, Dst: server, Seq: 1, Flags: capgen.SYN, Window: 1024, TTL: 64}
	ip := capgen.Frame(capgen.LinkRaw, p)
	pppoe := func(proto uint16, inner []byte) []byte {
		h := []byte{0x11, 0x00, 0x12, 0x34, byte((len(inner) + 2) >> 8), byte(len(inner) + 2), byte(proto >> 8), byte(proto)}
		return append(h, inner...)
	}
	mpls := append([]byte{0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40}, ip...) // two labels, the second at the bottom
	for _, tc := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"pppoe", eth(0x8864, pppoe(0x0021, ip)), nil},
		{"pppoe in a vlan", eth(0x8100, append([]byte{0x00, 0x64, 0x88, 0x64}, pppoe(0x0021, ip)...)), nil},
		{"pppoe lcp", eth(0x8864, pppoe(0xc021, []byte{1, 2, 3, 4})), ErrNotTCP},
		{"mpls", eth(0x8847, mpls), nil},
		{"mpls cut", eth(0x8847, []byte{0x00, 0x01, 0x00}), ErrShort},
	} {
		var s Segment
		err := Decode(LinkTypeEthernet, tc.frame, &s, new(Fragment))
		if !errors.Is(err, tc.want) || err == nil && (s.Src != client || s.Dst != server || s.Flags&FlagSYN == 0) {
			t.Errorf("%s: %v, segment %v -> %v flags %x; want %v", tc.name, err, s.Src, s.Dst, s.Flags, tc.want)
		}
	}
}

// gzippedSession returns a clean session's capture as written and gzipped.
func gzippedSession() (raw, gz *bytes.Buffer) {
	raw, gz = new(bytes.Buffer), new(bytes.Buffer)
	cleanSession(capgen.NewWriter(raw, capgen.Format{}, capgen.LinkEthernet), capgen.LinkEthernet, client, server, t0)
	zw := gzip.NewWriter(gz)
	zw.Write(raw.Bytes())
	zw.Close()
	return raw, gz
}

func TestGzipCaptureIsRead(t *testing.T) {
	_, gz := gzippedSession()
	conns, st, c := walkAll(t, "dump.pcap.gz", gz.Bytes())
	if !c.Inputs[0].Gzip || len(conns) != 1 || st.Packets != 32 {
		t.Errorf("gzip %v, conns %d, packets %d", c.Inputs[0].Gzip, len(conns), st.Packets)
	}
}

func TestPcapngSectionsAndInterfacesWithDifferentLinkTypes(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{PcapNG: true}, 0)
	// Section 0: an Ethernet and a SLL2 interface, one session on each.
	cleanSession(w, capgen.LinkEthernet, client, server, t0)
	cleanSession(w, capgen.LinkLinuxSLL2, netip.MustParseAddrPort("192.0.2.11:40000"), server, t0.Add(time.Second))
	// Section 1: interfaces start over; a raw-IP session.
	w.NewSection()
	cleanSession(w, capgen.LinkRaw, netip.MustParseAddrPort("192.0.2.12:40001"), server, t0.Add(2*time.Second))

	c, err := OpenReader("ng.pcapng", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	type seen struct {
		section, iface int
		lt             LinkType
	}
	got := map[seen]int{}
	for c.Next(&p) == nil {
		got[seen{p.Section, p.Interface, p.LinkType}]++
	}
	want := map[seen]int{{0, 0, LinkTypeEthernet}: 32, {0, 1, LinkTypeLinuxSLL2}: 32, {1, 0, LinkTypeRaw}: 32}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("packets by section/interface/link type = %v, want %v", got, want)
	}
	if errs := c.Errors(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

func TestSeveralFilesAreMergedInTimestampOrder(t *testing.T) {
	var a, b bytes.Buffer
	wa := capgen.NewWriter(&a, capgen.Format{}, capgen.LinkEthernet)
	wb := capgen.NewWriter(&b, capgen.Format{}, capgen.LinkEthernet)
	sa := capgen.NewSession(wa, capgen.LinkEthernet, client, server, t0, 1, 2)
	sb := capgen.NewSession(wb, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.11:40000"), server, t0.Add(500*time.Microsecond), 3, 4)
	sa.Handshake() // at t0, +1ms, +2ms
	sb.Handshake() // at t0+0.5ms, +1.5ms, +2.5ms
	fa, fb := writeTemp(t, "a.pcap", a.Bytes()), writeTemp(t, "b.pcap", b.Bytes())
	want := "[1:0/1 2:1/1 3:0/2 4:1/2 5:0/3 6:1/3]"
	if got := mergedOrder(t, fa, fb); got != want {
		t.Errorf("merged order %s, want %s", got, want)
	}
}

// mergedOrder reads the files as one capture and lists its packets as
// FRAME:INPUT/FILEFRAME.
func mergedOrder(t *testing.T, paths ...string) string {
	t.Helper()
	c, err := Open(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var p Packet
	var order []string
	for c.Next(&p) == nil {
		order = append(order, fmt.Sprintf("%d:%d/%d", p.Frame, p.Input, p.FileFrame))
	}
	return fmt.Sprint(order)
}

// TestMergeTiesGoToTheFileGivenLast: of packets with equal timestamps, the
// one from the file given last comes first, as mergecap 4.0 writes them
// (checked with "mergecap -w m.pcap x.pcap y.pcap z.pcap" on files whose
// packets tie: Wireshark's merge takes the last of the earliest); here
// three files whose every packet ties.
func TestMergeTiesGoToTheFileGivenLast(t *testing.T) {
	var paths []string
	for i, port := range []uint16{40003, 40001, 40002} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		capgen.NewSession(w, capgen.LinkEthernet, netip.AddrPortFrom(client.Addr(), port), server, t0, 1, 2).Handshake()
		paths = append(paths, writeTemp(t, fmt.Sprintf("%d.pcap", i), buf.Bytes()))
	}
	want := "[1:2/1 2:1/1 3:0/1 4:2/2 5:1/2 6:0/2 7:2/3 8:1/3 9:0/3]"
	if got := mergedOrder(t, paths...); got != want {
		t.Errorf("merged order %s, want %s", got, want)
	}
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := t.TempDir() + "/" + name
	if err := writeFile(path, data); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadInputNamesFileFrameAndOffset(t *testing.T) {
	var good bytes.Buffer
	cleanSession(capgen.NewWriter(&good, capgen.Format{}, capgen.LinkEthernet), capgen.LinkEthernet, client, server, t0)
	g := good.Bytes()
	var ng bytes.Buffer
	cleanSession(capgen.NewWriter(&ng, capgen.Format{PcapNG: true}, capgen.LinkEthernet), capgen.LinkEthernet, client, server, t0)
	badLen := bytes.Clone(ng.Bytes())
	// The first EPB starts after the 28-byte SHB and the 20-byte IDB; make its length impossible.
	badLen[48+4] = 0xff
	badLen[48+5] = 0xff
	badLen[48+6] = 0xff
	badLen[48+7] = 0x7f

	cases := []struct {
		name    string
		data    []byte
		openErr string // error from Open, or
		readErr string // error after reading, and
		packets int    // packets read before it
	}{
		{"empty.pcap", nil, "empty.pcap: empty file", "", 0},
		{"text.pcap", []byte("<!DOCTYPE html>"), "text.pcap (offset 0x0): not a pcap or pcapng capture (starts with 3c 21 44 4f)", "", 0},
		{"short.pcap", g[:3], "short.pcap (offset 0x0): not a pcap or pcapng capture: only 3 bytes", "", 0},
		{"header.pcap", g[:20], "header.pcap (offset 0x0): pcap file header: file ends inside a record (truncated capture)", "", 0},
		// The last record (frame 32, a 54-byte ACK) starts 16+54 bytes before the end.
		{"cut.pcap", g[:len(g)-10], "", fmt.Sprintf("cut.pcap: frame 32 (offset %#x): file ends inside a record (truncated capture)", len(g)-70), 31},
		// Frame 1 is the 58-byte SYN: frame 2's record header starts at 24+16+58 = 0x62.
		{"cuthdr.pcap", g[:0x62+8], "", "cuthdr.pcap: frame 2 (offset 0x62): file ends inside a record (truncated capture)", 1},
		{"badlen.pcapng", badLen, "", "badlen.pcapng: frame 1 (offset 0x30): corrupt record: pcapng block type 0x6 with impossible length 2147483647", 0},
		// Cut inside the interface block that starts at 28, after the section header.
		{"cutidb.pcapng", ng.Bytes()[:28+12], "cutidb.pcapng (offset 0x1c): file ends inside a record (truncated capture)", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenReader(tc.name, bytes.NewReader(tc.data))
			if tc.openErr != "" {
				if err == nil || err.Error() != tc.openErr {
					t.Fatalf("open error %q, want %q", err, tc.openErr)
				}
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Errorf("error is %T, want *InputError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			st, err := Walk(c, NewTracker(TrackerOptions{}), nil)
			if err != nil {
				t.Fatal(err)
			}
			errs := c.Errors()
			if len(errs) != 1 || errs[0].Error() != tc.readErr {
				t.Fatalf("errors %v, want %q", errs, tc.readErr)
			}
			if st.Packets != tc.packets {
				t.Errorf("read %d packets before the fault, want %d", st.Packets, tc.packets)
			}
		})
	}
}

func TestUnsupportedLinkTypeIsReportedWithFrame(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, 105) // IEEE 802.11
	w.WriteFrame(t0, 105, make([]byte, 40))
	_, st, c := walkAll(t, "wifi.pcap", buf.Bytes())
	errs, _ := st.Problems(c.Inputs)
	want := "wifi.pcap: frame 1: unsupported link type 105 (IEEE802_11): 1 packets not decoded"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("problems %v, want %q", errs, want)
	}
}

func TestConnectionGenerations(t *testing.T) {
	cases := []struct {
		name    string
		build   func(w *capgen.Writer)
		streams []int // stream of each frame
	}{
		{"port reuse after FIN starts a new connection", func(w *capgen.Writer) {
			s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
			s.Handshake()
			s.Close()
			s2 := capgen.NewSession(w, capgen.LinkEthernet, client, server, s.Now, 900000, 7000)
			s2.Handshake()
		}, []int{0, 0, 0, 0, 0, 0, 1, 1, 1}},
		{"retransmitted SYN stays in its connection", func(w *capgen.Writer) {
			s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
			s.Emit(true, 1000, capgen.SYN, nil)
			s.Handshake()
		}, []int{0, 0, 0, 0}},
		{"SYN after RST starts a new connection", func(w *capgen.Writer) {
			s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
			s.Handshake()
			s.Reset(false)
			s2 := capgen.NewSession(w, capgen.LinkEthernet, client, server, s.Now, 2000, 5000)
			s2.Emit(true, 2000, capgen.SYN, nil)
		}, []int{0, 0, 0, 0, 1}},
		{"late ACK after both FINs stays in the old connection", func(w *capgen.Writer) {
			s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
			s.Handshake()
			s.Close()
			s.Ack(false)
		}, []int{0, 0, 0, 0, 0, 0, 0}},
		{"SYN with a far ISN on a live 4-tuple starts a new connection", func(w *capgen.Writer) {
			s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
			s.Handshake()
			s2 := capgen.NewSession(w, capgen.LinkEthernet, client, server, s.Now, 3000000000, 5000)
			s2.Emit(true, 3000000000, capgen.SYN, nil)
		}, []int{0, 0, 0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
			tc.build(w)
			c, err := OpenReader("gen.pcap", bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			_, err = Walk(c, NewTracker(TrackerOptions{}), func(cn *Conn, _ *Segment, _ *Packet) error {
				got = append(got, cn.Stream)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.streams) {
				t.Errorf("streams by frame %v, want %v", got, tc.streams)
			}
		})
	}
}

// lateAfterForgetting returns a capture of a connection that finishes in
// frame 6, its late ACK (7) and late SYN (8), and a new connection on the
// same 4-tuple (9–11).
func lateAfterForgetting(t *testing.T) *Capture {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
	s.Handshake()
	s.Close()                           // frames 4–6; the ACK of frame 6 finishes it
	s.Ack(false)                        // frame 7: a late ACK
	s.Emit(true, 1000, capgen.SYN, nil) // frame 8: its SYN, retransmitted late
	s2 := capgen.NewSession(w, capgen.LinkEthernet, client, server, s.Now, 900000, 7000)
	s2.Handshake() // frames 9–11: a new connection on the 4-tuple
	c, err := OpenReader("gen.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLateSegmentsOfForgottenConnectionsReachTheLateHook: with
// TrackerOptions.Late, a forgotten connection's late segments are handed
// over with its stream number instead of being dropped; the new connection
// on its 4-tuple is tracked as ever, and an error from the hook stops the walk.
func TestLateSegmentsOfForgottenConnectionsReachTheLateHook(t *testing.T) {
	var late []string
	var tr *Tracker
	tr = NewTracker(TrackerOptions{Late: func(stream int, s *Segment, p *Packet) error {
		late = append(late, fmt.Sprintf("%d:%d:%v", p.Frame, stream, s.Flags&FlagSYN != 0))
		return nil
	}})
	var got []string
	st, err := Walk(lateAfterForgetting(t), tr, func(cn *Conn, _ *Segment, p *Packet) error {
		got = append(got, fmt.Sprintf("%d:%d", p.Frame, cn.Stream))
		if cn.Finished() {
			tr.Forget(cn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[7:0:false 8:0:true]"; fmt.Sprint(late) != want {
		t.Errorf("frame:stream:SYN handed to Late %v, want %v", late, want)
	}
	if want := "[1:0 2:0 3:0 4:0 5:0 6:0 9:1 10:1 11:1]"; fmt.Sprint(got) != want {
		t.Errorf("frame:stream visited %v, want %v", got, want)
	}
	if st.Late != 2 {
		t.Errorf("Late %d, want 2", st.Late)
	}

	stop := errors.New("stop here")
	tr = NewTracker(TrackerOptions{Late: func(int, *Segment, *Packet) error { return stop }})
	st, err = Walk(lateAfterForgetting(t), tr, func(cn *Conn, _ *Segment, p *Packet) error {
		if cn.Finished() {
			tr.Forget(cn)
		}
		return nil
	})
	if !errors.Is(err, stop) || st.TCP != 7 {
		t.Errorf("hook's error: walk returned %v after %d segments, want it after 7", err, st.TCP)
	}
}

func TestForgottenConnectionsLatePacketsAreSkipped(t *testing.T) {
	c := lateAfterForgetting(t)
	tr := NewTracker(TrackerOptions{})
	var got []string
	st, err := Walk(c, tr, func(cn *Conn, _ *Segment, p *Packet) error {
		got = append(got, fmt.Sprintf("%d:%d", p.Frame, cn.Stream))
		if cn.Finished() {
			tr.Forget(cn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[1:0 2:0 3:0 4:0 5:0 6:0 9:1 10:1 11:1]"; fmt.Sprint(got) != want {
		t.Errorf("frame:stream visited %v, want %v", got, want)
	}
	if st.Late != 2 || st.TCP != 11 {
		t.Errorf("Late %d, TCP %d; want 2 and 11", st.Late, st.TCP)
	}
	if tr.Count() != 2 {
		t.Errorf("Count %d, want 2", tr.Count())
	}
	if conns := tr.Conns(); len(conns) != 1 || conns[0].Stream != 1 {
		t.Errorf("Conns after forgetting stream 0: %v, want stream 1 only", conns)
	}
}

func TestClosedAndFinishedByFrame(t *testing.T) {
	cases := []struct {
		name  string
		build func(s *capgen.Session)
		want  string // per frame: "-" open, "c" closed, "f" closed and finished
	}{
		{"FIN both ways, then the last ACK", func(s *capgen.Session) {
			s.Handshake()
			s.Close()
		}, "---" + "-cf"},
		{"the last ACK is not in the capture", func(s *capgen.Session) {
			s.Handshake()
			s.Emit(true, 1001, capgen.FIN|capgen.ACK, nil)
			s.Emit(false, 5001, capgen.FIN|capgen.ACK, nil)
		}, "---" + "-c"},
		{"an ACK short of the FIN does not finish", func(s *capgen.Session) {
			s.Handshake()
			s.Emit(true, 1001, capgen.FIN|capgen.ACK, nil)
			s.Emit(false, 5001, capgen.FIN|capgen.ACK, nil)
			s.Emit(true, 1002, capgen.ACK, nil) // acks 5001, not the FIN at 5001
		}, "---" + "-cc"},
		{"a RST finishes at once", func(s *capgen.Session) {
			s.Handshake()
			s.Reset(false)
		}, "---" + "f"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
			tc.build(capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000))
			c, err := OpenReader("close.pcap", bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			_, err = Walk(c, NewTracker(TrackerOptions{}), func(cn *Conn, _ *Segment, _ *Packet) error {
				switch {
				case cn.Finished() && cn.Closed():
					got.WriteByte('f')
				case cn.Finished():
					got.WriteByte('?')
				case cn.Closed():
					got.WriteByte('c')
				default:
					got.WriteByte('-')
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("by frame %q, want %q", got.String(), tc.want)
			}
		})
	}
}

func TestRolesWithoutHandshake(t *testing.T) {
	sniff := func(b []byte) (bool, bool) {
		return strings.HasPrefix(string(b), "220 "), strings.HasPrefix(string(b), "EHLO ")
	}
	odd := netip.MustParseAddrPort("198.51.100.25:3025")
	cases := []struct {
		name               string
		srv                netip.AddrPort
		firstFrom          bool // first packet from the client?
		clientFirstPayload bool
		wantRole           Role
	}{
		{"well-known port", server, false, false, RolePort},
		{"greeting on an odd port, server's packet first", odd, false, false, RoleSpeaker},
		{"EHLO on an odd port, client's packet first", odd, true, true, RoleSpeaker},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
			cl := netip.MustParseAddrPort("192.0.2.10:4000")
			s := capgen.NewSession(w, capgen.LinkEthernet, cl, tc.srv, t0, 1000, 5000)
			if !tc.firstFrom {
				s.Ack(false)
			}
			if tc.clientFirstPayload {
				s.Client("EHLO x\r\n")
			} else {
				s.Server("220 mx ESMTP\r\n")
			}
			c, _ := OpenReader("mid.pcap", bytes.NewReader(buf.Bytes()))
			tr := NewTracker(TrackerOptions{Sniff: sniff})
			if _, err := Walk(c, tr, nil); err != nil {
				t.Fatal(err)
			}
			cn := tr.Conns()[0]
			if cn.Client() != cl || cn.Server() != tc.srv || cn.Role != tc.wantRole || cn.Handshake {
				t.Errorf("client %v server %v role %v handshake %v; want %v %v %v false", cn.Client(), cn.Server(), cn.Role, cn.Handshake, cl, tc.srv, tc.wantRole)
			}
		})
	}
}

// TestOutOfRangeMicrosecondsAreReported: a record whose microseconds
// field is 5,000,000 is read (as 5 s carried over) and named in the
// warnings, with its frame.
func TestOutOfRangeMicrosecondsAreReported(t *testing.T) {
	var good bytes.Buffer
	cleanSession(capgen.NewWriter(&good, capgen.Format{}, capgen.LinkEthernet), capgen.LinkEthernet, client, server, t0)
	bad := bytes.Clone(good.Bytes())
	// Frame 1 is the 58-byte SYN: frame 2's record header starts at 24+16+58 = 0x62.
	binary.LittleEndian.PutUint32(bad[0x62+4:], 5_000_000)
	c, err := OpenReader("usec.pcap", bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Walk(c, NewTracker(TrackerOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.BadTime.N != 1 || st.BadTime.FirstFrame != 2 || st.Packets != 32 {
		t.Errorf("bad times %+v after %d packets, want 1 at frame 2 of 32", st.BadTime, st.Packets)
	}
	_, warnings := st.Problems(c.Inputs)
	want := "usec.pcap: frame 2: 1 record has a sub-second timestamp field out of range"
	if len(warnings) == 0 || !strings.HasPrefix(warnings[0].Error(), want) {
		t.Errorf("warnings %v, want the first to start %q", warnings, want)
	}
}

// TestWildTimestampsAreReplaced: a pcapng record stamped in the year 3000
// (a corrupt block) is read at the time of the record before it, and
// named in the warnings with its frame; JSON reports and pcap output can
// hold no such time.
func TestWildTimestampsAreReplaced(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{PcapNG: true}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
	s.Emit(true, 1000, capgen.SYN, nil)
	s.Now = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Emit(false, 5000, capgen.SYN|capgen.ACK, nil)
	s.Now = t0.Add(time.Second)
	s.Emit(true, 1001, capgen.ACK, nil)
	c, err := OpenReader("wild.pcapng", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	st, err := Walk(c, NewTracker(TrackerOptions{}), func(_ *Conn, _ *Segment, p *Packet) error {
		times = append(times, p.Timestamp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 3 || !times[1].Equal(times[0]) || times[0].Year() != 2026 || st.WildTime.N != 1 || st.WildTime.FirstFrame != 2 || st.Backwards.N != 0 {
		t.Errorf("times %v, wild %+v, backwards %d; want frame 2 at frame 1's time, 1 wild at frame 2, none backwards", times, st.WildTime, st.Backwards.N)
	}
	_, warnings := st.Problems(c.Inputs)
	want := "wild.pcapng: frame 2: 1 record is timestamped before 1970 or after 2106"
	if len(warnings) == 0 || !strings.HasPrefix(warnings[0].Error(), want) {
		t.Errorf("warnings %v, want the first to start %q", warnings, want)
	}
}

// TestTimestampsGoingBackwardsAreCounted: a packet stamped an hour before
// the one in front of it (a clock step, an edited capture) is counted and
// named in the warnings, with its frame and the size of the step.
func TestTimestampsGoingBackwardsAreCounted(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1000, 5000)
	s.Handshake() // 1-3
	s.Pause(-time.Hour)
	s.Client("EHLO x\r\n") // 4, an hour early
	s.Pause(time.Hour)
	s.Server("250 ok\r\n")
	c, err := OpenReader("clock.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Walk(c, NewTracker(TrackerOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Backwards.N != 1 || st.Backwards.FirstFrame != 4 {
		t.Errorf("backwards %+v, want 1 from frame 4", st.Backwards)
	}
	_, warnings := st.Problems(c.Inputs)
	want := "clock.pcap: frame 4: 1 packet is timestamped 1s or more before the packet in front (by up to 59m59.999s)"
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0].Error(), want) {
		t.Errorf("warnings %v, want one starting %q", warnings, want)
	}
	// The analyzer may have let go of what a connection started there
	// would have been paired with: the warning says that too.
	if len(warnings) == 1 && !strings.Contains(warnings[0].Error(), "nor the pairing of connections as a proxy's two legs") {
		t.Errorf("warning %q does not say what it puts in doubt beyond times", warnings[0])
	}
}

func TestSnaplenCutPayloadIsCountedAsMissing(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{Snaplen: 80}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, client, server, t0, 1, 2)
	s.Handshake()
	s.Client(strings.Repeat("x", 100)) // 14+20+20+100 = 154 bytes: 74 cut
	conns, st, _ := walkAll(t, "snap.pcap", buf.Bytes())
	if got := conns[0].Missing(ClientToServer); got != 74 {
		t.Errorf("missing %d bytes, want 74", got)
	}
	if got := conns[0].Bytes(ClientToServer); got != 100 {
		t.Errorf("bytes %d, want 100 (from the IP header)", got)
	}
	if st.Truncated.N != 1 || st.Truncated.FirstFrame != 4 {
		t.Errorf("truncated tally %+v, want 1 at frame 4", st.Truncated)
	}
}

func FuzzCapture(f *testing.F) {
	var pcap, ng bytes.Buffer
	cleanSession(capgen.NewWriter(&pcap, capgen.Format{}, capgen.LinkEthernet), capgen.LinkEthernet, client, server, t0)
	cleanSession(capgen.NewWriter(&ng, capgen.Format{PcapNG: true, Nano: true}, capgen.LinkLinuxSLL2), capgen.LinkLinuxSLL2, c6, s6, t0)
	f.Add(pcap.Bytes())
	f.Add(ng.Bytes())
	for _, ends := range [][2]netip.AddrPort{{client, server}, {c6, s6}} {
		var frag bytes.Buffer
		w := capgen.NewWriter(&frag, capgen.Format{}, capgen.LinkEthernet)
		s := capgen.NewSession(w, capgen.LinkEthernet, ends[0], ends[1], t0, 1000, 5000)
		s.FragmentAt = 48
		s.SMTP("a@example.org", "b@example.test", "Subject: t\r\n\r\nhello, in fragments of 48 bytes\r\n")
		f.Add(frag.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := OpenReader("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		tr := NewTracker(TrackerOptions{})
		if _, err := Walk(c, tr, nil); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
	})
}

// A damaged gzip trailer is a fault of the compression, not a truncated
// capture: every record was read, so the error names no frame and says
// what gzip said; a gzip stream cut inside a record is a truncation.
func TestGzipFaultsAreReportedAsThemselves(t *testing.T) {
	raw, gz := gzippedSession()

	badCRC := bytes.Clone(gz.Bytes())
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 is the trailer's first four bytes
	conns, st, c := walkAll(t, "crc.pcap.gz", badCRC)
	if len(conns) != 1 || st.Packets != 32 {
		t.Errorf("bad CRC: conns %d, packets %d; want every record read", len(conns), st.Packets)
	}
	want := fmt.Sprintf("crc.pcap.gz (offset %#x in the decompressed data): gzip: invalid checksum", raw.Len())
	if errs := c.Errors(); len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("bad CRC: errors %v, want [%s]", errs, want)
	}

	cut := gz.Bytes()[:gz.Len()/2]
	_, st, c = walkAll(t, "cut.pcap.gz", cut)
	errs := c.Errors()
	if len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) {
		t.Fatalf("cut gzip: errors %v, want one truncation", errs)
	}
	var ie *InputError
	if !errors.As(errs[0], &ie) || ie.Frame != st.Packets+1 {
		t.Errorf("cut gzip: error %v after %d packets, want it to name frame %d", errs[0], st.Packets, st.Packets+1)
	}

	// Cut so early that the first read of the decompressed data fails:
	// a damaged gzip, not an empty file.
	_, err := OpenReader("early.pcap.gz", bytes.NewReader(gz.Bytes()[:30]))
	if err == nil || errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), "early.pcap.gz") || !strings.Contains(err.Error(), "gzip: unexpected EOF") {
		t.Errorf("gzip cut at 30 bytes: %v", err)
	}
}

// TestJoinedCapturesAreNamedAsSuch: two pcap files joined with cat put a
// file header where the 22nd record header should be; it is named as
// what it is, at its offset, not read as a frame cut by the snaplen.
func TestJoinedCapturesAreNamedAsSuch(t *testing.T) {
	one, err := os.ReadFile(testcaps.Path("clean.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenReader("joined.pcap", bytes.NewReader(append(bytes.Clone(one), one...)))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := Walk(c, NewTracker(TrackerOptions{}), nil)
	want := fmt.Sprintf("joined.pcap: frame 22 (offset %#x): corrupt record: another pcap file header here: two captures joined end to end", len(one))
	if errs := c.Errors(); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), want) || st.Packets != 21 || st.Short.N != 0 {
		t.Errorf("errors %v after %d packets (%d short); want one starting %q after 21", errs, st.Packets, st.Short.N, want)
	}
}

// TestManyOpenConnectionsKeepTheirStreams: with thousands of connections
// open at once, their packets interleaved, every packet reaches its own
// connection. (Forgetting, late packets and port reuse:
// TestForgottenConnectionsLatePacketsAreSkipped and
// TestForgottenConnectionsLeaveOnlyTheirSYNs.)
func TestManyOpenConnectionsKeepTheirStreams(t *testing.T) {
	const n = 12000
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	sessions := make([]*capgen.Session, n)
	for i := range sessions {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(1024+i%50000))
		sessions[i] = capgen.NewSession(w, capgen.LinkEthernet, c, server, t0, uint32(i)*7919, 5000)
	}
	var want []int // stream by frame
	round := func(emit func(i int, s *capgen.Session)) {
		for i, s := range sessions {
			emit(i, s)
			want = append(want, i)
		}
	}
	round(func(i int, s *capgen.Session) { s.Emit(true, uint32(i)*7919, capgen.SYN, nil) })
	round(func(_ int, s *capgen.Session) { s.Emit(false, 5000, capgen.SYN|capgen.ACK, nil) })
	round(func(_ int, s *capgen.Session) { s.Ack(true) })
	round(func(_ int, s *capgen.Session) { s.Send(true, []byte("EHLO x\r\n"), 1460) })
	c, err := OpenReader("gen.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(TrackerOptions{})
	var got []int
	if _, err := Walk(c, tr, func(cn *Conn, _ *Segment, _ *Packet) error {
		got = append(got, cn.Stream)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("frame %d went to stream %d, want %d (%d frames, %d visited)", i+1, got[i], want[i], len(want), len(got))
			}
		}
		t.Fatalf("%d frames visited, want %d", len(got), len(want))
	}
	if tr.Count() != n {
		t.Errorf("Count %d, want %d", tr.Count(), n)
	}
}

// TestForgottenConnectionsLeaveOnlyTheirSYNs: a tracker that has seen many
// connections one after another, each forgotten once finished, keeps in
// its map of live connections only the one still open; of the others only
// their SYNs, and a port reused after all of them starts a new connection
// while a late retransmission of a forgotten SYN does not.
func TestForgottenConnectionsLeaveOnlyTheirSYNs(t *testing.T) {
	const n = 500
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	now := t0
	for i := range n {
		c := netip.AddrPortFrom(client.Addr(), uint16(20000+i))
		s := capgen.NewSession(w, capgen.LinkEthernet, c, server, now, uint32(i)*1000, 5000)
		s.Handshake()
		s.Close()
		now = s.Now
	}
	late := capgen.NewSession(w, capgen.LinkEthernet, netip.AddrPortFrom(client.Addr(), 20000), server, now, 0, 5000)
	late.Emit(true, 0, capgen.SYN, nil) // stream 0's SYN, retransmitted late
	reused := capgen.NewSession(w, capgen.LinkEthernet, netip.AddrPortFrom(client.Addr(), 20001), server, late.Now, 777777, 9000)
	reused.Handshake() // a new connection on stream 1's 4-tuple
	c, err := OpenReader("gen.pcap", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(TrackerOptions{})
	st, err := Walk(c, tr, func(cn *Conn, _ *Segment, _ *Packet) error {
		if cn.Finished() {
			tr.Forget(cn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Count() != n+1 || st.Late != 1 {
		t.Errorf("Count %d, Late %d; want %d connections and the late SYN", tr.Count(), st.Late, n+1)
	}
	if len(tr.conns) != 1 || len(tr.forgotten) != n-1 {
		t.Errorf("%d live and %d forgotten entries, want 1 and %d", len(tr.conns), len(tr.forgotten), n-1)
	}
}

// TestMalformedCommentOptionsAreReported: a packet block whose second
// comment option claims more bytes than the block holds keeps its first
// comment, every packet is still read, and a warning names the file and
// the block's offset.
func TestMalformedCommentOptionsAreReported(t *testing.T) {
	data, err := os.ReadFile(testcaps.Path("commented.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Clone(data)
	// commented.pcapng: the packet block at 0x158 holds its options at
	// 0x1b8: a 27-byte comment, then "one more" (8 bytes), whose length
	// field is at 0x1da.
	const block, secondLength = 0x158, 0x1da
	if got := binary.LittleEndian.Uint16(data[secondLength:]); got != 8 {
		t.Fatalf("commented.pcapng changed: length field %d at %#x, want 8", got, secondLength)
	}
	binary.LittleEndian.PutUint16(data[secondLength:], 0x200)

	c, err := OpenReader("bad-options.pcapng", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	packets, comments := 0, map[int64][]string{}
	for c.Next(&p) == nil {
		packets++
		for _, cm := range p.Comments {
			comments[p.Offset] = append(comments[p.Offset], string(cm))
		}
	}
	if want := 21; packets != want {
		t.Errorf("read %d packets, want %d", packets, want)
	}
	if got, want := comments[block], []string{"second, longer comment here"}; !slices.Equal(got, want) {
		t.Errorf("comments of the block at %#x = %q, want %q", block, got, want)
	}
	if got, want := comments[0x548], []string{"why the server said no"}; !slices.Equal(got, want) {
		t.Errorf("comments of the block at 0x548 = %q, want %q", got, want)
	}
	if errs := c.Errors(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	warns := c.Warnings()
	want := "bad-options.pcapng: offset 0x158: malformed pcapng block options: read up to the fault"
	if len(warns) != 1 || !strings.HasPrefix(warns[0].Error(), want) {
		t.Errorf("warnings %v, want one beginning %q", warns, want)
	}

	// The file as it is: no warning.
	c, err = Open(testcaps.Path("commented.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for c.Next(&p) == nil {
	}
	if warns := c.Warnings(); len(warns) != 0 {
		t.Errorf("warnings on the intact file: %v", warns)
	}
}
