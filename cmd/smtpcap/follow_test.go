package main

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

func TestFollowShowsTheSplitCommandWithBothFrames(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "follow", "--stream", "0", testcaps.Path("split-command.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Frame 8 ends "…>\r\nRC", frame 11 starts "PT TO:<" (testdata/pcaps/README.md).
	for _, want := range []string{
		"MAIL FROM:<a@example.org>\\r\\n",
		"C  [8┊11]",
		"RC┊PT TO:<b@example.test>\\r\\n",
		"S  [4]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestFollowMarksGapsRetransmissionConflictsAndResets(t *testing.T) {
	cases := []struct {
		file string
		want []string
	}{
		{"crafted/gap.pcap", []string{"C| [22┊23]", "M┊⟦24 bytes not captured⟧┊ple.org>\\r\\n"}},
		{"crafted/retrans-conflict.pcap", []string{`C offset 52: frame 15 retransmitted different bytes: first "RCPT TO:<b@example.test>\r\n" (frame 14), then "XXXX TO:<b@example.test>\r\n"`}},
		{"barelf.pcap", []string{"%%EOF\\n", "··· 3.0", "[RST]"}},
		{"starttls.pcap", []string{"STARTTLS\\r\\n", "C  [10┊14┊16┊…┊28]   +0.025s  [TLS: 1038 bytes after STARTTLS: ClientHello offering TLS 1.0 to TLS 1.3; the rest not decoded]"}},
		{"tls/starttls-failures.pcap", []string{"S  [13]           +0.128s  [TLS: 7 bytes after STARTTLS: fatal protocol_version (70) alert]"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, "follow", "-s", "0", testcaps.Path(tc.file))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestFollowShortensBodiesUnlessFull(t *testing.T) {
	path := testcaps.Path("crafted/middlebox-ack.pcap")
	_, short, _ := runCLI(t, nil, "follow", "-s", "0", path)
	_, full, _ := runCLI(t, nil, "follow", "-s", "0", "--full", path)
	if !strings.Contains(short, "[… 39 lines, 1454 bytes of message not shown; --full shows them …]") {
		t.Errorf("short output:\n%s", short)
	}
	// 7 header and text lines and 40 padding lines, one cut by the segment boundary.
	if strings.Contains(full, "not shown") || strings.Count(full, "\nC| ") != 47 || !strings.Contains(full, "C| [22┊23]") {
		t.Errorf("full output has %d body lines:\n%s", strings.Count(full, "\nC| "), full)
	}
}

func TestFollowRawWritesTheExactBytes(t *testing.T) {
	path := testcaps.Path("clean.pcap")
	code, out, errOut := runCLI(t, nil, "follow", "-s", "0", "--raw", "--direction", "client", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The client's bytes, straight from the capture's payloads.
	c, err := reassembly.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var want strings.Builder
	reassembly.Walk(c, reassembly.NewTracker(reassembly.TrackerOptions{}), func(cn *reassembly.Conn, s *reassembly.Segment, _ *reassembly.Packet) error {
		if s.Src == cn.Client() {
			want.Write(s.Payload)
		}
		return nil
	})
	if out != want.String() || len(out) != 300 {
		t.Errorf("raw client bytes (%d) differ from the capture's (%d)", len(out), want.Len())
	}
}

func TestFollowUnknownStreamIsAUsageError(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "follow", "-s", "9", testcaps.Path("clean.pcap"))
	if code != 2 || !strings.Contains(errOut, "stream 9: no such SMTP connection in the capture (it has 1 TCP connection, streams 0–0") {
		t.Errorf("exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(testcaps.Path("clean.pcap")); err != nil {
		t.Fatal(err)
	}
}

func TestNegativeStreamIsAUsageError(t *testing.T) {
	for _, args := range [][]string{{"follow", "-s", "-1"}, {"analyze", "-s", "-2"}} {
		code, out, errOut := runCLI(t, nil, append(args, testcaps.Path("multi.pcap"))...)
		if code != 2 || out != "" || !strings.Contains(errOut, "stream numbers start at 0") {
			t.Errorf("%v: exit %d, out %q, err %q; want exit 2 saying stream numbers start at 0", args, code, out, errOut)
		}
	}
}

func TestFollowStopsShowingAStreamPastWhatItKeeps(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.1:4000"), netip.MustParseAddrPort("192.0.2.2:25"), time.Unix(0, 0), 1, 2)
	s.Handshake()
	s.Server("220 x\r\n")
	s.Client("EHLO a\r\n")
	s.Skip(true, 1<<30) // a gigabyte the capture never saw
	s.Client("QUIT\r\n")
	code, out, errOut := runCLI(t, buf.Bytes(), "follow", "-s", "0", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "EHLO a\\r\\n") || !strings.Contains(out, "C: the client's stream is shown up to offset 8 only") || strings.Contains(out, "QUIT") {
		t.Errorf("output:\n%s", out)
	}
}

// TestFollowMeasuresNoSilenceAcrossAClockStep: a MAIL stamped an hour
// before the packet in front of it shows its own (negative) offset, and no
// "pass" line claims the hour was a silence; a real pause still shows.
func TestFollowMeasuresNoSilenceAcrossAClockStep(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.1:4000"), netip.MustParseAddrPort("192.0.2.2:25"), time.Unix(7200, 0), 1, 2)
	s.Handshake()
	s.Server("220 x\r\n")
	s.Pause(-time.Hour)
	s.Client("EHLO a\r\n")
	s.Pause(time.Hour)
	s.Server("250 x\r\n")
	s.Pause(3 * time.Second)
	s.Client("QUIT\r\n")
	code, out, errOut := runCLI(t, buf.Bytes(), "follow", "-s", "0", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Count(out, " pass ···") != 1 || !strings.Contains(out, "··· 3.") || !strings.Contains(out, "-3599.") {
		t.Errorf("output:\n%s", out)
	}
}

// TestFollowHidesCredentialsAndOnlyThem: in real Exim's AUTH LOGIN session
// the client's two answers to 334 are hidden (its AUTH line, without an
// initial response, holds none and is shown), and every
// server line is shown, also the EHLO reply line that sits at the same
// offset of the server's stream as a hidden line does in the client's.
func TestFollowHidesCredentialsAndOnlyThem(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "follow", "--stream", "0", testcaps.Path("exim-client/auth-login.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	hidden := linesWith(out, "credentials hidden")
	want := []string{
		"C [10] +0.008s <credentials hidden>",
		"C [12] +0.008s <credentials hidden>",
	}
	if strings.Join(hidden, "\n") != strings.Join(want, "\n") {
		t.Errorf("hidden lines:\n%s\nwant:\n%s", strings.Join(hidden, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out, "C  [8]            +0.008s  AUTH LOGIN\\r\\n") {
		t.Errorf("the AUTH line without an initial response is not shown:\n%s", out)
	}
	if !strings.Contains(out, "S  [7]            +0.008s  250-mx.example.test Hello client.example.org [127.0.1.31]\\r\\n") {
		t.Errorf("the EHLO reply's first line is not shown:\n%s", out)
	}
}

// TestFollowHidesMaskedCredentials: behind a firewall fixup the server
// receives "XXXX PLAIN <base64>"; follow shows the masked verb and the
// mechanism, never the credentials.
func TestFollowHidesMaskedCredentials(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "follow", "--stream", "1", testcaps.Path("middlebox-sweep/pix-auth.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "AHVzZXIAc2VjcmV0") || !strings.Contains(out, "C  [18]           +0.002s  XXXX PLAIN <credentials hidden>\n") {
		t.Errorf("follow of the masked AUTH:\n%s", out)
	}
}

// TestOutputNeverCarriesTerminalControls: a client line and a server reply
// holding ESC sequences, a bell, a C1 CSI and bytes that are not UTF-8 show
// as escapes in every command's output (streams shows only the accepted
// EHLO); only follow --raw, which promises the exact bytes, passes them on.
func TestOutputNeverCarriesTerminalControls(t *testing.T) {
	path := testcaps.Path("crafted/terminal-escapes.pcap")
	for _, args := range [][]string{
		{"follow", "-s", "0"},
		{"streams"},
		{"streams", "--format", "json"},
		{"analyze"},
		{"analyze", "--format", "json"},
		{"analyze", "--format", "markdown"},
		{"follow", "-s", "0", "--raw"},
	} {
		_, out, errOut := runCLI(t, nil, append(args, path)...)
		if out == "" {
			t.Errorf("%v: no output (%s)", args, errOut)
			continue
		}
		controls := 0
		for _, r := range out {
			if (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError {
				controls++
			}
		}
		raw := args[len(args)-1] == "--raw"
		if raw != (controls > 0) {
			t.Errorf("%v: %d control characters in the output", args, controls)
		}
		if !raw && args[0] != "streams" && !strings.Contains(out, `\x1b[2J`) {
			t.Errorf("%v: the escape sequence is not shown as \\x1b[2J:\n%s", args, out)
		}
	}
}

// TestFollowShowsWhatHappenedInOrder: message content lines carry their
// own frames and times, and a reply that came while the content was still
// coming is shown where it came. Sendmail's 421 (frame 16) sits between
// the bare-LF line (frame 15) and the rest (frame 19, half a second
// later); Postfix's ten-second wait comes before the client's QUIT, which
// it reads as content.
func TestFollowShowsWhatHappenedInOrder(t *testing.T) {
	for name, want := range map[string]string{
		"sendmail/sendmail-barelf-split.pcap": "C| [15]           +0.004s  first line\\n\n" +
			"S  [16]           +0.004s  421 4.5.0 Bare linefeed (LF) not allowed\\r\\n\n" +
			"S  [17]           +0.007s  [FIN]\n" +
			"C| [19]           +0.504s  second line\\r\\n\n",
		"postfix-bare/postfix-yes-barelf-end.pcap": "C| [15]           +0.001s  .\\r\\n\n" +
			"      ··· 10.011 s pass ···\n" +
			"C| [17]          +10.012s  QUIT\\r\\n\n",
	} {
		code, out, errOut := runCLI(t, nil, "follow", "-s", "0", testcaps.Path(name))
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d %s; output lacks\n%s\nin\n%s", name, code, errOut, want, out)
		}
	}
}

// greetedSession starts a connection from 192.0.2.1:4000 to port 25 in a
// capture written to buf: the handshake and the server's greeting.
func greetedSession(buf *bytes.Buffer) *capgen.Session {
	w := capgen.NewWriter(buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.1:4000"), netip.MustParseAddrPort("192.0.2.2:25"), time.Unix(0, 0), 1, 2)
	s.Handshake()
	s.Server("220 mx\r\n")
	return s
}

// longMessage writes one connection whose message has n lines ("line
// 000001\r\n" …), a hundred to a segment.
func longMessage(n int) []byte {
	var buf bytes.Buffer
	s := greetedSession(&buf)
	s.Client("MAIL FROM:<a@example.org>\r\n")
	s.Server("250 ok\r\n")
	s.Client("RCPT TO:<b@example.test>\r\n")
	s.Server("250 ok\r\n")
	s.Client("DATA\r\n")
	s.Server("354 go\r\n")
	var body strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&body, "line %06d\r\n", i)
	}
	body.WriteString(".\r\n")
	sizes := make([]int, n/100)
	for i := range sizes {
		sizes[i] = 100 * len("line 000001\r\n")
	}
	s.Client(body.String(), sizes...)
	s.Server("250 queued\r\n")
	s.Close()
	return buf.Bytes()
}

// TestFollowShowsTheEndsOfALongMessage: of a message of 200,000 lines,
// follow shows the first six and the last two, and counts the others.
func TestFollowShowsTheEndsOfALongMessage(t *testing.T) {
	code, out, errOut := runCLI(t, longMessage(200_000), "follow", "-s", "0", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "S  [16]           +0.015s  354 go\\r\\n\n" +
		"C| [18]           +0.017s  line 000001\\r\\n\n" +
		"C| [18]           +0.017s  line 000002\\r\\n\n" +
		"C| [18]           +0.017s  line 000003\\r\\n\n" +
		"C| [18]           +0.017s  line 000004\\r\\n\n" +
		"C| [18]           +0.017s  line 000005\\r\\n\n" +
		"C| [18]           +0.017s  line 000006\\r\\n\n" +
		"C|   [… 199992 lines, 2599896 bytes of message not shown; --full shows them …]\n" +
		"      ··· 1.999 s pass ···\n" +
		"C| [2017]         +2.016s  line 199999\\r\\n\n" +
		"C| [2017]         +2.016s  line 200000\\r\\n\n" +
		"C  [2018]         +2.017s  .\\r\\n\n" +
		"S  [2020]         +2.019s  250 queued\\r\\n\n"
	if !strings.Contains(out, want) || strings.Count(out, "\nC| [") != 8 {
		t.Errorf("output lacks\n%s\nin\n%s", want, out)
	}
}

// TestFollowFullShowsEveryLineOfALongMessage: with --full each of the
// 200,000 lines is shown, in order, with the frame that carried it.
func TestFollowFullShowsEveryLineOfALongMessage(t *testing.T) {
	code, out, errOut := runCLI(t, longMessage(200_000), "follow", "-s", "0", "--full", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var body []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "C| ") {
			body = append(body, line)
		}
	}
	if len(body) != 200_000 || strings.Contains(out, "not shown") {
		t.Fatalf("%d message lines", len(body))
	}
	for i, line := range body {
		// A hundred lines to a segment, from frame 18 on.
		want := fmt.Sprintf("[%d] %+.3fs line %06d\\r\\n", 18+i/100, float64(17+i/100)/1000, i+1)
		if got := strings.Join(strings.Fields(line)[1:], " "); got != want {
			t.Fatalf("message line %d: %q, want %q", i+1, got, want)
		}
	}
}

// TestFollowShowsEveryPipelinedCommandInOrder: 20,000 RCPTs, pipelined a
// hundred to a segment, each segment answered by one of a hundred replies,
// are all shown (more than the parser stores), in the order they came.
func TestFollowShowsEveryPipelinedCommandInOrder(t *testing.T) {
	const n, perSegment = 20_000, 100
	var buf bytes.Buffer
	s := greetedSession(&buf)
	s.Client("MAIL FROM:<a@example.org>\r\n")
	s.Server("250 ok\r\n")
	var want []string
	for i := 0; i < n; i += perSegment {
		var rcpts, replies strings.Builder
		for k := i; k < i+perSegment; k++ {
			fmt.Fprintf(&rcpts, "RCPT TO:<u%d@example.test>\r\n", k)
			replies.WriteString("250 ok\r\n")
		}
		frame := 10 + 2*i/perSegment
		for k := i; k < i+perSegment; k++ {
			want = append(want, fmt.Sprintf("C [%d] %+.3fs RCPT TO:<u%d@example.test>\\r\\n", frame, float64(frame-1)/1000, k))
		}
		for range perSegment {
			want = append(want, fmt.Sprintf("S [%d] %+.3fs 250 ok\\r\\n", frame+1, float64(frame)/1000))
		}
		s.Send(true, []byte(rcpts.String()))
		s.Send(false, []byte(replies.String()))
	}
	code, out, errOut := runCLI(t, buf.Bytes(), "follow", "-s", "0", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// After the two header lines, a blank one, the greeting, MAIL and its reply.
	lines := strings.Split(out, "\n")[6:]
	if len(lines) < len(want) {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	for i, w := range want {
		if got := strings.Join(strings.Fields(lines[i]), " "); got != w {
			t.Fatalf("dialogue line %d: %q, want %q", i+1, got, w)
		}
	}
}

// TestFollowShowsAHoleWhereItsFrameCame: the server's reply (frame 10)
// acknowledges a MAIL and a RCPT the capture has not seen; the MAIL comes
// next (frame 11), the RCPT never. The hole, declared at frame 10 though it
// lies after the MAIL, is shown with frame 10, before the MAIL.
func TestFollowShowsAHoleWhereItsFrameCame(t *testing.T) {
	var buf bytes.Buffer
	s := greetedSession(&buf)
	s.Client("EHLO c\r\n")
	s.Server("250 mx\r\n")
	at := s.Sent(true)
	commands := "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"
	s.Skip(true, uint32(len(commands)))
	s.Send(false, []byte("250 ok\r\n"))
	s.SegmentAt(true, at, []byte(commands[:len("MAIL FROM:<a@b>\r\n")]))
	s.Server("250 ok\r\n")
	s.Client("QUIT\r\n")
	code, out, errOut := runCLI(t, buf.Bytes(), "follow", "-s", "0", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "C  [10]           +0.009s  [15 bytes not in the capture: not captured, noticed at frame 10]\n" +
		"S  [10]           +0.009s  250 ok\\r\\n\n" +
		"C  [11]           +0.010s  MAIL FROM:<a@b>\\r\\n\n" +
		"S  [12]           +0.011s  250 ok\\r\\n\n" +
		"C  [14]           +0.013s  QUIT\\r\\n\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks\n%s\nin\n%s", want, out)
	}
}

// BenchmarkFollowLongMessage follows a message of 200,000 lines, of
// which 8 are shown: beyond the capture's bytes, what it allocates should
// not grow with the number of lines.
func BenchmarkFollowLongMessage(b *testing.B) {
	capture := longMessage(200_000)
	b.ReportAllocs()
	for b.Loop() {
		if code := run([]string{"smtpcap", "follow", "-s", "0", "-"}, bytes.NewReader(capture), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

func TestFollowMarksAFINSentAgain(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "follow", "-s", "0", testcaps.Path("postfix-sweep/s4-lonedot.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	controls := linesWith(out, "[FIN", "[RST]")
	want := []string{"S [18] +0.143s [FIN]", "S [19] +0.148s [FIN, sent again]", "S [22] +0.150s [RST]"}
	if strings.Join(controls, "|") != strings.Join(want, "|") {
		t.Errorf("FIN and RST lines %q, want %q", controls, want)
	}
}

// linesWith returns the lines of follow's output that contain any of
// marks, each with its runs of spaces made one.
func linesWith(out string, marks ...string) []string {
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if slices.ContainsFunc(marks, func(m string) bool { return strings.Contains(line, m) }) {
			lines = append(lines, strings.Join(strings.Fields(line), " "))
		}
	}
	return lines
}

// TestFollowShowsWhatTheServerSaysInClearAfterTLS: the server's bytes
// after STARTTLS are TLS until they stop framing as records; Exim's 421,
// written in clear text after it left TLS, is shown as a reply line with
// its frame, TLS bytes sent after a pause at their own time, and so are the server's cleartext answer to a client that
// opened with TLS, and a client's TLS hello on a plain port.
func TestFollowShowsWhatTheServerSaysInClearAfterTLS(t *testing.T) {
	for _, tc := range []struct {
		capture string
		want    []string
	}{
		{"clients/perl-starttls.pcap", []string{
			"S  [11┊12┊18┊20]   +0.025s  [TLS: 1547 bytes after STARTTLS: ServerHello choosing TLS 1.3; the rest not decoded]",
			"      ··· 20.045 s pass ···\nS  [22]          +20.070s  421 mx.example.test: SMTP command timeout - closing connection\\r\\n",
			// The client's TLS after the pause is shown at its own time.
			"C  [24]          +20.070s  [TLS: 24 more bytes, not decoded]",
		}},
		{"clients/msmtp-smtps-to-25.pcap", []string{
			"C  [4]            +0.000s  [TLS: 391 bytes encrypted from the start (implicit TLS), not decoded]",
			"S  [5]            +0.001s  554 SMTP synchronization error\\r\\n",
		}},
	} {
		code, out, errOut := runCLI(t, nil, "follow", "--stream", "0", testcaps.Path(tc.capture))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.capture, code, errOut)
		}
		for _, want := range tc.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", tc.capture, want, out)
			}
		}
	}
}

// TestFollowShowsAGreetingThatCameLate: real Exim delaying its greeting
// 12 s (exim-sweep2/slow-exim.pcap): the pause shows before the 220.
func TestFollowShowsAGreetingThatCameLate(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "follow", "--stream", "0", testcaps.Path("exim-sweep2/slow-exim.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "      ··· 12.011 s pass ···\nS  [4]           +12.011s  220 mx.example.test ESMTP Exim 4.96\\r\\n") {
		t.Errorf("output:\n%s", out)
	}
}

// TestFollowShowsWhatWasSentInClearBehindSTARTTLS: real Postfix, the
// client wrote "STARTTLS\r\nRSET\r\n" in one segment (frame 13): the RSET
// is a line in clear text, and TLS begins with the ClientHello (frame 16).
func TestFollowShowsWhatWasSentInClearBehindSTARTTLS(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "follow", "--stream", "0", testcaps.Path("postfix-sweep2/tlsreq2.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "C  [13]           +0.035s  RSET\\r\\n\nS  [14]           +0.035s  220 2.0.0 Ready to start TLS\\r\\n\nC  [16┊19]        +0.084s  [TLS: 597 bytes after STARTTLS: ClientHello"
	if !strings.Contains(out, want) {
		t.Errorf("output:\n%s", out)
	}
}

// TestFollowShowsAHelloSentAlthoughSTARTTLSWasRefused: real Postfix
// refused STARTTLS (454, frame 14) and the client sent its ClientHello
// anyway (frame 15): TLS records, shown as such, not as three lines of
// binary the server read them as; the server's refusals of those lines
// still show.
func TestFollowShowsAHelloSentAlthoughSTARTTLSWasRefused(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "follow", "--stream", "0", testcaps.Path("postfix-sweep2/tlsreq.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "S  [14]           +0.001s  454 4.7.0 TLS not available due to local problem\\r\\n\n" +
		"S  [14]           +0.001s  530 5.7.0 Must issue a STARTTLS command first\\r\\n\n" +
		"C  [15]           +0.040s  [TLS: 517 bytes although STARTTLS was refused (the server reads them as command lines): ClientHello offering TLS 1.2 to TLS 1.3]\n" +
		"S  [16]           +0.040s  500 5.5.2 Error: bad UTF-8 syntax\\r\\n\n"
	if !strings.Contains(out, want) || strings.Contains(out, `\x16\x03`) {
		t.Errorf("output:\n%s", out)
	}
}

func TestFollowShowsAMessageTheCaptureJoinedAsContent(t *testing.T) {
	// msmtp-big-midbody.pcap begins inside a message (frame 1 holds its
	// line 0041): its lines are content up to the end of data (frame 122),
	// not commands, and the "." and the 552 (frame 124) end it.
	code, out, errOut := runCLI(t, nil, "follow", "--stream", "0", testcaps.Path("clients/msmtp-big-midbody.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"C| [1]            +0.000s  line 0041 of a message",
		"C| [122]",
		"C  [122]          +0.049s  .\\r\\n",
		"S  [124]          +0.050s  552 Message size exceeds maximum permitted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "C  [1] ") {
		t.Errorf("a line of the message is shown as a command:\n%s", out)
	}
}

// TestFollowSaysWhoseWindowWasClosedInAPause: a real Exim server stopped
// 6 s in the middle of a BDAT chunk (zerowindow/paused-resumed.pcap). The
// pause in the client's message (measured, as every pause mark, between the
// lines shown) is the server's doing: its receive window was closed from
// frame 180. A pause that is only a wait (Exim's 12 s
// greeting) says nothing of windows.
func TestFollowSaysWhoseWindowWasClosedInAPause(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "follow", "--stream", "0", testcaps.Path("zerowindow/paused-resumed.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "\n      ··· 6.627 s pass, the server's receive window closed (frame 180) ···\nC| [380]          +6.630s  report line 04998"
	if !strings.Contains(out, want) || strings.Count(out, " pass") != 1 {
		t.Errorf("output lacks %q once:\n%s", want, out)
	}
	_, out, _ = runCLI(t, nil, "follow", "--stream", "0", testcaps.Path("exim-sweep2/slow-exim.pcap"))
	if strings.Contains(out, "window") {
		t.Errorf("a wait for the greeting told as a closed window:\n%s", out)
	}
}
