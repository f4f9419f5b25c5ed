package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smtpcap/smtpcap/internal/printable"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
	"github.com/urfave/cli/v2"
)

func followCommand() *cli.Command {
	return &cli.Command{
		Name:      "follow",
		Usage:     "show one connection's SMTP dialogue with the frames that carried it",
		ArgsUsage: "FILE [FILE…]",
		Description: `follow prints the dialogue of one connection (--stream N, tshark's tcp.stream) as text: C for
the client, S for the server, each line with the Wireshark frame(s) that carried it and its time
since the connection's first packet. A ┊ inside a line marks a TCP segment boundary; pauses of
more than a second are shown; non-printable bytes are escaped; message bodies are shortened
unless --full. --raw writes the exact bytes instead.

   smtpcap follow --stream 3 dump.pcap
   smtpcap follow --stream 3 --raw --direction client dump.pcap > client.bin`,
		Flags: append(append(inputFlags(), assemblyFlags()...),
			&cli.IntFlag{Name: "stream", Aliases: []string{"s"}, Usage: "the connection to show (`N` as in tshark's tcp.stream)", DefaultText: "required"},
			&cli.BoolFlag{Name: "full", Usage: "show message bodies and long lines in full"},
			&cli.BoolFlag{Name: "raw", Usage: "write the exact bytes, in the order they arrived, without annotation"},
			&cli.StringFlag{Name: "direction", Usage: "with --raw: `client`, server or both", Value: "both"},
		),
		Action: runFollow,
	}
}

func runFollow(c *cli.Context) error {
	if _, err := inputNames(c); err != nil {
		return inputFailure(err) // a flag after the file says more than "--stream not set"
	}
	if !c.IsSet("stream") {
		return inputFailure(fmt.Errorf("--stream N is required: the connection to show (smtpcap streams lists them)"))
	}
	dirFilter, err := oneOf(c, "direction", "client", "server", "both")
	if err != nil {
		return inputFailure(err)
	}
	if c.IsSet("direction") && !c.Bool("raw") {
		return inputFailure(fmt.Errorf("--direction %s: only with --raw (the annotated dialogue always shows both)", dirFilter))
	}
	want := c.Int("stream")
	if want < 0 {
		return inputFailure(fmt.Errorf("--stream %d: stream numbers start at 0 (smtpcap streams lists them)", want))
	}
	in, err := openInputs(c)
	if err != nil {
		return err
	}
	defer in.capture.Close()
	sel, capture := in.sel, in.capture
	var found *session.Session
	res, err := session.Read(capture, session.Options{Selection: sel, Stream: want, KeepBytes: true, Limits: limits(c)}, func(s *session.Session) error {
		found = s
		return nil
	})
	if err != nil {
		return inputFailure(err)
	}
	if found == nil {
		if perr := reportProblems(c.App.ErrWriter, capture, &res.Stats); perr != nil {
			return perr
		}
		return inputFailure(noSuchStream(want, res.Tracker))
	}
	if c.Bool("raw") {
		writeRaw(c.App.Writer, found, dirFilter)
	} else {
		f := follower{w: c.App.Writer, s: found, full: c.Bool("full")}
		f.render()
	}
	return reportProblems(c.App.ErrWriter, capture, &res.Stats)
}

func writeRaw(w io.Writer, s *session.Session, which string) {
	for _, a := range s.Arrivals {
		if a.Gap || (which == "client" && a.Dir != smtpparse.ClientToServer) || (which == "server" && a.Dir != smtpparse.ServerToClient) {
			continue
		}
		raw := s.Raw[a.Dir]
		if a.Offset+a.Length <= int64(len(raw)) {
			w.Write(raw[a.Offset : a.Offset+a.Length])
		}
	}
}

// itemKind is what a displayed item of a dialogue is.
type itemKind uint8

const (
	itemLine    itemKind = iota // a command or reply line
	itemBody                    // message content (DATA or BDAT chunk)
	itemTLS                     // encrypted bytes after STARTTLS
	itemGap                     // bytes the capture does not hold
	itemControl                 // a FIN or RST
)

// item is one displayed piece of a stream.
type item struct {
	dir        smtpparse.Direction
	start, end int64
	kind       itemKind
	arrival    int // index of the arrival that brought its first byte
	frame      int // the frame being processed when it became available
	time       time.Time
	flags      uint8  // itemControl: the TCP flags
	lines      []item // itemBody: its lines, each with its own frame and time (see splitBodies)
}

// region marks a span of a stream that is not shown line by line.
type region struct {
	start, end int64
	kind       itemKind
}

type follower struct {
	w    io.Writer
	s    *session.Session
	full bool

	byDir   [2][]int  // indexes of each direction's arrivals in s.Arrivals
	last    time.Time // time of the last item shown, for the pause marks
	stepped bool      // that item was stamped before the one shown before it
}

// bodyHead and bodyTail are how many lines of a body are shown without --full.
const (
	bodyHead    = 6
	bodyTail    = 2
	lineDisplay = 200
)

func (f *follower) regions(dir smtpparse.Direction) []region {
	if f.s.ImplicitTLS {
		return []region{{0, int64(len(f.s.Raw[dir])), itemTLS}}
	}
	d := f.s.Dialogue
	var out []region
	if dir == smtpparse.ClientToServer {
		for _, tx := range d.Transactions {
			if tx.Body != nil && tx.Data != nil {
				out = append(out, region{tx.Body.Span.Start, tx.Body.Span.End, itemBody})
			}
			for _, ch := range tx.Chunks {
				if ch.Data.End > ch.Data.Start {
					out = append(out, region{ch.Data.Start, ch.Data.End, itemBody})
				}
			}
		}
	}
	if d.TLS != nil {
		start := d.TLS.Command.Span.End
		if dir == smtpparse.ServerToClient && d.TLS.Reply != nil {
			start = d.TLS.Reply.Span.End
		}
		out = append(out, region{start, int64(len(f.s.Raw[dir])), itemTLS})
	}
	if st := f.s.Stream(dir); st != nil {
		for _, g := range st.Gaps {
			out = append(out, region{g.Start, g.End, itemGap})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

// lineSpans cuts raw[from:to] after each LF (the last piece may lack one).
func lineSpans(raw []byte, from, to int64, each func(start, end int64)) {
	for from < to {
		end := to
		if i := bytes.IndexByte(raw[from:to], '\n'); i >= 0 {
			end = from + int64(i) + 1
		}
		each(from, end)
		from = end
	}
}

// items cuts one direction into lines and regions.
func (f *follower) items(dir smtpparse.Direction, arrivals []int) []item {
	raw := f.s.Raw[dir]
	regs := f.regions(dir)
	var out []item
	pos := int64(0)
	add := func(start, end int64, kind itemKind) {
		if end > start {
			out = append(out, item{dir: dir, start: start, end: end, kind: kind})
		}
	}
	lines := func(from, to int64) {
		lineSpans(raw, from, to, func(start, end int64) { add(start, end, itemLine) })
	}
	for _, r := range regs {
		if r.start < pos {
			r.start = pos
		}
		if r.start >= r.end {
			continue
		}
		lines(pos, min(r.start, int64(len(raw))))
		add(r.start, min(r.end, int64(len(raw))), r.kind)
		pos = r.end
	}
	lines(pos, int64(len(raw)))
	for i := range out {
		a := arrivalAt(f.s.Arrivals, arrivals, out[i].start)
		out[i].arrival = a
		if a >= 0 {
			out[i].time = f.s.Arrivals[a].Time
			out[i].frame = f.s.Arrivals[a].Frame
		}
	}
	return out
}

// arrivalAt finds the arrival (by index into all) that brought offset,
// searching the indexes of one direction's arrivals.
func arrivalAt(all []session.Arrival, idx []int, offset int64) int {
	i := sort.Search(len(idx), func(i int) bool { return all[idx[i]].Offset > offset }) - 1
	if i < 0 {
		return -1
	}
	return idx[i]
}

func (f *follower) render() {
	s := f.s
	conn := s.Conn
	for i, a := range s.Arrivals {
		f.byDir[a.Dir] = append(f.byDir[a.Dir], i)
	}
	items := append(f.items(smtpparse.ClientToServer, f.byDir[0]), f.items(smtpparse.ServerToClient, f.byDir[1])...)
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		for _, sf := range s.Stream(dir).Segments {
			if sf.Flags&(reassembly.FlagFIN|reassembly.FlagRST) != 0 {
				items = append(items, item{dir: dir, kind: itemControl, frame: sf.Frame, time: sf.Time(), flags: sf.Flags, arrival: len(s.Arrivals)})
			}
		}
	}
	items = f.splitBodies(items)
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].frame != items[j].frame {
			return items[i].frame < items[j].frame
		}
		if items[i].arrival != items[j].arrival {
			return items[i].arrival < items[j].arrival
		}
		return items[i].start < items[j].start
	})
	fmt.Fprintf(f.w, "stream %d: client %s, server %s; %s; frames %d–%d; ended %s\n",
		conn.Stream, conn.Client(), conn.Server(), handshakeText(conn), conn.FirstFrame, conn.LastFrame, conn.End())
	fmt.Fprintf(f.w, "C client, S server, C| message content; [frames] as in Wireshark; ┊ a TCP segment boundary inside a line; times since the first packet\n\n")
	sensitive := map[int64]*smtpparse.Command{} // by offset in the client's stream
	for _, cmd := range s.Dialogue.Commands {
		if cmd.Sensitive {
			sensitive[cmd.Span.Start] = cmd
		}
	}
	for _, it := range items {
		f.pause(it.time)
		switch it.kind {
		case itemLine:
			text := f.lineText(it)
			if cmd := sensitive[it.start]; cmd != nil && it.dir == smtpparse.ClientToServer {
				text = "<credentials hidden>"
				if cmd.Verb == "AUTH" || cmd.Masked {
					// An AUTH line, or one whose verb a firewall masked.
					text = cmd.Verb + " " + cmd.Mechanism + " <credentials hidden>"
				}
			}
			f.printLine(it, text, "")
		case itemBody:
			f.printBody(it)
		case itemTLS:
			what := "after STARTTLS"
			if f.s.ImplicitTLS {
				what = "from the start (implicit TLS)"
			}
			f.printLine(it, fmt.Sprintf("[TLS: %d bytes encrypted %s, not decoded]", it.end-it.start, what), "")
		case itemControl:
			what := "[FIN]"
			if it.flags&reassembly.FlagRST != 0 {
				what = "[RST]"
			}
			f.printControl(it, what)
		case itemGap:
			g, _ := s.Stream(it.dir).GapIn(it.start, it.end)
			f.printLine(it, fmt.Sprintf("[%d bytes not in the capture: %s, noticed at frame %d]", it.end-it.start, g.Reason, g.Frame), "")
		}
	}
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		if cut := s.RawCut[dir]; cut >= 0 {
			fmt.Fprintf(f.w, "\n%s: the %s's stream is shown up to offset %d only: what follows (with its gaps) is more than follow keeps in memory\n",
				dirLetter(dir), dir, cut)
		}
		for _, cf := range s.Stream(dir).Conflicts {
			fmt.Fprintf(f.w, "\n%s offset %d: frame %d retransmitted different bytes: first %q (frame %d), then %q\n",
				dirLetter(dir), cf.Offset, cf.SecondFrame, cf.First, cf.FirstFrame, cf.Second)
		}
	}
}

func handshakeText(c *reassembly.Conn) string {
	if c.Handshake {
		return "handshake seen"
	}
	return "no handshake (capture started mid-connection; client decided by " + c.Role.String() + ")"
}

func dirLetter(d smtpparse.Direction) string {
	if d == smtpparse.ClientToServer {
		return "C"
	}
	return "S"
}

// lineText escapes a line and marks the segment boundaries inside it.
func (f *follower) lineText(it item) string {
	raw := f.s.Raw[it.dir]
	st := f.s.Stream(it.dir)
	var b strings.Builder
	pos := it.start
	// text writes raw[pos:to], showing bytes the capture lacks as a note.
	text := func(to int64) {
		for pos < to {
			if g, ok := st.GapIn(pos, pos+1); ok {
				end := min(g.End, to)
				fmt.Fprintf(&b, "⟦%d bytes not captured⟧", end-pos)
				pos = end
				continue
			}
			end := to
			if g, ok := st.GapIn(pos, to); ok {
				end = g.Start
			}
			b.WriteString(printable.String(string(raw[pos:end]), 0))
			pos = end
		}
	}
	for _, bd := range st.Boundaries(it.start, it.end) {
		text(bd.Offset)
		b.WriteString("┊")
	}
	text(it.end)
	out := b.String()
	if !f.full && len(out) > lineDisplay {
		cut := lineDisplay
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + fmt.Sprintf("… (%d bytes; --full shows all)", it.end-it.start)
	}
	return out
}

func (f *follower) printLine(it item, text, mark string) {
	frames := f.s.Stream(it.dir).Frames(it.start, it.end)
	if len(frames) == 0 && it.kind == itemGap {
		frames = []int{it.frame}
	}
	fs := make([]string, 0, len(frames))
	for i, fr := range frames {
		if i == 3 && len(frames) > 4 {
			fs = append(fs, "…", strconv.Itoa(frames[len(frames)-1]))
			break
		}
		fs = append(fs, strconv.Itoa(fr))
	}
	rel := ""
	if !it.time.IsZero() {
		rel = fmt.Sprintf("%+.3fs", it.time.Sub(f.s.Conn.FirstTime).Seconds())
	}
	fmt.Fprintf(f.w, "%s%-1s %-12s %9s  %s\n", dirLetter(it.dir), mark, "["+strings.Join(fs, "┊")+"]", rel, text)
}

func (f *follower) printControl(it item, what string) {
	fmt.Fprintf(f.w, "%s  %-12s %9s  %s\n", dirLetter(it.dir), "["+strconv.Itoa(it.frame)+"]",
		fmt.Sprintf("%+.3fs", it.time.Sub(f.s.Conn.FirstTime).Seconds()), what)
}

// pause marks a silence of over a second before an item shown at t. A
// silence that ends or starts at an item stamped before the one in front
// of it (a clock step in the capture) is not measured.
func (f *follower) pause(t time.Time) {
	if t.IsZero() {
		return
	}
	stepped := !f.last.IsZero() && f.last.Sub(t) >= reassembly.ClockStep
	if !f.last.IsZero() && !f.stepped && t.Sub(f.last) > time.Second {
		fmt.Fprintf(f.w, "      ··· %.3f s pass ···\n", t.Sub(f.last).Seconds())
	}
	f.last, f.stepped = t, stepped
}

// bodyLines cuts a body item into its lines, each with the arrival, frame
// and time of its first byte.
func (f *follower) bodyLines(it item) []item {
	var lines []item
	lineSpans(f.s.Raw[it.dir], it.start, it.end, func(start, end int64) {
		l := it
		l.start, l.end = start, end
		if a := arrivalAt(f.s.Arrivals, f.byDir[it.dir], start); a >= 0 {
			l.arrival, l.frame, l.time = a, f.s.Arrivals[a].Frame, f.s.Arrivals[a].Time
		}
		lines = append(lines, l)
	})
	return lines
}

// splitBodies cuts each message body where something of the other side
// (a reply, a FIN) came between two of its lines, so that the dialogue
// reads in the order it happened: a server refusing a message while the
// client still sends it shows up in the middle of the content.
func (f *follower) splitBodies(items []item) []item {
	var others [2][]int // frames of the items of each direction that are not bodies
	for _, it := range items {
		if it.kind != itemBody {
			others[it.dir] = append(others[it.dir], it.frame)
		}
	}
	out := items[:0:0]
	for _, it := range items {
		if it.kind != itemBody {
			out = append(out, it)
			continue
		}
		lines := f.bodyLines(it)
		if len(lines) == 0 {
			out = append(out, it)
			continue
		}
		from := 0
		for i := 1; i < len(lines); i++ {
			between := slices.ContainsFunc(others[1-it.dir], func(fr int) bool { return fr > lines[i-1].frame && fr < lines[i].frame })
			if between {
				out = append(out, bodyOf(lines[from:i]))
				from = i
			}
		}
		out = append(out, bodyOf(lines[from:]))
	}
	return out
}

// bodyOf is the body item that spans lines.
func bodyOf(lines []item) item {
	b := lines[0]
	b.end = lines[len(lines)-1].end
	b.lines = lines
	return b
}

// printBody shows message content line by line, shortened unless --full.
func (f *follower) printBody(it item) {
	lines := it.lines
	show := func(l item) {
		f.pause(l.time)
		f.printLine(l, f.lineText(l), "|")
	}
	if f.full || len(lines) <= bodyHead+bodyTail+1 {
		for _, l := range lines {
			show(l)
		}
		return
	}
	for _, l := range lines[:bodyHead] {
		show(l)
	}
	hidden := lines[bodyHead : len(lines)-bodyTail]
	fmt.Fprintf(f.w, "C|   [… %d lines, %d bytes of message not shown; --full shows them …]\n",
		len(hidden), hidden[len(hidden)-1].end-hidden[0].start)
	for _, l := range lines[len(lines)-bodyTail:] {
		show(l)
	}
}
