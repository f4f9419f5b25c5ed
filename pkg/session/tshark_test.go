package session

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// tsharkSMTP is what tshark's SMTP dissector says of one stream.
type tsharkSMTP struct {
	commands []string // verbs, upper-cased
	params   []string // MAIL/RCPT parameters
	codes    []string // reply codes, one per reply
}

func runTshark(t *testing.T, tshark, path string) map[int]*tsharkSMTP {
	t.Helper()
	out, err := exec.Command(tshark, "-r", path, "-n", "-o", "tcp.desegment_tcp_streams:TRUE",
		"-Y", "smtp", "-T", "fields", "-E", "separator=/t", "-E", "aggregator=\x1f",
		"-e", "tcp.stream", "-e", "smtp.req.command", "-e", "smtp.req.parameter", "-e", "smtp.response.code").Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("tshark: %v", err)
	}
	res := map[int]*tsharkSMTP{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			continue
		}
		stream, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		r := res[stream]
		if r == nil {
			r = &tsharkSMTP{}
			res[stream] = r
		}
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, "\x1f")
		}
		cmds, params := split(f[1]), split(f[2])
		for i, c := range cmds {
			r.commands = append(r.commands, strings.ToUpper(c[:min(4, len(c))]))
			if i < len(params) && (strings.EqualFold(c, "MAIL") || strings.EqualFold(c, "RCPT")) {
				r.params = append(r.params, params[i])
			}
		}
		r.codes = append(r.codes, split(f[3])...)
	}
	return res
}

// TestDialoguesAgreeWithTsharkSMTPDissector compares, for every SMTP
// connection of every bundled and corpus capture, the commands, the MAIL
// FROM / RCPT TO arguments and the reply codes we extract with those of
// tshark's SMTP dissector. .ci/run installs tshark.
func TestDialoguesAgreeWithTsharkSMTPDissector(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	for _, path := range testcaps.All() {
		if testcaps.Broken(path) {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := runTshark(t, tshark, path)
			c, err := reassembly.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = Read(c, Options{Stream: -1, Selection: Selection{Ports: []uint16{25, 465, 587, 2525}}}, func(s *Session) error {
				w := want[s.Conn.Stream]
				if w == nil {
					w = &tsharkSMTP{}
				}
				var cmds, params, codes []string
				for _, cmd := range s.Dialogue.Commands {
					// tshark shows a verb's first four characters, and an AUTH
					// continuation line's first four as if they were a verb.
					verb := cmd.Verb
					if verb == "" {
						verb = strings.ToUpper(cmd.Args)
					}
					cmds = append(cmds, verb[:min(4, len(verb))])
					if cmd.Verb == "MAIL" || cmd.Verb == "RCPT" {
						params = append(params, cmd.Args)
					}
				}
				for _, r := range s.Dialogue.Replies {
					codes = append(codes, strconv.Itoa(r.Code))
				}
				// tshark counts a multi-line reply once per packet it spans.
				codes, w.codes = collapse(codes), collapse(w.codes)
				// tshark's dissector works packet by packet: it misses commands
				// split across segments, BDAT chunks after the first, pipelined
				// commands after DATA. Everything it does find we must find
				// too, in the same order.
				check := func(what string, got, want []string) {
					if !isSubsequence(want, got) {
						t.Errorf("stream %d %s:\n ours   %q\n tshark %q", s.Conn.Stream, what, got, want)
					}
				}
				// Where a command spans TCP segments, tshark's per-packet
				// dissector reads each piece as a line of its own ("XX T…"):
				// there the two views differ by design, and ours is the one a
				// server sees.
				split := false
				for _, cmd := range s.Dialogue.Commands {
					for _, bd := range s.Boundaries(cmd.Span) {
						split = split || (bd.Before != 0 && bd.After != 0)
					}
				}
				if split {
					t.Logf("stream %d: a command spans segments; commands not compared", s.Conn.Stream)
					return nil
				}
				// tshark ends DATA at a "\n.\r\n" too. Where the server did
				// not (and the client gave up and sent QUIT, say), what follows
				// is still message content to the server and to us: compare
				// the commands up to that DATA.
				if n := dataBeforeUntakenLenientEnd(s.Dialogue); n > 0 {
					cmds = upToNth(cmds, "DATA", n)
					w.commands = upToNth(w.commands, "DATA", n)
				}
				check("commands", cmds, w.commands)
				check("MAIL/RCPT arguments", mapStrings(params, octetsAsQuery), mapStrings(w.params, replacementsAsQuery))
				check("reply codes", codes, w.codes)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// tshark prints each octet of a non-ASCII address (UTF-8 under SMTPUTF8)
// as U+FFFD; the two forms below meet at one '?' per such octet.

// octetsAsQuery replaces every octet above 0x7f with '?'.
func octetsAsQuery(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c > 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// replacementsAsQuery replaces every U+FFFD with '?'.
func replacementsAsQuery(s string) string { return strings.ReplaceAll(s, "\uFFFD", "?") }

func mapStrings(v []string, f func(string) string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = f(s)
	}
	return out
}

// isSubsequence reports whether every element of sub appears in seq, in order.
func isSubsequence(sub, seq []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

// collapse drops consecutive repeats.
func collapse(s []string) []string {
	var out []string
	for _, v := range s {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// dataBeforeUntakenLenientEnd returns which DATA command (1 for the first)
// began the first message holding a non-standard end of data that the
// server did not take as its end, or 0 when there is none.
func dataBeforeUntakenLenientEnd(d *smtpparse.Dialogue) int {
	n := 0
	for _, tx := range d.Transactions {
		if tx.Data == nil {
			continue
		}
		n++
		if b := tx.Body; b != nil && len(b.Lenient) > 0 && !b.EndedLenient && !b.Complete {
			return n
		}
	}
	return 0
}

// upToNth returns list up to and including its nth element equal to v,
// or all of it when there are fewer.
func upToNth(list []string, v string, n int) []string {
	for i, s := range list {
		if s == v {
			if n--; n == 0 {
				return list[:i+1]
			}
		}
	}
	return list
}
