package findings

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
)

// natViewsReport writes each script into its own capture file (as a
// capture taken on each side of a NAT, or on each interface of a firewall,
// merged by analyze) and analyses the files together.
func natViewsReport(t *testing.T, files map[string]func(w *capgen.Writer)) *Report {
	t.Helper()
	dir := t.TempDir()
	var names []string
	for _, name := range []string{"inside.pcap", "outside.pcap", "third.pcap"} {
		script, ok := files[name]
		if !ok {
			continue
		}
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		script(w)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, path)
	}
	c, err := reassembly.Open(names...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return analyzeCapture(t, c, session.Options{Stream: -1}).Report(names)
}

func findingList(r *Report) (out []string) {
	for _, f := range r.Findings.All() {
		out = append(out, fmt.Sprintf("%s %d %s", f.ID, f.Stream, f.Severity))
	}
	return out
}

// TestReview10NATViewsThatDifferAreNotOneView: a firewall that NATs and
// inspects SMTP without rewriting sequence numbers (an ASA with sequence
// randomisation off, its ESMTP inspection masking a command with X's of
// the same length) is captured on both sides. The two streams share both
// ISNs and start together, but the outside view carries bytes the inside
// one does not: the pix-masked-command error found there must be told.
func TestReview10NATViewsThatDifferAreNotOneView(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	view := func(client string, at time.Time, vrfy string) func(w *capgen.Writer) {
		return func(w *capgen.Writer) {
			s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(client),
				netip.MustParseAddrPort("198.51.100.25:25"), at, 1000, 5000)
			s.Handshake()
			s.Server("220 mx ESMTP\r\n")
			s.Client("EHLO c.example.org\r\n")
			s.Server("250 mx\r\n")
			s.Client(vrfy)
			s.Server("500 5.5.1 command unrecognized\r\n")
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			s.Close()
		}
	}
	inside := view("10.0.0.2:40000", t0, "VRFY postmaster\r\n")
	outside := view("192.0.2.1:40000", t0.Add(50*time.Microsecond), "XXXX postmaster\r\n")

	// The outside view alone: what the firewall did is an error.
	alone := natViewsReport(t, map[string]func(*capgen.Writer){"outside.pcap": outside})
	if got := fmt.Sprint(findingList(alone)); got != "[pix-masked-command 0 error]" {
		t.Fatalf("outside view alone: %s", got)
	}
	both := natViewsReport(t, map[string]func(*capgen.Writer){"inside.pcap": inside, "outside.pcap": outside})
	masked := false
	for _, f := range both.Findings.All() {
		if f.ID == "pix-masked-command" {
			masked = true
		}
	}
	if !masked {
		t.Errorf("both views: findings %v; the outside view's pix-masked-command is gone, and stream 1 reads %q",
			findingList(both), both.Connections.All()[1].Diagnosis)
	}
}

// TestReview10TheNATViewThatLostBytesIsNotTheOneTold: tcpdump -i any
// dropped the inside view's copy of the server's refusal (the client
// acknowledged it: a capture gap); the outside view holds it whole. The
// refusal is what the capture shows of the session, and must be told.
func TestReview10TheNATViewThatLostBytesIsNotTheOneTold(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	view := func(client string, at time.Time, lose bool) func(w *capgen.Writer) {
		return func(w *capgen.Writer) {
			s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(client),
				netip.MustParseAddrPort("198.51.100.25:25"), at, 1000, 5000)
			s.Handshake()
			plainEnvelope(s)
			s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n")
			if lose {
				s.Skip(false, uint32(len("554 5.7.1 rejected\r\n")))
				s.Ack(true)
			} else {
				s.Server("554 5.7.1 rejected\r\n")
			}
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			s.Close()
		}
	}
	r := natViewsReport(t, map[string]func(*capgen.Writer){
		"inside.pcap":  view("10.0.0.2:40000", t0, true),
		"outside.pcap": view("192.0.2.1:40000", t0.Add(50*time.Microsecond), false),
	})
	rejected := false
	for _, f := range r.Findings.All() {
		if f.ID == "command-rejected" {
			rejected = true
		}
	}
	if !rejected {
		t.Errorf("findings %v; the refusal the outside view holds whole is dropped; stream 0: %q; stream 1: %q",
			findingList(r), r.Connections.All()[0].Diagnosis, r.Connections.All()[1].Diagnosis)
	}
}

// TestReview10ARetryLoopSurvivesALossyFirstView: three attempts of one
// message 10 minutes apart, each through NAT and seen on both sides; the
// inside view of the second lost the server's refusal. Without the NAT
// the outside capture alone is a loop of three attempts (an error); with
// both views the second attempt is left out of the loop altogether (its
// inside view is not counted for the loss, its outside view for being a
// second view), and the loop is a warning over two streams.
func TestReview10ARetryLoopSurvivesALossyFirstView(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	attempts := func(client string, delay time.Duration, lossy int) func(w *capgen.Writer) {
		return func(w *capgen.Writer) {
			for i := range 3 {
				s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("%s:%d", client, 40000+i)),
					netip.MustParseAddrPort("198.51.100.25:25"), t0.Add(time.Duration(i)*10*time.Minute+delay), uint32(1000+i*7919), uint32(5000+i*104729))
				s.Handshake()
				plainEnvelope(s)
				s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n")
				if i == lossy {
					s.Skip(false, uint32(len("554 5.7.1 rejected\r\n")))
					s.Ack(true)
				} else {
					s.Server("554 5.7.1 rejected\r\n")
				}
				s.Client("QUIT\r\n")
				s.Server("221 bye\r\n")
				s.Close()
			}
		}
	}
	loops := func(r *Report) (out []string) {
		for _, f := range r.Findings.All() {
			if f.ID == "retry-loop" {
				out = append(out, fmt.Sprint(f.Streams, " ", f.Severity))
			}
		}
		return out
	}
	outside := attempts("192.0.2.1", 50*time.Microsecond, -1)
	if got := fmt.Sprint(loops(natViewsReport(t, map[string]func(*capgen.Writer){"outside.pcap": outside}))); got != "[[0 1 2] error]" {
		t.Fatalf("outside alone: retry loops %s", got)
	}
	r := natViewsReport(t, map[string]func(*capgen.Writer){"inside.pcap": attempts("10.0.0.2", 0, 1), "outside.pcap": outside})
	if got := fmt.Sprint(loops(r)); got != "[[0 2 4] error]" && got != "[[0 3 4] error]" {
		t.Errorf("both views: retry loops %s, want the three attempts (streams 0, 2 or 3, 4), an error; findings %v", got, findingList(r))
	}
}

// TestReview10NATPairsDoNotDependOnTheOrderSessionsFinish: three
// connections with one pair of ISNs (a stack with fixed ISNs at both
// ends, as capgen's crafted sessions have), from three addresses: A at
// 0 s, B at 0.6 s, C at 1.2 s, all open until 3 s. A and B, B and C
// start within a second of each other; A and C do not. Sessions reach
// Add in the order their connections finish, which with several workers
// is not the stream order: the report must not change with that order.
func TestReview10NATPairsDoNotDependOnTheOrderSessionsFinish(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	view := func(client string, start time.Duration) []byte {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(client),
			netip.MustParseAddrPort("198.51.100.25:25"), t0.Add(start), 1000, 5000)
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Pause(3*time.Second - start)
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
		return buf.Bytes()
	}
	dir := t.TempDir()
	var names []string
	for i, v := range []struct {
		client string
		start  time.Duration
	}{{"10.0.0.2:40000", 0}, {"10.0.0.3:40000", 600 * time.Millisecond}, {"10.0.0.4:40000", 1200 * time.Millisecond}} {
		name := filepath.Join(dir, fmt.Sprintf("view%d.pcap", i))
		if err := os.WriteFile(name, view(v.client, v.start), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	c, err := reassembly.Open(names...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sessions []*session.Session
	if _, err := session.Read(c, session.Options{Stream: -1, Workers: 1}, func(s *session.Session) error {
		sessions = append(sessions, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 3 {
		t.Fatalf("%d sessions", len(sessions))
	}
	report := func(order ...int) string {
		an := NewAnalyzer(Options{})
		for _, i := range order {
			an.Add(sessions[i])
		}
		var out []string
		for _, f := range an.Report(nil).Findings.All() {
			if f.ID == "seen-through-nat" {
				out = append(out, fmt.Sprint(f.Streams))
			}
		}
		return fmt.Sprint(out)
	}
	abc, cba, bac := report(0, 1, 2), report(2, 1, 0), report(1, 0, 2)
	if abc != cba || abc != bac {
		t.Errorf("seen-through-nat pairs: added A, B, C: %s; C, B, A: %s; B, A, C: %s", abc, cba, bac)
	}
}

// TestReview10ANATViewWithoutItsSYNACKIsStillOneSession: tcpdump -i any
// dropped the outside view's SYN-ACK (the client's ACK of it is there, so
// the server's ISN is known all the same). The message refused once after
// DATA, with a Message-ID, must not become a retry loop of one attempt
// seen twice: the failure this commit mends.
func TestReview10ANATViewWithoutItsSYNACKIsStillOneSession(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	view := func(client string, at time.Time, synACK bool) func(w *capgen.Writer) {
		return func(w *capgen.Writer) {
			s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(client),
				netip.MustParseAddrPort("198.51.100.25:25"), at, 1000, 5000)
			if synACK {
				s.Handshake()
			} else {
				s.Emit(true, 1000, capgen.SYN, nil)
				s.Pause(time.Millisecond) // the SYN-ACK, not captured
				s.Emit(true, 1001, capgen.ACK, nil)
			}
			plainEnvelope(s)
			s.Client("Message-ID: <rej@example.org>\r\nSubject: hi\r\n\r\nbody\r\n.\r\n")
			s.Server("550 content rejected\r\n")
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			s.Close()
		}
	}
	r := natViewsReport(t, map[string]func(*capgen.Writer){
		"inside.pcap":  view("10.0.0.2:40000", t0, true),
		"outside.pcap": view("192.0.2.1:40000", t0.Add(50*time.Microsecond), false),
	})
	for _, f := range r.Findings.All() {
		if f.ID == "retry-loop" {
			t.Errorf("findings %v: %s", findingList(r), f.Summary)
		}
	}
}
