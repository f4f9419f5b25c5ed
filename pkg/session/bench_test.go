package session

import (
	"bytes"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// BenchmarkRead reassembles and parses every SMTP connection of the
// generated gateway capture (SMTPCAP_BENCH_MB, default 64 MiB).
func BenchmarkRead(b *testing.B) {
	path := testcaps.Bench(b)
	packets, sessions := 0, 0
	for b.Loop() {
		c, err := reassembly.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Read(c, Options{Stream: -1}, func(*Session) error { sessions++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		packets += res.Stats.Packets
		c.Close()
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(sessions)/float64(b.N), "sessions/op")
}

// BenchmarkHalfOpenConnections reads 50,000 connections that send one
// bare SYN each, 10 µs apart, so that all are open when the capture ends
// (a SYN flood seen for half a second), and reports the heap they hold
// then, before they are finished: the tracker's connections and the
// reader's routes with their held SYNs; none of it on the workers.
func BenchmarkHalfOpenConnections(b *testing.B) {
	const conns = 50000
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	for i := range conns {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
		synSession(w, client.String(), time.Duration(i)*10*time.Microsecond, uint32(i))
	}
	capture := buf.Bytes()
	b.SetBytes(int64(len(capture)))
	var perConn float64
	for b.Loop() {
		c, err := reassembly.OpenReader("halfopen.pcap", bytes.NewReader(capture))
		if err != nil {
			b.Fatal(err)
		}
		sessions := 0
		r := newReader(Options{Stream: -1}, func(*Session) error { sessions++; return nil })
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r.start()
		if _, err := reassembly.Walk(c, r.tracker, r.visit); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perConn = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / conns
		r.finishAll()
		r.stop()
		if sessions != conns {
			b.Fatalf("%d sessions, want %d", sessions, conns)
		}
	}
	b.ReportMetric(perConn, "held-B/conn")
}
