package findings

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/internal/textdiff"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// analyze runs the whole pipeline on one capture.
func analyze(t *testing.T, path string) *Report {
	t.Helper()
	c, err := reassembly.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer c.Close()
	return analyzeCapture(t, c, session.Options{Stream: -1, Recycle: true}).Report([]string{filepath.Base(path)})
}

// writeCapture writes a crafted capture to a file called name in a fresh
// temporary directory and returns its path.
func writeCapture(tb testing.TB, name string, capture []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, capture, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// analyzeCapture reads c with the given session options into an Analyzer.
func analyzeCapture(t testing.TB, c *reassembly.Capture, opts session.Options) *Analyzer {
	t.Helper()
	an := NewAnalyzer(Options{})
	if _, err := session.Read(c, opts, func(s *session.Session) error {
		an.Add(s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return an
}

// analyzeBytes runs the whole pipeline on a capture held in memory.
func analyzeBytes(t *testing.T, name string, capture []byte) *Report {
	t.Helper()
	c, err := reassembly.OpenReader(name, bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	return analyzeCapture(t, c, session.Options{Stream: -1}).Report(nil)
}

// openGateway opens a generated gateway capture held in memory.
func openGateway(t *testing.T, opts capgen.GatewayOptions) *reassembly.Capture {
	t.Helper()
	c, err := reassembly.OpenReader("gateway.pcap", bytes.NewReader(capgen.GatewayCapture(opts)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trigger is a capture that must produce a finding with exactly these frames.
type trigger struct {
	capture  string
	id       string
	stream   int
	frames   []int
	severity Severity
}

// triggers lists, for every finding ID, a capture that triggers it. Real
// captures (testdata/pcaps, README there) first; crafted ones
// (testdata/pcaps/crafted, built by internal/capgen) for what real software
// will not do on demand; the shared corpus where it holds the case.
func triggers() []trigger {
	corpus := func(name string) string { return "corpus:" + name }
	return []trigger{
		// Real Postfix 3.7 with smtpd_forbid_bare_newline=yes: the client gives up on a bare-LF ending and sends QUIT.
		{"postfix-bare/postfix-yes-barelf-end.pcap", "data-terminator-not-at-line-start", 0, []int{15}, Error},
		{"postfix-bare/postfix-yes-barelf-end.pcap", "stall", 0, []int{15, 17}, Warning},
		{"postfix-bare/postfix-yes-barelf-end.pcap", "lost-mid-transaction", 0, []int{9, 19}, Error},
		// Real Postfix 3.7 postscreen: a client that talks before the greeting, and smtpd's idle timeout.
		{"postscreen/postscreen-pregreet-enforce.pcap", "early-talker", 0, []int{4, 6}, Warning}, // the EHLO and the greeting cut short
		{"postscreen/postscreen-pregreet-enforce.pcap", "command-rejected", 0, []int{13, 14}, Info},
		{"postscreen/postscreen-pregreet-drop.pcap", "command-rejected", 0, []int{4, 8}, Info},
		{"postscreen/postscreen-idle-timeout.pcap", "lost-mid-transaction", 0, []int{11, 16, 18}, Error},
		// Real Exim 4.96 delaying its greeting 12 s (connect ACL delay), and
		// clients that gave up on it: one closed after 8 s, swaks sent QUIT
		// after 5 s and was refused (exim-sweep2).
		{"exim-sweep2/slow-exim.pcap", "slow-greeting", 0, []int{2, 4}, Warning},
		{"exim-sweep2/banner-giveup-exim.pcap", "slow-greeting", 0, []int{2, 4, 6}, Warning},
		{"exim-sweep2/banner-giveup-exim.pcap", "slow-greeting", 1, []int{9, 11, 14}, Warning},
		// Real OpenSMTPD 6.8: lenient about <LF>.<CRLF>, and no pipelining.
		{"opensmtpd/opensmtpd-barelf-end.pcap", "smuggling-end-of-data", 0, []int{15, 16}, Error},
		{"opensmtpd/opensmtpd-unoffered-pipelining.pcap", "pipelining-not-offered", 0, []int{9}, Error},
		{"opensmtpd/opensmtpd-unoffered-pipelining.pcap", "sync-error-reply", 0, []int{10}, Error},
		// Real Dovecot over LMTP: a recipient refused at RCPT, one over quota after the end of data.
		{"lmtp/lmtp-mixed.pcap", "command-rejected", 0, []int{30}, Info},
		// Real Sendmail 8.17 refusing bare line endings in the middle of a message.
		{"sendmail/sendmail-barelf-mid.pcap", "command-deferred", 0, []int{16}, Info},
		{"sendmail/sendmail-barelf-mid.pcap", "bare-lf-in-data", 0, []int{15}, Warning},
		{"sendmail/sendmail-barelf-split.pcap", "lost-mid-transaction", 0, []int{9, 16, 17, 20}, Error},
		{"sendmail/sendmail-barelf-end.pcap", "data-terminator-not-at-line-start", 0, []int{15}, Error},
		{"sendmail/sendmail-barelf-end.pcap", "lost-mid-transaction", 0, []int{9, 16, 17}, Error},
		{"sendmail/sendmail-barecr.pcap", "bare-cr-in-data", 0, []int{15}, Warning},
		// Real Exim behind a PIX-like fixup proxy (testdata/record/mboxproxy.py), seen from both sides.
		{"pix-server-side.pcap", "pix-masked-command", 0, []int{8, 11, 12}, Error},
		{"pix-server-side.pcap", "pix-masked-command", 2, []int{45, 46}, Error},
		{"pix-client-side.pcap", "pix-masked-ehlo", 0, []int{8}, Warning},
		{"pix-client-side.pcap", "command-split-across-segments", 1, []int{28, 30}, Error},
		{"sync-error.pcap", "sync-error-reply", 0, []int{9}, Error},
		{"sync-error.pcap", "pipelining-not-offered", 0, []int{8}, Error},
		{"sync-error.pcap", "pipelining-bad-sequence", 1, []int{18}, Warning},
		{"hold513-client-side.pcap", "unanswered-command", 0, []int{9, 10}, Warning},
		{"hold513-client-side.pcap", "lost-mid-transaction", 0, []int{9, 11}, Error}, // the client gave up on DATA with QUIT
		{"binarymime-data.pcap", "binary-via-data", 0, []int{14}, Error},
		{"binarymime-data.pcap", "binarymime-not-offered", 0, []int{8}, Error},
		{"binarymime-data.pcap", "eightbit-not-offered", 0, []int{17}, Info}, // Exim offers 8BITMIME
		{"crafted/eightbit-unoffered.pcap", "eightbit-not-offered", 0, []int{22}, Warning},
		{"exim-8bit/8bit.pcap", "eightbit-not-offered", 3, []int{79}, Warning}, // BODY=8BITMIME, not offered
		{"exim-8bit/8bit.pcap", "eightbit-not-offered", 2, []int{58}, Warning},
		{"exim-8bit/8bit.pcap", "eightbit-not-offered", 0, []int{15}, Info},
		{"binarymime-data.pcap", "line-too-long", 0, []int{17}, Warning},
		{"retry-loop.pcap", "retry-loop", 0, []int{8, 67, 126, 185}, Error},
		// Real swaks to Exim through a Linux NAT router, captured there with -i any (testdata/pcaps/nat).
		{"nat/nat-any.pcap", "seen-through-nat", 1, []int{1, 2}, Info},
		{"nat/nat-portmap.pcap", "seen-through-nat", 3, []int{79, 80}, Info},
		{"retry-loop.pcap", "lost-mid-transaction", 2, []int{126, 177}, Error},
		{"stall.pcap", "stall", 0, []int{9, 11}, Warning},
		{"rset-size.pcap", "size-exceeds-limit", 0, []int{8}, Warning},
		{"rset-size.pcap", "size-mismatch", 1, []int{24}, Warning},
		// Real Postfix 3.7 (testdata/pcaps/postfix, testdata/record/record-postfix.sh).
		{"postfix/barelf.pcap", "data-terminator-not-at-line-start", 0, []int{15}, Error},
		{"postfix/barelf-accept.pcap", "smuggling-end-of-data", 0, []int{15, 16}, Error},
		{"postfix/sync-error.pcap", "sync-error-reply", 0, []int{10}, Error},
		{"postfix/unauth-pipelining.pcap", "sync-error-reply", 1, []int{27}, Error},
		{"postfix/timeout.pcap", "lost-mid-transaction", 0, []int{9, 12, 14}, Error},
		{"postfix/rejects.pcap", "malformed-command", 0, []int{27}, Warning},
		{"postfix/rejects.pcap", "size-exceeds-limit", 0, []int{29}, Warning},
		{"crafted/masked-pix.pcap", "pix-masked-command", 0, []int{10, 12, 14}, Error}, // the command and the 500 that answers it
		{"crafted/masked-quoted.pcap", "pix-masked-command", 0, []int{14, 16}, Error},  // a reply quoting what the fixup sent, and the command as sent
		{"crafted/masked-pix.pcap", "pix-masked-ehlo", 0, []int{4}, Warning},
		{"crafted/masked-pix.pcap", "pix-masked-ehlo", 0, []int{8}, Warning},
		{"crafted/masked-pix.pcap", "command-split-across-segments", 0, []int{10, 12}, Error},
		{"crafted/masked-pix.pcap", "sync-error-reply", 0, []int{14}, Error},
		{"crafted/masked-pix.pcap", "pipelining-not-offered", 0, []int{10, 12}, Error},
		{"split-command.pcap", "command-split-across-segments", 0, []int{8, 11}, Info},
		{"crafted/middlebox-ack.pcap", "middlebox-ack", 0, []int{24}, Warning},
		{"crafted/middlebox-ack.pcap", "stall", 0, []int{23, 25}, Warning},
		// Real Postfix and swaks through a path-MTU black hole (testdata/pcaps/pmtu): the
		// 1448-byte segment and its nine resends; with MTU probing, the 512-byte resend
		// in frame 84 that got through and its ACK.
		{"pmtu/pmtu-client-side.pcap", "large-segments-lost", 1, []int{36, 44, 45, 46, 47, 48, 49, 50, 55, 56}, Error},
		{"pmtu/pmtu-client-side.pcap", "large-segments-lost", 2, []int{71, 79, 80, 81, 82, 84, 85}, Warning},
		{"crafted/pmtu-blackhole.pcap", "large-segments-lost", 0, []int{22, 24, 25, 26, 27, 28, 29}, Error}, // the first segment and its six retransmissions
		{"crafted/pmtu-probing.pcap", "large-segments-lost", 0, []int{22, 23, 24, 25, 26, 27, 33}, Warning}, // then the smaller resend and its ACK
		{"crafted/stall-open.pcap", "stall", 0, []int{22, 27}, Warning},                                     // silent until the capture's end
		{"crafted/stall-open.pcap", "data-terminator-not-at-line-start", 0, []int{22}, Error},
		{"crafted/stall-open.pcap", "lost-mid-transaction", 0, []int{10, 27}, Warning}, // the capture, not the connection, ended
		// Real Exim 4.96 servers stopped (SIGSTOP) in the middle of a message: resumed after 6 s, killed after 20 s.
		{"zerowindow/paused-resumed.pcap", "window-closed", 0, []int{180, 189}, Warning},
		{"zerowindow/paused-killed.pcap", "window-closed", 0, []int{174, 187}, Error},
		{"zerowindow/deaf-client.pcap", "window-closed", 0, []int{189, 191, 211}, Error}, // a client pipelining 20000 RCPTs without reading: deadlock
		// A real Exim client that waits 5 s for the reply to its end of data; Python's smtpd answers 250 after 12 s.
		{"late-accept/late-250-python.pcap", "accepted-after-client-left", 0, []int{17, 19, 21, 22}, Error},
		{"late-accept/lost-250-exim.pcap", "accepted-after-client-left", 0, []int{14, 15, 23, 45}, Error}, // Exim's 250 lost on the way back
		// Real Postfix 3.7 as the client, smtp_data_done_timeout = 5s: "message may be sent more than once".
		{"late-accept/late-250-postfix-python.pcap", "accepted-after-client-left", 0, []int{18, 20, 22, 23}, Error},
		{"late-accept/lost-250-postfix-python.pcap", "accepted-after-client-left", 0, []int{18, 19, 27, 53}, Error},
		{"late-accept/late-250-postfix-server.pcap", "accepted-after-client-left", 0, []int{15, 17, 19, 21, 22}, Error}, // Postfix as the server, swaks giving up
		{"crafted/retrans-conflict.pcap", "retransmission-conflict", 0, []int{14, 15}, Error},
		{"crafted/out-of-step.pcap", "unanswered-command", 0, []int{12}, Warning},
		{"crafted/out-of-step.pcap", "reply-without-command", 0, []int{10}, Warning},
		{"crafted/out-of-step.pcap", "malformed-reply", 0, []int{14}, Warning},
		{"crafted/malformed.pcap", "malformed-command", 0, []int{10}, Warning},
		{"crafted/malformed.pcap", "malformed-command", 0, []int{18}, Warning},
		{corpus("bug-6207-1.pcap"), "malformed-command", 0, []int{10}, Warning},
		{"multi.pcap", "command-rejected", 2, []int{54, 55}, Info},
		{"exim-client/quit-early.pcap", "command-rejected", 0, []int{4}, Info}, // 554 in the greeting
		{"exim-client/auth-fail.pcap", "command-rejected", 0, []int{8, 9}, Info},
		{"postfix-client/postfix-client-defer.pcap", "retry-loop", 0, []int{9, 24, 39}, Error}, // real Postfix retrying a 451 recipient, deferred first in a delivered transaction
		{"postfix-client/postfix-client-defer.pcap", "command-deferred", 0, []int{9, 10}, Info},
		{"postfix-client/postfix-client-reject.pcap", "command-rejected", 0, []int{9, 10}, Info},
		{"postfix-client/postfix-client-size-nosize.pcap", "command-rejected", 0, []int{46}, Info}, // 552 after the content
		{"crafted/deferred.pcap", "command-deferred", 0, []int{14, 16}, Info},
		{"postfix/barelf-reject.pcap", "command-rejected", 0, []int{19}, Info}, // the message, after its content
		{"postfix/barelf-reject.pcap", "smuggling-end-of-data", 0, []int{15}, Warning},
		{"barelf.pcap", "data-terminator-not-at-line-start", 0, []int{15}, Error},
		{"barelf.pcap", "bare-lf-in-data", 0, []int{15}, Warning},
		{"barelf.pcap", "lost-mid-transaction", 0, []int{8, 17}, Error},
		{"crafted/binary-data.pcap", "bare-cr-in-data", 0, []int{22}, Warning},
		{"crafted/smuggling.pcap", "smuggling-end-of-data", 0, []int{22}, Error},
		{"crafted/binary-data.pcap", "binary-via-data", 0, []int{18}, Error},
		{"core-sweep/binary-data.pcap", "binary-via-data", 0, []int{12}, Error},                                   // a binary part of a multipart message
		{"sendmail-sweep/s07-starttls.pcap", "tls-handshake-failed", 1, []int{40, 41, 42, 43}, Error},             // clear text after the 220
		{"sendmail-sweep/s07-starttls.pcap", "tls-handshake-failed", 2, []int{52, 53, 55}, Warning},               // nothing after the 220
		{"opensmtpd-sweep/osd-starttls-swaks.pcap", "tls-handshake-failed", 0, []int{9, 10, 12, 13, 15}, Warning}, // the server's encrypted alert
		{"crafted/binary-data.pcap", "binarymime-not-offered", 0, []int{10}, Error},
		{"crafted/bdat-not-offered.pcap", "bdat-not-offered", 0, []int{18}, Error},
		{corpus("smtp-data-rejected--10.7.29.101_49898-178.63.41.150_25.pcap"), "eightbit-not-offered", 0, []int{18}, Info},
		{"crafted/binary-data.pcap", "nul-in-data", 0, []int{22}, Warning},
		{"crafted/binary-data.pcap", "line-too-long", 0, []int{22}, Warning},
		{"crafted/bdat-mismatch.pcap", "bdat-size-mismatch", 0, []int{18}, Error},
		{corpus("smtp-bdat-bad-tail-reply-queue.pcap"), "bdat-size-mismatch", 0, []int{9}, Error},
		{"crafted/size.pcap", "size-mismatch", 0, []int{14}, Warning},
		{"crafted/size.pcap", "size-exceeds-limit", 0, []int{10}, Warning},
		{"crafted/retry.pcap", "retry-loop", 0, []int{10, 34, 58}, Error},
		{"crafted/gap.pcap", "capture-gap", 0, []int{23}, Warning},                // where Wireshark says "previous segment not captured"
		{"snaplen96.pcap", "snaplen-truncated", 0, []int{8, 15, 16, 17}, Warning}, // the client side; README: frames 4, 7, 8, 14–17, 22 are cut
		{"starttls.pcap", "tls-started", 0, []int{8, 9}, Info},
		// Real Exim 4.96 and swaks inside STARTTLS: swaks killed after its message, before the reply.
		{"sweep20/tls-kill.pcap", "tls-session-cut", 0, []int{24, 25, 725}, Error},
		// Real Postfix and swaks, STARTTLS then a failed handshake (testdata/pcaps/tls):
		// STARTTLS, 220, the hellos and the alert, as tshark shows them.
		// No alert in the clear: a TLS 1.3 client that gives up with one encrypted record,
		// and a ClientHello nobody answers.
		{"crafted/tls13-encrypted-alert.pcap", "tls-handshake-failed", 0, []int{10, 12, 14, 16, 19}, Warning},
		{"crafted/tls-unanswered.pcap", "tls-handshake-failed", 0, []int{10, 12, 14, 16}, Warning},
		{"tls/starttls-failures.pcap", "tls-handshake-failed", 0, []int{9, 10, 12, 13}, Error},      // server: protocol_version
		{"tls/starttls-failures.pcap", "tls-handshake-failed", 1, []int{26, 27, 29, 30}, Error},     // server: handshake_failure
		{"tls/starttls-failures.pcap", "tls-handshake-failed", 2, []int{43, 44, 46, 47, 49}, Error}, // client: unknown_ca, TLS 1.2
		{"tls/starttls-failures.pcap", "tls-handshake-failed", 3, []int{59, 60, 62, 63, 65}, Error}, // client: unknown_ca, TLS 1.3
		{"crafted/implicit-tls.pcap", "tls-started", 0, []int{4}, Info},                             // the ClientHello, not the SYN
		{"crafted/connect-failed.pcap", "connect-failed", 0, []int{1, 2, 3, 4}, Error},
		{"crafted/connect-failed.pcap", "connect-failed", 1, []int{5, 6}, Error},
		{"crafted/onesided.pcap", "one-sided-capture", 0, []int{1}, Warning},
	}
}

func capturePath(name string) string {
	if c, ok := strings.CutPrefix(name, "corpus:"); ok {
		return filepath.Join(testcaps.Root(), "..", "shared", "corpus", "suricata-verify", c)
	}
	return testcaps.Path(name)
}

func TestEveryFindingHasACaptureThatTriggersIt(t *testing.T) {
	covered := map[string]bool{}
	for _, tr := range triggers() {
		covered[tr.id] = true
	}
	for _, e := range Catalog() {
		if !covered[e.ID] {
			t.Errorf("finding %s has no triggering capture in triggers()", e.ID)
		}
	}
	reports := map[string]*Report{}
	for _, tr := range triggers() {
		t.Run(tr.id+"/"+filepath.Base(tr.capture), func(t *testing.T) {
			path := capturePath(tr.capture)
			if _, err := os.Stat(path); err != nil && strings.HasPrefix(tr.capture, "corpus:") {
				t.Skipf("shared corpus absent: %v", err)
			}
			r := reports[path]
			if r == nil {
				r = analyze(t, path)
				reports[path] = r
			}
			var seen []string
			for _, f := range r.Findings.All() {
				if f.ID != tr.id {
					continue
				}
				if f.Stream == tr.stream && slices.Equal(f.Frames, tr.frames) {
					if f.Severity != tr.severity {
						t.Errorf("severity %s, want %s", f.Severity, tr.severity)
					}
					if f.Explanation == "" || f.Remedy == "" || !strings.HasPrefix(f.Filter, fmt.Sprintf("tcp.stream eq %d", tr.stream)) {
						t.Errorf("incomplete finding: %+v", f)
					}
					return
				}
				seen = append(seen, fmt.Sprintf("stream %d frames %v", f.Stream, f.Frames))
			}
			t.Errorf("no %s in stream %d with frames %v; found %v", tr.id, tr.stream, tr.frames, seen)
		})
	}
}

// TestFindingsNameTheirOwnStreamsFrames: every frame a finding names is
// a packet of its connection, or of one of the connections it names, and
// every byte offset lies within the bytes its side sent, in every capture.
func TestFindingsNameTheirOwnStreamsFrames(t *testing.T) {
	checked, offsets := 0, 0
	for _, path := range testcaps.Every() {
		if testcaps.Broken(path) {
			continue
		}
		c, err := reassembly.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		streamOf := map[int]int{}
		factsCut := map[int]bool{} // streams whose packets are not all known
		sent := map[string]int64{} // bytes each side sent, by "stream/side"
		an := NewAnalyzer(Options{})
		if _, err := session.Read(c, session.Options{Stream: -1}, func(s *session.Session) error {
			for _, d := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
				if st := s.Stream(d); st != nil {
					sent[fmt.Sprint(s.Conn.Stream, "/", d)] = st.Next
					factsCut[s.Conn.Stream] = factsCut[s.Conn.Stream] || st.FactsCut > 0
					for _, sf := range st.Segments {
						streamOf[sf.Frame] = s.Conn.Stream
					}
				}
			}
			an.Add(s)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		for _, f := range an.Report(nil).Findings.All() {
			if f.Offset >= 0 && f.Direction != "" {
				offsets++
				if n, ok := sent[fmt.Sprint(f.Stream, "/", f.Direction)]; !ok || f.Offset > n {
					t.Errorf("%s: %s of stream %d: offset %d in the %s's bytes, which number %d (known: %v)",
						filepath.Base(path), f.ID, f.Stream, f.Offset, f.Direction, n, ok)
				}
			}
			if factsCut[f.Stream] {
				continue
			}
			for _, fr := range f.Frames {
				checked++
				if owner, ok := streamOf[fr]; !ok || owner != f.Stream && !slices.Contains(f.Streams, owner) {
					t.Errorf("%s: %s of stream %d (streams %v) names frame %d, a packet of stream %d (known: %v)",
						filepath.Base(path), f.ID, f.Stream, f.Streams, fr, owner, ok)
				}
			}
		}
	}
	t.Logf("%d frames, %d offsets checked", checked, offsets)
	if checked < 1000 || offsets < 1000 {
		t.Errorf("only %d frames and %d offsets checked: the captures do not test this", checked, offsets)
	}
}

// TestOneReplyOneRefusal: a refusal is reported once, whichever way it is
// reached (a command's own reply, a message's final reply, BDAT LAST being
// both), and a synchronization error is not also a rejection.
func TestOneReplyOneRefusal(t *testing.T) {
	for _, path := range testcaps.Every() {
		if testcaps.Broken(path) {
			continue
		}
		r := analyze(t, path)
		type reply struct {
			stream int
			offset int64
		}
		seen := map[reply]string{}
		for _, f := range r.Findings.All() {
			if f.ID != "command-rejected" && f.ID != "command-deferred" && f.ID != "sync-error-reply" {
				continue
			}
			key := reply{f.Stream, f.Offset} // the reply's offset in the server's stream
			if other, dup := seen[key]; dup {
				t.Errorf("%s: stream %d, reply at offset %d: %s and %s", filepath.Base(path), key.stream, key.offset, other, f.ID)
			}
			seen[key] = f.ID
		}
	}
}

// TestCleanCapturesStayQuiet: real clean sessions of Exim and swaks, and
// crafted clean ones, yield no warning or error.
func TestCleanCapturesStayQuiet(t *testing.T) {
	for _, name := range []string{"clean.pcap", "clean.pcapng", "clean-nsec.pcap", "pipelined.pcap", "multi.pcap", "multi.pcap.gz",
		"portreuse.pcap", "midstream.pcap", "any-sll2.pcap", "ipv6.pcap", "bdat.pcap", "split-command.pcap", "starttls.pcap",
		"bdat-pipelined.pcap", "passthrough-client-side.pcap", "passthrough-server-side.pcap", "crafted/ooo-retrans.pcap", "crafted/implicit-tls.pcap",
		"postfix/clean.pcap", "postfix/pipelined.pcap", "postfix/bdat.pcap", "postfix/starttls.pcap",
		// Exim as the client: three messages in one connection, over BDAT
		// with QUIT pipelined after the last chunk, and over DATA; AUTH
		// PLAIN and LOGIN; a server slow to answer RCPT (3 s).
		"exim-client/exim-client-bdat.pcap", "exim-client/exim-client-data.pcap", "exim-client/exim-client-starttls.pcap",
		"exim-client/auth-plain.pcap", "exim-client/auth-login.pcap", "exim-client/slow-server.pcap",
		// Postfix as the client: three messages over one cached connection
		// (RSET between them, closed without QUIT), over two, STARTTLS,
		// and a message it would not send because of the server's SIZE.
		"postfix-client/postfix-client-multi.pcap", "postfix-client/postfix-client-multi-2conn.pcap",
		"postfix-client/postfix-client-starttls.pcap", "postfix-client/postfix-client-size.pcap",
		// The server side of the 513-byte hold: the session Exim saw was
		// short and ended by its own timeout (421), nothing for it to fix.
		"hold513-server-side.pcap",
		// Sendmail 8.17 taking two messages in one connection.
		"sendmail/sendmail-clean.pcap",
		// Dovecot over LMTP: two final replies for two recipients.
		"lmtp/lmtp-clean.pcap", "lmtp/lmtp-pipelined.pcap",
		// OpenSMTPD 6.8 taking two messages in one connection.
		"opensmtpd/opensmtpd-clean.pcap",
		// Postfix 3.7 with smtpd_forbid_bare_newline=yes, a clean message.
		"postfix-bare/postfix-yes-clean.pcap",
		// Postfix 3.7 behind postscreen: a client that waits for the
		// two-line greeting, and UTF-8 addresses under SMTPUTF8.
		"postscreen/postscreen-patient.pcap", "postscreen/postscreen-smtputf8.pcap",
		// Exim 4.96 both ways with early pipelining (PIPECONNECT): the
		// second and third connections send EHLO, MAIL, RCPT and DATA
		// before the banner, as the server's offer allows.
		"exim-pipeconnect/pipe-connect.pcap",
		// The second Exim sweep: swaks over IPv6 (one of three RCPTs
		// refused, STARTTLS; also captured on -i any), AUTH PLAIN and
		// LOGIN accepted and refused, submission's 530 before AUTH, and
		// clean sessions over a link that lost 8 % of its packets.
		"exim-sweep2/ipv6-exim.pcap", "exim-sweep2/ipv6-any.pcap", "exim-sweep2/auth-exim.pcap",
		"exim-sweep2/submission-exim.pcap", "exim-sweep2/lossy-exim.pcap",
		// SMTPUTF8 addresses, and a refusal in UTF-8 under it.
		"exim-sweep2/utf8-exim.pcap",
		// A 375 KB message to Exim at 4 Mbit/s with a small receive
		// buffer: the window fills again and again, never closes for long.
		"zerowindow/clean-big.pcap"} {
		t.Run(name, func(t *testing.T) {
			r := analyze(t, testcaps.Path(name))
			for _, f := range r.Findings.All() {
				if f.Severity > Info {
					t.Errorf("%s %s stream %d frames %v: %s", f.Severity, f.ID, f.Stream, f.Frames, f.Summary)
				}
			}
			if r.Connections.Len() == 0 {
				t.Errorf("no connections analysed")
			}
		})
	}
}

// TestCorpusFindingsAreTheCheckedOnes analyses every shared-corpus capture
// (without a crash) and compares its warnings and errors with the list in
// testdata/corpus-findings.golden, each line of which was checked by hand
// against the capture. A new or vanished finding fails the test; refresh
// the list with -update only after checking the difference.
func TestCorpusFindingsAreTheCheckedOnes(t *testing.T) {
	files := testcaps.Corpus()
	if len(files) == 0 {
		t.Skip("shared corpus absent")
	}
	var lines []string
	for _, path := range files {
		r := analyze(t, path)
		for _, f := range r.Findings.All() {
			if f.Severity > Info {
				lines = append(lines, fmt.Sprintf("%s\tstream %d\t%s\t%s\tframes %s", filepath.Base(path), f.Stream, f.Severity, f.ID, framesText(f.Frames, 6)))
			}
		}
	}
	sort.Strings(lines)
	checkGolden(t, "corpus-findings.golden", []byte(strings.Join(lines, "\n")+"\n"))
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; diff it (go test -update rewrites it):\n%s", name, textdiff.FirstLine(string(want), string(got)))
	}
}

// TestGoldenReports pins the JSON and Markdown reports of a few captures.
func TestGoldenReports(t *testing.T) {
	for _, name := range []string{"barelf.pcap", "split-command.pcap", "crafted/masked-pix.pcap", "crafted/retry.pcap"} {
		t.Run(name, func(t *testing.T) {
			r := analyze(t, testcaps.Path(name))
			r.Version, r.Command = "test", "smtpcap analyze "+name
			var js, md bytes.Buffer
			if err := WriteJSON(&js, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteMarkdown(&md, r); err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(filepath.Base(name), ".pcap")
			checkGolden(t, filepath.Join("golden", base+".json"), js.Bytes())
			checkGolden(t, filepath.Join("golden", base+".md"), md.Bytes())
		})
	}
}

func TestReportFilterAndWorst(t *testing.T) {
	r := analyze(t, testcaps.Path("crafted/masked-pix.pcap"))
	r.Filter(Error, []string{"sync-error-reply"})
	for _, f := range r.Findings.All() {
		if f.Severity < Error || f.ID == "sync-error-reply" {
			t.Errorf("kept %s %s", f.Severity, f.ID)
		}
	}
	if w, ok := r.Worst(); !ok || w != Error {
		t.Errorf("worst %v %v", w, ok)
	}
}

// TestResultsDoNotDependOnWorkers analyses a generated gateway capture
// (many interleaved connections, some broken) with 1 and with 3 workers,
// and with a short linger so that connections finish mid-capture: the
// reports must be byte-identical.
func TestResultsDoNotDependOnWorkers(t *testing.T) {
	report := func(workers int, recycle bool) []byte {
		c := openGateway(t, capgen.GatewayOptions{Seed: 7, TargetBytes: 3 << 20, Concurrency: 50, MaxBody: 20 << 10, NonSMTP: 15})
		an := analyzeCapture(t, c, session.Options{Stream: -1, Workers: workers, Linger: time.Millisecond, Recycle: recycle})
		var out bytes.Buffer
		WriteJSON(&out, an.Report([]string{"gateway.pcap"}))
		return out.Bytes()
	}
	one, three := report(1, false), report(3, false)
	if !bytes.Equal(one, three) {
		t.Errorf("1 and 3 workers differ:\n%s", textdiff.FirstLine(string(one), string(three)))
	}
	// Recycling a finished connection's memory must not change a byte:
	// the Analyzer keeps nothing of a session's streams.
	if recycled := report(3, true); !bytes.Equal(one, recycled) {
		t.Errorf("with Recycle the report differs:\n%s", textdiff.FirstLine(string(one), string(recycled)))
	}
	// Detecting on the workers, outside the emit lock, must not either.
	c := openGateway(t, capgen.GatewayOptions{Seed: 7, TargetBytes: 3 << 20, Concurrency: 50, MaxBody: 20 << 10, NonSMTP: 15})
	an := NewAnalyzer(Options{})
	sessions, prepared := 0, 0
	opts := session.Options{Stream: -1, Workers: 3, Linger: time.Millisecond, Recycle: true,
		Prepare: func(s *session.Session) any { return an.Detect(s) }}
	if _, err := session.Read(c, opts, func(s *session.Session) error {
		sessions++
		if _, ok := s.Prepared.(*Detected); ok {
			prepared++
		}
		an.Add(s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var detected bytes.Buffer
	WriteJSON(&detected, an.Report([]string{"gateway.pcap"}))
	if prepared != sessions || !bytes.Equal(one, detected.Bytes()) {
		t.Errorf("%d of %d sessions prepared; the report with Detect on the workers differs:\n%s",
			prepared, sessions, textdiff.FirstLine(string(one), detected.String()))
	}
	var r Report
	if err := json.Unmarshal(one, &r); err != nil {
		t.Fatal(err)
	}
	if r.Connections.Len() < 100 || r.Findings.Len() == 0 {
		t.Errorf("%d connections, %d findings: the capture is not what the test needs", r.Connections.Len(), r.Findings.Len())
	}
}

// TestCaptureLossIsNotBlamedOnServers: on captures that lost bytes (a
// snaplen of 96, an ACKed gap), every finding but the capture's own is
// either info or says that the capture's loss touches it.
func TestCaptureLossIsNotBlamedOnServers(t *testing.T) {
	for _, name := range []string{"snaplen96.pcap", "crafted/gap.pcap", "crafted/gap-end.pcap"} {
		r := analyze(t, testcaps.Path(name))
		lossReported := false
		for _, f := range r.Findings.All() {
			switch {
			case f.ID == "snaplen-truncated" || f.ID == "capture-gap":
				lossReported = true
			case f.Severity > Info && f.CaptureLoss == "":
				t.Errorf("%s: %s %s frames %v blames a server: %s", name, f.Severity, f.ID, f.Frames, f.Summary)
			}
		}
		if !lossReported {
			t.Errorf("%s: the capture's loss is not reported", name)
		}
	}
}

// TestLostEndOfDataIsTheCapturesLoss: the segment with the end of the
// message is missing, and the server's "250 OK queued" acknowledges it:
// the message was delivered, the QUIT after it is a command, and the only
// finding is the capture's own gap, at the 250 (frame 23) that reveals it.
func TestLostEndOfDataIsTheCapturesLoss(t *testing.T) {
	r := analyze(t, testcaps.Path("crafted/gap-end.pcap"))
	var got []string
	for _, f := range r.Findings.All() {
		got = append(got, fmt.Sprintf("%s %v", f.ID, f.Frames))
	}
	if want := "capture-gap [23]"; strings.Join(got, "; ") != want {
		t.Errorf("findings %q, want %q", got, want)
	}
	if c := r.Connections.All()[0]; c.Transactions != 1 || c.Delivered != 1 {
		t.Errorf("transactions %d delivered %d, want 1 and 1", c.Transactions, c.Delivered)
	}
}

// TestPostscreenPregreetIsTheOnlyStory: real postscreen answering a client
// that sent EHLO before the greeting. The cut greeting must not shift the
// pairing of replies: no pipelining, unanswered-command or other findings
// beyond the early talker, the cut greeting and the refusal.
func TestPostscreenPregreetIsTheOnlyStory(t *testing.T) {
	for name, want := range map[string]string{
		"postscreen/postscreen-pregreet-enforce.pcap": "early-talker [4 6]; command-rejected [13 14]",
		"postscreen/postscreen-pregreet-drop.pcap":    "early-talker [4 6]; command-rejected [4 8]",
	} {
		r := analyze(t, testcaps.Path(name))
		var got []string
		for _, f := range r.Findings.All() {
			got = append(got, fmt.Sprintf("%s %v", f.ID, f.Frames))
		}
		if strings.Join(got, "; ") != want {
			t.Errorf("%s: findings %q, want %q", name, strings.Join(got, "; "), want)
		}
		if d := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(d, `The client sent "EHLO client.example.org" before the server's greeting had ended`) ||
			!strings.Contains(d, "The server then refused it: ") || !strings.Contains(d, "5.5.1 Protocol error") {
			t.Errorf("%s: diagnosis %q", name, d)
		}
	}
}

// TestUnasked421IsNoRepliesWithoutCommand: Exim's "421 SMTP command
// timeout" (frame 22 of hold513-server-side, with nothing waiting) is a
// server closing as RFC 5321 section 3.8 lets it, not a sign of the two
// sides out of step.
func TestUnasked421IsNoRepliesWithoutCommand(t *testing.T) {
	r := analyze(t, testcaps.Path("hold513-server-side.pcap"))
	for _, f := range r.Findings.All() {
		if f.ID == "reply-without-command" {
			t.Errorf("stream %d frames %v: %s", f.Stream, f.Frames, f.Summary)
		}
	}
}

// TestSeveralTransactionsInOneConnectionStayQuiet: a relay that sends two
// messages, pipelined, with an RSET and a rejected recipient in between,
// then BDAT, over one connection is clean.
func TestSeveralTransactionsInOneConnectionStayQuiet(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220-mx.example.test ESMTP\r\n220 welcome\r\n")
		s.Client("EHLO relay.example.org\r\n")
		s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n")
		s.Client("MAIL FROM:<a@example.org> SIZE=200 BODY=8BITMIME\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n")
		s.Server("250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 unknown\r\n354 go ahead\r\n")
		s.Client("Subject: one\r\n\r\n..leading dot\r\nbody\r\n.\r\n")
		s.Server("250 2.0.0 queued\r\n")
		s.Client("RSET\r\n")
		s.Server("250 2.0.0 OK\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.test>\r\nBDAT 20 LAST\r\nSubject: two\r\n\r\nhi\r\n")
		s.Server("250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.0.0 queued\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 2.0.0 bye\r\n")
	})
	for _, f := range r.Findings.All() {
		if f.Severity > Info {
			t.Errorf("%s %s frames %v: %s", f.Severity, f.ID, f.Frames, f.Summary)
		}
	}
	if r.Connections.Len() != 1 || r.Connections.All()[0].Delivered != 2 || r.Connections.All()[0].Transactions != 2 {
		t.Errorf("connections %+v", r.Connections)
	}
}

// pipelinedEnvelope writes a greeting, an EHLO offering PIPELINING, and
// MAIL, RCPT and DATA in one segment, all accepted: a scripted session up
// to its message content.
func pipelinedEnvelope(s *capgen.Session) {
	s.Server("220 mx ESMTP\r\n")
	s.Client("EHLO c.example.org\r\n")
	s.Server("250-mx\r\n250 PIPELINING\r\n")
	s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
	s.Server("250 ok\r\n250 ok\r\n354 go\r\n")
}

// plainEnvelope is pipelinedEnvelope without pipelining: each command in
// a segment of its own, after the reply to the one before.
func plainEnvelope(s *capgen.Session) {
	s.Server("220 mx ESMTP\r\n")
	s.Client("EHLO c.example.org\r\n")
	s.Server("250 mx\r\n")
	s.Client("MAIL FROM:<a@example.org>\r\n")
	s.Server("250 ok\r\n")
	s.Client("RCPT TO:<b@example.test>\r\n")
	s.Server("250 ok\r\n")
	s.Client("DATA\r\n")
	s.Server("354 go\r\n")
}

// scriptedReport analyses one session that script writes between a
// handshake and a close, from 192.0.2.10 to port port of 198.51.100.25.
func scriptedReport(t *testing.T, port uint16, script func(s *capgen.Session)) *Report {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:40000"),
		netip.AddrPortFrom(netip.MustParseAddr("198.51.100.25"), port), time.Unix(1_700_000_000, 0), 11, 22)
	s.Handshake()
	script(s)
	s.Close()
	return analyzeBytes(t, "scripted.pcap", buf.Bytes())
}

// endedReport is scriptedReport for a script that ends the connection
// itself, given fin to send one side's FIN; handshake false starts the
// capture in the middle of the session.
func endedReport(t *testing.T, handshake bool, script func(s *capgen.Session, fin func(client bool))) *Report {
	t.Helper()
	return craftedReport(t, "ended", 25, func(s *capgen.Session, fin func(client bool)) {
		if handshake {
			s.Handshake()
		}
		script(s, fin)
	})
}

// craftedReport analyses a session from 192.0.2.10:40000 to
// 198.51.100.25:port that script writes, given fin to send one side's FIN.
// With SMTPCAP_DUMP set to a directory, the capture is also written there
// as name.pcap, to look at with the command line or tshark.
func craftedReport(t *testing.T, name string, port uint16, script func(s *capgen.Session, fin func(client bool))) *Report {
	t.Helper()
	return craftedReportISN(t, name, port, 11, 22, script)
}

// craftedReportISN is craftedReport with the client's and the server's
// initial sequence numbers given, for scripts that emit segments of their
// own.
func craftedReportISN(t *testing.T, name string, port uint16, clientISN, serverISN uint32, script func(s *capgen.Session, fin func(client bool))) *Report {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:40000"),
		netip.AddrPortFrom(netip.MustParseAddr("198.51.100.25"), port), time.Unix(1_700_000_000, 0), clientISN, serverISN)
	var fins [2]uint32
	fin := func(client bool) {
		i, isn := 1, serverISN
		if client {
			i, isn = 0, clientISN
		}
		s.Emit(client, isn+1+s.Sent(client)+fins[i], capgen.FIN|capgen.ACK, nil)
		fins[i]++
	}
	script(s, fin)
	if dir := os.Getenv("SMTPCAP_DUMP"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".pcap"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return analyzeBytes(t, name+".pcap", buf.Bytes())
}

func eximGreetsWithChunking(s *capgen.Session) {
	s.Server("220 mx.example.test ESMTP Exim 4.96\r\n")
	s.Client("EHLO relay.example.org\r\n")
	s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n")
}

// TestReviewersCasesOfTheSweepFixes: the cases a reviewer built against
// the day's changes, each of which went wrong before its fix.
func TestReviewersCasesOfTheSweepFixes(t *testing.T) {
	t.Run("client killed mid-BDAT", func(t *testing.T) {
		// Its FIN, then Exim's 421 answering the close, then its RST: a
		// lost transaction, not a deferral and not a wrongly sized chunk.
		r := endedReport(t, true, func(s *capgen.Session, fin func(bool)) {
			eximGreetsWithChunking(s)
			s.Client("MAIL FROM:<a@example.org>\r\n")
			s.Server("250 OK\r\n")
			s.Client("RCPT TO:<b@example.test>\r\n")
			s.Server("250 Accepted\r\n")
			s.Client("BDAT 1000\r\n" + strings.Repeat("x", 498) + "\r\n")
			fin(true)
			s.Server("421 mx.example.test lost input connection\r\n")
			s.Reset(true)
		})
		var ids []string
		lost := ""
		for _, f := range r.Findings.All() {
			ids = append(ids, f.ID)
			if f.ID == "lost-mid-transaction" && f.Severity == Error {
				lost = f.Summary
			}
		}
		if !strings.Contains(lost, "the client closed its side first (its FIN in frame 20), and the server answered with 421") ||
			slices.Contains(ids, "command-deferred") || slices.Contains(ids, "bdat-size-mismatch") {
			t.Errorf("findings %v; lost: %q", ids, lost)
		}
		if d := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(d, "The transaction from <a@example.org> was lost during BDAT") {
			t.Errorf("diagnosis %q", d)
		}
	})
	t.Run("EHLO reply not in the capture", func(t *testing.T) {
		// Nobody knows what the server offered: no word on 8BITMIME.
		r := endedReport(t, false, func(s *capgen.Session, fin func(bool)) {
			s.Client("MAIL FROM:<a@example.org> BODY=8BITMIME\r\n")
			s.Server("250 OK\r\n")
			s.Client("RCPT TO:<b@example.test>\r\n")
			s.Server("250 Accepted\r\n")
			s.Client("DATA\r\n")
			s.Server("354 go\r\n")
			s.Client("Subject: caf\xc3\xa9\r\n\r\nd\xc3\xa9j\xc3\xa0 vu\r\n.\r\n")
			s.Server("250 queued\r\n")
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			s.Close()
		})
		for _, f := range r.Findings.All() {
			if f.ID == "eightbit-not-offered" {
				t.Errorf("%s %s", f.Severity, f.Summary)
			}
		}
	})
	t.Run("lone dot, then a line that reads as DATA", func(t *testing.T) {
		r := endedReport(t, true, func(s *capgen.Session, fin func(bool)) {
			eximGreetsWithChunking(s)
			s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
			s.Server("250 OK\r\n250 Accepted\r\n354 go\r\n")
			s.Client("Subject: minutes\r\n\r\nbefore\r\n.\r\nData follows below\r\nsecond line\r\n.\r\n")
			s.Server("250 OK id=1\r\n503-All RCPT commands were rejected\r\n503 valid RCPT command must precede DATA\r\n500 unrecognized command\r\n500 unrecognized command\r\n")
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			s.Close()
		})
		var told []string
		for _, f := range r.Findings.All() {
			if f.contentAsCommands {
				told = append(told, f.Summary)
			}
		}
		if len(told) != 1 || !strings.HasPrefix(told[0], `"Data follows below" came right after an end of data, and a lone dot later`) {
			t.Errorf("explanations %q", told)
		}
	})
	t.Run("an empty line after the end of data", func(t *testing.T) {
		r := endedReport(t, true, func(s *capgen.Session, fin func(bool)) {
			eximGreetsWithChunking(s)
			s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
			s.Server("250 OK\r\n250 Accepted\r\n354 go\r\n")
			s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n\r\n")
			s.Server("250 OK id=1\r\n500 unrecognized command\r\n")
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			s.Close()
		})
		for _, f := range r.Findings.All() {
			if f.contentAsCommands {
				t.Errorf("%s", f.Summary)
			}
		}
	})
	t.Run("client killed in the middle of RCPT", func(t *testing.T) {
		r := endedReport(t, true, func(s *capgen.Session, fin func(bool)) {
			eximGreetsWithChunking(s)
			s.Client("MAIL FROM:<a@example.org>\r\n")
			s.Server("250 OK\r\n")
			s.Client("RCPT TO:<b@exa")
			fin(true)
			s.Server("421 mx.example.test lost input connection\r\n")
			s.Reset(true)
		})
		worst := Info
		for _, f := range r.Findings.All() {
			worst = max(worst, f.Severity)
		}
		if worst != Error {
			t.Errorf("the client died mid-transaction, yet the worst finding is %s", worst)
		}
	})
	t.Run("client closed first, server never did", func(t *testing.T) {
		r := endedReport(t, true, func(s *capgen.Session, fin func(bool)) {
			eximGreetsWithChunking(s)
			s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
			s.Server("250 OK\r\n250 Accepted\r\n354 go\r\n")
			s.Client("Subject: hi\r\n\r\nbody\r\n")
			fin(true)
			s.Server("421 mx.example.test lost input connection\r\n")
		})
		for _, f := range r.Findings.All() {
			if f.ID == "lost-mid-transaction" && (strings.Count(f.Summary, "FIN in frame") != 1 || !strings.HasSuffix(f.Summary, "the server never closing its side")) {
				t.Errorf("%s", f.Summary)
			}
		}
	})
}

// TestEarlyPipeliningIsNotBlamed: with Exim's PIPECONNECT offered, a
// client that sends EHLO and its envelope before the banner is allowed to.
func TestEarlyPipeliningIsNotBlamed(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Client("EHLO relay.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\n")
		s.Server("220 mx.example.test ESMTP Exim 4.96\r\n250-mx.example.test\r\n250-PIPELINING\r\n250-PIPECONNECT\r\n250 CHUNKING\r\n250 OK\r\n250 Accepted\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	if r.Connections.Len() != 1 || r.Connections.All()[0].Transactions != 1 || r.Connections.All()[0].Helo != "relay.example.org" {
		t.Fatalf("connections %+v", r.Connections)
	}
	for _, f := range r.Findings.All() {
		if f.Severity > Info {
			t.Errorf("%s %s frames %v: %s", f.Severity, f.ID, f.Frames, f.Summary)
		}
	}
}

// TestEightBitMessagesToRealExim: of four 8-bit messages to Exim 4.96,
// only the one declared with BODY=8BITMIME to a server that offers
// 8BITMIME is quiet; the one declared to a server that does not offer it
// is a warning at its first 8-bit byte.
func TestEightBitMessagesToRealExim(t *testing.T) {
	r := analyze(t, testcaps.Path("exim-8bit/8bit.pcap"))
	byStream := map[int][]Finding{}
	for _, f := range r.Findings.All() {
		byStream[f.Stream] = append(byStream[f.Stream], f)
	}
	if len(byStream[1]) != 0 {
		t.Errorf("stream 1 (BODY=8BITMIME, offered): %+v", byStream[1])
	}
	got := byStream[3]
	if len(got) != 1 || got[0].ID != "eightbit-not-offered" || got[0].Offset != 167 || got[0].Direction != "client" ||
		!strings.Contains(got[0].Summary, "declared with BODY=8BITMIME, but the server did not offer 8BITMIME") {
		t.Errorf("stream 3 (BODY=8BITMIME, not offered): %+v", got)
	}
}

// TestWhoClosedFirstAndWhy: real Exim 4.96 sessions that ended badly,
// each told by what happened first: a client killed mid-DATA (its FIN,
// then Exim's "421 Lost incoming connection"), an Exim process killed
// mid-DATA (its FIN before the client's end of data), a BDAT chunk shorter
// than declared (Exim waits, then 421), a client's FIN inside a chunk
// (Exim's 421), a chunk held back past Exim's timeout, a client that spoke before the
// greeting (Exim answers 554 instead of one) and a MAIL answered with 421.
func TestWhoClosedFirstAndWhy(t *testing.T) {
	type want struct {
		capture, id string
		stream      int
		frames      []int
		summary     string // a part of it
	}
	for _, w := range []want{
		{"exim-sweep/killed.pcap", "lost-mid-transaction", 0, []int{8, 17, 18, 19},
			`the client closed its side first (its FIN in frame 17), and the server answered with 421 "Lost incoming connection" in frame 18, and the connection ended with the client's RST in frame 19`},
		{"exim-sweep/killed.pcap", "lost-mid-transaction", 1, []int{27, 36, 39},
			"was lost during DATA, after 187 bytes of message: the server closed its side (its FIN in frame 36) before the end of data came (frame 38), and the connection ended with the server's RST in frame 39"},
		{"exim-sweep/barelf-wait.pcap", "lost-mid-transaction", 0, []int{8, 19, 20, 21}, "the client closed its side first (its FIN in frame 19)"},
		{"exim-sweep/bdat-wrong-size.pcap", "lost-mid-transaction", 0, []int{8, 21, 24},
			`was lost during BDAT, after 1106 bytes of message: the message stopped coming (nothing from the client for 20.0 s after frame 19), and the server gave up with 421 "Lost incoming connection" in frame 21`},
		// The client's FIN in the middle of a BDAT chunk (a proxy dropped the
		// chunk; the server read QUIT as its first 6 bytes): Exim's 421 is
		// no answer to the BDAT but the server giving up on the message.
		{"core-sweep/bdat-drop.pcap", "lost-mid-transaction", 1, []int{16, 17, 21, 25},
			`was lost during BDAT, after 6 bytes of message: the client closed its side first (its FIN in frame 17), and the server answered with 421 "Lost incoming connection" in frame 21`},
		// Not a message that never began: its bytes came after the 421.
		{"core-sweep/bdat-drop-wait.pcap", "lost-mid-transaction", 1, []int{19, 34, 36, 43},
			`was lost during BDAT: the message never began (nothing from the client for 5.0 s after frame 31), and the server gave up with 421`},
		{"exim-sweep/refusals.pcap", "command-deferred", 6, []int{129, 130}, "MAIL FROM:<a@example.org> was deferred: 421 too many messages in this connection"},
		{"exim-sweep/data-after-refusal.pcap", "malformed-command", 0, []int{9, 10},
			`the client sent its message although DATA was refused (503 in frame 9): the server reads the message's lines, such as "From: a@example.org", as commands`},
		{"exim-sweep/odd-clients.pcap", "malformed-command", 2, []int{55},
			`"after the dot" came right after an end of data, and a lone dot later: most likely the message held a line with a lone dot that the client did not double`},
	} {
		r := analyze(t, testcaps.Path(w.capture))
		var found []string
		ok := false
		for _, f := range r.Findings.All() {
			if f.ID == w.id && f.Stream == w.stream {
				found = append(found, fmt.Sprintf("frames %v: %s", f.Frames, f.Summary))
				ok = ok || slices.Equal(f.Frames, w.frames) && strings.Contains(f.Summary, w.summary)
			}
		}
		if !ok {
			t.Errorf("%s stream %d: no %s with frames %v saying %q; found %q", w.capture, w.stream, w.id, w.frames, w.summary, found)
		}
	}
	diagnoses := map[string]map[int]string{
		"exim-sweep/bdat-wrong-size.pcap": {0: "The client's BDAT size was wrong: BDAT chunk 2 declared 1000 bytes, but only 970 bytes followed before the connection ended (frame 15). " +
			"Client silent 20.0 s in the middle of its message, after frame 19, while the server waited for the rest; then the server sent 421 reply in frame 21."},
		"exim-sweep/refusals.pcap": {0: `The client sent "EHLO early.example.org" before the server's greeting had ended (frame 4). ` +
			"The server then refused the session instead of greeting it: 554 SMTP synchronization error (frame 6); no mail can go through this connection."},
		"exim-sweep/data-after-refusal.pcap": {0: `The client sent its message although DATA was refused (503 in frame 9): the server reads the message's lines, such as "From: a@example.org", as commands (frames 9, 10). ` +
			"The server refused them as out of step (frame 11)."},
	}
	for capture, want := range diagnoses {
		r := analyze(t, testcaps.Path(capture))
		for _, c := range r.Connections.All() {
			if d, ok := want[c.Stream]; ok && c.Diagnosis != d {
				t.Errorf("%s stream %d: diagnosis\n%s\nwant\n%s", capture, c.Stream, c.Diagnosis, d)
			}
		}
	}
	for _, f := range analyze(t, testcaps.Path("exim-sweep/bdat-wrong-size.pcap")).Findings.All() {
		if f.ID == "command-deferred" && f.Stream == 0 {
			t.Errorf("the server's timeout is called a deferral: %s", f.Summary)
		}
	}
}

// TestPostfixSweepDiagnoses: real Postfix 3.7 sessions that went wrong,
// each diagnosed by what happened first (see the captures' README).
func TestPostfixSweepDiagnoses(t *testing.T) {
	for _, tc := range []struct {
		capture string
		stream  int
		want    string
	}{
		{"postfix-sweep/s2-bdat.pcap", 0, "The client's BDAT size was wrong: BDAT chunk 2 declared 1000 bytes, but only 964 bytes followed before the connection ended (frame 15). " +
			"Client silent 10.0 s in the middle of its message, after frame 19, while the server waited for the rest; then the server sent 421 reply in frame 21."},
		{"postfix-sweep/s3-data-anyway.pcap", 0, `The client sent its message although DATA was refused (554 in frame 14): the server reads the message's lines, such as "From: a@example.org", as commands (frames 14, 15). ` +
			`The server ended the session on "From: a@example.org" with 221 "2.7.0 Error: I can break rules, too. Goodbye." (frames 15, 16).`},
		{"postfix-sweep/s4-lonedot.pcap", 0, `"after the dot" came right after an end of data, and a lone dot later: most likely the message held a line with a lone dot that the client did not double (RFC 5321 4.5.2), which ended it early and sent the rest of it as commands (frame 15). ` +
			`The server ended the session on "." with 221 "2.7.0 Error: I can break rules, too. Goodbye." (frames 15, 17).`},
		{"postfix-sweep/s5-pipelining.pcap", 2, "The client sent its message with DATA, without waiting for a 354 (RFC 2920): the server answered with a synchronization error (554 in frame 46) and took none of it (frames 45, 46). " +
			"The same envelope was tried in streams 1, 2; each ended with 554 5.5.0 Error: SMTP protocol synchronization."},
		// Nothing wrong on the wire, but a recipient turned away: that.
		{"postfix-sweep/s6-limits.pcap", 0, "RCPT TO:<d@example.test> was deferred: 452 4.5.3 Error: too many recipients (frames 15, 16)."},
		{"multi.pcap", 2, "RCPT TO:<nobody@example.test> was rejected: 550 unknown user (frames 54, 55)."},
		{"postfix-sweep/s6-limits.pcap", 1, `Malformed command "BOGUS0": unknown verb. The server then closed the session unasked with 421 "4.7.0 mx.example.test Error: too many errors" (frame 39).`},
		{"postfix-sweep/s9-timeout.pcap", 1, `The transaction from <a@example.org> was lost during DATA: the message stopped coming (nothing from the client for 5.0 s after frame 31), and the server gave up with 421 "4.4.2 mx.example.test Error: timeout exceeded" in frame 33, and the connection ended with the server's FIN in frame 34.`},
	} {
		r := analyze(t, testcaps.Path(tc.capture))
		found := false
		for _, c := range r.Connections.All() {
			if c.Stream == tc.stream {
				found = true
				if c.Diagnosis != tc.want {
					t.Errorf("%s stream %d: diagnosis\n%s\nwant\n%s", tc.capture, tc.stream, c.Diagnosis, tc.want)
				}
			}
		}
		if !found {
			t.Errorf("%s: no stream %d", tc.capture, tc.stream)
		}
	}
	// Message lines read as commands are explained once, not also listed
	// as commands the server never answered.
	for _, name := range []string{"postfix-sweep/s3-data-anyway.pcap", "postfix-sweep/s5-pipelining.pcap", "exim-sweep/data-after-refusal.pcap"} {
		for _, f := range analyze(t, testcaps.Path(name)).Findings.All() {
			if f.ID == "unanswered-command" && (strings.Contains(f.Summary, "FROM:") || strings.Contains(f.Summary, "SUBJECT:") || strings.Contains(f.Summary, "BODY")) {
				t.Errorf("%s stream %d: %s", name, f.Stream, f.Summary)
			}
		}
	}
	// A UTF-8 address without SMTPUTF8 to a server that offers it; the
	// server's 550 quotes the client's address back, which is no fault.
	var utf8 []string
	for _, f := range analyze(t, testcaps.Path("postfix-sweep/s8-8bit.pcap")).Findings.All() {
		switch {
		case f.ID == "malformed-reply":
			t.Errorf("malformed-reply frames %v: %s", f.Frames, f.Summary)
		case f.ID == "malformed-command" && strings.Contains(f.Summary, "a UTF-8 address without SMTPUTF8 on MAIL FROM, though the server offers it"):
			utf8 = append(utf8, fmt.Sprint(f.Frames))
		}
	}
	if !slices.Equal(utf8, []string{"[25]", "[33]"}) {
		t.Errorf("UTF-8 addresses without SMTPUTF8 in frames %v, want [25] and [33]", utf8)
	}
	for _, f := range analyze(t, testcaps.Path("postfix-sweep/s5-pipelining.pcap")).Findings.All() {
		// Stream 0 delivered the envelope from another client (127.0.1.65,
		// the loop's is 127.0.1.75): not this client's message.
		if f.ID == "retry-loop" && (!strings.HasSuffix(f.Summary, "each ended with 554 5.5.0 Error: SMTP protocol synchronization") || strings.Contains(f.Summary, "accepted")) {
			t.Errorf("retry-loop: %s", f.Summary)
		}
		if f.ID == "lost-mid-transaction" {
			t.Errorf("a transaction refused at DATA is called lost: %s", f.Summary)
		}
	}
}

// TestTheOtherLegOfAProxiedSession: a capture that holds both legs of a
// session through a middlebox (one file, or the two sides given together)
// shows the commands the device acknowledged missing from the far leg;
// where the device passed them on, or on a gateway's many connections of
// one client to one server, no legs are linked.
func TestTheOtherLegOfAProxiedSession(t *testing.T) {
	r := analyze(t, testcaps.Path("middlebox-sweep/hold513-513.pcap"))
	linked := ""
	for _, f := range r.Findings.All() {
		if f.ID == "unanswered-command" && f.Stream == 0 {
			linked = f.Summary
		}
	}
	if !strings.Contains(linked, "the client sent in frame 17, a segment of 513 bytes") ||
		!strings.HasSuffix(linked, "; the capture also holds the session's other leg, stream 1 (127.0.1.42:58605 to 127.0.0.31:25), which never carries them: the device between the legs acknowledged them and did not pass them on") {
		t.Errorf("near leg: %s", linked)
	}
	if !strings.Contains(linked, "; a write of exactly 513 bytes is what middleboxes that re-segment TCP are known to lose") {
		t.Errorf("near leg, no word on the 513 bytes: %s", linked)
	}
	if d := r.Connections.All()[0].Diagnosis; !strings.HasPrefix(d, "A device in the path swallowed the client's commands: what the client sent in frame 17, acknowledged in frame 18, never appears on the session's other leg in the capture, stream 1. The server never answered") {
		t.Errorf("near leg's diagnosis: %s", d)
	}
	if d := r.Connections.All()[1].Diagnosis; !strings.HasSuffix(d, " This is the far leg of stream 0, whose commands (frame 17) the device in the path acknowledged and never passed on.") {
		t.Errorf("far leg's diagnosis: %s", d)
	}
	c, err := reassembly.Open(testcaps.Path("hold513-client-side.pcap"), testcaps.Path("hold513-server-side.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	merged := analyzeCapture(t, c, session.Options{Stream: -1}).Report(nil)
	for stream, near := range map[int]string{1: "0, whose commands (frame 16)", 3: "2, whose commands (frame 45)"} {
		if d := merged.Connections.All()[stream].Diagnosis; !strings.Contains(d, "This is the far leg of stream "+near) {
			t.Errorf("merged sides, stream %d: %s", stream, d)
		}
	}
	// One client, two connections to one server at once, alike in greeting
	// and EHLO: the first loses its envelope after an ACK, the second
	// probes another. They are no legs of one session.
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	start := time.Unix(1_700_000_000, 0)
	server := netip.MustParseAddrPort("198.51.100.25:25")
	a := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:40000"), server, start, 11, 22)
	bs := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.10:40001"), server, start.Add(time.Second), 33, 44)
	for _, s := range []*capgen.Session{a, bs} {
		s.Handshake()
		s.Server("220 mx.example.test ESMTP\r\n")
		s.Client("EHLO relay.example.org\r\n")
		s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
	}
	a.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n") // ACKed, never answered
	bs.Client("MAIL FROM:<>\r\nRCPT TO:<d@example.test>\r\nRSET\r\nQUIT\r\n")     // a probe: no DATA to share
	bs.Server("250 ok\r\n250 ok\r\n250 reset\r\n221 bye\r\n")
	bs.Close()
	a.Pause(30 * time.Second)
	a.Close()
	busy := analyzeBytes(t, "busy.pcap", buf.Bytes())
	took := false
	for _, f := range busy.Findings.All() {
		took = took || f.ID == "unanswered-command" && f.serverTook
	}
	if !took {
		t.Errorf("the busy client's capture has no unanswered, ACKed commands: not the capture this test needs")
	}
	quiet := []*Report{busy, analyze(t, testcaps.Path("middlebox-sweep/hold513-512.pcap")),
		analyzeCapture(t, openGateway(t, capgen.GatewayOptions{Seed: 11, TargetBytes: 4 << 20, Concurrency: 40, MaxBody: 16 << 10, NonSMTP: 10}), session.Options{Stream: -1}).Report(nil)}
	for _, r := range quiet {
		for _, f := range r.Findings.All() {
			if f.linked {
				t.Errorf("stream %d linked: %s", f.Stream, f.Summary)
			}
		}
	}
}

// TestParallelJSONIsEncodersJSON: the report written with its connections
// and findings encoded on several goroutines is byte for byte what
// encoding/json's Encoder writes, for a report of a few hundred
// connections with findings, warnings and a frame note, and for one with
// none.
func TestParallelJSONIsEncodersJSON(t *testing.T) {
	c := openGateway(t, capgen.GatewayOptions{Seed: 11, TargetBytes: 4 << 20, Concurrency: 40, MaxBody: 16 << 10, NonSMTP: 10})
	full := analyzeCapture(t, c, session.Options{Stream: -1, Recycle: true}).Report([]string{"gateway.pcap", `odd "name" <&>.pcap`})
	full.Warnings = []string{`a "quoted" warning`}
	for _, r := range []*Report{full, NewAnalyzer(Options{}).Report([]string{"empty.pcap"})} {
		var serial bytes.Buffer
		if err := writeJSON(&serial, r, 1<<30, jsonChunk); err != nil {
			t.Fatal(err)
		}
		// Chunks of 1, of 7 (many rounds, the last partial) and larger
		// than the report (one round, one goroutine idle).
		for _, chunk := range []int{1, 7, 1 << 20} {
			var parallel bytes.Buffer
			if err := writeJSON(&parallel, r, 0, chunk); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(serial.Bytes(), parallel.Bytes()) {
				t.Errorf("parallel JSON in chunks of %d differs (%d connections, %d findings):\n%s", chunk, r.Connections.Len(), r.Findings.Len(), textdiff.FirstLine(serial.String(), parallel.String()))
			}
		}
	}
	if full.Connections.Len() < 100 || full.Findings.Len() < 10 {
		t.Errorf("%d connections, %d findings: not the report this test needs", full.Connections.Len(), full.Findings.Len())
	}
}

// TestReportsHoldNoCredentials: the AUTH PLAIN and LOGIN sessions of real
// Exim, one refused with 535, reported in every format, show nothing of
// what the client sent after AUTH and its mechanism: reports go into
// support tickets.
func TestReportsHoldNoCredentials(t *testing.T) {
	// The last: a firewall fixup masked AUTH on its way ("XXXX PLAIN …"),
	// and the server side must hide the credentials all the same.
	for _, name := range []string{"exim-client/auth-plain.pcap", "exim-client/auth-login.pcap", "exim-client/auth-fail.pcap", "middlebox-sweep/pix-auth.pcap"} {
		path := testcaps.Path(name)
		c, err := reassembly.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var secrets []string
		if _, err := session.Read(c, session.Options{Stream: -1}, func(s *session.Session) error {
			for _, cmd := range s.Dialogue.Commands {
				if !cmd.Sensitive {
					continue
				}
				for _, word := range strings.Fields(string(cmd.Line)) {
					if len(word) >= 6 { // base64 of a user name, a password, or both
						secrets = append(secrets, word)
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if len(secrets) == 0 {
			t.Fatalf("%s: no AUTH credentials found in the capture; not the capture this test needs", name)
		}
		r := analyze(t, path)
		var js, md, table bytes.Buffer
		if err := WriteJSON(&js, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&md, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteTable(&table, r, false); err != nil {
			t.Fatal(err)
		}
		for format, out := range map[string]string{"json": js.String(), "markdown": md.String(), "table": table.String()} {
			for _, secret := range secrets {
				if strings.Contains(out, secret) {
					t.Errorf("%s: the %s report holds %q", name, format, secret)
				}
			}
		}
	}
}

// TestTableOfManyConnectionsListsTheTroubledOnes: past 100 connections the
// terminal tables list the connections and findings with a warning or an
// error, exactly those, and say how many of how many they show.
func TestTableOfManyConnectionsListsTheTroubledOnes(t *testing.T) {
	c := openGateway(t, capgen.GatewayOptions{Seed: 11, TargetBytes: 4 << 20, Concurrency: 40, MaxBody: 16 << 10, NonSMTP: 10})
	r := analyzeCapture(t, c, session.Options{Stream: -1, Recycle: true}).Report([]string{"gateway.pcap"})
	var want []string
	for _, c := range r.Connections.All() {
		if c.Worst == "warning" || c.Worst == "error" {
			want = append(want, strconv.Itoa(c.Stream))
		}
	}
	if r.Connections.Len() <= tableAllConnections || len(want) == 0 || len(want) == r.Connections.Len() {
		t.Fatalf("%d connections, %d troubled: not the report this test needs", r.Connections.Len(), len(want))
	}
	var out bytes.Buffer
	if err := WriteTable(&out, r, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	troubles := 0
	for _, f := range r.Findings.All() {
		if f.Severity > Info {
			troubles++
		}
	}
	note := fmt.Sprintf("listed: the %d of %d connections and %d of %d findings with a warning or an error; --format json or markdown gives them all\n",
		len(want), r.Connections.Len(), troubles, r.Findings.Len())
	if !strings.Contains(text, note) {
		t.Errorf("no line %q in:\n%s", note, text[:min(len(text), 500)])
	}
	// Rows of the connection table start "│ STREAM │ CLIENT"; the findings
	// table's start with a severity.
	var got []string
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "│")
		if len(cells) > 2 && strings.Contains(cells[2], ":") {
			if n := strings.TrimSpace(cells[1]); n != "" {
				got = append(got, n)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("table lists streams %v, want %v", got, want)
	}
	if n := strings.Count(text, "\n│ warning ") + strings.Count(text, "\n│ error "); n != troubles || strings.Contains(text, "\n│ info ") {
		t.Errorf("the findings table has %d warning and error rows, want %d, and no info rows", n, troubles)
	}
}

// TestTableOfManyTroublesKeepsTheWorst: past tableMaxRows rows each
// terminal table keeps its most severe rows (every error here, then the
// earliest warnings), in stream order, and says what it left out.
func TestTableOfManyTroublesKeepsTheWorst(t *testing.T) {
	r := &Report{}
	var rows []Connection
	var stalls []Finding
	for i := range 250 {
		sev := Warning
		if i%10 == 7 {
			sev = Error
		}
		rows = append(rows, Connection{Stream: i, Client: fmt.Sprintf("192.0.2.1:%d", 40000+i), Server: "198.51.100.25:25", Findings: 1, Worst: sev.String()})
		stalls = append(stalls, Finding{ID: "stall", Severity: sev, Stream: i, Frames: []int{i + 1}, Summary: "s"})
	}
	r.Connections = NewConnectionList(rows...)
	r.Findings = NewFindingList(append(stalls, Finding{ID: "tls-started", Severity: Info, Stream: 3, Frames: []int{9}, Summary: "i"})...)
	var out bytes.Buffer
	if err := WriteTable(&out, r, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	note := "listed: 200 of the 250 connections and 200 of the 250 findings with a warning or an error (250 connections and 251 findings in all), errors chosen first; --format json or markdown gives them all\n"
	if !strings.Contains(text, note) {
		t.Errorf("no line %q in:\n%s", note, text[:min(len(text), 500)])
	}
	// Every error, then the earliest warnings: 175 of them.
	var want []int
	warnings := 0
	for i := range 250 {
		if i%10 == 7 {
			want = append(want, i)
		} else if warnings < 175 {
			want = append(want, i)
			warnings++
		}
	}
	var conns, found []int
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "│")
		if len(cells) < 3 {
			continue
		}
		first, second := strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])
		if n, err := strconv.Atoi(first); err == nil && strings.Contains(second, ":") {
			conns = append(conns, n)
		}
		if second == "stall" {
			n, _ := strconv.Atoi(strings.TrimSpace(cells[3]))
			found = append(found, n)
		}
	}
	if len(want) != 200 || !slices.Equal(conns, want) || !slices.Equal(found, want) {
		t.Errorf("connections table lists %v,\nfindings table %v,\nwant %v", conns, found, want)
	}
}

// TestRetryLoopSaysHowTheAttemptsEnded: real Postfix delivered a message
// to one recipient and had the other deferred with 451 (stream 0), then
// retried that one alone twice, deferred again; the finding and the
// diagnosis of the three streams say that each attempt ended with that
// reply.
func TestRetryLoopSaysHowTheAttemptsEnded(t *testing.T) {
	r := analyze(t, testcaps.Path("postfix-client/postfix-client-defer.pcap"))
	const ended = "each ended with 451 4.7.1 <defer@example.test>: Recipient address rejected: try later"
	var loops []string
	for _, f := range r.Findings.All() {
		if f.ID == "retry-loop" {
			loops = append(loops, f.Summary)
		}
	}
	want := "the same envelope (sender@client.example.org → defer@example.test SIZE=348) was tried in 3 connections without a 2xx final reply: streams 0, 1, 2 (in stream 0 the server took the message for the other recipients and deferred these); " + ended
	if len(loops) != 1 || loops[0] != want {
		t.Errorf("retry-loop summaries %q, want [%q]", loops, want)
	}
	for _, c := range r.Connections.All() {
		if !strings.Contains(c.Diagnosis, "The same envelope was tried in streams 0, 1, 2; "+ended+".") {
			t.Errorf("stream %d diagnosis %q", c.Stream, c.Diagnosis)
		}
		// The retry-loop error is stream 0's: its summary counts it.
		if c.Stream == 0 && c.Worst != "error" {
			t.Errorf("stream 0: %d findings, worst %s", c.Findings, c.Worst)
		}
	}
}

// TestSegmentLimitIsReported: with at most 6 packet facts per direction,
// the report says from which frame on each direction of clean.pcap was not
// looked at (each direction's 7th packet, counted here from the capture),
// rather than judging timing on half of it silently.
func TestSegmentLimitIsReported(t *testing.T) {
	c, err := reassembly.Open(testcaps.Path("clean.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The 7th packet of each direction, from the capture itself.
	var seventh [2]int
	var seen [2]int
	p := reassembly.Packet{}
	var seg reassembly.Segment
	for c.Next(&p) == nil {
		if reassembly.Decode(p.LinkType, p.Data, &seg, new(reassembly.Fragment)) != nil {
			continue
		}
		side := 0
		if seg.Src.Port() == 25 {
			side = 1
		}
		if seen[side]++; seen[side] == 7 {
			seventh[side] = p.Frame
		}
	}
	c, err = reassembly.Open(testcaps.Path("clean.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	r := analyzeCapture(t, c, session.Options{Stream: -1, Limits: reassembly.Limits{MaxSegments: 6}}).Report([]string{"clean.pcap"})
	var want []string
	for side, dir := range []string{"client", "server"} {
		want = append(want, fmt.Sprintf("stream 0: the %s's packets from frame %d on are past the limit of 6 kept per direction; their timing, ACKs and TTLs were not looked at, so stall and middlebox findings may miss what happened after them", dir, seventh[side]))
	}
	if !slices.Equal(r.Warnings, want) {
		t.Errorf("warnings %q, want %q", r.Warnings, want)
	}
	if seventh[0] == 0 || seventh[1] == 0 {
		t.Fatalf("clean.pcap has fewer than 7 packets a direction: %v", seen)
	}
	if r := analyze(t, testcaps.Path("clean.pcap")); len(r.Warnings) != 0 {
		t.Errorf("warnings with the default limit: %q", r.Warnings)
	}
}

// TestUnansweredSmugglingSequenceIsNotCalledAccepted: a <LF>.<LF> inside a
// message that the server did not answer (it waited for <CRLF>.<CRLF>) is
// one a lenient server would split on, not proof that this server did.
// Real Sendmail 8.17 answered such a body with 421 "Bare linefeed (LF) not
// allowed" and was reported as lenient before.
func TestUnansweredSmugglingSequenceIsNotCalledAccepted(t *testing.T) {
	r := analyze(t, testcaps.Path("crafted/smuggling.pcap"))
	want := "The message holds a non-standard end-of-data sequence (frame 22) that a lenient server would split into two messages."
	if r.Connections.Len() != 1 || r.Connections.All()[0].Diagnosis != want {
		t.Errorf("diagnosis %+v, want %q", r.Connections, want)
	}
}

// TestRefusedGreetingIsTheWholeStory: real Exim refusing swaks with 554 in
// its greeting and resetting the connection at QUIT gives one finding, the
// refusal, and a diagnosis that says so; the QUIT left unanswered is what
// such a server may do, not a second finding.
func TestRefusedGreetingIsTheWholeStory(t *testing.T) {
	r := analyze(t, testcaps.Path("exim-client/quit-early.pcap"))
	var ids []string
	for _, f := range r.Findings.All() {
		ids = append(ids, f.ID+"/"+string(f.Phase))
	}
	if want := []string{"command-rejected/greeting"}; !slices.Equal(ids, want) {
		t.Errorf("findings %v, want %v", ids, want)
	}
	want := "The server refused the session in its greeting: 554 5.7.1 service refused for smtpcap test (frame 4); no mail can go through this connection."
	if r.Connections.Len() != 1 || r.Connections.All()[0].Diagnosis != want {
		t.Errorf("diagnosis %+v, want %q", r.Connections, want)
	}
}

// TestSilenceUntilTheCaptureEnded: a server that never answers a bare-LF
// ending, with only keepalives after it until the capture stops, is
// silent for 90 s (frame 22 to the last keepalive ACK, frame 27), and the
// transaction is open, not lost by the connection.
func TestSilenceUntilTheCaptureEnded(t *testing.T) {
	r := analyze(t, testcaps.Path("crafted/stall-open.pcap"))
	want := map[string]string{
		"stall":                "server silent 90.0 s after the client's end of data in frame 22, until the capture ended",
		"lost-mid-transaction": "the transaction from <a@example.org> had no final reply when the capture ended, during DATA, after 125 bytes of message, with the connection still open",
	}
	for _, f := range r.Findings.All() {
		if w, ok := want[f.ID]; ok {
			if f.Summary != w {
				t.Errorf("%s: %q, want %q", f.ID, f.Summary, w)
			}
			delete(want, f.ID)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing findings: %v", want)
	}
}

// TestSilenceUntilOtherConnectionsEnded: real Exim, two clients left
// connected and silent while other deliveries keep the capture going
// (testdata/pcaps/trailing-stall). The one stuck after a bare-LF ending
// and the one that sent EHLO and nothing more are stalls to the end of
// the capture, not to their own last packets; a client keeping its
// connection after its message was answered is idle, no stall.
func TestSilenceUntilOtherConnectionsEnded(t *testing.T) {
	r := analyze(t, testcaps.Path("trailing-stall/cut-while-waiting.pcap"))
	want := map[int]string{
		0: "server silent 28.3 s after the client's end of data in frame 15, until the capture ended 28.3 s after this connection's last packet (frame 16)",
		1: "client silent 24.9 s after the server's 250 reply in frame 23, until the capture ended 24.9 s after this connection's last packet (frame 24)",
	}
	frames := map[int][]int{0: {15, 16}, 1: {23, 24}}
	for stream, w := range want {
		got := findingsOf(r, "stall", stream)
		if len(got) != 1 || got[0].Summary != w || !slices.Equal(got[0].Frames, frames[stream]) {
			t.Errorf("stream %d: stall %+v\nwant frames %v: %s", stream, got, frames[stream], w)
		}
	}
	stalls := 0
	for _, f := range r.Findings.All() {
		if f.ID == "stall" {
			stalls++
		}
	}
	if stalls != 2 {
		t.Errorf("%d stalls, want the two", stalls)
	}

	r = analyze(t, testcaps.Path("trailing-stall/idle-after-delivery.pcap"))
	if r.Findings.Len() != 0 {
		t.Errorf("a client idle after its message was answered: %+v, want no findings", r.Findings)
	}

	// The same capture without the server's packets to client A: whether
	// the server was silent is not seen, so no stall is told for A; C's,
	// both sides seen, stays.
	r = analyze(t, testcaps.Path("trailing-stall/client-side-only.pcap"))
	if got := findingsOf(r, "stall", 0); len(got) != 0 {
		t.Errorf("one-sided stream 0: %+v, want no stall", got)
	}
	if got := findingsOf(r, "one-sided-capture", 0); len(got) != 1 {
		t.Errorf("one-sided stream 0: one-sided-capture %+v, want one", got)
	}
	if got := findingsOf(r, "stall", 1); len(got) != 1 || got[0].Summary != "client silent 24.9 s after the server's 250 reply in frame 15, until the capture ended 24.9 s after this connection's last packet (frame 16)" {
		t.Errorf("stream 1: stall %+v", got)
	}

	// Nor in the middle: the client's own packets of Haraka waiting 30 s
	// for Exim (node-sweep/h-eximdown.pcap, where the server's side tells
	// a 30 s stall) show a client that went on after a pause, not a
	// server that said nothing.
	r = analyze(t, testcaps.Path("node-sweep/h-eximdown-client-only.pcap"))
	if got := findingsOf(r, "stall", 0); len(got) != 0 {
		t.Errorf("client-only h-eximdown: %+v, want no stall", got)
	}
	if got := findingsOf(r, "one-sided-capture", 0); len(got) != 1 {
		t.Errorf("client-only h-eximdown: one-sided-capture %+v, want one", got)
	}
	r = analyze(t, testcaps.Path("node-sweep/h-eximdown.pcap"))
	if got := findingsOf(r, "stall", 0); len(got) != 1 || !strings.HasPrefix(got[0].Summary, "server silent 30.0 s after the client's end of data in frame 15;") {
		t.Errorf("h-eximdown, both sides: stall %+v", got)
	}
}

// TestDiagnosisDoesNotReadTheCapturesText: whether the server took the
// client's bytes comes from the detector, not from words in the summary,
// which quote the client's own command (RCPT TO:<acknowledged@…>).
func TestDiagnosisDoesNotReadTheCapturesText(t *testing.T) {
	f := Finding{ID: "unanswered-command", Severity: Warning,
		Summary: `the server never answered "RCPT TO:<acknowledged@example.test>" (connection ended: rst)`}
	lost := Finding{ID: "lost-mid-transaction", Severity: Error, Summary: "the transaction was lost"}
	took := f
	took.serverTook = true
	if d := diagnose([]Finding{f, lost}); d != "The transaction was lost." {
		t.Errorf("without the server taking the bytes: %q", d)
	}
	if d := diagnose([]Finding{took, lost}); !strings.HasPrefix(d, "The server never answered") {
		t.Errorf("with the server taking the bytes: %q", d)
	}
	s := Finding{ID: "smuggling-end-of-data", Severity: Warning, Summary: `non-standard end-of-data inside the message, "the server answered" in its text`}
	if d := diagnose([]Finding{s}); strings.Contains(d, "accepted it as the end of data") {
		t.Errorf("diagnosis read the summary: %q", d)
	}
}

// TestReportTextIsPrintable: the text of every report of every bundled
// and corpus capture is printable UTF-8, so bytes from the wire (binary
// garbage sent as commands, escape sequences in replies) can never drive
// the terminal the report is read on; they show as escapes such as \x1b.
func TestReportTextIsPrintable(t *testing.T) {
	escaped := 0
	check := func(path, what, s string) {
		if !utf8.ValidString(s) {
			t.Errorf("%s: %s is not UTF-8: %q", path, what, s)
			return
		}
		for _, r := range s {
			if (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) {
				t.Errorf("%s: %s holds %U: %q", path, what, r, s)
				return
			}
		}
		if strings.Contains(s, `\x`) {
			escaped++
		}
	}
	for _, path := range testcaps.Every() {
		if testcaps.Broken(path) {
			continue
		}
		r := analyze(t, path)
		for _, c := range r.Connections.All() {
			check(path, "diagnosis", c.Diagnosis)
			check(path, "helo", c.Helo)
		}
		for _, f := range r.Findings.All() {
			check(path, f.ID+" summary", f.Summary)
			check(path, f.ID+" evidence", f.Evidence)
		}
	}
	if escaped == 0 {
		t.Error("no report text needed an escape: the captures do not test this")
	}
}

// TestRefusedBareLineEndingsAreExplained: real Sendmail 8.17 answers a
// bare LF or bare CR in a message with 421 in the middle of the content
// and closes. Whether the reply came before or after the client's end of
// data on the wire, the diagnosis names the refusal and the bare line
// ending with their frames, and the 421 is never a reply without command.
func TestRefusedBareLineEndingsAreExplained(t *testing.T) {
	for name, want := range map[string]string{
		"sendmail/sendmail-barelf-mid.pcap": "The message was deferred: 421 4.5.0 Bare linefeed (LF) not allowed (frame 16). The message has a line that ends in a bare LF (frame 15), which RFC 5321 forbids and servers hardened against SMTP smuggling refuse.",
		"sendmail/sendmail-barecr.pcap":     "The message was deferred: 421 4.5.0 Bare carriage return (CR) not allowed (frame 16). The message has a CR that no LF follows (frame 15), which RFC 5321 forbids and servers hardened against SMTP smuggling refuse.",
		"sendmail/sendmail-barelf-split.pcap": "The transaction from <a@example.org> was lost during DATA: the server gave up on the message while it was still coming, with 421 \"4.5.0 Bare linefeed (LF) not allowed\" in frame 16, " +
			"and the connection ended with the server's FIN in frame 17, then the server's RST in frame 20. The message has a line that ends in a bare LF (frame 15), which RFC 5321 forbids and servers hardened against SMTP smuggling refuse.",
		"sendmail/sendmail-barelf-end.pcap": "The message body ended in a bare LF (frame 15), so the server never saw <CRLF>.<CRLF>. The transaction from <a@example.org> was lost during DATA: " +
			"the server refused the message once the client had sent all of it (ending in <LF>.<CRLF>, which is no end of data), with 421 \"4.5.0 Bare linefeed (LF) not allowed\" in frame 16, and the connection ended with the server's FIN in frame 17.",
	} {
		r := analyze(t, testcaps.Path(name))
		if r.Connections.Len() != 1 || r.Connections.All()[0].Diagnosis != want {
			t.Errorf("%s: diagnosis\n%v\nwant\n%s", name, r.Connections, want)
		}
		for _, f := range r.Findings.All() {
			if f.ID == "reply-without-command" {
				t.Errorf("%s: %s", name, f.Summary)
			}
		}
	}
}

// TestLMTPRepliesArePerRecipient: real Dovecot answers an LMTP end of data
// once per accepted recipient (RFC 2033), both replies in one segment. None
// is a reply without a command, QUIT keeps its own reply, and the refusal
// after the end of data names the recipient it is for.
func TestLMTPRepliesArePerRecipient(t *testing.T) {
	r := analyze(t, testcaps.Path("lmtp/lmtp-mixed.pcap"))
	var got []string
	for _, f := range r.Findings.All() {
		got = append(got, fmt.Sprintf("%s %v %s", f.ID, f.Frames, f.Summary))
	}
	want := []string{
		"command-rejected [15 17] RCPT TO:<nobody@example.test> was rejected: 550 5.1.1 <nobody@example.test> User doesn't exist: nobody@example.test",
		"command-rejected [30] the message for <carol@example.test> was rejected: 552 5.2.2 <carol@example.test> Quota exceeded (mailbox for user is full)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c := r.Connections.All()[0]; c.Delivered != 1 || c.Transactions != 1 {
		t.Errorf("delivered %d of %d", c.Delivered, c.Transactions)
	}
}

// TestHowEndedNamesTheServersLastWord: an attempt the server interrupted
// in the middle of its content (Sendmail's 421 for a bare LF) ended with
// that reply, not "without a final reply".
func TestHowEndedNamesTheServersLastWord(t *testing.T) {
	ok := &smtpparse.Reply{Code: 250, Lines: []string{"ok"}}
	tx := &smtpparse.Transaction{
		Mail:  &smtpparse.Command{Verb: "MAIL", Reply: ok},
		Rcpts: []*smtpparse.Command{{Verb: "RCPT", Reply: ok}},
		Data:  &smtpparse.Command{Verb: "DATA", Reply: &smtpparse.Reply{Code: 354}},
	}
	if got := howEnded(tx); got != "without a final reply" {
		t.Errorf("no reply: %q", got)
	}
	tx.Interrupt = &smtpparse.Reply{Code: 421, Lines: []string{"4.5.0 Bare linefeed (LF) not allowed"}}
	if got, want := howEnded(tx), "with 421 4.5.0 Bare linefeed (LF) not allowed"; got != want {
		t.Errorf("interrupted: %q, want %q", got, want)
	}
}

// TestLMTPDeliveredToAnyRecipientIsDelivered: in LMTP the first
// recipient's refusal does not make the message undelivered when the
// second recipient's reply took it.
func TestLMTPDeliveredToAnyRecipientIsDelivered(t *testing.T) {
	r := scriptedReport(t, 24, func(s *capgen.Session) {
		s.Server("220 mx LMTP ready\r\n")
		s.Client("LHLO c.example.org\r\n")
		s.Server("250-mx\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<bob@x>\r\nRCPT TO:<carol@x>\r\nDATA\r\n")
		s.Server("250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n354 OK\r\n")
		s.Client("Subject: x\r\n\r\nhi\r\n.\r\n")
		s.Server("552 5.2.2 <bob@x> Quota exceeded\r\n250 2.0.0 <carol@x> Saved\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	if c := r.Connections.All()[0]; c.Delivered != 1 {
		t.Errorf("delivered %d of %d, want 1: carol got it", c.Delivered, c.Transactions)
	}
}

// TestBareLineEndingIsTiedOnlyToItsOwnMessage: the first message has a
// bare LF and is accepted, the second is clean and refused as spam; the
// diagnosis does not blame the one's bare LF for the other's refusal.
func TestBareLineEndingIsTiedOnlyToItsOwnMessage(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		pipelinedEnvelope(s)
		s.Client("Subject: one\r\n\r\nfirst\nsecond\r\n.\r\n")
		s.Server("250 2.0.0 queued\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n")
		s.Server("250 ok\r\n250 ok\r\n354 go\r\n")
		s.Client("Subject: two\r\n\r\nclean\r\n.\r\n")
		s.Server("550 5.7.1 Message rejected as spam\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	if d := r.Connections.All()[0].Diagnosis; strings.Contains(d, "hardened against SMTP smuggling") {
		t.Errorf("diagnosis ties the accepted message's bare LF to the other's refusal: %s", d)
	}
}

// TestNothingIsUnansweredAfterA421: Sendmail's 421 in the middle of the
// content closes the session; the end of data and QUIT the client sends
// after it (it does not read during content) are not unanswered commands.
func TestNothingIsUnansweredAfterA421(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		pipelinedEnvelope(s)
		s.Client("Subject: x\r\n\r\nfirst\nsecond\r\n")
		s.Server("421 4.5.0 Bare linefeed (LF) not allowed\r\n")
		s.Client("third\r\n.\r\nQUIT\r\n")
	})
	var ids []string
	for _, f := range r.Findings.All() {
		ids = append(ids, f.ID)
	}
	if strings.Join(ids, " ") != "bare-lf-in-data lost-mid-transaction" {
		t.Errorf("findings %v, want the bare LF and the lost transaction", ids)
	}
}

// TestRefusalBeforeTheEndOfDataIsARefusal: a server that refuses a message
// in the middle of its content and stays (552, not 421) has answered the
// message: that is a rejection, not a lost transaction, and QUIT's 221
// after the client's end of data answers QUIT.
func TestRefusalBeforeTheEndOfDataIsARefusal(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		pipelinedEnvelope(s)
		s.Client("Subject: x\r\n\r\nlong\r\n")
		s.Server("552 5.3.4 Message size exceeds fixed limit\r\n")
		s.Client("more\r\n.\r\nQUIT\r\n")
		s.Server("221 bye\r\n")
	})
	var got []string
	for _, f := range r.Findings.All() {
		got = append(got, fmt.Sprintf("%s %s", f.ID, f.Summary))
	}
	want := "command-rejected the message (before its end of data) was rejected: 552 5.3.4 Message size exceeds fixed limit"
	if len(got) != 1 || got[0] != want {
		t.Errorf("findings %q, want [%q]", got, want)
	}
	if c := r.Connections.All()[0]; c.Delivered != 0 || c.Transactions != 1 {
		t.Errorf("delivered %d of %d", c.Delivered, c.Transactions)
	}
}

// TestRefusedBareLFIsNotCalledLenient: a server that refuses a message
// whose last line ends in a bare LF (550 right after %%EOF<LF>.<CRLF>) did
// not end the message there: the sequence is reported as one a lenient
// server would take, not as one this server took.
func TestRefusedBareLFIsNotCalledLenient(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		pipelinedEnvelope(s)
		s.Client("Subject: x\r\n\r\n%%EOF\n.\r\n")
		s.Server("550 5.5.2 Error: bare <LF> received\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	for _, f := range r.Findings.All() {
		if f.ID == "smuggling-end-of-data" && f.Severity == Error {
			t.Errorf("the server is called lenient: %s", f.Summary)
		}
	}
	want := "The message body ended in a bare LF (frame 14), so the server never saw <CRLF>.<CRLF>. " +
		"The message (before its end of data) was rejected: 550 5.5.2 Error: bare <LF> received (frame 16)."
	if d := r.Connections.All()[0].Diagnosis; d != want {
		t.Errorf("diagnosis\n%s\nwant\n%s", d, want)
	}
}

// TestLenientServerIsNamedFromItsAnswers: real OpenSMTPD 6.8 takes
// <LF>.<CRLF> as the end of data. Whether it says so with a 250 (the
// smuggled commands came later) or with a synchronization error (they came
// in the same segment, and it refused them as pipelining), the diagnosis
// calls the server lenient, with the frames that show it.
func TestLenientServerIsNamedFromItsAnswers(t *testing.T) {
	for name, want := range map[string]string{
		"opensmtpd/opensmtpd-barelf-end.pcap": "The message ended in a non-standard end-of-data sequence and the server accepted it as the end of data (frames 15, 16): " +
			"the server is lenient about the terminator, which SMTP smuggling abuses.",
		"opensmtpd/opensmtpd-smuggle-split.pcap": "The message ended in a non-standard end-of-data sequence and the server accepted it as the end of data (frames 15, 16): " +
			"the server is lenient about the terminator, which SMTP smuggling abuses. What the client sent next was read as new commands, and the server refused them as out of step (frame 19).",
		"opensmtpd/opensmtpd-smuggle.pcap": "The message holds a non-standard end-of-data sequence followed by SMTP commands (frame 15), the shape of SMTP smuggling, " +
			"and the server answered the message with a synchronization error (frame 16): it ended the message at that sequence and took the rest for pipelined commands, so it is lenient about the terminator.",
	} {
		r := analyze(t, testcaps.Path(name))
		if r.Connections.Len() != 1 || r.Connections.All()[0].Diagnosis != want {
			t.Errorf("%s: diagnosis\n%v\nwant\n%s", name, r.Connections, want)
		}
	}
}

// TestLMTPBDATRefusalNamesTheRecipient: over LMTP with BDAT, the first
// recipient's final reply is also BDAT LAST's own reply; a refusal there
// is still reported once, naming the recipient.
func TestLMTPBDATRefusalNamesTheRecipient(t *testing.T) {
	r := scriptedReport(t, 24, func(s *capgen.Session) {
		s.Server("220 mx LMTP ready\r\n")
		s.Client("LHLO c.example.org\r\n")
		s.Server("250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<bob@x>\r\nRCPT TO:<carol@x>\r\n")
		s.Server("250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n")
		s.Client("BDAT 14 LAST\r\nSubject: x\r\n\r\n")
		s.Server("552 5.2.2 <bob@x> Quota exceeded\r\n250 2.0.0 <carol@x> Saved\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	var got []string
	for _, f := range r.Findings.All() {
		got = append(got, f.ID+" "+f.Summary)
	}
	want := "command-rejected the message for <bob@x> was rejected: 552 5.2.2 <bob@x> Quota exceeded"
	if len(got) != 1 || got[0] != want {
		t.Errorf("findings %q, want [%q]", got, want)
	}
	if c := r.Connections.All()[0]; c.Delivered != 1 {
		t.Errorf("delivered %d of %d", c.Delivered, c.Transactions)
	}
}

// TestClientThatGaveUpIsNotSmuggling: real Postfix waits for <CRLF>.<CRLF>
// after a message ending %%EOF<LF>.<CRLF>; ten seconds later the client
// gives up and sends QUIT, which Postfix reads as content. The QUIT is not
// smuggled commands: the report is the bare-LF ending, the silence and the
// lost transaction.
func TestClientThatGaveUpIsNotSmuggling(t *testing.T) {
	r := analyze(t, testcaps.Path("postfix-bare/postfix-yes-barelf-end.pcap"))
	for _, f := range r.Findings.All() {
		if f.ID == "smuggling-end-of-data" {
			t.Errorf("smuggling reported: %s", f.Summary)
		}
	}
	want := "The message body ended in a bare LF (frame 15), so the server never saw <CRLF>.<CRLF> and kept waiting for the end of data. " +
		"Server silent 10.0 s after the client's end of data in frame 15; the client gave up waiting and sent more bytes " +
		"in frame 17, which the server, still reading the message, took as more of it."
	if d := r.Connections.All()[0].Diagnosis; d != want {
		t.Errorf("diagnosis\n%s\nwant\n%s", d, want)
	}
}

// summariesOf returns the summaries of a report's findings with ID id.
func summariesOf(r *Report, id string) []string {
	var out []string
	for _, f := range r.Findings.All() {
		if f.ID == id {
			out = append(out, f.Summary)
		}
	}
	return out
}

// dumpAll lists a report's findings, for failure messages.
func dumpAll(r *Report) string {
	var b strings.Builder
	for _, f := range r.Findings.All() {
		b.WriteString(f.ID + ": " + f.Summary + "\n")
	}
	return b.String()
}

// A BDAT LAST chunk whose data came in its own segment, then a server that
// stays silent for 30 s: the stall is after the client's end of data.
func TestStallAfterBDATLastIsAfterTheEndOfData(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("BDAT 12 LAST\r\nSubject: x\r\n", 14)
		s.Pause(30 * time.Second)
		s.Server("250 ok\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	st := summariesOf(r, "stall")
	if len(st) != 1 || !strings.Contains(st[0], "end of data") {
		t.Errorf("stall: %q\n%s", st, dumpAll(r))
	}
}

// A sync error early in the session (the client pipelined without
// PIPELINING) has nothing to do with a later message a lenient server
// ended at <LF>.<CRLF>; the diagnosis must not say the smuggled commands
// were refused as out of step with the earlier reply's frame.
func TestLenientServerDiagnosisIgnoresAnEarlierSyncError(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250 mx\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n503 5.5.0 Error: improper use of SMTP command pipelining\r\n")
		s.Client("RSET\r\n")
		s.Server("250 ok\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go\r\n")
		s.Client("Subject: x\r\n\r\nhi\n.\r\n")
		s.Server("250 queued\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	diag := r.Connections.All()[0].Diagnosis
	if strings.Contains(diag, "out of step") && strings.Contains(diag, "What the client sent next") {
		t.Errorf("diagnosis: %s\n%s", diag, dumpAll(r))
	}
}

// Message 1 (bare LF inside) is refused after its end; message 2 ends in
// <LF>.<CRLF> and the server waits 30 s. The diagnosis of message 2's
// stranded end must not be finished with message 1's refusal.
func TestStrandedEndIsNotExplainedByAnotherMessagesRefusal(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		pipelinedEnvelope(s)
		s.Client("Subject: one\r\n\r\na\nb\r\n.\r\n")
		s.Server("550 5.5.2 Error: bare <LF> received\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
		s.Server("250 ok\r\n250 ok\r\n354 go\r\n")
		s.Client("Subject: two\r\n\r\nend\n.\r\n")
		s.Pause(30 * time.Second)
		s.Client("QUIT\r\n")
		s.Pause(30 * time.Second)
	})
	diag := r.Connections.All()[0].Diagnosis
	if strings.Contains(diag, "550") {
		t.Errorf("diagnosis: %s\n%s", diag, dumpAll(r))
	}
}

// TestSmuggledShapeIsTiedOnlyToItsOwnMessagesAnswer: the first message
// holds <LF>.<CRLF> and a MAIL command, which the server, strict, keeps as
// content and accepts with the message; the second message is answered
// with a synchronization error. That error says nothing about the first
// message's sequence: the server is not called lenient.
func TestSmuggledShapeIsTiedOnlyToItsOwnMessagesAnswer(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		pipelinedEnvelope(s)
		s.Client("Subject: one\r\n\r\na\n.\r\nMAIL FROM:<x@example.org>\r\n\r\n.\r\n")
		s.Server("250 2.0.0 queued\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
		s.Server("250 ok\r\n250 ok\r\n354 go\r\n")
		s.Client("Subject: two\r\n\r\nhi\r\n.\r\n")
		s.Server("503 5.5.0 Error: improper use of SMTP command pipelining\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	if d := r.Connections.All()[0].Diagnosis; strings.Contains(d, "lenient about the terminator") {
		t.Errorf("diagnosis calls the server lenient from another message's answer: %s\n%s", d, dumpAll(r))
	}
}

// TestBDATRefusalIsTiedToItsBareLF: a message sent with BDAT whose LAST
// chunk's reply refuses it for a bare LF is diagnosed like one sent with
// DATA: the refusal and the bare line ending together.
func TestBDATRefusalIsTiedToItsBareLF(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nBDAT 17 LAST\r\nSubject: x\r\n\r\na\nb")
		s.Server("250 ok\r\n250 ok\r\n550 5.5.2 Error: bare <LF> received\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	if d := r.Connections.All()[0].Diagnosis; !strings.Contains(d, "bare <LF> received") || !strings.Contains(d, "ends in a bare LF") {
		t.Errorf("diagnosis %q\n%s", d, dumpAll(r))
	}
}

// TestDiagnosesSayOnlyWhatTheCaptureShows: checked against what the
// recordings' READMEs say happened.
//   - postfix/rejects.pcap: the test client itself sent "XXXX TO:"; nothing
//     else of a firewall fixup shows, so the diagnosis says so.
//   - postfix/sync-error.pcap stream 1: Postfix refused the pipelined MAIL
//     before it answered EHLO, so what it offers is unknown; the cause is
//     the client's EHLO group, not "PIPELINING not offered".
//   - pix-client-side.pcap stream 2: the fixup seen in the EHLO reply is
//     named with the synchronization error it brought about.
//   - crafted/terminal-escapes.pcap: a command is quoted as sent (ESC[31m),
//     not with its first word upper-cased.
func TestDiagnosesSayOnlyWhatTheCaptureShows(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream int
		want   string
	}{
		{"postfix/rejects.pcap", 0, "A client command reached the server with its verb replaced by X's (frames 31, 32), the mark of a firewall SMTP fixup (Cisco PIX/ASA), though the EHLO reply shows none of its masking; the server rejected it."},
		{"postfix/sync-error.pcap", 1, "The server rejected the client's input as out of step (frame 21): EHLO must end a pipelined group (RFC 2920), but the client sent MAIL before its reply (frame 19)."},
		{"pix-client-side.pcap", 2, "The server rejected the client's input as out of step (frame 56); the EHLO reply shows a firewall SMTP fixup in the path (frame 48), which rewrites what it does not know on its way to the server."},
		// Behind a fixup (its starred banner in frame 9), AUTH refused as
		// unknown: the fixup masked it, as the server side shows.
		{"middlebox-sweep/pix-auth.pcap", 0, "AUTH PLAIN (credentials not shown) was rejected: 500 5.5.2 Error: command not recognized (frames 17, 20), and the starred-out banner shows a firewall SMTP fixup in the path (frame 9): " +
			"such fixups replace the commands they do not know with X's on their way to the server, which then does not recognise them. Capture on the server side of the firewall to see the masked command."},
		{"middlebox-sweep/pix-split-verb.pcap", 0, "A valid command split across TCP segments (frames 21, 25) was refused, and the starred-out banner shows a firewall SMTP fixup in the path (frame 9): " +
			"such fixups inspect each segment alone and mangle the part after the split. Capture on the server side of the firewall to see the masked command."},
		{"crafted/terminal-escapes.pcap", 0, `Malformed command "\x1b[2J\x1b[31mHELO\x07 \u009b0m\xff\xfe": unknown verb; non-ASCII bytes; control characters.`},
	} {
		r := analyze(t, testcaps.Path(tc.name))
		var got string
		for _, c := range r.Connections.All() {
			if c.Stream == tc.stream {
				got = c.Diagnosis
			}
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s stream %d:\n%s\nwant\n%s", tc.name, tc.stream, got, tc.want)
		}
		for _, f := range r.Findings.All() {
			if f.Stream == tc.stream && f.ID == "pipelining-not-offered" && tc.name == "postfix/sync-error.pcap" {
				t.Errorf("%s: %s", tc.name, f.Summary)
			}
		}
	}
}

// TestRepliesToAnUnofferedChunkAreExplained: a server without CHUNKING
// reads a BDAT chunk's bytes as commands and answers them; those answers
// are explained as such, not warned about as replies nobody asked for.
func TestRepliesToAnUnofferedChunkAreExplained(t *testing.T) {
	r := analyze(t, testcaps.Path("crafted/bdat-not-offered.pcap"))
	for _, f := range r.Findings.All() {
		if f.ID == "reply-without-command" && (f.Severity != Info || !strings.Contains(f.Summary, "BDAT chunk")) {
			t.Errorf("%s %s", f.Severity, f.Summary)
		}
	}
}

// TestNoStallAcrossAClockStep: a MAIL stamped an hour before the packet in
// front of it, then its reply at the usual pace: the hour is the capture's
// clock, not a server that kept the client waiting.
func TestNoStallAcrossAClockStep(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250 mx\r\n")
		s.Pause(-time.Hour)
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Pause(time.Hour)
		s.Server("250 ok\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	for _, f := range r.Findings.All() {
		if f.ID == "stall" {
			t.Errorf("stall frames %v: %s", f.Frames, f.Summary)
		}
	}
}

// greetedSession starts a connection from 192.0.2.10:port to a server
// that greets it and answers its EHLO.
func greetedSession(w *capgen.Writer, port int, at time.Time, helo string) *capgen.Session {
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("192.0.2.10:%d", port)),
		netip.MustParseAddrPort("198.51.100.25:25"), at, 11, 22)
	s.Handshake()
	s.Server("220 mx ESMTP\r\n")
	s.Client("EHLO " + helo + "\r\n")
	s.Server("250 mx\r\n")
	return s
}

// TestAnEnvelopeDroppedRightAfterMAILIsAProbe: a client that quits (or
// resets, and the server agrees) right after its MAIL was accepted sent no
// message and lost none; one that quits only after a long wait may have
// lost its RCPT on the way; one whose RCPT a firewall turned into an
// unknown command, or whose nested MAIL the server refused, did not stop
// there.
func TestAnEnvelopeDroppedRightAfterMAILIsAProbe(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	at := time.Unix(1_700_000_000, 0)
	message := func(s *capgen.Session) {
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("DATA\r\n")
		s.Server("354 go\r\n")
		s.Client("Subject: x\r\n\r\nhi\r\n.\r\n")
		s.Server("250 queued\r\n")
	}
	for i, then := range []func(s *capgen.Session){
		func(s *capgen.Session) {},                            // QUIT right after MAIL
		func(s *capgen.Session) { s.Pause(30 * time.Second) }, // QUIT after a long wait: a RCPT lost on the way?
		func(s *capgen.Session) { s.Client("XXXX TO:<b@example.test>\r\n"); s.Server("500 unrecognized\r\n") },
		func(s *capgen.Session) {
			s.Client("MAIL FROM:<c@example.org>\r\n")
			s.Server("503 5.5.1 Error: nested MAIL command\r\n")
			message(s)
		},
		func(s *capgen.Session) {
			s.Client("EHLO client.example.org\r\n")
			s.Server("250 mx\r\n")
			s.Client("MAIL FROM:<c@example.org>\r\n")
			s.Server("250 ok\r\n")
			message(s)
		},
	} {
		s := greetedSession(w, 41000+i, at.Add(time.Duration(i)*time.Minute), "client.example.org")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		then(s)
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
	}
	r := analyzeBytes(t, "after-mail.pcap", buf.Bytes())
	var got []string
	for _, c := range r.Connections.All() {
		got = append(got, fmt.Sprintf("%d/%d/%d", c.Transactions, c.Delivered, c.EnvelopeOnly))
	}
	// transactions/delivered/envelope only, by stream: the refused nested
	// MAIL began no transaction, and the message went with the first
	if want := []string{"1/0/1", "1/0/0", "1/0/0", "1/1/0", "2/1/1"}; !slices.Equal(got, want) {
		t.Errorf("connections %v, want %v", got, want)
	}
}

// TestAddressProbesAreNeitherFailuresNorRetries: a verifying server's
// callout (MAIL, RCPT accepted, then RSET/QUIT with no message) repeated in
// three connections is counted apart from messages, and is no retry loop.
func TestAddressProbesAreNeitherFailuresNorRetries(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	at := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		s := greetedSession(w, 40000+i, at.Add(time.Duration(i)*time.Minute), "verifier.example.org")
		s.Client("MAIL FROM:<>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RCPT TO:<user@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("RSET\r\n")
		s.Server("250 ok\r\n")
		if i == 0 {
			// the first connection also carries a real message
			s.Client("MAIL FROM:<a@example.org>\r\n")
			s.Server("250 ok\r\n")
			s.Client("RCPT TO:<user@example.test>\r\n")
			s.Server("250 ok\r\n")
			s.Client("DATA\r\n")
			s.Server("354 go\r\n")
			s.Client("Subject: x\r\n\r\nhi\r\n.\r\n")
			s.Server("250 queued\r\n")
		}
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
	}
	r := analyzeBytes(t, "probes.pcap", buf.Bytes())
	for _, f := range r.Findings.All() {
		t.Errorf("%s %s stream %d: %s", f.Severity, f.ID, f.Stream, f.Summary)
	}
	if r.Connections.Len() != 3 {
		t.Fatalf("%d connections", r.Connections.Len())
	}
	if c := r.Connections.All()[0]; c.Transactions != 2 || c.Delivered != 1 || c.EnvelopeOnly != 1 {
		t.Errorf("stream 0: transactions %d delivered %d probes %d, want 2, 1, 1", c.Transactions, c.Delivered, c.EnvelopeOnly)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, r, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "1/1 delivered (+1 probe)") || !strings.Contains(table.String(), "0/0 delivered (+1 probe)") {
		t.Errorf("table:\n%s", table.String())
	}
}

// TestRefusedCommandsWithoutMailSayNothingWasLost: a 502 to HELP or a 459
// to ETRN is reported, but not explained as a message kept and retried.
func TestRefusedCommandsWithoutMailSayNothingWasLost(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250 mx\r\n")
		s.Client("HELP\r\n")
		s.Server("502 5.5.1 not implemented\r\n")
		s.Client("ETRN example.org\r\n")
		s.Server("459 4.7.1 <example.org>: service unavailable\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	var got []string
	for _, f := range r.Findings.All() {
		got = append(got, f.ID)
		if !strings.Contains(f.Explanation, "carries no mail") || strings.Contains(f.Explanation, "retries") {
			t.Errorf("%s: %s", f.Summary, f.Explanation)
		}
	}
	if strings.Join(got, " ") != "command-rejected command-deferred" {
		t.Errorf("findings %v", got)
	}
}

// TestStallSurvivesATinyInversion: a DATA stamped 20 µs before the ACK in
// front of it (as captures on several CPUs have), then 60 s of silence:
// the stall is still reported.
func TestStallSurvivesATinyInversion(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c.example.org\r\n")
		s.Server("250 mx\r\n")
		s.Pause(-s.Step - 20*time.Microsecond) // 20 µs before the packet in front
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Pause(60 * time.Second)
		s.Server("451 4.3.0 timeout\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	stalls := 0
	for _, f := range r.Findings.All() {
		if f.ID == "stall" {
			stalls++
		}
	}
	if stalls != 1 {
		t.Errorf("%d stalls, want 1: %+v", stalls, r.Findings)
	}
}

func TestNamesFrame(t *testing.T) {
	for text, want := range map[string]bool{
		"the 421 in frame 39.":      true,
		"answered (frames 38, 39).": true,
		"in frames 12 and 39":       true,
		"in frame 390":              false,
		"after 39 s, in frame 40":   false,
		"frames 139, 40":            false,
	} {
		if got := namesFrame(text, 39); got != want {
			t.Errorf("namesFrame(%q, 39) = %v", text, got)
		}
	}
}

// TestBulkSendersSessionsAreNeitherLegsNorRetries: Postfix's smtp-source
// sending the same envelope to several smtp-sink servers at once, ten
// sessions at a time (testdata/pcaps/postfix-scale). Its sessions share a
// greeting, a HELO and an envelope, but they are no proxy's two legs: the
// "far" one answers differently or before the "near" one. Nor are
// attempts in flight at the same time retries of one message.
func TestBulkSendersSessionsAreNeitherLegsNorRetries(t *testing.T) {
	r := analyze(t, testcaps.Path("postfix-scale/sink-bulk.pcap"))
	if r.Connections.Len() != 17 {
		t.Fatalf("%d connections, want 17", r.Connections.Len())
	}
	for _, f := range r.Findings.All() {
		if strings.Contains(f.Summary, "other leg") {
			t.Errorf("stream %d linked to another leg: %s", f.Stream, f.Summary)
		}
		if f.ID == "retry-loop" && fmt.Sprint(f.Streams) != "[14 16]" {
			t.Errorf("retry-loop over streams %v: %s", f.Streams, f.Summary)
		}
	}
	for _, c := range r.Connections.All() {
		if strings.Contains(c.Diagnosis, "device in the path swallowed") || strings.Contains(c.Diagnosis, "far leg") {
			t.Errorf("stream %d: %s", c.Stream, c.Diagnosis)
		}
	}
	// Streams 14 and 16 went one after the other (to two servers): that
	// much is a retry as far as the capture can tell.
	loops := 0
	for _, f := range r.Findings.All() {
		if f.ID == "retry-loop" {
			loops++
		}
	}
	if loops != 1 {
		t.Errorf("%d retry-loop findings, want 1 (streams 14 and 16)", loops)
	}
	// smtp-sink hung up on stream 16's one RCPT after taking it: one
	// command's bytes are "its", not "their".
	u := findingsOf(r, "unanswered-command", 16)
	want := `the server never answered "RCPT TO:<2user@example.test>" (connection ended: the server's FIN in frame 381, then the client's RST in frame 384); ` +
		"yet its bytes were acknowledged in frame 381, so they reached the server's TCP — or a device in the path that answers for it"
	if len(u) != 1 || u[0].Summary != want || !slices.Equal(u[0].Frames, []int{380, 381}) {
		t.Errorf("unanswered-command in stream 16: %+v\nwant frames [380 381]: %s", u, want)
	}
}

func TestLongRetryLoopsAreListedShortInEachDiagnosis(t *testing.T) {
	if got := shortList([]int{3, 4, 5}); got != "3, 4, 5" {
		t.Errorf("short: %q", got)
	}
	many := make([]int, 900)
	for i := range many {
		many[i] = 20 + i
	}
	if got, want := shortList(many), "20, 21, 22, 23, 24, …, 919 (900 in all)"; got != want {
		t.Errorf("long: %q, want %q", got, want)
	}
}

// TestKeepAliveProbesSayNothing: Windows' keep-alive probe sends the last
// byte again (one byte just below the next sequence number); three of
// them in a 180 s silence in the middle of a transaction are neither the
// client resending its command nor the end of the silence.
func TestKeepAliveProbesSayNothing(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c\r\n")
		s.Server("250 mx\r\n")
		s.Client("MAIL FROM:<a@example.org>\r\n")
		s.Server("250 ok\r\n")
		for range 3 {
			s.Pause(time.Minute)
			s.SegmentAt(true, s.Sent(true)-1, []byte{0})
			s.Ack(false)
		}
		s.Pause(time.Second)
		s.Client("RCPT TO:<b@example.test>\r\n")
		s.Server("250 ok\r\n")
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
	})
	var stalls []string
	for _, f := range r.Findings.All() {
		if f.ID == "stall" {
			stalls = append(stalls, f.Summary)
		}
	}
	if len(stalls) != 1 || !strings.HasPrefix(stalls[0], "client silent 181.0 s after the server's 250 reply in frame 12; then the client sent \"RCPT TO:<b@example.test>\" in frame 20") {
		t.Errorf("stalls %q, want one of 181 s ended by the RCPT", stalls)
	}
}

func TestTableOfManyCleanConnectionsSaysSo(t *testing.T) {
	r := &Report{}
	var conns []Connection
	for i := range tableAllConnections + 1 {
		conns = append(conns, Connection{Stream: i, Client: "192.0.2.1:1000", Server: "192.0.2.2:25", End: "fin"})
	}
	r.Connections = NewConnectionList(conns...)
	r.count()
	var out bytes.Buffer
	if err := WriteTable(&out, r, false); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d SMTP connections analysed, 0 findings\n\nnone of the %d connections has a finding with a warning or an error; --format json or markdown lists them all\n",
		tableAllConnections+1, tableAllConnections+1)
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestUnansweredCommandsSayWhoEndedTheConnection: the end is named with
// who closed first and the frame, not as "fin" or "rst" alone.
func TestUnansweredCommandsSayWhoEndedTheConnection(t *testing.T) {
	r := analyze(t, testcaps.Path("hold513-client-side.pcap"))
	want := "the server never answered the 16 commands (MAIL, RCPT×14, DATA) the client sent in frame 9, a segment of 513 bytes (connection ended: the server's FIN in frame 14); yet"
	for _, f := range r.Findings.All() {
		if f.ID == "unanswered-command" && f.Stream == 0 {
			if !strings.HasPrefix(f.Summary, want) {
				t.Errorf("summary %q, want it to start %q", f.Summary, want)
			}
			return
		}
	}
	t.Error("no unanswered-command in stream 0")
}

// TestRetryAfterATimeoutIsARetry: a message whose end of data got no reply
// is tried again at another MX, and again later. Without a Message-ID,
// the first attempt overlaps the second only in FINs the kernel
// retransmits after the client gave up (its first FIN), so the attempts
// are one message retried, not several sent at once. With a Message-ID
// they are one message even when they overlap.
func TestRetryAfterATimeoutIsARetry(t *testing.T) {
	cases := []struct {
		name      string
		messageID string
		second    time.Duration // when the second attempt starts
	}{
		{"overlapping only in retransmitted FINs", "", 547 * time.Second},
		{"overlapping, one Message-ID", "Message-ID: <m1@example.org>\r\n", 100 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
			t0 := time.Unix(1_700_000_000, 0)
			attempt := func(client, mx string, at time.Duration) {
				s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(client), netip.MustParseAddrPort(mx), t0.Add(at), 100, 200)
				s.Handshake()
				plainEnvelope(s)
				s.Client(tc.messageID + "Subject: hi\r\n\r\nbody\r\n.\r\n")
				s.Ack(false)
				s.Pause(540 * time.Second) // no reply to the end of data: the client gives up
				fin := s.Now
				s.Emit(true, s.Sent(true)+101, capgen.FIN|capgen.ACK, nil)
				for _, again := range []time.Duration{20 * time.Second, 60 * time.Second, 130 * time.Second} {
					s.Now = fin.Add(again) // the FIN retransmitted, never acknowledged
					s.Emit(true, s.Sent(true)+101, capgen.FIN|capgen.ACK, nil)
				}
			}
			attempt("192.0.2.10:40001", "198.51.100.25:25", 0)
			attempt("192.0.2.10:40002", "198.51.100.26:25", tc.second)
			attempt("192.0.2.10:40003", "198.51.100.25:25", 1800*time.Second)
			r := analyzeBytes(t, "retry.pcap", buf.Bytes())
			var loops []string
			for _, f := range r.Findings.All() {
				if f.ID == "retry-loop" {
					loops = append(loops, fmt.Sprint(f.Streams, " ", f.Severity))
				}
			}
			if fmt.Sprint(loops) != "[[0 1 2] error]" {
				t.Errorf("retry loops %v, want one over streams 0, 1, 2, an error", loops)
			}
		})
	}
}

// TestEveryRefusalIsCountedInTheDiagnosis: a clean connection whose server
// refused three commands leads with the first and counts the others.
func TestEveryRefusalIsCountedInTheDiagnosis(t *testing.T) {
	r := analyze(t, testcaps.Path("postfix-client/postfix-client-reject.pcap"))
	want := "MAIL FROM:<blocked@client.example.org> SIZE=332 was rejected: 550 5.7.1 <blocked@client.example.org>: Sender address rejected: sender rejected by … (frames 9, 10). The server turned down 2 more commands (frame 9); the findings tell of each."
	if d := r.Connections.All()[0].Diagnosis; d != want {
		t.Errorf("diagnosis %q, want %q", d, want)
	}
}

// TestKeepAliveProbesDoNotHideATimeout: a client silent in the middle of
// its message, but for keep-alive probes, is still the client the
// server's 421 timed out on.
func TestKeepAliveProbesDoNotHideATimeout(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		plainEnvelope(s)
		s.Client("Subject: hi\r\n\r\npart of it\r\n")
		for range 5 {
			s.Pause(time.Minute)
			s.SegmentAt(true, s.Sent(true)-1, []byte{'\n'})
			s.Ack(false)
		}
		s.Pause(time.Second)
		s.Server("421 4.4.2 mx Error: timeout exceeded\r\n")
	})
	want := "the transaction from <a@example.org> was lost during DATA: the message stopped coming (nothing from the client for 301.0 s after frame 22), and the server gave up with 421"
	for _, f := range r.Findings.All() {
		if f.ID == "lost-mid-transaction" {
			if !strings.HasPrefix(f.Summary, want) {
				t.Errorf("summary %q, want it to start %q", f.Summary, want)
			}
			return
		}
	}
	t.Error("no lost-mid-transaction")
}

// Lost full-size segments are ordinary packet loss, not a path-MTU black
// hole, when a segment as large got through: retransmitted three times
// and then acknowledged as it was, or lost for good at the end of a
// connection in which another one of that size was acknowledged.
func TestLargeSegmentsLostOnlyWhenNoneOfThatSizePasses(t *testing.T) {
	body := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrst\r\n", 64) + ".\r\n"
	for name, script := range map[string]func(s *capgen.Session){
		"lost three times, then acknowledged": func(s *capgen.Session) {
			plainEnvelope(s)
			at := s.Sent(true)
			for range 4 {
				s.SegmentAt(true, at, []byte(body[:1448]))
				s.Pause(time.Second)
			}
			s.Skip(true, 1448)
			s.Ack(false)
			s.Client(body[1448:])
			s.Server("250 OK\r\n")
		},
		"one of that size passed, the next lost for good": func(s *capgen.Session) {
			plainEnvelope(s)
			s.Client(body[:1448])
			at := s.Sent(true)
			for range 5 {
				s.SegmentAt(true, at, []byte(body[1448:2896]))
				s.Pause(time.Second)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			for _, f := range scriptedReport(t, 25, script).Findings.All() {
				if f.ID == "large-segments-lost" {
					t.Errorf("%s %v: %s", f.ID, f.Frames, f.Summary)
				}
			}
		})
	}
}

// Nothing from the server after the first try, until the capture ends: a
// path or a peer gone, which swallows small packets as well; no black hole.
func TestLargeSegmentsLostNeedsThePeerStillHeard(t *testing.T) {
	body := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrst\r\n", 64)
	r := endedReport(t, true, func(s *capgen.Session, _ func(bool)) {
		plainEnvelope(s)
		at := s.Sent(true)
		for range 5 {
			s.SegmentAt(true, at, []byte(body[:1448]))
			s.Pause(time.Second)
		}
	})
	for _, f := range r.Findings.All() {
		if f.ID == "large-segments-lost" {
			t.Errorf("%s %v: %s", f.ID, f.Frames, f.Summary)
		}
	}
}

// Behind a path-MTU black hole (real Postfix and swaks, testdata/pcaps/pmtu)
// the small message is clean on both sides, and the server's side tells
// the bytes that never reached the server from bytes the capture missed:
// the server's own ACKs never covered them.
func TestPathMTUBlackHoleFromBothSides(t *testing.T) {
	client := analyze(t, testcaps.Path("pmtu/pmtu-client-side.pcap"))
	server := analyze(t, testcaps.Path("pmtu/pmtu-server-side.pcap"))
	for _, r := range []*Report{client, server} {
		for _, f := range r.Findings.All() {
			if f.Stream == 0 {
				t.Errorf("stream 0 (a small message, delivered): %s %v: %s", f.ID, f.Frames, f.Summary)
			}
		}
	}
	var gap *Finding
	for i, f := range server.Findings.All() {
		if f.ID == "capture-gap" && f.Stream == 1 {
			gap = &server.Findings.All()[i]
		}
	}
	want := "8192 bytes of the client's stream at offset 84 never arrived: the server's ACKs never went past offset 84, though later bytes did arrive (frame 36)"
	if gap == nil || !strings.HasPrefix(gap.Summary, want) || !slices.Equal(gap.Frames, []int{36}) {
		t.Errorf("server side, stream 1: capture-gap %+v, want frames [36] and %q", gap, want)
	}
	// The diagnosis ends with what the server said, not with the silences
	// between the client's resends.
	for _, c := range client.Connections.All() {
		if c.Stream == 1 && !strings.HasSuffix(c.Diagnosis, "a path-MTU black hole. The message was deferred: 421 4.4.2 mx.example.test Error: timeout exceeded (frame 51).") {
			t.Errorf("client side, stream 1: diagnosis %q", c.Diagnosis)
		}
	}
	// Between two resends of its lost segment the client was backing off,
	// not silent: no stall there.
	for _, f := range client.Findings.All() {
		if f.ID == "stall" && f.Stream == 1 {
			t.Errorf("client side, stream 1: stall %v: %s", f.Frames, f.Summary)
		}
	}
	// Bytes the server did acknowledge are missing from the capture only.
	for _, f := range analyze(t, testcaps.Path("crafted/gap.pcap")).Findings.All() {
		if f.ID == "capture-gap" && !strings.Contains(f.Summary, "are not in the capture") {
			t.Errorf("crafted/gap.pcap: %s", f.Summary)
		}
	}
}

// The two sessions of testdata/pcaps/tls whose handshake succeeded are
// told as such, with the version the server chose; the alerts of the
// failed ones name who refused what.
func TestStartTLSOutcomes(t *testing.T) {
	r := analyze(t, testcaps.Path("tls/starttls-failures.pcap"))
	byStream := map[int][]string{}
	for _, f := range r.Findings.All() {
		byStream[f.Stream] = append(byStream[f.Stream], f.ID+": "+f.Summary)
	}
	want := map[int]string{
		0: "tls-handshake-failed: the TLS handshake after STARTTLS failed: the server sent a fatal protocol_version alert (70) in frame 13, after the client offered TLS 1.2 only (frame 12): no TLS version that both sides accept; connection ended: the server's FIN in frame 15",
		3: "tls-handshake-failed: the TLS handshake after STARTTLS failed: the client sent a fatal unknown_ca alert (48) in frame 65, after the client offered TLS 1.3 only (frame 62) and the server chose TLS 1.3, cipher suite 0x1302 (frame 63): the client does not accept the server's certificate; connection ended: the client's RST in frame 66",
		4: "tls-started: STARTTLS succeeded (220 2.0.0 Ready to start TLS); TLS 1.3 negotiated (frame 79); the rest of the connection (1073 client and 2029 server bytes) is encrypted and not analysed",
		5: "tls-started: STARTTLS succeeded (220 2.0.0 Ready to start TLS); TLS 1.2 negotiated (frame 112); the rest of the connection (799 client and 1908 server bytes) is encrypted and not analysed",
	}
	for stream, w := range want {
		if got := byStream[stream]; len(got) != 1 || got[0] != w {
			t.Errorf("stream %d: %q\nwant [%q]", stream, got, w)
		}
	}
}

// Bytes missing before later ones "never arrived" only when the receiver
// acknowledged after the later bytes and still not past the hole: a reset
// (or the capture's end) before any such ACK leaves them merely missing
// from the capture, as the receiver may have had them all along.
func TestNeverArrivedNeedsAnACKAfterTheLaterBytes(t *testing.T) {
	body := []byte(strings.Repeat("x", 2894) + "\r\n.\r\n")
	for _, tc := range []struct {
		name   string
		dupAck bool
		want   string
	}{
		{"reset before any ACK", false, "1448 bytes of the client's stream at offset 87 are not in the capture (not captured; the next captured bytes are in frame 28)"},
		{"a duplicate ACK after the later bytes", true, "1448 bytes of the client's stream at offset 87 never arrived: the server's ACKs never went past offset 87, though later bytes did arrive (frame 28)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := endedReport(t, true, func(s *capgen.Session, fin func(bool)) {
				s.Server("220 mx ESMTP\r\n")
				s.Client("EHLO c\r\n")
				s.Server("250 mx\r\n")
				plainEnvelope(s)
				s.SegmentAt(true, s.Sent(true)+1448, body[1448:]) // the first 1448 bytes are missing
				if tc.dupAck {
					s.Ack(false) // the server still waits at the hole
				}
				s.Reset(true)
			})
			var got string
			for _, f := range r.Findings.All() {
				if f.ID == "capture-gap" {
					got = f.Summary
				}
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("capture-gap %q, want %q", got, tc.want)
			}
		})
	}
}

// A server's warning alert in the clear (unrecognized_name next to its
// ServerHello) before the client's fatal alert is no successful STARTTLS:
// the handshake failed, and the client's alert says why.
func TestTLSWarningThenFatalAlertFails(t *testing.T) {
	record := func(typ byte, body string) []byte {
		return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
	}
	hello := func(typ byte, body string) string {
		return string([]byte{typ, 0, byte(len(body) >> 8), byte(len(body))}) + body
	}
	random := strings.Repeat("r", 32)
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c\r\n")
		s.Server("250-mx\r\n250 STARTTLS\r\n")
		s.Client("STARTTLS\r\n")
		s.Server("220 go ahead\r\n")
		s.Send(true, record(22, hello(1, "\x03\x03"+random+"\x00\x00\x02\xc0\x2f\x01\x00")))
		s.Ack(false)
		s.Send(false, append(record(21, "\x01\x70"), record(22, hello(2, "\x03\x03"+random+"\x00\xc0\x2f\x00"))...))
		s.Ack(true)
		s.Send(true, record(21, "\x02\x30"))
		s.Ack(false)
	})
	var got []string
	for _, f := range r.Findings.All() {
		if strings.HasPrefix(f.ID, "tls-") {
			got = append(got, f.ID+": "+f.Summary)
		}
	}
	want := "tls-handshake-failed: the TLS handshake after STARTTLS failed: the client sent a fatal unknown_ca alert (48)"
	if len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("%q, want one %q", got, want)
	}
}

// Every IPv6 link carries 1280-byte packets: a 1000-byte segment resent
// and never acknowledged over IPv6 is lost for some other reason than the
// path's MTU, while the same over IPv4 may be a path-MTU black hole.
func TestLargeSegmentsLostKnowsIPv6MinimumMTU(t *testing.T) {
	for _, tc := range []struct {
		client, server string
		want           bool
	}{
		{"192.0.2.10:40000", "198.51.100.25:25", true},
		{"[2001:db8::10]:40000", "[2001:db8::25]:25", false},
	} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(tc.client), netip.MustParseAddrPort(tc.server), time.Unix(1_700_000_000, 0), 11, 22)
		s.Handshake()
		s.Server("220 mx ESMTP\r\n")
		s.Client("EHLO c\r\n")
		s.Server("250 mx\r\n")
		plainEnvelope(s)
		body := []byte(strings.Repeat("x", 995) + "\r\n.\r\n")
		at := s.Sent(true)
		for _, backoff := range []time.Duration{0, 200, 400, 800} {
			s.Pause(backoff * time.Millisecond)
			s.SegmentAt(true, at, body)
		}
		s.Pause(5 * time.Second)
		s.Server("421 4.4.2 timeout\r\n") // the path works the other way
		s.Reset(true)
		c, err := reassembly.OpenReader("v6.pcap", bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, f := range analyzeCapture(t, c, session.Options{Stream: -1}).Report(nil).Findings.All() {
			if f.ID == "large-segments-lost" {
				got = true
				t.Logf("%s: %s", tc.client, f.Summary)
			}
		}
		if got != tc.want {
			t.Errorf("%s: large-segments-lost %v, want %v", tc.client, got, tc.want)
		}
	}
}

// A silence ended by resending older bytes is told as a retransmission,
// not as new message data.
func TestStallEndedByAnOlderResendSaysSo(t *testing.T) {
	r := scriptedReport(t, 25, func(s *capgen.Session) {
		plainEnvelope(s)
		at := s.Sent(true)
		s.Send(true, []byte("Subject: a\r\n\r\nfirst part\r\n"))
		s.Send(true, []byte("second part\r\n"))
		s.Pause(30 * time.Second)
		s.SegmentAt(true, at, []byte("Subject: a\r\n\r\nfirst part\r\n"))
		s.Client(".\r\n")
		s.Server("250 ok\r\n")
	})
	for _, f := range r.Findings.All() {
		if f.ID == "stall" {
			if !strings.Contains(f.Summary, "then the client sent message data again (a retransmission) in frame") {
				t.Errorf("stall %v: %s", f.Frames, f.Summary)
			}
			return
		}
	}
	var got []string
	for _, f := range r.Findings.All() {
		got = append(got, f.ID+": "+f.Summary)
	}
	t.Errorf("no stall in %q", got)
}

// TestAnEnvelopeWithAGapAfterMAILIsNoProbe: the client's RCPT, DATA and
// message lost in a capture gap between MAIL and QUIT (the server's 250,
// 354 and 451 are in the capture) were a message that failed, not a probe.
func TestAnEnvelopeWithAGapAfterMAILIsNoProbe(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := greetedSession(w, 43000, time.Unix(1_700_000_000, 0), "client.example.org")
	s.Client("MAIL FROM:<a@example.org>\r\n")
	s.Server("250 ok\r\n")
	s.Skip(true, uint32(len("RCPT TO:<b@example.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n")))
	s.Server("250 2.1.5 ok\r\n354 go\r\n451 4.3.0 failed\r\n")
	s.Client("QUIT\r\n")
	s.Server("221 bye\r\n")
	s.Close()
	r := analyzeBytes(t, "gap-after-mail.pcap", buf.Bytes())
	if c := r.Connections.All()[0]; c.EnvelopeOnly != 0 {
		t.Errorf("%d/%d delivered, %d envelope only; want the envelope counted as a failed message", c.Delivered, c.Transactions, c.EnvelopeOnly)
	}
}

// TestASessionSeenThroughNATIsToldOnce: testdata/pcaps/nat holds swaks
// sessions to Exim through a Linux NAT router, captured there with
// tcpdump -i any (each packet once inside, once outside) and on one side
// only, at the same time: outbound through masquerade, inbound through a
// port forward. The outside view of each session is named as
// such and its findings are told once, in the inside view, as the inside
// capture tells them; a message refused once is no retry loop.
func TestASessionSeenThroughNATIsToldOnce(t *testing.T) {
	summary := func(r *Report) (ids []string) {
		for _, f := range r.Findings.All() {
			ids = append(ids, fmt.Sprintf("%s %d %s", f.ID, f.Stream, f.Severity))
		}
		return ids
	}
	for _, tc := range []struct {
		both, inside string
		want         string // findings of both: id stream severity
		twins        map[int]int
	}{
		{"nat/nat-any.pcap", "nat/nat-inside.pcap", "[seen-through-nat 1 info command-rejected 2 info seen-through-nat 3 info]", map[int]int{1: 0, 3: 2}},
		{"nat/nat-rejected.pcap", "nat/nat-rejected-inside.pcap", "[command-rejected 0 info seen-through-nat 1 info]", map[int]int{1: 0}},
		// Inbound, port-forwarded to a server inside (DNAT): the outside view
		// comes first; the reference is the outside interface alone.
		{"nat/nat-dnat.pcap", "nat/nat-dnat-outside.pcap", "[seen-through-nat 1 info command-rejected 2 info seen-through-nat 3 info]", map[int]int{1: 0, 3: 2}},
		// Docker's default: a container on a bridge, masqueraded out of the
		// host's uplink; -i any sees each packet on the container's port,
		// on the bridge (copies, skipped) and NATed on the uplink. The
		// reference is the uplink alone.
		{"docker/docker-any.pcap", "docker/docker-uplink.pcap", "[seen-through-nat 1 info command-rejected 2 info seen-through-nat 3 info]", map[int]int{1: 0, 3: 2}},
	} {
		both, inside := analyze(t, testcaps.Path(tc.both)), analyze(t, testcaps.Path(tc.inside))
		if got := fmt.Sprint(summary(both)); got != tc.want {
			t.Errorf("%s: findings %s, want %s", tc.both, got, tc.want)
		}
		for _, f := range inside.Findings.All() {
			if f.ID == "seen-through-nat" || f.ID == "retry-loop" {
				t.Errorf("%s: %s in stream %d", tc.inside, f.ID, f.Stream)
			}
		}
		var told []Finding // what both tells outside its NAT findings, as the inside capture tells it
		for _, f := range both.Findings.All() {
			if f.ID == "seen-through-nat" {
				first, ok := tc.twins[f.Stream]
				if !ok || fmt.Sprint(f.Streams) != fmt.Sprint([]int{first, f.Stream}) ||
					!strings.HasPrefix(f.Summary, fmt.Sprintf("the same TCP session as stream %d, seen on the other side of a NAT: here %s → %s, there %s → %s,", first,
						both.Connections.All()[f.Stream].Client, both.Connections.All()[f.Stream].Server, both.Connections.All()[first].Client, both.Connections.All()[first].Server)) {
					t.Errorf("%s: %s %v: %s", tc.both, f.ID, f.Streams, f.Summary)
				}
				c := both.Connections.All()[f.Stream]
				if want := fmt.Sprintf("The same session as stream %d, seen through NAT: see stream %d.", first, first); c.Diagnosis != want || c.Findings != 1 || c.Worst != "info" ||
					c.SameSessionAs == nil || *c.SameSessionAs != first {
					t.Errorf("%s: stream %d: %d findings, worst %s, diagnosis %q", tc.both, c.Stream, c.Findings, c.Worst, c.Diagnosis)
				}
				continue
			}
			told = append(told, f)
		}
		if len(told) != inside.Findings.Len() {
			t.Fatalf("%s: %d findings besides NAT, the inside capture %d", tc.both, len(told), inside.Findings.Len())
		}
		// The table and the markdown say whose mail a second view's is.
		var table, md bytes.Buffer
		if err := WriteTable(&table, both, false); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&md, both); err != nil {
			t.Fatal(err)
		}
		for second, first := range tc.twins {
			if !strings.Contains(table.String(), fmt.Sprintf("as stream %d ", first)) ||
				!strings.Contains(md.String(), fmt.Sprintf("another view of stream %d's session, whose mail it is.", first)) {
				t.Errorf("%s: stream %d: the table or the markdown does not name stream %d", tc.both, second, first)
			}
		}
		for i, f := range told {
			if w := inside.Findings.All()[i]; f.ID != w.ID || f.Summary != w.Summary || both.Connections.All()[f.Stream].Server != inside.Connections.All()[w.Stream].Server {
				t.Errorf("%s: %s %q in stream %d; inside: %s %q", tc.both, f.ID, f.Summary, f.Stream, w.ID, w.Summary)
			}
		}
	}
}

// TestOneHostsThreeFailuresAreALoopWhoeverElseTried: the same envelope,
// with neither SIZE nor Message-ID, refused three times to one host and
// once to another: one host's loop is an error, told with the other host
// named; two hosts refused once each stay a warning.
func TestOneHostsThreeFailuresAreALoopWhoeverElseTried(t *testing.T) {
	for _, tc := range []struct {
		clients []string
		want    string
	}{
		{[]string{"192.0.2.10", "192.0.2.10", "192.0.2.10", "192.0.2.77"}, "[[0 1 2 3] error]"},
		{[]string{"192.0.2.10", "192.0.2.77"}, "[[0 1] warning]"},
	} {
		var buf bytes.Buffer
		w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
		t0 := time.Unix(1_700_000_000, 0)
		for i, client := range tc.clients {
			s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("%s:%d", client, 40000+i)),
				netip.MustParseAddrPort("198.51.100.25:25"), t0.Add(time.Duration(i)*10*time.Minute), uint32(1000+i*7919), uint32(5000+i*104729))
			s.Handshake()
			plainEnvelope(s)
			s.Client("Subject: hi\r\n\r\nbody\r\n.\r\n")
			s.Server("554 5.7.1 rejected\r\n")
			s.Client("QUIT\r\n")
			s.Server("221 bye\r\n")
			s.Close()
		}
		r := analyzeBytes(t, "hosts.pcap", buf.Bytes())
		var loops []string
		for _, f := range r.Findings.All() {
			if f.ID == "retry-loop" {
				loops = append(loops, fmt.Sprint(f.Streams, " ", f.Severity))
				if !strings.Contains(f.Summary, "; the attempts came from 2 client addresses (192.0.2.10, 192.0.2.77) and carry no SIZE or Message-ID") {
					t.Errorf("%v: %s", tc.clients, f.Summary)
				}
			}
		}
		if fmt.Sprint(loops) != tc.want {
			t.Errorf("%v: retry loops %v, want %s", tc.clients, loops, tc.want)
		}
	}
}

// TestLMTPDeferredRecipientsRetriedAreALoop: an MTA delivering over LMTP
// gets 452 for bob's full mailbox in bob's own final reply, carol's
// message saved; it tries bob again twice, alone, and is deferred each
// time. The recipient's deferral in a delivered transaction is the loop's
// first attempt, as for a RCPT deferred in SMTP.
func TestLMTPDeferredRecipientsRetriedAreALoop(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	at := time.Unix(1_700_000_000, 0)
	for i, rcpts := range [][]string{{"bob", "carol"}, {"bob"}, {"bob"}} {
		s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(fmt.Sprintf("192.0.2.10:%d", 40000+i)),
			netip.MustParseAddrPort("198.51.100.25:24"), at.Add(time.Duration(i)*10*time.Minute), 11, 22)
		s.Handshake()
		s.Server("220 mx LMTP ready\r\n")
		s.Client("LHLO c.example.org\r\n")
		s.Server("250-mx\r\n250 PIPELINING\r\n")
		cmds, oks, finals := "MAIL FROM:<a@example.org>\r\n", "250 2.1.0 OK\r\n", ""
		for _, r := range rcpts {
			cmds += "RCPT TO:<" + r + "@example.test>\r\n"
			oks += "250 2.1.5 OK\r\n"
			if r == "bob" {
				finals += "452 4.2.2 <bob@example.test> Mailbox full\r\n"
			} else {
				finals += "250 2.0.0 <carol@example.test> Saved\r\n"
			}
		}
		s.Client(cmds + "DATA\r\n")
		s.Server(oks + "354 OK\r\n")
		s.Client("Subject: x\r\nMessage-ID: <m1@example.org>\r\n\r\nhi\r\n.\r\n")
		s.Server(finals)
		s.Client("QUIT\r\n")
		s.Server("221 bye\r\n")
		s.Close()
	}
	r := analyzeBytes(t, "lmtp-retry.pcap", buf.Bytes())
	loops := retryLoops(r)
	if len(loops) != 1 || !slices.Equal(loops[0].Streams, []int{0, 1, 2}) ||
		!strings.Contains(loops[0].Summary, "a@example.org → bob@example.test") ||
		!strings.Contains(loops[0].Summary, "(in stream 0 the server took the message for the other recipients and deferred these)") {
		t.Errorf("retry loops %v", loops)
	}
}
