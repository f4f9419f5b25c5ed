package smtpparse

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/textdiff"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// event is one scripted capture event: bytes of one direction, or a gap.
type event struct {
	dir  Direction
	data string
	gap  int64 // > 0: a gap of this many bytes instead of data
	cuts []int // byte positions where the canonical run splits data into Writes
}

func cli(s string, cuts ...int) event { return event{dir: ClientToServer, data: s, cuts: cuts} }
func srv(s string, cuts ...int) event { return event{dir: ServerToClient, data: s, cuts: cuts} }
func cliGap(n int64) event            { return event{dir: ClientToServer, gap: n} }
func srvGap(n int64) event            { return event{dir: ServerToClient, gap: n} }

// orderStride separates the orders of events, so that an event cut into
// many Writes still keeps its place relative to the other direction.
const orderStride = 1_000_000

var baseTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func eventTime(k int) time.Time { return baseTime.Add(time.Duration(k) * time.Second) }

// splitter returns the pieces data is written in.
type splitter func(ev event) [][]byte

func canonicalSplit(ev event) [][]byte {
	var out [][]byte
	prev := 0
	for _, c := range ev.cuts {
		if c > prev && c < len(ev.data) {
			out = append(out, []byte(ev.data[prev:c]))
			prev = c
		}
	}
	return append(out, []byte(ev.data[prev:]))
}

func everyN(n int) splitter {
	return func(ev event) [][]byte {
		var out [][]byte
		for i := 0; i < len(ev.data); i += n {
			out = append(out, []byte(ev.data[i:min(i+n, len(ev.data))]))
		}
		return out
	}
}

// feed runs a script through a new Parser.
func feed(opts Options, events []event, split splitter) *Dialogue {
	p := NewParser(opts)
	var off [2]int64
	for k, ev := range events {
		order := int64(k) * orderStride
		if ev.gap > 0 {
			p.Gap(ev.dir, off[ev.dir], ev.gap, order, eventTime(k))
			off[ev.dir] += ev.gap
			continue
		}
		for j, piece := range split(ev) {
			p.Write(ev.dir, off[ev.dir], piece, order+int64(j), eventTime(k))
			off[ev.dir] += int64(len(piece))
		}
	}
	return p.Close()
}

// run feeds the script as written (cut where the events say), then again
// with every byte its own Write and with a few other piece sizes, and fails
// unless every run yields the same dialogue.
func run(t *testing.T, opts Options, events ...event) *Dialogue {
	t.Helper()
	d := feed(opts, events, canonicalSplit)
	want := dump(d)
	for _, n := range []int{1, 2, 3, 7, 1448} {
		if got := dump(feed(opts, events, everyN(n))); got != want {
			t.Fatalf("Writes of %d bytes give a different dialogue:\n%s", n, textdiff.FirstLine(want, got))
		}
	}
	return d
}

// stream returns the concatenated bytes of one direction (gaps as NULs), to
// compute expected offsets from.
func stream(events []event, dir Direction) string {
	var b strings.Builder
	for _, ev := range events {
		if ev.dir != dir {
			continue
		}
		if ev.gap > 0 {
			b.WriteString(strings.Repeat("\x00", int(ev.gap)))
			continue
		}
		b.WriteString(ev.data)
	}
	return b.String()
}

// at returns the offset of the n-th (0-based) occurrence of sub in s.
func at(t *testing.T, s, sub string, n int) int64 {
	t.Helper()
	base := 0
	for {
		i := strings.Index(s[base:], sub)
		if i < 0 {
			t.Fatalf("%q not found %d times", sub, n+1)
		}
		if n == 0 {
			return int64(base + i)
		}
		n--
		base += i + 1
	}
}

func span(dir Direction, start, end int64) Span { return Span{dir, start, end} }

// normOrder maps an order back to its event, so that dialogues fed in
// different pieces compare equal.
func normOrder(o int64) int64 { return o / orderStride }

// dump renders a dialogue deterministically, pointers as indexes.
func dump(d *Dialogue) string {
	var b strings.Builder
	ci := map[*Command]int{}
	for i, c := range d.Commands {
		ci[c] = i
	}
	ri := map[*Reply]int{}
	for i, r := range d.Replies {
		ri[r] = i
	}
	cref := func(c *Command) string {
		if c == nil {
			return "-"
		}
		if i, ok := ci[c]; ok {
			return fmt.Sprintf("C%d", i)
		}
		return "C?" + c.Verb
	}
	rref := func(r *Reply) string {
		if r == nil {
			return "-"
		}
		if i, ok := ri[r]; ok {
			return fmt.Sprintf("R%d", i)
		}
		return fmt.Sprintf("R?%d", r.Code)
	}
	sp := func(s Span) string { return fmt.Sprintf("%s[%d,%d)", s.Dir, s.Start, s.End) }
	cnt := func(c Count) string { return fmt.Sprintf("%d@%d", c.N, c.First) }
	params := func(m map[string]string) string {
		if m == nil {
			return "nil"
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
		}
		return "{" + strings.Join(parts, " ") + "}"
	}
	fmt.Fprintf(&b, "greeting %s hello %s heldAssumed %v dropped %d keepLimited %v\n",
		rref(d.Greeting), cref(d.Hello), d.HeldAssumed, d.Dropped, d.KeepLimited)
	for i, c := range d.Commands {
		fmt.Fprintf(&b, "C%d %s verb=%q args=%q line=%q len=%d order=%d..%d time=%d..%d ending=%s path=%q params=%s mech=%q reply=%s problems=%q sensitive=%v gap=%v known=%v masked=%v pipelined=%v endsGroup=%v\n",
			i, sp(c.Span), c.Verb, c.Args, c.Line, c.Length, normOrder(c.Order), normOrder(c.EndOrder),
			c.Time.Sub(baseTime)/time.Second, c.EndTime.Sub(baseTime)/time.Second, c.Ending, c.Path,
			params(c.Params), c.Mechanism, rref(c.Reply), c.Problems, c.Sensitive, c.Gap, c.Known, c.Masked,
			c.Pipelined, c.EndsGroup())
	}
	for i, r := range d.Replies {
		fmt.Fprintf(&b, "R%d %s code=%d enhanced=%q lines=%q order=%d..%d time=%d..%d command=%s final=%v problems=%q gap=%v\n",
			i, sp(r.Span), r.Code, r.Enhanced, r.Lines, normOrder(r.Order), normOrder(r.EndOrder),
			r.Time.Sub(baseTime)/time.Second, r.EndTime.Sub(baseTime)/time.Second, cref(r.Command), r.Final, r.Problems, r.Gap)
	}
	for i, tx := range d.Transactions {
		var rcpts, chunks []string
		for _, c := range tx.Rcpts {
			rcpts = append(rcpts, cref(c))
		}
		for _, ch := range tx.Chunks {
			chunks = append(chunks, fmt.Sprintf("%s/%d/last=%v/%s", cref(ch.Command), ch.Declared, ch.Last, sp(ch.Data)))
		}
		fmt.Fprintf(&b, "T%d mail=%s rcpts=%v data=%s chunks=%v final=%s reset=%s\n",
			i, cref(tx.Mail), rcpts, cref(tx.Data), chunks, rref(tx.FinalReply), cref(tx.Reset))
		if tx.Interrupt != nil {
			fmt.Fprintf(&b, "  interrupt=%s\n", rref(tx.Interrupt))
		}
		if body := tx.Body; body != nil {
			term := "nil"
			if body.Terminator != nil {
				term = sp(*body.Terminator)
			}
			fmt.Fprintf(&b, "  body %s size=%d kept=%q term=%s bareLF=%s bareCR=%s nul=%s 8bit=%s long=%s longest=%d cte=%q msgid=%q complete=%v gap=%v lenient=%d\n",
				sp(body.Span), body.Size, body.Kept, term, cnt(body.BareLF), cnt(body.BareCR), cnt(body.NUL),
				cnt(body.EightBit), cnt(body.LongLines), body.LongestLine, body.TransferEncoding, body.MessageID,
				body.Complete, body.Gap, body.LenientTotal)
			for _, e := range body.Lenient {
				fmt.Fprintf(&b, "  lenient %q %s after=%q commands=%v\n", e.Seq, sp(e.At), e.After, e.CommandsAfter)
			}
			if body.BinaryPart >= 0 {
				fmt.Fprintf(&b, "  binary part at %d\n", body.BinaryPart)
			}
		}
	}
	e := d.Extensions
	var kws []string
	for k, v := range e.Keywords {
		kws = append(kws, k+"="+v)
	}
	slices.Sort(kws)
	fmt.Fprintf(&b, "extensions offered=%v size=%d lines=%q keywords=%q\n", e.Offered, e.Size, e.Lines, kws)
	if t := d.TLS; t != nil {
		fmt.Fprintf(&b, "tls command=%s reply=%s client=%d server=%d looksLikeTLS=%v\n",
			cref(t.Command), rref(t.Reply), t.ClientBytes, t.ServerBytes, t.LooksLikeTLS)
	}
	if t := d.RefusedTLS; t != nil {
		fmt.Fprintf(&b, "refused tls command=%s reply=%s hello=%s records=%d\n", cref(t.Command), rref(t.Reply), cref(t.Hello), t.Client.Records)
	}
	for _, g := range d.Gaps {
		fmt.Fprintf(&b, "gap %s\n", sp(g))
	}
	for _, u := range d.Unparsed {
		fmt.Fprintf(&b, "unparsed %s\n", sp(u))
	}
	return b.String()
}

// golden compares a dialogue's dump with testdata/golden/<name>.txt.
func golden(t *testing.T, name string, d *Dialogue) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	got := dump(d)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n%s", path, textdiff.FirstLine(string(want), got))
	}
}

func hasProblem(list []string, p string) bool { return slices.Contains(list, p) }

func verbs(d *Dialogue) []string {
	var out []string
	for _, c := range d.Commands {
		out = append(out, c.Verb)
	}
	return out
}

func codes(d *Dialogue) []int {
	var out []int
	for _, r := range d.Replies {
		out = append(out, r.Code)
	}
	return out
}
