package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smtpcap/smtpcap/internal/printable"
	"github.com/smtpcap/smtpcap/pkg/findings"
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
		// Buffered: a dialogue of a million commands is a million lines.
		w := bufio.NewWriter(c.App.Writer)
		f := follower{w: w, s: found, full: c.Bool("full")}
		f.render()
		w.Flush()
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
	flags      uint8 // itemControl: the TCP flags
	again      bool  // itemControl: a FIN sent again (a retransmission)
}

// before reports whether a is shown before b: in the order the capture
// made them available, by frame, then arrival, then stream offset.
func before(a, b item) bool {
	if a.frame != b.frame {
		return a.frame < b.frame
	}
	if a.arrival != b.arrival {
		return a.arrival < b.arrival
	}
	return a.start < b.start
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
	cuts    []int     // sorted frames of the server's items, which cut message bodies (see cursor.nextPiece)
	last    time.Time // time of the last item shown, for the pause marks
	stepped bool      // that item was stamped before the one shown before it

	closed []findings.ClosedWindow // when each side held its receive window closed, for the pause marks; found at the first pause
	looked bool                    // closed is found
}

// bodyHead and bodyTail are how many lines of a body are shown without --full.
const (
	bodyHead    = 6
	bodyTail    = 2
	lineDisplay = 200
)

func (f *follower) regions(dir smtpparse.Direction) []region {
	if f.tlsFromStart(dir) {
		return f.splitAtPauses(dir, region{0, int64(len(f.s.Raw[dir])), itemTLS})
	}
	d := f.s.Dialogue
	var out []region
	if dir == smtpparse.ClientToServer {
		for _, tx := range d.Transactions {
			// A body with no DATA and no chunk is one the capture joined
			// mid-way: the content before its end of data.
			if tx.Body != nil && (tx.Data != nil || len(tx.Chunks) == 0) {
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
		start, side := d.TLS.ClientStart, &d.TLS.Client
		if dir == smtpparse.ServerToClient {
			side, start = &d.TLS.Server, d.TLS.ServerStart
		}
		if r, ok := tlsRegion(start, int64(len(f.s.Raw[dir])), side); ok {
			out = append(out, f.splitAtPauses(dir, r)...)
		}
	}
	if t := d.RefusedTLS; t != nil && dir == smtpparse.ClientToServer {
		// A hello sent although STARTTLS was refused: TLS records, though
		// the server reads them as lines.
		if r, ok := tlsRegion(t.Hello.Span.Start, int64(len(f.s.Raw[dir])), &t.Client); ok {
			out = append(out, f.splitAtPauses(dir, r)...)
		}
	}
	if st := f.s.Stream(dir); st != nil {
		for _, g := range st.Gaps {
			out = append(out, region{g.Start, g.End, itemGap})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

// tlsRegion returns the region of TLS records from start to end, the end
// moved to where side's records stopped framing when what follows reads as
// text: shown as lines (a server that left TLS writes a reply in clear
// text). ok is false when nothing is left.
func tlsRegion(start, end int64, side *smtpparse.TLSSide) (region, bool) {
	if side.NotTLS && len(side.Clear) > 0 && side.ClearAt >= start && side.ClearAt < end {
		end = side.ClearAt
	}
	return region{start, end, itemTLS}, end > start
}

// splitAtPauses cuts a region of TLS bytes where dir's packets paused for
// over a second, so that each piece is shown at its own time: what a
// server sends on a timeout, twenty seconds after the handshake, is not
// stamped with the handshake's time.
func (f *follower) splitAtPauses(dir smtpparse.Direction, r region) []region {
	var out []region
	start := r.start
	var prev time.Time
	for _, i := range f.byDir[dir] {
		a := &f.s.Arrivals[i]
		if a.Offset > start && a.Offset < r.end && !prev.IsZero() && a.Time.Sub(prev) > time.Second {
			out = append(out, region{start, a.Offset, r.kind})
			start = a.Offset
		}
		prev = a.Time
	}
	return append(out, region{start, r.end, r.kind})
}

// lineSpans cuts raw[from:to] after each LF (the last piece may lack one).
func lineSpans(raw []byte, from, to int64, each func(start, end int64)) {
	for from < to {
		end := lineEnd(raw, from, to)
		each(from, end)
		from = end
	}
}

// lineEnd returns where the line of raw[:to] that starts at from ends:
// after its LF, or at to.
func lineEnd(raw []byte, from, to int64) int64 {
	if i := bytes.IndexByte(raw[from:to], '\n'); i >= 0 {
		return from + int64(i) + 1
	}
	return to
}

// itemAt returns the item [start, end) of dir, stamped with the arrival
// that brought its first byte.
func (f *follower) itemAt(dir smtpparse.Direction, start, end int64, kind itemKind) item {
	it := item{dir: dir, start: start, end: end, kind: kind, arrival: arrivalAt(f.s.Arrivals, f.byDir[dir], start)}
	if it.arrival >= 0 {
		a := &f.s.Arrivals[it.arrival]
		it.frame, it.time = a.Frame, a.Time
	}
	return it
}

// cursor walks one direction's items in stream order: lines, regions
// (see follower.regions), and message bodies in pieces. It makes each item
// when asked for it, so that follow holds no more of a stream than the
// item it prints: a body can have millions of lines, a session millions of
// commands. A copy of a cursor walks on independently.
type cursor struct {
	f    *follower
	dir  smtpparse.Direction
	regs []region
	reg  int   // the next region
	pos  int64 // where the next line or region starts
	// While piece < bodyEnd, a message body is being cut into pieces:
	// piece is where the next one starts, bodyEnd where the body ends.
	piece, bodyEnd int64
	limit          int64 // items starting here or later are not this cursor's (see runs)
}

func (f *follower) cursor(dir smtpparse.Direction) cursor {
	return cursor{f: f, dir: dir, regs: f.regions(dir), limit: math.MaxInt64}
}

// next returns the next item, if one starts before the limit.
func (c *cursor) next() (item, bool) {
	d := *c
	it, ok := d.step()
	if !ok || it.start >= c.limit {
		return item{}, false
	}
	*c = d
	return it, true
}

// step makes the next item: the rest of a body, else a line up to the
// next region, else that region. What a region before covered is not
// shown again.
func (c *cursor) step() (item, bool) {
	if c.piece < c.bodyEnd {
		return c.nextPiece(), true
	}
	raw := c.f.s.Raw[c.dir]
	n := int64(len(raw))
	for {
		for c.reg < len(c.regs) && max(c.regs[c.reg].start, c.pos) >= c.regs[c.reg].end {
			c.reg++
		}
		stop := n
		if c.reg < len(c.regs) {
			stop = min(max(c.regs[c.reg].start, c.pos), n)
		}
		if c.pos < stop {
			end := lineEnd(raw, c.pos, stop)
			it := c.f.itemAt(c.dir, c.pos, end, itemLine)
			c.pos = end
			return it, true
		}
		if c.reg == len(c.regs) {
			return item{}, false
		}
		r := c.regs[c.reg]
		c.reg++
		start, end := max(r.start, c.pos), min(r.end, n)
		c.pos = r.end
		switch {
		case start >= end:
			continue
		case r.kind == itemBody:
			c.piece, c.bodyEnd = start, end
			return c.nextPiece(), true
		}
		return c.f.itemAt(c.dir, start, end, r.kind), true
	}
}

// nextPiece cuts the next piece of a message body: its lines up to where
// something of the server's (a reply, a FIN) came between two of them, so
// that the dialogue reads in the order it happened: a server refusing a
// message while the client still sends it shows up in the middle of the
// content. A piece has the arrival, frame and time of its first line.
func (c *cursor) nextPiece() item {
	raw := c.f.s.Raw[c.dir]
	it := c.f.itemAt(c.dir, c.piece, c.bodyEnd, itemBody)
	frame := it.frame
	for pos := lineEnd(raw, it.start, c.bodyEnd); pos < c.bodyEnd; pos = lineEnd(raw, pos, c.bodyEnd) {
		next := c.f.itemAt(c.dir, pos, pos, itemBody).frame
		if i, _ := slices.BinarySearch(c.f.cuts, frame+1); i < len(c.f.cuts) && c.f.cuts[i] < next {
			it.end = pos
			break
		}
		frame = next
	}
	c.piece = it.end
	return it
}

// runs cuts the cursor's items into runs that are each in the order they
// are shown. Arrivals come in frame order but for one case: a segment the
// assembler held back one packet (see reassembly.Assembler.AddSide) can
// declare a hole after bytes of a later frame. Each such step back starts
// a run.
func (c cursor) runs() []*cursor {
	var out []*cursor
	idx := c.f.byDir[c.dir]
	for k := 1; k < len(idx); k++ {
		a := c.f.s.Arrivals[idx[k]]
		if a.Frame >= c.f.s.Arrivals[idx[k-1]].Frame {
			continue
		}
		run := c
		run.limit = a.Offset
		out = append(out, &run)
		// Walk c past the run's items to the next run's first.
		c.limit = a.Offset
		for _, ok := c.next(); ok; _, ok = c.next() {
		}
		c.limit = math.MaxInt64
	}
	return append(out, &c)
}

// frames returns the sorted frames of the cursor's items and of its
// direction's FINs and RSTs.
func (c cursor) frames() []int {
	var out []int
	for it, ok := c.next(); ok; it, ok = c.next() {
		if len(out) == 0 || out[len(out)-1] != it.frame {
			out = append(out, it.frame)
		}
	}
	for _, ctl := range c.f.controls(c.dir) {
		out = append(out, ctl.frame)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// controls returns the FINs and RSTs of dir, in frame order, each after
// every arrival of its frame.
func (f *follower) controls(dir smtpparse.Direction) []item {
	var out []item
	for _, sf := range f.s.Stream(dir).Segments {
		if sf.Flags&(reassembly.FlagFIN|reassembly.FlagRST) != 0 {
			out = append(out, item{dir: dir, kind: itemControl, frame: sf.Frame, time: sf.Time(), flags: sf.Flags, arrival: len(f.s.Arrivals)})
		}
	}
	slices.SortStableFunc(out, func(a, b item) int { return a.frame - b.frame })
	fin := false
	for i := range out {
		if out[i].flags&reassembly.FlagRST == 0 {
			out[i].again, fin = fin, true
		}
	}
	return out
}

// source is a sequence of items in the order they are shown, with the
// first one not yet shown.
type source struct {
	head  item
	next  func() (item, bool)
	order int // the source's place among all: of two items shown together, the earlier source's comes first
}

// sources is a min-heap of sources by their heads (container/heap).
type sources []*source

func (q sources) Len() int { return len(q) }
func (q sources) Less(i, j int) bool {
	a, b := q[i], q[j]
	return before(a.head, b.head) || (!before(b.head, a.head) && a.order < b.order)
}
func (q sources) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *sources) Push(x any)   { *q = append(*q, x.(*source)) }
func (q *sources) Pop() any {
	last := (*q)[len(*q)-1]
	*q = (*q)[:len(*q)-1]
	return last
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

// render prints the dialogue: the items of both directions merged in the
// order they were shown (see before), each made only when it is printed.
func (f *follower) render() {
	s := f.s
	conn := s.Conn
	for i, a := range s.Arrivals {
		f.byDir[a.Dir] = append(f.byDir[a.Dir], i)
	}
	// Only the client sends message content, and only the server's items
	// cut it (see cursor.nextPiece).
	f.cuts = f.cursor(smtpparse.ServerToClient).frames()
	var q sources
	add := func(next func() (item, bool)) {
		if it, ok := next(); ok {
			q = append(q, &source{head: it, next: next, order: len(q)})
		}
	}
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		for _, c := range f.cursor(dir).runs() {
			add(c.next)
		}
	}
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		ctl := f.controls(dir)
		add(func() (item, bool) {
			if len(ctl) == 0 {
				return item{}, false
			}
			it := ctl[0]
			ctl = ctl[1:]
			return it, true
		})
	}
	heap.Init(&q)
	fmt.Fprintf(f.w, "stream %d: client %s, server %s; %s; frames %d–%d; ended %s\n",
		conn.Stream, conn.Client(), conn.Server(), handshakeText(conn), conn.FirstFrame, conn.LastFrame, conn.End())
	fmt.Fprintf(f.w, "C client, S server, C| message content; [frames] as in Wireshark; ┊ a TCP segment boundary inside a line; times since the first packet\n\n")
	// A pause before the first line (a greeting that came late) counts
	// from the connection's first packet.
	f.last = conn.FirstTime
	sensitive := map[int64]*smtpparse.Command{} // by offset in the client's stream
	for _, cmd := range s.Dialogue.Commands {
		if cmd.Sensitive {
			sensitive[cmd.Span.Start] = cmd
		}
	}
	for len(q) > 0 {
		src := q[0]
		it := src.head
		if next, ok := src.next(); ok {
			src.head = next
			heap.Fix(&q, 0)
		} else {
			heap.Pop(&q)
		}
		f.pause(it.time)
		switch it.kind {
		case itemLine:
			text := f.lineText(it)
			if cmd := sensitive[it.start]; cmd != nil && it.dir == smtpparse.ClientToServer && !cmd.AuthCancel {
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
			f.printLine(it, f.tlsText(it), "")
		case itemControl:
			what := "[FIN]"
			switch {
			case it.flags&reassembly.FlagRST != 0:
				what = "[RST]"
			case it.again:
				what = "[FIN, sent again]"
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
	// Without --full only the first lineDisplay bytes of text are shown:
	// the rest of a long line is not escaped at all.
	enough := func() bool { return !f.full && b.Len() > lineDisplay }
	// text writes raw[pos:to], showing bytes the capture lacks as a note.
	text := func(to int64) {
		for pos < to && !enough() {
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
			if c := pos + lineDisplay + utf8.UTFMax; !f.full && end > c {
				// Each byte makes at least one byte of text. Cut where no
				// UTF-8 sequence is split (at a start byte, or after more
				// continuation bytes than a sequence has), so that the text
				// begins as it would for the whole line.
				end = c
				for i := c; i > c-utf8.UTFMax; i-- {
					if utf8.RuneStart(raw[i]) {
						end = i
						break
					}
				}
			}
			b.WriteString(printable.String(string(raw[pos:end]), 0))
			pos = end
		}
	}
	for _, bd := range st.Boundaries(it.start, it.end) {
		if enough() {
			break
		}
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
		why := ""
		if c, ok := f.windowClosedDuring(f.last, t); ok {
			why = fmt.Sprintf(", the %s's receive window closed (frame %d)", c.Side, c.Frame)
		}
		fmt.Fprintf(f.w, "      ··· %.3f s pass%s ···\n", t.Sub(f.last).Seconds(), why)
	}
	f.last, f.stepped = t, stepped
}

// windowClosedDuring returns the stretch in which a side's receive window
// was closed (findings.ClosedWindows) for most of the silence from one time
// to another: the silence was that side's doing (it stopped reading), not
// its peer's.
func (f *follower) windowClosedDuring(from, to time.Time) (findings.ClosedWindow, bool) {
	if !f.looked {
		f.closed, f.looked = findings.ClosedWindows(f.s), true
	}
	for _, c := range f.closed {
		start, end := max(from.UnixNano(), c.Start.UnixNano()), min(to.UnixNano(), c.End.UnixNano())
		if end > start && 2*(end-start) >= to.Sub(from).Nanoseconds() {
			return c, true
		}
	}
	return findings.ClosedWindow{}, false
}

// printBody shows a piece of message content line by line, shortened
// unless --full: only the lines shown are made, the others are counted.
func (f *follower) printBody(it item) {
	raw := f.s.Raw[it.dir]
	show := func(start, end int64) {
		l := f.itemAt(it.dir, start, end, itemBody)
		f.pause(l.time)
		f.printLine(l, f.lineText(l), "|")
	}
	content := raw[it.start:it.end]
	lines := bytes.Count(content, []byte{'\n'})
	if content[len(content)-1] != '\n' {
		lines++
	}
	if f.full || lines <= bodyHead+bodyTail+1 {
		lineSpans(raw, it.start, it.end, show)
		return
	}
	pos := it.start
	for range bodyHead {
		end := lineEnd(raw, pos, it.end)
		show(pos, end)
		pos = end
	}
	tail := it.end
	for range bodyTail {
		tail = it.start + int64(bytes.LastIndexByte(raw[it.start:tail-1], '\n')) + 1
	}
	fmt.Fprintf(f.w, "C|   [… %d lines, %d bytes of message not shown; --full shows them …]\n",
		lines-bodyHead-bodyTail, tail-pos)
	lineSpans(raw, tail, it.end, show)
}

// tlsFromStart reports whether dir's bytes were TLS from the first byte
// (implicit TLS), not parsed: the client's when it opened with a TLS
// hello, the server's then unless it answered in clear text, and the
// server's when it spoke TLS to a client that did not.
func (f *follower) tlsFromStart(dir smtpparse.Direction) bool {
	if dir == smtpparse.ServerToClient {
		return f.s.ServerTLS != nil || f.s.ImplicitTLS && len(f.s.Dialogue.Replies) == 0
	}
	return f.s.ImplicitTLS
}

// tlsStart returns where dir's TLS bytes begin: at 0 with implicit TLS,
// after STARTTLS (or its reply) otherwise; -1 without TLS.
func (f *follower) tlsStart(dir smtpparse.Direction) int64 {
	if f.tlsFromStart(dir) {
		return 0
	}
	t := f.s.Dialogue.TLS
	switch {
	case t != nil && dir == smtpparse.ServerToClient:
		return t.ServerStart
	case t != nil:
		return t.ClientStart
	case dir == smtpparse.ClientToServer && f.s.Dialogue.RefusedTLS != nil:
		return f.s.Dialogue.RefusedTLS.Hello.Span.Start
	}
	return -1
}

// tlsText describes a direction's bytes after the switch to TLS: what its
// records show in the clear (the hello's versions, an alert), then that
// the rest is encrypted.
func (f *follower) tlsText(it item) string {
	n := it.end - it.start
	if it.start != f.tlsStart(it.dir) {
		// A later piece (splitAtPauses): the hellos were in the first.
		return fmt.Sprintf("[TLS: %d more bytes, not decoded]", n)
	}
	if rec := f.s.ServerTLS; it.dir == smtpparse.ServerToClient && rec != nil {
		// The server spoke TLS to a client that did not: its first record
		// is in the clear, an alert most often.
		if rec[0] == 21 && len(rec) >= 7 {
			a := smtpparse.TLSAlert{Level: rec[5], Description: rec[6]}
			return fmt.Sprintf("[TLS from the server's first byte (implicit TLS): %d bytes, a %s alert]", n, a.String())
		}
		return fmt.Sprintf("[TLS from the server's first byte (implicit TLS): %d bytes, not decoded]", n)
	}
	if f.tlsFromStart(it.dir) {
		return fmt.Sprintf("[TLS: %d bytes encrypted from the start (implicit TLS), not decoded]", n)
	}
	after, side := "after STARTTLS", (*smtpparse.TLSSide)(nil)
	if t := f.s.Dialogue.TLS; t != nil && t.Command != nil {
		after = "after " + t.Command.Verb
	}
	switch t := f.s.Dialogue.TLS; {
	case t == nil:
		after, side = "although STARTTLS was refused (the server reads them as command lines)", &f.s.Dialogue.RefusedTLS.Client
	case it.dir == smtpparse.ServerToClient:
		side = &t.Server
	default:
		side = &t.Client
	}
	var seen []string
	if h := side.Hello; h != nil {
		if h.Client {
			seen = append(seen, "ClientHello offering "+h.Offered())
		} else {
			seen = append(seen, "ServerHello choosing "+h.Offered())
		}
	}
	if a := side.Alert; a != nil {
		seen = append(seen, fmt.Sprintf("%s alert", a))
	}
	if len(seen) == 0 {
		return fmt.Sprintf("[TLS: %d bytes %s, not decoded]", n, after)
	}
	text := fmt.Sprintf("[TLS: %d bytes %s: %s", n, after, strings.Join(seen, ", then "))
	if side.Records > len(seen) {
		text += "; the rest not decoded"
	}
	return text + "]"
}
