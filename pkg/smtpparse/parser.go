package smtpparse

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Options bounds what the parser keeps (DoS protection, and memory per
// connection). Zero fields take their defaults; a negative Max field means
// "keep nothing" (for MaxHeld: never hold, assume the reply at once).
//
// Memory per Parser stays below roughly MaxKeep + MaxHeld +
// MaxElements × (3 × MaxLineKeep + 1 KiB), whatever the input.
type Options struct {
	MaxLineKeep int  // bytes of one command/reply line kept in Line (default 4096); longer lines keep their full length in Span and are flagged
	MaxBodyKeep int  // message bytes (after dot-unstuffing) kept per transaction (default 64 KiB); statistics cover the whole body regardless
	MaxHeld     int  // client bytes held while waiting for the reply to DATA/AUTH (default 1 MiB); past it, the parser assumes the positive reply and says so
	MidStream   bool // the capture started after the connection did: start client and server in a resync state
	MaxElements int  // commands, replies, transactions, gaps and skipped spans stored, each (default DefaultMaxElements, 50000); the rest are parsed, counted in Dialogue.Dropped, not stored
	MaxKeep     int  // total bytes kept across Line, Lines, Kept and After (default 16 MiB); past it, bytes are no longer kept and Dialogue.KeepLimited is set
}

// DefaultMaxElements is how many commands, replies, transactions, gaps
// and skipped spans of each kind a Dialogue stores when
// Options.MaxElements is 0.
const DefaultMaxElements = 50000

const (
	defaultMaxLineKeep = 4096
	defaultMaxBodyKeep = 64 << 10
	defaultMaxHeld     = 1 << 20
	defaultMaxElements = DefaultMaxElements
	defaultMaxKeep     = 16 << 20

	// minParseLine is how much of a line is always read for parsing, even
	// when MaxLineKeep keeps less of it in Command.Line.
	minParseLine = 1024

	// heldEventCost is what one held Write costs against MaxHeld beyond
	// its bytes, so that a million one-byte Writes are bounded too.
	heldEventCost = 64

	// afterLen is how many bytes EndOfData.After keeps.
	afterLen = 64
)

func (o Options) normalized() Options {
	def := func(v, d int) int {
		switch {
		case v == 0:
			return d
		case v < 0:
			return 0
		}
		return v
	}
	o.MaxLineKeep = def(o.MaxLineKeep, defaultMaxLineKeep)
	o.MaxBodyKeep = def(o.MaxBodyKeep, defaultMaxBodyKeep)
	o.MaxHeld = def(o.MaxHeld, defaultMaxHeld)
	o.MaxElements = def(o.MaxElements, defaultMaxElements)
	o.MaxKeep = def(o.MaxKeep, defaultMaxKeep)
	return o
}

// lineCut says why a line ended without its LF.
type lineCut uint8

const (
	cutNone     lineCut = iota // the line is complete
	cutGap                     // a capture gap interrupted it; the peer probably sent the rest
	cutEnd                     // the stream ended
	cutTLS                     // the connection switched to TLS
	cutAnswered                // the server answered the line before it ended (Sendmail does when its command timeout fires)
)

// clientState is what the client's next bytes mean.
type clientState uint8

const (
	clientCommand     clientState = iota // command lines
	clientAuth                           // the next line answers a 334 challenge
	clientAuthAssumed                    // the reply to AUTH was never seen: the next line decides
	clientHeld                           // waiting for the reply to DATA/AUTH; bytes are queued
	clientData                           // DATA content
	clientChunk                          // BDAT chunk bytes
	clientResync                         // skipping to a command line or a strict terminator
	clientTLS                            // encrypted: only counted
)

// serverState is what the server's next bytes mean.
type serverState uint8

const (
	serverReplies serverState = iota // reply lines
	serverResync                     // skipping to a line that starts with three digits
	serverTLS                        // encrypted: only counted
)

// streamPos checks that Writes and Gaps of one direction follow each other.
type streamPos struct {
	started bool
	next    int64
}

// align trims what was already delivered and reports a hole before off.
func (s *streamPos) align(off, n int64) (skip, gapOff, gapN int64) {
	if !s.started {
		s.started, s.next = true, off
	}
	switch {
	case off > s.next:
		gapOff, gapN = s.next, off-s.next
	case off < s.next:
		skip = min(s.next-off, n)
	}
	if off+n > s.next {
		s.next = off + n
	}
	return skip, gapOff, gapN
}

type clientSide struct {
	state  clientState
	stream streamPos
	pos    int64 // offset of the next byte the machine will read
	line   lineReader

	wait   *Command     // the DATA/AUTH/BDAT command whose reply releases held bytes
	waitTx *Transaction // the transaction of a waited-for DATA or BDAT
	held   heldQueue
	// heldChunk is the chunk of a waited-for BDAT to a server that did not
	// offer CHUNKING: its bytes are held until the reply says whether the
	// server read them as the chunk or as commands.
	heldChunk *Chunk

	body   *Body
	bodyTx *Transaction
	scan   dataScanner

	chunk   *Chunk
	chunkTx *Transaction
	left    int64 // chunk bytes still expected

	prevCRLF  bool  // while resynchronising: the previous line ended with CRLF
	skipStart int64 // start of bytes skipped while resynchronising, -1 if none
	resumed   int64 // where the bytes after the last gap start, -1 before any gap (see resumesWith)
	tlsSeen   bool
}

type serverSide struct {
	state     serverState
	stream    streamPos
	line      lineReader
	cur       *Reply // multi-line reply in progress
	skipStart int64
	resumed   int64  // where the bytes after the last gap start, -1 before any gap (see resumesWith)
	gapAfter  int    // how many commands the client had sent when the server's last gap came
	extend    *Reply // a multi-line reply a gap cut after a "-" line, which the next reply line may go on with (see serverGap)
	reopened  *Reply // cur, when it is extend taken up again: stored and paired already
}

// pendingKind says what a reply in the FIFO would answer.
type pendingKind uint8

const (
	pendingCommand   pendingKind = iota
	pendingEndOfData             // the strict terminator of DATA content
)

type pending struct {
	kind pendingKind
	cmd  *Command
	tx   *Transaction
	last bool // BDAT ... LAST
}

// Parser rebuilds one SMTP dialogue from the two streams of a connection.
//
// Bytes of each direction must arrive in stream order through Write and Gap;
// the two directions are interleaved in capture order, which is what the
// order argument records and what pipelining and holding are judged by. A
// Parser is not safe for concurrent use.
type Parser struct {
	opts   Options
	d      *Dialogue
	budget budget

	client clientSide
	server serverSide

	// Requests awaiting replies, oldest first (RFC 2920: replies come in
	// the order of the commands).
	fifo     []pending
	fifoHead int
	// forgotten counts requests dropped from the front of the FIFO when
	// it was full: the next replies answer them, not the ones still in
	// it.
	forgotten int

	answered     bool
	lastAnswered int64 // EndOrder of the latest reply matched to a request

	tx *Transaction // the transaction still accepting RCPT/DATA/BDAT

	// LMTP: the final replies still to come for one end of data.
	lmtp struct {
		tx   *Transaction
		cmd  *Command
		left int
	}

	collectors []collector
	// The last client write collectAfter saw: how long the client was
	// silent after a lenient sequence is measured from it.
	lastClient struct {
		end int64
		at  time.Time
	}
	greetingDone bool
	commandsSeen bool
	closed       bool
	tlsRefused   bool   // a STARTTLS was refused: Close looks for a TLS hello sent anyway (refusedTLS)
	offeredBy    *Reply // the reply Dialogue.Extensions was read from (offer)
}

// NewParser returns a Parser bounded by opts.
func NewParser(opts Options) *Parser {
	o := opts.normalized()
	p := &Parser{opts: o, d: &Dialogue{}}
	p.budget.left = int64(o.MaxKeep)
	parseLine := max(o.MaxLineKeep, minParseLine)
	p.client.line.max, p.server.line.max = parseLine, parseLine
	p.client.skipStart, p.server.skipStart = -1, -1
	p.client.resumed, p.server.resumed = -1, -1
	if o.MidStream {
		p.client.state, p.client.prevCRLF = clientResync, true
		p.server.state = serverResync
	}
	return p
}

// Write delivers in-order bytes of one direction. offset is the stream
// offset of data[0]; it equals the end of the previous Write/Gap of that
// direction (a jump forward is taken as a gap, bytes already delivered are
// ignored). order is a strictly increasing event number across both
// directions (capture order); at is the capture time. data is only read
// during the call.
func (p *Parser) Write(dir Direction, offset int64, data []byte, order int64, at time.Time) {
	if p.closed || len(data) == 0 || offset < 0 || offset > math.MaxInt64-int64(len(data)) {
		return
	}
	st := p.streamPos(dir)
	if st == nil {
		return
	}
	skip, gapOff, gapN := st.align(offset, int64(len(data)))
	if gapN > 0 {
		p.gap(dir, gapOff, gapN, order, at)
	}
	data, offset = data[skip:], offset+skip
	if len(data) == 0 {
		return
	}
	if dir == ServerToClient {
		p.serverBytes(data, offset, order, at)
		return
	}
	if p.client.state == clientHeld {
		p.hold(data, offset, order, at)
		return
	}
	n := p.clientBytes(data, offset, order, at)
	p.collectAfter(data[:n], offset, at)
	if n < len(data) {
		p.hold(data[n:], offset+int64(n), order, at)
	}
}

// Gap says n bytes of dir's stream at offset were never captured. The parser
// marks the element it was in as incomplete (Gap = true) and resynchronises
// at the next line start; inside message content it stays in the content.
func (p *Parser) Gap(dir Direction, offset, n int64, order int64, at time.Time) {
	if p.closed || n <= 0 || offset < 0 || offset > math.MaxInt64-n {
		return
	}
	st := p.streamPos(dir)
	if st == nil {
		return
	}
	// A hole before the gap joins it; what was delivered already is cut.
	skip, holeOff, holeN := st.align(offset, n)
	if holeN > 0 {
		offset, n = holeOff, holeN+n
	} else {
		offset, n = offset+skip, n-skip
	}
	if n > 0 {
		p.gap(dir, offset, n, order, at)
	}
}

// streamPos returns the position check of dir's stream, or nil for a
// direction that does not exist.
func (p *Parser) streamPos(dir Direction) *streamPos {
	switch dir {
	case ClientToServer:
		return &p.client.stream
	case ServerToClient:
		return &p.server.stream
	}
	return nil
}

func (p *Parser) gap(dir Direction, off, n, order int64, at time.Time) {
	p.store(&p.d.Gaps, Span{dir, off, off + n})
	if dir == ServerToClient {
		p.serverGap(off, n)
		return
	}
	if p.client.state == clientHeld {
		p.client.held.pushGap(off, n, order, at)
		p.checkHeld()
		return
	}
	p.clientGap(off, n)
}

// Close ends both streams and returns the dialogue. Elements still open are
// returned as incomplete; a reply the client was held for and never got is
// assumed positive. Close may be called more than once.
func (p *Parser) Close() *Dialogue {
	if p.closed {
		return p.d
	}
	p.closed = true

	// The server first: a partial last reply still tells what it said,
	// and may release held client bytes.
	s := &p.server
	if s.state != serverTLS {
		if s.line.open {
			p.serverLine(cutEnd)
		}
		if s.state == serverResync {
			p.flushSkip(ServerToClient, &s.skipStart, s.stream.next)
		}
		if r := s.cur; r != nil {
			s.cur = nil
			addProblem(&r.Problems, ProblemIncompleteReply)
			p.endReply(r)
		}
	}

	for p.client.state == clientHeld {
		p.assumeReply()
	}
	p.closeClient(cutEnd, p.client.stream.next)
	p.endCollectors()

	if g := p.d.Greeting; g != nil {
		for _, cmd := range p.d.Commands {
			if cmd.Order >= g.EndOrder {
				break
			}
			addProblem(&cmd.Problems, ProblemBeforeGreeting)
		}
	}
	if !p.server.stream.started {
		// Without the server's side nothing says whether the client
		// waited; "no reply" would otherwise flag every command.
		for _, cmd := range p.d.Commands {
			cmd.Pipelined = false
		}
	}
	if p.tlsRefused && p.d.TLS == nil {
		p.d.RefusedTLS = refusedTLS(p.d.Commands)
	}
	p.d.KeepLimited = p.budget.limited
	return p.d
}

// refusedTLS returns the TLS hello a client sent although the server
// refused STARTTLS, nil if none: the first line after a refused STARTTLS
// that starts a TLS handshake record, when the client sent nothing else
// after the refusal came. The hello may precede the refusal (a client
// that did not wait for the reply, as one that did not wait for a 220).
func refusedTLS(commands []*Command) *RefusedTLS {
	var t *RefusedTLS
	for i, c := range commands {
		switch {
		case c.StartsTLS():
			t = nil
			if c.Reply != nil && c.Reply.Code >= 400 {
				t = &RefusedTLS{Command: c, Reply: c.Reply}
			}
		case t == nil:
		case LooksLikeTLSRecord(c.Line, true):
			t.Hello = c
			for _, after := range commands[i:] {
				if int64(len(after.Line)) != after.Length {
					t.Client.Lost = true // a line too long to keep: what follows it is unknown
					break
				}
				t.Client.feed(ClientToServer, after.Line, after.Span.Start)
			}
			return t
		case c.Order < t.Reply.EndOrder:
			// Pipelined with STARTTLS, sent before its refusal came: a
			// hello may still follow it.
		default:
			// The first thing sent after the refusal is not a hello: the
			// client took the refusal.
			t = nil
		}
	}
	return nil
}

// store appends a span to a capped list.
func (p *Parser) store(list *[]Span, s Span) {
	if len(*list) >= p.opts.MaxElements {
		p.d.Dropped++
		return
	}
	*list = append(*list, s)
}

// unparsed records skipped bytes, merging with the previous skip when they
// touch.
func (p *Parser) unparsed(s Span) {
	if s.End <= s.Start {
		return
	}
	if n := len(p.d.Unparsed); n > 0 {
		last := &p.d.Unparsed[n-1]
		if last.Dir == s.Dir && last.End == s.Start {
			last.End = s.End
			return
		}
	}
	p.store(&p.d.Unparsed, s)
}

func (p *Parser) flushSkip(dir Direction, start *int64, end int64) {
	if *start >= 0 {
		p.unparsed(Span{dir, *start, end})
	}
	*start = -1
}

// ---- FIFO of requests awaiting replies ----

func (p *Parser) fifoLen() int { return len(p.fifo) - p.fifoHead }

func (p *Parser) push(e pending) {
	if p.fifoLen() >= max(p.opts.MaxElements, 1) {
		// A server this far behind is not answering; forget the oldest
		// so that a one-sided capture stays bounded, and count it, so
		// that replies which come after all still pair with the
		// commands they answer.
		if e := p.fifo[p.fifoHead]; e.kind == pendingCommand {
			e.cmd.Forgotten = true
		}
		p.fifo[p.fifoHead] = pending{}
		p.fifoHead++
		p.forgotten++
		p.d.Forgotten++
		p.compactFIFO()
	}
	p.fifo = append(p.fifo, e)
}

func (p *Parser) pop() (pending, bool) {
	if p.fifoHead >= len(p.fifo) {
		return pending{}, false
	}
	e := p.fifo[p.fifoHead]
	p.fifo[p.fifoHead] = pending{}
	p.fifoHead++
	p.compactFIFO()
	return e, true
}

// compactFIFO reuses the front of the slice once half of it is consumed.
func (p *Parser) compactFIFO() {
	switch {
	case p.fifoHead == len(p.fifo):
		p.fifo, p.fifoHead = p.fifo[:0], 0
	case p.fifoHead > 64 && 2*p.fifoHead > len(p.fifo):
		n := copy(p.fifo, p.fifo[p.fifoHead:])
		clear(p.fifo[n:])
		p.fifo, p.fifoHead = p.fifo[:n], 0
	}
}

// ---- transactions ----

func (p *Parser) newTx() *Transaction {
	tx := &Transaction{}
	p.d.LastTx = tx
	if len(p.d.Transactions) < p.opts.MaxElements {
		p.d.Transactions = append(p.d.Transactions, tx)
	} else {
		p.d.Dropped++
	}
	return tx
}

// currentTx returns the open transaction, opening one without MAIL when the
// capture (or the client) skipped it.
func (p *Parser) currentTx() *Transaction {
	if p.tx == nil {
		p.tx = p.newTx()
	}
	return p.tx
}

// endsTransaction reports whether a command of this verb ends the open
// transaction (when the server takes it).
func endsTransaction(verb string) bool {
	switch verb {
	case "MAIL", "RSET", "QUIT", "EHLO", "HELO", "LHLO":
		return true
	}
	return false
}

func (p *Parser) endTx(by *Command) {
	if p.tx != nil {
		p.tx.Reset = by
		p.tx = nil
	}
}

// reopen undoes what cmd, a command that ends the open transaction
// (MAIL, RSET, a hello), did to the transactions when the server refused
// it (a nested MAIL answered 503, an EHLO without a name answered 501):
// the server kept the transaction open, and what the client sends next
// belongs to it. Commands the client sent before the refusal came
// (pipelined) have gone to the transaction the refused MAIL began, and
// then nothing is undone. Refusals are rare: the transactions involved
// are looked up, not remembered for every command.
func (p *Parser) reopen(cmd *Command) {
	txs := p.d.Transactions
	n := len(txs)
	if cmd.Verb == "MAIL" {
		// The refused MAIL began the last transaction; nothing may have
		// joined it since.
		nt := p.tx
		if n < 2 || txs[n-1] != nt || nt.Mail != cmd || len(nt.Rcpts) > 0 || nt.Data != nil || len(nt.Chunks) > 0 || nt.Body != nil {
			return
		}
		n--
	} else if p.tx != nil {
		return // a MAIL since began another
	}
	if n == 0 {
		return
	}
	old := txs[n-1]
	if old.Reset != cmd || old.FinalReply != nil || old.Mail == nil || old.Mail.Reply == nil || old.Mail.Reply.Code/100 != 2 {
		return // not a transaction the server had open
	}
	p.d.Transactions = txs[:n]
	old.Reset = nil
	p.tx = old
}

// helloBefore returns the last hello before cmd that the server took, nil
// if none.
func (p *Parser) helloBefore(cmd *Command) *Command {
	seen := false
	for _, c := range slices.Backward(p.d.Commands) {
		switch {
		case c == cmd:
			seen = true
		case seen && c.IsHello() && c.Reply != nil && c.Reply.Code/100 == 2:
			return c
		}
	}
	return nil
}

// ---- held client bytes ----

type heldEvent struct {
	off, n int64
	order  int64
	at     time.Time
	gap    bool
	pos    int // start of the bytes in heldQueue.buf
}

// heldQueue keeps client bytes (and gaps) that arrived before the reply
// deciding what they mean, with the order and time they arrived at.
type heldQueue struct {
	buf    []byte
	events []heldEvent
	head   int
	size   int64 // bytes plus heldEventCost per event, checked against MaxHeld
}

func (q *heldQueue) empty() bool { return q.head >= len(q.events) }

func (q *heldQueue) compact() {
	if q.head == 0 {
		return
	}
	if q.empty() {
		q.buf, q.events, q.head, q.size = q.buf[:0], q.events[:0], 0, 0
		return
	}
	base := q.events[q.head].pos
	n := copy(q.buf, q.buf[base:])
	q.buf = q.buf[:n]
	m := copy(q.events, q.events[q.head:])
	q.events = q.events[:m]
	for i := range q.events {
		q.events[i].pos -= base
	}
	q.head = 0
}

func (q *heldQueue) push(data []byte, off, order int64, at time.Time) {
	q.compact()
	q.events = append(q.events, heldEvent{off: off, n: int64(len(data)), order: order, at: at, pos: len(q.buf)})
	q.buf = append(q.buf, data...)
	q.size += int64(len(data)) + heldEventCost
}

func (q *heldQueue) pushGap(off, n, order int64, at time.Time) {
	q.compact()
	q.events = append(q.events, heldEvent{off: off, n: n, order: order, at: at, gap: true, pos: len(q.buf)})
	q.size += heldEventCost
}

func (p *Parser) hold(data []byte, off, order int64, at time.Time) {
	p.client.held.push(data, off, order, at)
	p.checkHeld()
}

func (p *Parser) checkHeld() {
	for p.client.state == clientHeld && p.client.held.size > int64(p.opts.MaxHeld) {
		p.assumeReply()
	}
}

// holdFor stops reading client bytes until cmd's reply says what they are.
func (p *Parser) holdFor(cmd *Command, tx *Transaction) {
	p.client.state, p.client.wait, p.client.waitTx = clientHeld, cmd, tx
}

// release replays held client bytes now that their meaning is known, until
// they run out or a new hold begins.
func (p *Parser) release() {
	c := &p.client
	q := &c.held
	for !q.empty() && c.state != clientHeld {
		ev := &q.events[q.head]
		if ev.gap {
			q.head++
			q.size -= heldEventCost
			p.clientGap(ev.off, ev.n)
			continue
		}
		data := q.buf[ev.pos : ev.pos+int(ev.n)]
		n := p.clientBytes(data, ev.off, ev.order, ev.at)
		p.collectAfter(data[:n], ev.off, ev.at)
		q.size -= int64(n)
		if n < len(data) {
			ev.pos += n
			ev.off += int64(n)
			ev.n -= int64(n)
			break
		}
		q.head++
		q.size -= heldEventCost
	}
	if q.empty() {
		q.compact()
	}
}

// assumeReply decides a held command's reply without seeing it: the
// positive one, since a client that goes on sending expects it.
func (p *Parser) assumeReply() {
	c := &p.client
	cmd, tx := c.wait, c.waitTx
	c.wait, c.waitTx = nil, nil
	p.d.HeldAssumed = true
	switch {
	case cmd == nil:
		c.state = clientCommand
	case cmd.Verb == "DATA":
		addProblem(&cmd.Problems, problemAssumed354)
		p.startData(cmd, tx)
	case cmd.Verb == "BDAT" && c.heldChunk != nil:
		// No reply came (a one-sided capture) or too much is held: the
		// chunk, as RFC 3030 has it.
		chunk := c.heldChunk
		c.heldChunk = nil
		c.state = clientCommand
		p.readChunk(chunk, tx, cutNone)
	default:
		addProblem(&cmd.Problems, problemAssumedAuth)
		c.state = clientAuthAssumed
	}
	p.release()
}

// ---- client ----

// clientBytes runs the client state machine over data and returns how many
// bytes it consumed before a hold began.
func (p *Parser) clientBytes(data []byte, off, order int64, at time.Time) int {
	c := &p.client
	i := 0
	for i < len(data) {
		pos := off + int64(i)
		c.pos = pos
		switch c.state {
		case clientHeld:
			return i
		case clientCommand, clientAuth, clientAuthAssumed, clientResync:
			n, ended := c.line.feed(data[i:], pos, order, at)
			i += n
			c.pos = off + int64(i)
			if p.tlsAfterLostReply() {
				continue
			}
			if ended {
				p.clientLine(cutNone)
			}
		case clientData:
			n0 := len(c.body.Lenient)
			n, done := c.scan.scan(data[i:], pos)
			p.register(c.body, n0)
			i += n
			c.pos = off + int64(i)
			if done {
				p.endOfData()
			}
		case clientChunk:
			n := int64(len(data) - i)
			if n > c.left {
				n = c.left
			}
			c.scan.scan(data[i:i+int(n)], pos)
			c.left -= n
			c.chunk.Data.End = pos + n
			i += int(n)
			c.pos = off + int64(i)
			if c.left == 0 {
				p.endChunk()
			}
		case clientTLS:
			p.tlsClient(data[i:], off+int64(i))
			i = len(data)
			c.pos = off + int64(i)
		}
	}
	return i
}

func (p *Parser) tlsClient(b []byte, off int64) {
	t := p.d.TLS
	if t == nil || len(b) == 0 {
		return
	}
	if !p.client.tlsSeen {
		p.client.tlsSeen = true
		t.LooksLikeTLS = b[0] == 0x16
	}
	t.ClientBytes += int64(len(b))
	t.Client.feed(ClientToServer, b, off)
}

// clientLine handles a client line that ended (or was cut) in a line-based
// state.
func (p *Parser) clientLine(cut lineCut) {
	c := &p.client
	defer c.line.reset()
	switch c.state {
	case clientResync:
		p.resyncLine()
	case clientAuthAssumed:
		if looksLikeCommandLine(c.line.content(), false) {
			c.state = clientCommand
			p.commandLine(cut)
			return
		}
		p.continuationLine(cut)
	case clientAuth:
		p.continuationLine(cut)
	default:
		p.commandLine(cut)
	}
}

// newCommand makes a Command of the line just read.
func (p *Parser) newCommand(cut lineCut) *Command {
	l := &p.client.line
	cmd := &Command{
		Length:   l.n,
		Span:     Span{ClientToServer, l.start, l.start + l.n},
		Order:    l.order,
		EndOrder: l.endOrder,
		Time:     l.at,
		EndTime:  l.endAt,
		Ending:   l.ending(),
	}
	if n := p.budget.take(min(len(l.buf), p.opts.MaxLineKeep)); n > 0 {
		cmd.Line = append([]byte(nil), l.buf[:n]...)
	}
	if int64(p.opts.MaxLineKeep) < l.n {
		addProblem(&cmd.Problems, problemNotKept)
	}
	switch cut {
	case cutGap:
		cmd.Gap = true
		addProblem(&cmd.Problems, problemGapCut)
	case cutEnd:
		addProblem(&cmd.Problems, ProblemNoEnding)
	case cutTLS:
		addProblem(&cmd.Problems, problemTLSCut)
	case cutAnswered:
		addProblem(&cmd.Problems, problemAnsweredCut)
	}
	return cmd
}

// addCommand stores cmd and judges whether it was pipelined.
func (p *Parser) addCommand(cmd *Command) bool {
	cmd.Pipelined = p.fifoLen() > 0 || (p.answered && p.lastAnswered > cmd.Order)
	p.commandsSeen = true
	p.d.LastCommand = cmd
	if len(p.d.Commands) >= p.opts.MaxElements {
		p.d.Dropped++
		return false
	}
	p.d.Commands = append(p.d.Commands, cmd)
	return true
}

func (p *Parser) continuationLine(cut lineCut) {
	l := &p.client.line
	cmd := p.newCommand(cut)
	cmd.Sensitive = true
	cmd.Args = string(l.content())
	cmd.AuthCancel = cmd.Args == "*"
	for i := len(p.d.Commands) - 1; i >= 0; i-- {
		if c := p.d.Commands[i]; c.Verb == "AUTH" || c.Masked && c.Mechanism != "" {
			cmd.Mechanism = c.Mechanism // the exchange it answers a challenge of
			break
		}
	}
	lineProblems(&cmd.Problems, l, 0) // RFC 4954 allows long continuation lines
	p.addCommand(cmd)
	if cut == cutEnd || cut == cutTLS {
		return
	}
	p.push(pending{kind: pendingCommand, cmd: cmd})
	if cut == cutNone {
		p.holdFor(cmd, nil)
	} else {
		p.client.state = clientCommand
	}
}

// commandLine parses a command line and applies what it does to the
// transaction and to the meaning of the bytes after it.
func (p *Parser) commandLine(cut lineCut) {
	c := &p.client
	l := &c.line
	cmd := p.newCommand(cut)
	own := cmd.Problems // how the line was cut, if it was
	cmd.Problems = nil
	parseCommand(cmd, l.content())
	if cut != cutNone {
		// The rest of the line is missing, so its syntax cannot be judged:
		// "MAIL FROM:<al" is not a client's mistake.
		cmd.Problems = nil
	} else if l.truncated() {
		// Only the line's start was read: a path it did not close there
		// may close later, and its last parameter may go on.
		cmd.Problems = slices.DeleteFunc(cmd.Problems, func(p string) bool { return p == problemUnterminatedPath })
		forgetLastParam(cmd)
	}
	cmd.Problems = append(own, cmd.Problems...)
	if !cmd.Known && !cmd.Masked && cmd.Verb != "" && p.d.Extensions.Has(cmd.Verb) {
		// A verb the server offered in its EHLO reply (Sendmail's VERB
		// and ONEX, Exchange's XEXCH50): an extension, not a stranger.
		cmd.Known = true
		cmd.Problems = slices.DeleteFunc(cmd.Problems, func(p string) bool { return p == problemUnknownVerb })
	}
	limit := int64(maxCommandOctets)
	if cmd.Sensitive {
		limit = 0 // RFC 4954 raises the limit for AUTH lines
	}
	lineProblems(&cmd.Problems, l, limit)
	if l.high && utf8.Valid(l.content()) {
		switch {
		case p.utf8Allowed(cmd):
			cmd.Problems = slices.DeleteFunc(cmd.Problems, func(p string) bool { return p == ProblemNonASCII })
		case (cmd.Verb == "MAIL" || cmd.Verb == "RCPT") && p.d.Extensions.Has("SMTPUTF8"):
			// The server would take it: the client left out the parameter.
			for i, pr := range cmd.Problems {
				if pr == ProblemNonASCII {
					cmd.Problems[i] = problemUTF8NoParam
				}
			}
		case cmd.Verb == "MAIL" && cmd.Params != nil && p.d.Extensions.Offered:
			// The client declared SMTPUTF8 to a server that did not offer
			// it (RFC 6531 3.4: it must not).
			if _, ok := cmd.Params["SMTPUTF8"]; ok {
				for i, pr := range cmd.Problems {
					if pr == ProblemNonASCII {
						cmd.Problems[i] = problemUTF8NotOffered
					}
				}
			}
		}
	}
	kept := p.addCommand(cmd)
	if cmd.IsHello() {
		p.d.Hello = cmd
	}
	if cut == cutEnd || cut == cutTLS {
		return // nobody could have answered half a line
	}
	e := pending{kind: pendingCommand, cmd: cmd}
	switch cmd.Verb {
	case "MAIL":
		p.endTx(cmd)
		tx := p.currentTx()
		tx.Mail = cmd
	case "RCPT":
		tx := p.currentTx()
		e.tx = tx
		p.d.RcptCommands++
		if kept {
			tx.Rcpts = append(tx.Rcpts, cmd)
		}
	case "RSET", "QUIT", "EHLO", "HELO", "LHLO": // see endsTransaction
		// RFC 5321 4.1.4: EHLO and HELO reset the transaction too.
		p.endTx(cmd)
	case "DATA":
		tx := p.currentTx()
		tx.Data = cmd
		if cut == cutNone {
			p.holdFor(cmd, tx)
		}
	case "AUTH":
		if cut == cutNone {
			p.holdFor(cmd, nil)
		}
	case "BDAT":
		// Pushed before the chunk is read: a BDAT 0 LAST ends at once.
		e.tx = p.currentTx()
		_, e.last = cmd.Params["LAST"]
		p.push(e)
		chunk := p.newChunk(cmd, e.tx, kept)
		if cut == cutNone && chunk.Declared > 0 && p.chunkingNotOffered() {
			// A server that did not offer CHUNKING reads the chunk as
			// command lines unless it takes BDAT all the same: its reply
			// says which (replyReleases).
			p.holdFor(cmd, e.tx)
			p.client.heldChunk = chunk
			return
		}
		p.readChunk(chunk, e.tx, cut)
		return
	}
	p.push(e)
}

// utf8Allowed reports whether cmd may carry UTF-8 addresses (RFC 6531
// section 3.2): a MAIL, VRFY or EXPN with the SMTPUTF8 parameter, or a RCPT
// in a transaction whose MAIL had it, to a server that offered SMTPUTF8
// (or whose EHLO reply the capture does not hold).
func (p *Parser) utf8Allowed(cmd *Command) bool {
	offered := p.d.Extensions.Has("SMTPUTF8") || p.d.Hello == nil || p.d.Hello.Reply == nil
	if !offered {
		return false
	}
	utf8Param := func(c *Command) bool {
		_, ok := c.Params["SMTPUTF8"]
		return ok
	}
	switch cmd.Verb {
	case "MAIL":
		return utf8Param(cmd)
	case "VRFY", "EXPN":
		words := strings.Fields(strings.ToUpper(cmd.Args))
		return len(words) > 1 && slices.Contains(words[1:], "SMTPUTF8")
	case "RCPT":
		return p.tx != nil && p.tx.Mail != nil && utf8Param(p.tx.Mail)
	}
	return false
}

// bdat starts a BDAT chunk: RFC 3030 says the next Declared bytes are data
// whatever the server replies.
func (p *Parser) newChunk(cmd *Command, tx *Transaction, kept bool) *Chunk {
	size, last, _, _ := bdatSize(cmd.Args)
	chunk := &Chunk{Command: cmd, Declared: size, Last: last,
		Data: Span{ClientToServer, cmd.Span.End, cmd.Span.End}}
	if kept && len(tx.Chunks) < p.opts.MaxElements {
		tx.Chunks = append(tx.Chunks, chunk)
	}
	return chunk
}

// chunkingNotOffered reports whether the server is known to offer no
// CHUNKING: its EHLO reply lacks it, or the client greeted with HELO.
func (p *Parser) chunkingNotOffered() bool {
	e := p.d.Extensions
	return e.Offered && !e.Has("CHUNKING") || !e.Offered && p.d.Hello != nil && p.d.Hello.Verb == "HELO" && p.d.Hello.Reply != nil
}

// readChunk reads the client's next bytes as chunk's data.
func (p *Parser) readChunk(chunk *Chunk, tx *Transaction, cut lineCut) {
	c := &p.client
	size := chunk.Declared
	if tx.Body == nil || c.body != tx.Body {
		start := chunk.Command.Span.End
		if tx.Body == nil {
			tx.Body = newBody(start)
		}
		c.body, c.bodyTx = tx.Body, tx
		c.scan.reset(tx.Body, &p.budget, p.opts.MaxBodyKeep, true, start)
	}
	if size < 0 || cut != cutNone {
		return
	}
	c.chunk, c.chunkTx, c.left = chunk, tx, size
	if size == 0 {
		p.endChunk()
		return
	}
	c.state = clientChunk
}

func (p *Parser) endChunk() {
	c := &p.client
	chunk, tx := c.chunk, c.chunkTx
	c.chunk, c.chunkTx = nil, nil
	c.state = clientCommand
	if chunk == nil || !chunk.Last {
		return
	}
	body := tx.Body
	c.scan.finish()
	body.Complete = !body.Gap
	if p.tx == tx {
		p.tx = nil
	}
	c.body, c.bodyTx = nil, nil
}

// startData enters DATA content after a 354 (seen or assumed).
func (p *Parser) startData(cmd *Command, tx *Transaction) { p.startDataAt(cmd, tx, cmd.Span.End) }

// startDataAt starts message content at stream offset start.
func (p *Parser) startDataAt(cmd *Command, tx *Transaction, start int64) {
	c := &p.client
	if tx == nil {
		tx = p.currentTx()
	}
	body := newBody(start)
	tx.Body = body
	c.body, c.bodyTx = body, tx
	c.scan.reset(body, &p.budget, p.opts.MaxBodyKeep, false, start)
	c.state = clientData
}

// dataCutShort handles a 354 paired with cmd, a command line the capture
// cut (snaplen: "D" or "DATA" of a DATA sent behind RCPT in one packet,
// its line end lost): 354 answers DATA only (RFC 5321 section 4.3.2), so
// cmd was DATA, and the client's next bytes, if it has sent none since the
// cut, are the message, read as such (not skipped up to a terminator). It
// reports whether it took cmd so.
func (p *Parser) dataCutShort(cmd *Command) bool {
	c := &p.client
	if !cmd.Gap || cmd.Verb == "" || !strings.HasPrefix("DATA", cmd.Verb) ||
		c.state != clientResync || c.line.open || c.skipStart >= 0 || c.pos != c.resumed || !c.held.empty() {
		return false
	}
	cmd.Verb, cmd.Known = "DATA", true
	cmd.Problems = slices.DeleteFunc(cmd.Problems, func(p string) bool { return p == problemUnknownVerb })
	tx := p.currentTx()
	tx.Data = cmd
	p.startDataAt(cmd, tx, c.pos)
	return true
}

// endOfData follows the strict terminator: the final reply is next in line
// for this transaction.
func (p *Parser) endOfData() {
	c := &p.client
	body, tx := c.body, c.bodyTx
	body.Complete = true
	c.scan.endContent()
	if p.tx == tx {
		p.tx = nil
	}
	c.body, c.bodyTx = nil, nil
	c.state = clientCommand
	if tx.Interrupt != nil {
		// The server gave up on the message before this end of data:
		// no final reply is coming, and the next reply is the next
		// command's (a QUIT's 221 is no verdict on the message).
		return
	}
	p.push(pending{kind: pendingEndOfData, cmd: tx.Data, tx: tx})
}

// resyncLine looks at one line while resynchronising: a plausible command
// or the strict terminator of content we did not see ends the skip.
func (p *Parser) resyncLine() {
	c := &p.client
	l := &c.line
	content := l.content()
	if c.prevCRLF && l.n == 3 && l.ending() == LineEndingCRLF && len(content) == 1 && content[0] == '.' {
		term := Span{ClientToServer, l.start, l.start + 3}
		tail := Span{ClientToServer, l.start, l.start}
		if c.skipStart >= 0 {
			tail.Start = c.skipStart
		}
		p.flushSkip(ClientToServer, &c.skipStart, l.start)
		tx := p.tx
		if tx == nil || tx.Data == nil || tx.Body != nil {
			tx = p.newTx()
		}
		body := newBody(tail.Start)
		body.Span, body.Terminator, body.Gap = tail, &term, true
		tx.Body = body
		if p.tx == tx {
			p.tx = nil
		}
		c.state = clientCommand
		p.push(pending{kind: pendingEndOfData, cmd: tx.Data, tx: tx})
		return
	}
	if l.n <= minParseLine && looksLikeCommandLine(content, false) {
		p.flushSkip(ClientToServer, &c.skipStart, l.start)
		c.state = clientCommand
		p.commandLine(cutNone)
		return
	}
	if c.skipStart < 0 {
		c.skipStart = l.start
	}
	c.prevCRLF = l.ending() == LineEndingCRLF
}

func (p *Parser) startResync() {
	c := &p.client
	c.state, c.prevCRLF, c.skipStart = clientResync, true, -1
	c.line.reset()
}

// clientGap applies a gap to the client machine (not while holding).
func (p *Parser) clientGap(off, n int64) {
	c := &p.client
	p.endCollectors() // After must be contiguous bytes
	switch c.state {
	case clientCommand, clientAuth, clientAuthAssumed:
		p.closeLine(cutGap, off)
		p.startResync()
	case clientResync:
		p.closeLine(cutGap, off)
		c.prevCRLF = true
	case clientData:
		c.body.Gap = true
		c.scan.gap(off, n)
	case clientTLS:
		if t := p.d.TLS; t != nil {
			t.Client.gap()
		}
	case clientChunk:
		c.body.Gap = true
		take := min(n, c.left) // what the gap takes of this chunk; the rest is after it
		c.scan.gap(off, take)
		c.left -= take
		c.chunk.Data.End = off + take
		if c.left == 0 {
			p.endChunk()
			if n > take {
				p.startResync()
			}
		}
	}
	c.pos = off + n
	c.resumed = off + n
}

// ---- server ----

func (p *Parser) serverBytes(data []byte, off, order int64, at time.Time) {
	s := &p.server
	for i := 0; i < len(data); {
		switch s.state {
		case serverTLS:
			if t := p.d.TLS; t != nil {
				t.ServerBytes += int64(len(data) - i)
				t.Server.feed(ServerToClient, data[i:], off+int64(i))
			}
			i = len(data)
		default:
			n, ended := s.line.feed(data[i:], off+int64(i), order, at)
			i += n
			if ended {
				p.serverLine(cutNone)
			}
		}
	}
}

// serverLine handles a server line that ended (or was cut).
func (p *Parser) serverLine(cut lineCut) {
	s := &p.server
	l := &s.line
	defer l.reset()
	content := l.content()
	code, sep, text, ok := parseReplyLine(content)
	if s.state == serverResync && ok && s.extend != nil {
		r := s.extend
		s.extend = nil
		if p.goesOn(r, code, cut) {
			p.flushSkip(ServerToClient, &s.skipStart, l.start)
			s.state = serverReplies
			s.cur, s.reopened = r, r
			r.Problems = slices.DeleteFunc(r.Problems, func(q string) bool { return q == ProblemIncompleteReply })
		} else if cut == cutGap {
			// Cut at both ends, and not that reply's: where it belongs
			// is unknown.
			if s.skipStart < 0 {
				s.skipStart = l.start
			}
			return
		}
	}
	if s.state == serverResync {
		if !ok || cut != cutNone && !(cut == cutGap && l.start == s.resumed) {
			if s.skipStart < 0 {
				s.skipStart = l.start
			}
			return
		}
		p.flushSkip(ServerToClient, &s.skipStart, l.start)
		s.state = serverReplies
	}
	overlong := false
	if !ok && cut != cutGap {
		// Where a reply starts, or goes on one that started so: inside
		// another multi-line reply a line such as "2023 copyright" is a
		// malformed line of that reply.
		c, sp, tx, ok2 := overlongCode(content)
		if ok2 && (s.cur == nil || (c == s.cur.Code && slices.Contains(s.cur.Problems, problemLongCode))) {
			code, sep, text, ok, overlong = c, sp, tx, true, true
		}
	}
	if !ok && cut == cutGap && s.cur == nil {
		// "25" then a hole: the server was answering something.
		if code, ok = cutReplyStart(content); ok {
			sep, text = ' ', nil
		}
	}
	if !ok {
		if s.cur != nil {
			p.replyLine(s.cur, content, cut)
			addProblem(&s.cur.Problems, problemMalformedReply)
			return
		}
		r := p.newReply()
		p.replyLine(r, content, cut)
		addProblem(&r.Problems, problemMalformedReply)
		p.finishReply(r)
		return
	}
	if s.cur != nil && code != s.cur.Code && !p.greetingDone && s.cur.Code == 220 {
		if p.fifoLen() > 0 {
			// A greeting cut off by the reply to a command sent before
			// it: Postfix's postscreen, when the client talks before the
			// end of a multi-line 220, stops the banner after its first
			// line and answers the early command (or drops the session
			// with 521). The greeting ends where the other code starts.
			r := s.cur
			s.cur = nil
			addProblem(&r.Problems, ProblemGreetingCut)
			p.endReply(r)
		} else {
			// Nobody asked: the server turned from its banner to what it
			// means for the session (postscreen's 521 to a client on a
			// block list). The later code is the greeting's.
			s.cur.Code = code
			s.cur.Enhanced = enhancedCode(text)
			addProblem(&s.cur.Problems, problemInconsistent)
		}
	}
	if s.cur == nil {
		s.cur = p.newReply()
		s.cur.Code = code
		s.cur.Enhanced = enhancedCode(text)
		if code != 0 && !codeInRange(code) {
			addProblem(&s.cur.Problems, problemCodeRange)
		}
	} else if code != s.cur.Code {
		addProblem(&s.cur.Problems, problemInconsistent)
	}
	p.replyLine(s.cur, text, cut)
	if overlong {
		addProblem(&s.cur.Problems, problemLongCode)
	}
	if sep == '-' && cut == cutNone {
		return
	}
	if sep == '-' && cut == cutGap {
		// serverGap ends it, and may take it up again after the gap.
		addProblem(&s.cur.Problems, ProblemIncompleteReply)
		return
	}
	r := s.cur
	s.cur = nil
	if sep == '-' {
		addProblem(&r.Problems, ProblemIncompleteReply)
	}
	p.endReply(r)
}

// goesOn reports whether a reply line with code, read first after a gap
// that cut r after one of its "-" lines, is r's next line rather than a
// new reply: same code, not itself cut at its start, and nothing else
// the server could be answering (no command waiting, none sent since the
// gap). A server writing a long EHLO reply in pieces, captured with a
// small snaplen, loses the tail of each piece; the next packet still
// starts with the reply's next line.
func (p *Parser) goesOn(r *Reply, code int, cut lineCut) bool {
	s := &p.server
	return code == r.Code && (cut != cutGap || s.line.start == s.resumed) &&
		p.fifoLen() == 0 && len(p.d.Commands) == s.gapAfter
}

// endReply ends the reply in progress: a new one is stored and paired
// (finishReply); one taken up again after a gap is both already, and
// only what it offers, if the extensions were read from it, may have
// grown.
func (p *Parser) endReply(r *Reply) {
	if r != p.server.reopened {
		p.finishReply(r)
		return
	}
	p.server.reopened = nil
	if r == p.offeredBy {
		p.offer(r)
	}
}

// offer reads what the server offers from r, a reply to EHLO.
func (p *Parser) offer(r *Reply) {
	p.d.Extensions, p.offeredBy = extensionsFrom(r), r
}

func (p *Parser) newReply() *Reply {
	l := &p.server.line
	return &Reply{
		Span:  Span{ServerToClient, l.start, l.start},
		Order: l.order,
		Time:  l.at,
	}
}

// replyLine adds the line just read to r: text is what follows the code
// and separator, or the whole content when the line is malformed.
func (p *Parser) replyLine(r *Reply, text []byte, cut lineCut) {
	l := &p.server.line
	r.Span.End = l.start + l.n
	r.EndOrder, r.EndTime = l.endOrder, l.endAt
	if len(r.Lines) < maxReplyLines {
		n := p.budget.take(min(len(text), p.opts.MaxLineKeep))
		r.Lines = append(r.Lines, string(text[:n]))
	} else {
		addProblem(&r.Problems, problemTooManyLines)
	}
	had := slices.Contains(r.Problems, ProblemNonASCII)
	lineProblems(&r.Problems, l, 0)
	if !had && l.high && p.tx != nil && p.tx.Mail != nil && utf8.Valid(l.content()) {
		// Under SMTPUTF8 (RFC 6531) a server answers in UTF-8, as it
		// quotes the addresses it was given (Exim's "550 Empfänger
		// unbekannt").
		if _, ok := p.tx.Mail.Params["SMTPUTF8"]; ok {
			r.Problems = slices.DeleteFunc(r.Problems, func(q string) bool { return q == ProblemNonASCII })
		}
	}
	if l.n > maxCommandOctets {
		addProblem(&r.Problems, problemLongReply)
	}
	switch cut {
	case cutGap:
		r.Gap = true
	case cutEnd:
		addProblem(&r.Problems, ProblemIncompleteReply)
	}
}

// finishReply stores a complete reply and matches it to the oldest request
// awaiting one.
func (p *Parser) finishReply(r *Reply) {
	p.d.LastReply = r
	if len(p.d.Replies) < p.opts.MaxElements {
		p.d.Replies = append(p.d.Replies, r)
	} else {
		p.d.Dropped++
	}
	if r.Code == 0 && !r.Gap {
		return // malformed: answers nothing
	}
	if !p.greetingDone {
		p.greetingDone = true
		if !p.opts.MidStream || (r.Code == 220 && p.fifoLen() == 0 && !p.commandsSeen) {
			p.d.Greeting = r
			return
		}
	}
	if p.lmtp.left > 0 {
		// LMTP: the next recipient's reply to the same end of data.
		p.lmtp.left--
		r.Final, r.Command = true, p.lmtp.cmd
		if len(p.lmtp.tx.PerRecipient) < p.opts.MaxElements {
			p.lmtp.tx.PerRecipient = append(p.lmtp.tx.PerRecipient, r)
		}
		return
	}
	p.quitAnsweredWhileHeld(r)
	if p.forgotten > 0 {
		// It answers a command forgotten when the FIFO was full.
		p.forgotten--
		r.Forgotten = true
		p.answered = true
		p.lastAnswered = max(p.lastAnswered, r.EndOrder)
		return
	}
	e, ok := p.pop()
	if !ok && p.answersOpenLine(r) {
		p.clientLine(cutAnswered)
		e, ok = p.pop()
	}
	if !ok && p.opts.MidStream && !p.commandsSeen && !p.d.Extensions.Offered && r.Code == 250 && offersExtensions(r) {
		// A capture that began after the client's EHLO: a multi-line
		// 250 before any command is its reply, and says what the server
		// offers.
		p.offer(r)
	}
	if !ok {
		c := &p.client
		switch {
		case c.state == clientData && c.body.Gap && r.Code != 421:
			p.lostTerminator(r)
		case c.state == clientData && len(c.body.Lenient) > 0 && r.Code/100 == 2 && c.bodyTx.Interrupt == nil: // only taking the message proves the server ended it there; a refusal may be of the bare line ending itself
			p.lenientTerminator(r)
		case c.state == clientData && r.Code >= 400 && c.bodyTx.Interrupt == nil:
			// The server stopped waiting for the end of data. The
			// client, which does not read replies during content,
			// goes on: its bytes stay content, but what it sends now
			// is no longer what followed a lenient sequence when the
			// server read it.
			c.bodyTx.Interrupt = r
			p.endCollectors()
		}
		return
	}
	p.answered = true
	p.lastAnswered = max(p.lastAnswered, r.EndOrder)
	if e.kind == pendingEndOfData {
		r.Final, r.Command = true, e.cmd
		e.tx.FinalReply = r
		p.perRecipient(e.tx, e.cmd, r)
		return
	}
	cmd := e.cmd
	r.Command, cmd.Reply = cmd, r
	if c := &p.client; c.state == clientChunk && c.chunk != nil && c.chunk.Command == cmd && c.left > 0 && r.Code == 421 && e.tx != nil && e.tx.Interrupt == nil {
		// A 421 while the chunk's bytes are still coming: the server
		// answers a BDAT once it has read the whole chunk (RFC 3030), so
		// this one gave up on the message in the middle of it (on the
		// client's close, or a timeout), as a server can during DATA.
		// Other refusals then answer the command itself (its syntax,
		// its size). The client's bytes stay the chunk's.
		e.tx.Interrupt = r
		p.endCollectors()
		return
	}
	if r.Code == 354 && p.dataCutShort(cmd) {
		return
	}
	if r.Code/100 == 2 && !cmd.Known && !cmd.Masked && !cmd.Pipelined && isWord(cmd.Verb) {
		// A verb the server took, when the client waited for the answer,
		// is one the server knows (Sendmail's VERB after a HELO, which
		// offers no extensions): no stranger. Pipelined, the 2xx may
		// answer something else (message bytes read as a command).
		cmd.Known = true
		cmd.Problems = slices.DeleteFunc(cmd.Problems, func(p string) bool { return p == problemUnknownVerb })
	}
	// A refused command leaves the transaction open, but not a QUIT (the
	// client is done with the session whatever the answer) nor a 421 (the
	// server is closing it: RFC 5321 section 3.8).
	if endsTransaction(cmd.Verb) && r.Code >= 400 && r.Code != 421 && cmd.Verb != "QUIT" {
		p.reopen(cmd)
	}
	if cmd.Verb == "RCPT" && e.tx != nil && r.Code/100 == 2 {
		e.tx.accepted++
	}
	if e.last {
		r.Final = true
		e.tx.FinalReply = r
		p.perRecipient(e.tx, cmd, r)
	}
	// A hello refused (an EHLO without a name) after one the server took:
	// the server still knows the client by that one, and offers what it did.
	var taken *Command
	if cmd.IsHello() && r.Code >= 400 && p.d.Hello == cmd {
		taken = p.helloBefore(cmd)
	}
	refusedHello := taken != nil
	if refusedHello {
		p.d.Hello = taken
	}
	switch cmd.Verb {
	case "EHLO", "LHLO":
		if !refusedHello {
			p.offer(r)
		}
	case "STARTTLS", VerbAnonymousTLS:
		if r.Code/100 == 2 && p.d.TLS == nil {
			p.startTLS(cmd, r)
			return
		}
		p.tlsRefused = p.tlsRefused || r.Code >= 400
	}
	if p.client.wait == cmd {
		p.replyReleases(cmd, r)
	}
}

// isWord reports whether s is a word of ASCII letters, as verbs are.
func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// answersOpenLine reports whether r, which no command awaits, answers the
// line the client has begun and not ended: a server whose command timeout
// fired reads what came so far as the command (Sendmail answers "MAIL
// FROM:<alice@peer" with "553 … Unbalanced '<'"). Only a refusal (5xx)
// does: a 4xx is the server's timeout itself (421 closing, Exchange's
// "451 4.7.0 Timeout waiting for client input"), no answer to the line.
func (p *Parser) answersOpenLine(r *Reply) bool {
	c := &p.client
	return c.state == clientCommand && c.line.open && c.line.n > 0 && r.Code/100 == 5 && !r.Gap
}

// quitAnsweredWhileHeld handles a 221 that arrives while the client is held
// after a DATA nobody answered, and the first bytes it sent since are a
// QUIT: a client that gave up waiting for 354. 221 answers only QUIT (RFC
// 5321 section 4.2.2), so the server answered that QUIT, and the commands
// still waiting for replies (at least the DATA) were never answered; pairing
// the 221 with the oldest of them, and the QUIT with the message content,
// would tell the opposite story. The waiting commands are left unanswered,
// and the held bytes are read as commands again, so the 221 pairs with the
// QUIT that follows.
func (p *Parser) quitAnsweredWhileHeld(r *Reply) {
	c := &p.client
	if r.Code != 221 || c.state != clientHeld || c.wait == nil || c.wait.Verb != "DATA" || p.fifoLen() == 0 {
		return
	}
	// The oldest waiting may also be the previous message's end of data,
	// pipelined before this DATA: a 221 is no final reply to content.
	if e := p.fifo[p.fifoHead]; e.kind == pendingCommand && e.cmd.Verb == "QUIT" {
		return
	}
	if !c.held.startsWithQuit(r.EndOrder) {
		return
	}
	for p.fifoLen() > 0 {
		p.pop()
	}
	p.forgotten = 0
	c.wait, c.waitTx, c.state = nil, nil, clientCommand
	p.release()
}

// startsWithQuit reports whether the held bytes begin with a QUIT command
// line that was sent before order.
func (q *heldQueue) startsWithQuit(order int64) bool {
	var line []byte
	for i := q.head; i < len(q.events) && len(line) < len("QUIT\r\n"); i++ {
		ev := &q.events[i]
		if ev.gap || (i == q.head && ev.order >= order) {
			return false
		}
		line = append(line, q.buf[ev.pos:ev.pos+int(min(ev.n, 8))]...)
	}
	if len(line) < len("QUIT\n") || !bytes.EqualFold(line[:4], []byte("QUIT")) {
		return false
	}
	rest := bytes.TrimLeft(line[4:], " ")
	return len(rest) > 0 && (rest[0] == '\r' || rest[0] == '\n')
}

// perRecipient starts an LMTP transaction's final replies with r, the
// first; one more follows for each further recipient the server accepted
// (RFC 2033 section 4.2). In SMTP it does nothing.
func (p *Parser) perRecipient(tx *Transaction, cmd *Command, r *Reply) {
	if !p.d.LMTP() || tx == nil || tx.accepted == 0 {
		return // no recipient, no per-recipient replies: r answers the command
	}
	tx.PerRecipient = append(tx.PerRecipient, r)
	p.lmtp.tx, p.lmtp.cmd, p.lmtp.left = tx, cmd, tx.accepted-1
}

// replyReleases acts on the reply the client was held for.
func (p *Parser) replyReleases(cmd *Command, r *Reply) {
	c := &p.client
	tx := c.waitTx
	c.wait, c.waitTx = nil, nil
	switch {
	case cmd.Verb == "DATA" && r.Code == 354:
		if !c.held.empty() {
			addProblem(&cmd.Problems, problemEarlyContent)
		}
		p.startData(cmd, tx)
	case cmd.Verb != "DATA" && r.Code == 334:
		c.state = clientAuth
	case cmd.Verb == "BDAT" && c.heldChunk != nil:
		chunk := c.heldChunk
		c.heldChunk = nil
		c.state = clientCommand
		if r.Code == 500 || r.Code == 502 {
			// Unknown to the server, which stays: it reads the chunk's
			// bytes as commands (and answers each line), and so are they
			// read here.
			chunk.Refused = true
		} else {
			// Taken although CHUNKING was not offered (2xx), or refused
			// by a server that closes or went out of step (521, 554, 421):
			// the held bytes were the chunk, as the client meant them.
			p.readChunk(chunk, tx, cutNone)
		}
	default:
		c.state = clientCommand
	}
	p.release()
}

// lostTerminator handles a reply that came while the client was still in
// content after a gap: the end of data must have been in the gap.
func (p *Parser) lostTerminator(r *Reply) { p.endDataAtReply(r, problemLostTerminator, false) }

// lenientTerminator handles a reply that came while the client was still in
// content after a non-standard end-of-data sequence (<LF>.<CRLF> and the
// like): the server took that sequence as the end of data — a lenient
// server, the kind SMTP smuggling exploits.
func (p *Parser) lenientTerminator(r *Reply) { p.endDataAtReply(r, problemLenientEnd, true) }

// endDataAtReply ends the message content the client is in with r as its
// final reply, and reads what the client sends next as commands again.
func (p *Parser) endDataAtReply(r *Reply, problem string, lenient bool) {
	c := &p.client
	tx := c.bodyTx
	c.scan.finish()
	r.Final, r.Command = true, tx.Data
	tx.FinalReply = r
	tx.Body.EndedLenient = lenient
	addProblem(&r.Problems, problem)
	if p.tx == tx {
		p.tx = nil
	}
	c.body, c.bodyTx = nil, nil
	p.startResync()
	p.endCollectors()
}

// closeClient ends whatever the client machine is in the middle of — a
// line, a skipped run up to end, message content — because its stream
// ends (cut) here.
func (p *Parser) closeClient(cut lineCut, end int64) {
	switch c := &p.client; c.state {
	case clientData, clientChunk:
		c.scan.finish()
	default:
		p.closeLine(cut, end)
	}
}

// closeLine ends the line the client's command machine is in, at end and
// for the reason cut: an open command line becomes a command, the bytes a
// resynchronisation skipped are recorded.
func (p *Parser) closeLine(cut lineCut, end int64) {
	c := &p.client
	switch c.state {
	case clientCommand, clientAuth, clientAuthAssumed:
		if c.line.open {
			p.clientLine(cut)
		}
	case clientResync:
		if cut == cutGap && c.line.open && c.line.start == c.resumed && looksLikeCommandLine(c.line.content(), true) {
			// A packet that began right after a gap and was cut again
			// (snaplen): its sender began a command there.
			p.flushSkip(ClientToServer, &c.skipStart, c.line.start)
			c.state = clientCommand
			p.clientLine(cut)
			p.startResync()
			return
		}
		if c.line.open && c.skipStart < 0 {
			c.skipStart = c.line.start
		}
		c.line.reset()
		p.flushSkip(ClientToServer, &c.skipStart, end)
	}
}

// offersExtensions reports whether a multi-line 250 reply reads as an
// EHLO reply: a line after the first names an SMTP extension (not the
// lines of a BDAT or EXPN reply).
func offersExtensions(r *Reply) bool {
	if len(r.Lines) < 2 {
		return false
	}
	for _, line := range r.Lines[1:] {
		word, _, _ := strings.Cut(line, " ")
		switch upperASCII(word) {
		case "PIPELINING", "SIZE", "8BITMIME", "STARTTLS", "AUTH", "CHUNKING", "SMTPUTF8", "DSN", "ENHANCEDSTATUSCODES",
			"HELP", "ETRN", "VRFY", "BINARYMIME", "PRDR", "DELIVERBY", "REQUIRETLS", "MT-PRIORITY", "LIMITS", "XCLIENT", "XFORWARD":
			return true
		}
	}
	return false
}

// tlsAfterLostReply switches to TLS when the line the client has begun
// starts a TLS record while STARTTLS waits for a reply the capture lost
// (replyLostSTARTTLS): the client began TLS, and its bytes, the line's
// included, are TLS records, not commands. It decides on the line's first
// three bytes, however the client's writes cut them.
func (p *Parser) tlsAfterLostReply() bool {
	c := &p.client
	if c.state != clientCommand && c.state != clientResync || c.line.n < 3 || len(c.line.buf) < 3 || !anyTLSRecord(c.line.buf) {
		return false
	}
	st := p.replyLostSTARTTLS()
	if st == nil {
		return false
	}
	line, start := slices.Clone(c.line.buf[:min(int64(len(c.line.buf)), c.line.n)]), c.line.start
	c.line.reset()
	p.pop() // STARTTLS, answered out of the capture's sight
	p.startTLS(st, nil)
	p.tlsClient(line, start)
	return true
}

// anyTLSRecord reports whether b starts like a TLS record of any type
// (change cipher spec, alert, handshake, application data), version 3.x:
// after a STARTTLS whose reply, and maybe the hello, the capture lost, the
// client's next bytes may be any of them.
func anyTLSRecord(b []byte) bool {
	return len(b) >= 3 && b[0] >= 20 && b[0] <= 23 && b[1] == 3 && b[2] <= 4
}

// replyLostSTARTTLS returns the STARTTLS command still waiting for its
// reply after the capture lost server bytes, if that is the oldest
// command waiting: the reply may be among what was lost.
func (p *Parser) replyLostSTARTTLS() *Command {
	if p.d.TLS != nil || p.server.state != serverResync || p.fifoLen() == 0 {
		return nil
	}
	// The gap must have come after STARTTLS was sent: an older one says
	// nothing of its reply.
	if e := p.fifo[p.fifoHead]; e.kind == pendingCommand && e.cmd.StartsTLS() && slices.Index(p.d.Commands, e.cmd) < p.server.gapAfter {
		return e.cmd
	}
	return nil
}

// startTLS stops parsing: from here on both streams are encrypted.
func (p *Parser) startTLS(cmd *Command, r *Reply) {
	p.d.TLS = &TLSStart{Command: cmd, Reply: r, ClientStart: cmd.Span.End, ServerStart: p.server.stream.next}
	if r != nil {
		p.d.TLS.ServerStart = r.Span.End
	}
	p.server.state = serverTLS
	c := &p.client
	p.closeClient(cutTLS, c.pos)
	c.state = clientTLS
	c.wait, c.waitTx = nil, nil
	// What the client sent behind STARTTLS before the reply came was read
	// as commands: clear text lines, until a TLS hello (a client that did
	// not wait for the 220), which is TLS and no command.
	at := slices.Index(p.d.Commands, cmd)
	var hello []*Command
	for i := at + 1; at >= 0 && i < len(p.d.Commands); i++ {
		after := p.d.Commands[i]
		if LooksLikeTLSRecord(after.Line, true) {
			hello = slices.Clone(p.d.Commands[i:])
			p.d.Commands = p.d.Commands[:i]
			break
		}
		p.d.TLS.ClientStart = after.Span.End
	}
	for _, h := range hello {
		// Its bytes, as far as the lines kept them, are the TLS side's.
		if int64(len(h.Line)) == h.Length {
			p.tlsClient(h.Line, h.Span.Start)
		}
	}
	q := &c.held
	for ; !q.empty(); q.head++ {
		if ev := q.events[q.head]; !ev.gap {
			p.tlsClient(q.buf[ev.pos:ev.pos+int(ev.n)], ev.off)
		}
	}
	q.compact()
	p.endCollectors()
}

// serverGap applies a gap to the server machine.
func (p *Parser) serverGap(off, n int64) {
	s := &p.server
	s.gapAfter = len(p.d.Commands)
	// The next packet's bytes begin where its sender began them: after a
	// snaplen cut (the tail of every packet lost), that is where a reply
	// starts, and a reply line cut again there is still read. Not when
	// the gap took a multi-line reply's next lines: the packet after it
	// goes on with that reply.
	// A reply cut after one of its "-" lines is remembered: the next
	// reply line may go on with it (goesOn).
	continues, extendable := false, false
	switch {
	case s.line.open && (s.state == serverReplies || s.line.start == s.resumed):
		_, sep, _, ok := parseReplyLine(s.line.content())
		continues = ok && sep == '-' || !ok && s.cur != nil
		extendable = continues
	case s.line.open:
		continues = true // a line resynchronising skipped: what follows it is unknown
	case s.state == serverReplies:
		continues = s.cur != nil
		extendable = continues
	}
	var held *Reply
	// endCut ends the reply the gap cut, remembering it if it may go on.
	endCut := func() {
		if r := s.cur; r != nil {
			s.cur = nil
			r.Gap = true
			p.endReply(r)
			if extendable {
				held = r
			}
		}
	}
	defer func() {
		s.extend = held
		s.resumed = off + n
		if continues && held == nil {
			s.resumed = -1
		}
	}()
	// Without the first bytes nobody knows which reply was the greeting;
	// a gap after them (snaplen cut the greeting's tail) leaves it known.
	if off == 0 {
		p.greetingDone = true
	}
	switch s.state {
	case serverReplies:
		if s.line.open {
			p.serverLine(cutGap)
		}
		endCut()
		if s.state == serverReplies {
			s.state = serverResync
		}
	case serverResync:
		if s.line.open && s.line.start == s.resumed {
			// Read as a reply if it starts as one (serverLine decides).
			p.serverLine(cutGap)
			if s.state == serverReplies {
				endCut()
				if s.state == serverReplies {
					s.state = serverResync
				}
			}
		}
		if s.line.open && s.skipStart < 0 {
			s.skipStart = s.line.start
		}
		s.line.reset()
		p.flushSkip(ServerToClient, &s.skipStart, off)
	case serverTLS:
		if t := p.d.TLS; t != nil {
			t.Server.gap()
		}
	}
	// After the reply the gap cut is finished (it may be a recipient's,
	// or the first one, which sets the count): which recipient a later
	// reply is for is lost.
	p.lmtp.left = 0
}

// ---- bytes after lenient ends of data ----

// collector fills EndOfData.After of one lenient sequence as client bytes go
// by, in whatever mode they are read.
type collector struct {
	body *Body
	idx  int
	from int64 // stream offset of After[0]
}

// ClientWait is how long a client must stay silent after a non-standard
// end of data that ended its write for EndOfData.ClientWaited: long enough
// that it was waiting for a reply, not still sending.
const ClientWait = 2 * time.Second

// lineEndsOnly reports whether b holds nothing but CR and LF bytes.
func lineEndsOnly(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

func (p *Parser) register(body *Body, from int) {
	for i := from; i < len(body.Lenient); i++ {
		p.collectors = append(p.collectors, collector{body, i, body.Lenient[i].At.End})
	}
}

// collectAfter gives data, a client write at off that came at at, to the
// lenient sequences still filling their After.
func (p *Parser) collectAfter(data []byte, off int64, at time.Time) {
	if len(data) == 0 {
		return
	}
	prev := p.lastClient
	p.lastClient.end, p.lastClient.at = off+int64(len(data)), at
	if len(p.collectors) == 0 {
		return
	}
	keep := p.collectors[:0]
	for _, col := range p.collectors {
		e := &col.body.Lenient[col.idx]
		if lineEndsOnly(e.After) && col.from+int64(len(e.After)) == off && prev.end == off && at.Sub(prev.at) >= ClientWait {
			// The client stopped at the sequence (or at a line ending
			// or two after it, swaks' CRLF after raw data) and waited:
			// what it sends now answers the silence, it is not the
			// message's.
			e.ClientWaited = true
			continue
		}
		next := col.from + int64(len(e.After)) // the next byte After wants
		if i := next - off; i >= 0 && i < int64(len(data)) {
			want := min(afterLen-len(e.After), len(data)-int(i))
			n := p.budget.take(want)
			if e.After == nil && n > 0 {
				e.After = make([]byte, 0, afterLen)
			}
			e.After = append(e.After, data[i:i+int64(n)]...)
			if n < want {
				e.CommandsAfter = looksLikeCommandLine(e.After, true)
				continue
			}
		}
		if len(e.After) >= afterLen {
			e.CommandsAfter = looksLikeCommandLine(e.After, true)
			continue
		}
		keep = append(keep, col)
	}
	clear(p.collectors[len(keep):])
	p.collectors = keep
}

// endCollectors settles every After still filling: the stream ended or
// stopped being contiguous.
func (p *Parser) endCollectors() {
	for _, col := range p.collectors {
		e := &col.body.Lenient[col.idx]
		e.CommandsAfter = looksLikeCommandLine(e.After, true)
	}
	clear(p.collectors)
	p.collectors = p.collectors[:0]
}
