package findings

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
)

// BenchmarkAnalyze runs what `smtpcap analyze --format json` does on the
// generated gateway capture (SMTPCAP_BENCH_MB, default 64 MiB).
func BenchmarkAnalyze(b *testing.B) {
	path := testcaps.Bench(b)
	for b.Loop() {
		WriteJSON(io.Discard, analyzeFile(b, path))
	}
}

// analyzeFile reads the capture at path as `smtpcap analyze` does and
// returns the report.
func analyzeFile(b *testing.B, path string) *Report {
	c, err := reassembly.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	return analyzeCapture(b, c, session.Options{Stream: -1, Recycle: true}).Report([]string{path})
}

// BenchmarkWhatConnectionsLeave reports what each SMTP connection leaves
// on the heap once the capture has been read, before the report is made
// (live-B/conn: the live heap after reading less the live heap before,
// over the sessions added), read the way `smtpcap analyze` reads. It is
// what makes memory grow with the number of connections rather than
// with those open at once; its time is not a figure to follow (each run
// collects garbage twice). SMTPCAP_BENCH_MAXBODY=3000 gives a capture of
// many short connections, where it shows most.
func BenchmarkWhatConnectionsLeave(b *testing.B) {
	path := testcaps.Bench(b)
	var perConn float64
	for b.Loop() {
		c, err := reassembly.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		an := NewAnalyzer(Options{})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sessions := 0
		res, err := session.Read(c, session.Options{Stream: -1, Recycle: true,
			Prepare: func(s *session.Session) any { return an.Detect(s) }}, func(s *session.Session) error {
			an.Add(s)
			sessions++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perConn = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(max(sessions, 1))
		runtime.KeepAlive(res.Tracker) // the tracker's notes of forgotten connections count too
		WriteJSON(io.Discard, an.Report([]string{path}))
		c.Close()
	}
	b.ReportMetric(perConn, "live-B/conn")
}

// BenchmarkAnalyzeRetriedEnvelope analyses 20,000 connections of one
// client, 50 ms apart, each trying the same envelope and deferred with
// 451 after the message: one retry loop of 20,000 attempts. What is done
// per attempt must not grow with their number (it once did: the check
// for a proxy's relayed legs compared each with all before it).
func BenchmarkAnalyzeRetriedEnvelope(b *testing.B) {
	const conns = 20000
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	server := netip.MustParseAddrPort("198.51.100.7:25")
	for i := range conns {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 1}), uint16(1024+i))
		s := capgen.NewSession(w, capgen.LinkEthernet, client, server, start.Add(time.Duration(i)*50*time.Millisecond), uint32(i)*7919, uint32(i)*104729)
		s.Step = 100 * time.Microsecond
		s.Handshake()
		for _, say := range []string{"S220 mx.example.test ESMTP\r\n", "CEHLO client.example.org\r\n", "S250-mx.example.test\r\n250 PIPELINING\r\n",
			"CMAIL FROM:<a@example.org>\r\n", "S250 ok\r\n", "CRCPT TO:<b@example.net>\r\n", "S250 ok\r\n", "CDATA\r\n", "S354 go ahead\r\n",
			"CSubject: x\r\n\r\nhello\r\n.\r\n", "S451 4.7.1 try again later\r\n", "CQUIT\r\n", "S221 bye\r\n"} {
			if say[0] == 'C' {
				s.Client(say[1:])
			} else {
				s.Server(say[1:])
			}
		}
		s.Close()
	}
	benchAnalyzeBuilt(b, buf.Bytes(), conns)
}

// BenchmarkAnalyzeLineByTheByte analyses one connection whose client sends
// a 50,000-byte RCPT line one byte a segment, twice, and a message whose
// every line is sent twice with different bytes (a retransmission
// conflict each): findings that name tens of thousands of frames, and
// tens of thousands of findings alike folded into one. Their cost must
// grow with the frames, not with their square (it once did: 13 s for a
// 100,000-byte line).
func BenchmarkAnalyzeLineByTheByte(b *testing.B) {
	capture := greetedConnection(func(s *capgen.Session) {
		s.Client("EHLO client.example.org\r\n")
		s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		line := "RCPT TO:<" + strings.Repeat("a", 50000) + "@example.net>\r\n"
		bytewise := make([]int, len(line))
		for i := range bytewise {
			bytewise[i] = 1
		}
		for range 2 {
			s.Client(line, bytewise...)
			s.Server("500 5.5.2 line too long\r\n")
		}
		s.Client("RCPT TO:<b@example.net>\r\n")
		s.Server("250 ok\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go ahead\r\n")
		for i := range 20000 {
			text := fmt.Sprintf("line %08d of the body\r\n", i)
			at := s.Sent(true)
			s.SegmentAt(true, at, []byte(text))
			s.SegmentAt(true, at, []byte(strings.ToUpper(text)))
			s.Skip(true, uint32(len(text)))
		}
		s.Client(".\r\n")
		s.Server("250 ok\r\n")
	})
	benchAnalyzeBuilt(b, capture, 1)
}

// benchAnalyzeBuilt writes capture to a file and runs what `smtpcap
// analyze --format json` does on it, checking that it found conns
// connections.
func benchAnalyzeBuilt(b *testing.B, capture []byte, conns int) {
	path := writeCapture(b, "built.pcap", capture)
	b.SetBytes(int64(len(capture)))
	for b.Loop() {
		r := analyzeFile(b, path)
		if r.Connections.Len() != conns {
			b.Fatalf("%d connections, want %d", r.Connections.Len(), conns)
		}
		WriteJSON(io.Discard, r)
	}
}

// BenchmarkAnalyzeRefusedScan analyses one client's 20,000 refused
// connections to port 25 of as many servers, 10 ms apart, every SYN with
// the same initial sequence number (a scanner's): thousands of
// connect-failed findings from one address, and thousands of connections
// that said nothing under one NAT-view key. What is done per failure and
// per view must not grow with their number (it once did: minutes).
func BenchmarkAnalyzeRefusedScan(b *testing.B) {
	const conns = 20000
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for i := range conns {
		server := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(1 + i>>16), byte(i >> 8), byte(i)}), 25)
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 1}), uint16(1024+i))
		s := capgen.NewSession(w, capgen.LinkEthernet, client, server, start.Add(time.Duration(i)*10*time.Millisecond), 1000, 0)
		s.Emit(true, 1000, capgen.SYN, nil)
		s.Emit(false, 0, capgen.RST|capgen.ACK, nil)
	}
	benchAnalyzeBuilt(b, buf.Bytes(), conns)
}

// BenchmarkReportOfRefusedSenders analyses 50,000 connections from as many
// clients, each with its own sender and its recipient refused (550): a
// spam-heavy gateway's capture, one finding and one failed attempt for
// every connection, all kept to the report. live-B/conn is what each
// leaves on the heap once the capture is read, report-B/conn what the
// report holds of it once made (every finding decoded at once took 800
// bytes more).
func BenchmarkReportOfRefusedSenders(b *testing.B) {
	const conns = 50000
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	server := netip.MustParseAddrPort("198.51.100.7:25")
	for i := range conns {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(1 + i>>16), byte(i >> 8), byte(i)}), uint16(1024+i%60000))
		s := capgen.NewSession(w, capgen.LinkEthernet, client, server, start.Add(time.Duration(i)*5*time.Millisecond), uint32(i)*7919, uint32(i)*104729)
		s.Step = 100 * time.Microsecond
		s.Handshake()
		for _, say := range []string{"S220 mx.example.test ESMTP\r\n", fmt.Sprintf("CEHLO host%d.example.org\r\n", i), "S250-mx.example.test\r\n250 PIPELINING\r\n",
			fmt.Sprintf("CMAIL FROM:<sender%d@example.org>\r\n", i), "S250 2.1.0 ok\r\n", fmt.Sprintf("CRCPT TO:<user%d@example.test>\r\n", i%500),
			"S550 5.7.1 Recipient address rejected: client host listed at zen.example.test\r\n", "CQUIT\r\n", "S221 2.0.0 bye\r\n"} {
			if say[0] == 'C' {
				s.Client(say[1:])
			} else {
				s.Server(say[1:])
			}
		}
		s.Close()
	}
	path := writeCapture(b, "refused.pcap", buf.Bytes())
	b.SetBytes(int64(buf.Len()))
	var live, report float64
	for b.Loop() {
		c, err := reassembly.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		an := NewAnalyzer(Options{})
		var before, read, reported runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := session.Read(c, session.Options{Stream: -1, Recycle: true,
			Prepare: func(s *session.Session) any { return an.Detect(s) }}, func(s *session.Session) error {
			an.Add(s)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		c.Close()
		runtime.GC()
		runtime.ReadMemStats(&read)
		r := an.Report([]string{path})
		runtime.GC()
		runtime.ReadMemStats(&reported)
		if r.Connections.Len() != conns || r.Findings.Len() != conns {
			b.Fatalf("%d connections and %d findings, want %d of each", r.Connections.Len(), r.Findings.Len(), conns)
		}
		WriteJSON(io.Discard, r)
		live = (float64(read.HeapAlloc) - float64(before.HeapAlloc)) / conns
		report = (float64(reported.HeapAlloc) - float64(before.HeapAlloc)) / conns
		runtime.KeepAlive(r)
	}
	b.ReportMetric(live, "live-B/conn")
	b.ReportMetric(report, "report-B/conn")
}

// BenchmarkFindingsJSON writes 20,000 findings of a refused recipient
// each as a report's findings array is written, field by field
// (appendFindingJSON), and, for comparison, through encoding/json as it
// was written before: a spam-heavy gateway's report is mostly these.
func BenchmarkFindingsJSON(b *testing.B) {
	at := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	found := make([]Finding, 20000)
	for i := range found {
		summary := fmt.Sprintf("RCPT TO:<user%d@example.test> was rejected: 550 5.7.1 Recipient address rejected: listed at zen.example.test", i%500)
		found[i] = Finding{ID: "command-rejected", Severity: Info, Stream: i, Direction: "server", Phase: PhaseEnvelope,
			Frames: []int{10*i + 8, 10*i + 9}, Offset: 76, Time: at.Add(time.Duration(i) * time.Millisecond), Summary: summary,
			Evidence:    fmt.Sprintf("server offset 76, frame %d: 550 5.7.1 Recipient address rejected: listed at zen.example.test", 10*i+9),
			Explanation: "A permanent failure: the sender must not retry it unchanged.", Remedy: "Read the reply text.",
			Filter: filterFor(i, []int{10*i + 8, 10*i + 9})}
	}
	var size int
	b.Run("by-hand", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = buf[:0]
			for i := range found {
				buf, _ = appendFindingJSON(buf, &found[i])
			}
			size = len(buf)
		}
		b.SetBytes(int64(size))
	})
	b.Run("encoding-json", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			enc := newJSONEncoder(&buf, "    ")
			for i := range found {
				if err := enc.Encode(&found[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.SetBytes(int64(buf.Len()))
	})
}
