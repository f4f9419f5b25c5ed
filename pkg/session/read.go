package session

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// Read reads the whole capture and calls emit for each selected SMTP
// connection once it is finished: closed (FIN both ways or RST) and quiet
// for Options.Linger of capture time (unackedLinger more when a side's
// data went unacknowledged), or at the end of the capture. So
// memory grows with the connections open at once, not with the capture.
//
// One goroutine reads, decodes and tracks; Options.Workers goroutines
// reassemble and parse, each connection on one of them. emit is never
// called concurrently, but sessions come in the order their connections
// finish: callers that print them sort by stream. Faults in the capture
// files do not stop Read (see Capture.Errors); an error from emit stops
// further calls and is returned.
func Read(capture *reassembly.Capture, opts Options, emit func(*Session) error) (Result, error) {
	r := newReader(opts, emit)
	r.start()
	st, err := reassembly.Walk(capture, r.tracker, r.visit)
	r.finishAll()
	r.stop()
	res := Result{Stats: st, Tracker: r.tracker}
	if err != nil {
		return res, err
	}
	return res, r.emitErr
}

// newReader returns a reader for opts, its defaults filled in, that
// hands each finished session to emit.
func newReader(opts Options, emit func(*Session) error) *reader {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Linger <= 0 {
		opts.Linger = 5 * time.Second
	}
	if opts.MaxKeep <= 0 {
		opts.MaxKeep = 256 << 20
	}
	if opts.Parser.MaxBodyKeep == 0 {
		// The detectors need a message's headers, statistics and tail,
		// which the parser computes as it goes, not its bytes.
		opts.Parser.MaxBodyKeep = -1
	}
	r := &reader{opts: opts, emit: emit}
	r.tracker = reassembly.NewTracker(reassembly.TrackerOptions{Sniff: Sniff, Expire: r.expire, SkipCopies: true})
	return r
}

// itemKind says what an item asks a worker to do.
type itemKind uint8

const (
	itemSegment itemKind = iota // assemble a segment
	itemFinish                  // flush the connection and emit its session
	itemDrop                    // forget the connection: it is not SMTP after all
)

// item is one unit of work for a worker. Payload bytes live in the batch's
// arena, copied once from the reader's buffer.
type item struct {
	kind  itemKind
	conn  *reassembly.Conn
	side  int
	dir   reassembly.Direction // of this segment's side
	dir0  reassembly.Direction // of side 0
	mid   bool                 // the connection's start was not captured
	take  bool                 // itemFinish: emit the session
	seg   reassembly.Segment
	frame int       // of the packet that carried seg, or at which the connection finished
	ts    time.Time // that packet's capture time
	end   *ending   // itemFinish and itemDrop
}

// ending is what an item that ends a connection carries beyond a
// segment's: kept apart, so that the many segment items are not larger
// for it.
type ending struct {
	facts reassembly.Conn // itemFinish: the connection's facts at the end
	mark  mark            // what was settled when the reader sent it
}

// A mark is what the reader tells with each connection it finishes or
// drops: a capture time (Unix nanoseconds; 0: none) before which every
// connection had been finished or dropped by then, but for those it
// still held open, listed by their first times.
type mark struct {
	at   int64
	open []time.Time // shared, never changed
}

// batch is a run of items for one worker.
type batch struct {
	items []item
	arena []byte
}

const (
	batchItems = 256
	arenaBytes = 256 << 10
)

// route is the reader's state of one connection.
type route struct {
	worker  int
	first   int64 // the connection's first capture time, in Unix nanoseconds
	sent    bool  // items were sent to the worker
	done    bool  // finished or dropped: later packets are not forwarded
	closing bool  // in the closed queue
	// syns holds the bare SYNs of a connection for which nothing has been
	// sent yet (at most maxHeldSYNs): its worker sees them with whatever
	// comes next, so a SYN flood's connections, finished unanswered
	// minutes later, never cost a worker reassembly state while open.
	syns []item
}

// maxHeldSYNs is how many bare SYNs a route holds before it sends them to
// its worker after all: a client's retries are a handful.
const maxHeldSYNs = 8

// closedConn is a closed connection waiting for its late packets until
// the capture's clock passes until. The wait is kept here, in the queue's
// own array, rather than in its route: the reader looks at the queue's
// front for every packet.
type closedConn struct {
	c     *reassembly.Conn
	until time.Time
}

// unackedLinger is how much longer than Options.Linger a closed
// connection waits when one side sent data the other never acknowledged
// (a reply lost on its way, the peer gone): its TCP sends them again,
// with pauses that double, and the peer's reset answering one tells that
// the peer had left without reading them. Linux resends a closed socket's
// data for about 100 s (tcp_orphan_retries).
const unackedLinger = 2 * time.Minute

type reader struct {
	opts    Options
	emit    func(*Session) error
	tracker *reassembly.Tracker

	routes  []*route // by stream
	closed  []closedConn
	unacked []closedConn        // closed with data unacknowledged: waiting unackedLinger more, in that order
	synOnly reassembly.SYNQueue // connections opened by a SYN, until given up on
	pending []*batch            // per worker, being filled
	chans   []chan *batch
	free    chan *batch // processed batches, for reuse
	wg      sync.WaitGroup
	// The frame and time of the last packet visited: where connections
	// finished at the end of the capture are finished.
	lastFrame int
	lastTime  time.Time
	// unsettled is the lowest stream not yet finished or dropped, but for
	// those in held: connections open for more than holdAfter, passed over
	// and listed in heldOpen by their first times (see settledMark).
	// latest is the latest capture time seen, and backwards is set once a
	// packet came stamped more than clockSlack before it, after which no
	// mark can be given.
	unsettled int
	held      []int
	heldOpen  []time.Time
	latest    time.Time
	backwards bool
	queued    []atomic.Int64 // per worker, finished and dropped connections sent to it

	emitMu  sync.Mutex
	emitErr error
	// Per worker, the mark of the last finished or dropped connection it
	// has dealt with, and how many it has (see Session.Settled).
	marks []mark
	dealt []int64
	// The last union of the marks' lists settled made, and the lists it
	// was made of (by their first elements): made again only when they
	// change, not for each session.
	union     []time.Time
	unionFrom [][]time.Time
	lists     [][]time.Time // settled's own, reused
}

func (r *reader) start() {
	r.free = make(chan *batch, 8*r.opts.Workers+8)
	r.queued = make([]atomic.Int64, r.opts.Workers)
	for i := 0; i < r.opts.Workers; i++ {
		ch := make(chan *batch, 4)
		r.chans = append(r.chans, ch)
		r.pending = append(r.pending, nil)
		r.marks, r.dealt = append(r.marks, mark{}), append(r.dealt, 0)
		w := &worker{r: r, index: i, feeders: map[*reassembly.Conn]*feeder{}}
		w.asm = reassembly.NewAssembler(r.opts.Limits, w.newFeeder)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			w.run(ch)
		}()
	}
}

func (r *reader) stop() {
	for i := range r.chans {
		r.flush(i)
		close(r.chans[i])
	}
	r.wg.Wait()
}

func (r *reader) route(c *reassembly.Conn) *route {
	for len(r.routes) <= c.Stream {
		r.routes = append(r.routes, nil)
	}
	rt := r.routes[c.Stream]
	if rt == nil {
		rt = &route{worker: c.Stream % r.opts.Workers, first: c.FirstTime.UnixNano()}
		if r.opts.Stream >= 0 && c.Stream != r.opts.Stream {
			rt.done = true
		}
		r.routes[c.Stream] = rt
	}
	return rt
}

// expire runs before each segment is tracked: it finishes the closed
// connections whose late packets have had time to come, and those that
// never got past their SYNs, and forgets them, so that their later
// packets (this one too) are not even tracked.
func (r *reader) expire(p *reassembly.Packet) {
	// The marks' clock follows the packets that come within clockJump of
	// the one before them: a lone packet stamped far ahead (a corrupt
	// record, a clock step) does not move it, the packet after a quiet
	// spell does.
	if (r.lastFrame == 0 || p.Timestamp.Sub(r.lastTime) <= clockJump) && p.Timestamp.After(r.latest) {
		r.latest = p.Timestamp
	}
	if r.latest.Sub(p.Timestamp) > clockSlack {
		r.backwards = true
	}
	r.lastFrame, r.lastTime = p.Frame, p.Timestamp
	for len(r.closed) > 0 {
		cc := r.closed[0]
		if !p.Timestamp.After(cc.until) {
			break
		}
		r.closed = r.closed[1:]
		if !cc.c.Finished() && cc.c.Unacknowledged() {
			r.unacked = append(r.unacked, closedConn{cc.c, cc.until.Add(unackedLinger)})
			continue
		}
		r.release(cc.c)
	}
	for len(r.unacked) > 0 {
		cc := r.unacked[0]
		quiet := cc.c.Finished() && p.Timestamp.Sub(cc.c.LastTime) > r.opts.Linger
		if !p.Timestamp.After(cc.until) && !quiet {
			break
		}
		r.unacked = r.unacked[1:]
		r.release(cc.c)
	}
	// Connections whose SYNs went unanswered are finished once their
	// clients have stopped retrying (Conn.Abandoned).
	r.synOnly.GiveUp(p.Timestamp, p.Frame, func(c *reassembly.Conn) bool { return r.routes[c.Stream] != nil },
		func(c *reassembly.Conn) error { r.release(c); return nil })
}

// visit is the Walk visitor: it routes each segment to its worker.
func (r *reader) visit(c *reassembly.Conn, s *reassembly.Segment, p *reassembly.Packet) error {
	if r.opts.Progress != nil && p.Frame&0x3fff == 0 {
		r.opts.Progress(p.Frame, c.Stream+1)
	}
	if len(r.routes) <= c.Stream && s.Flags&(reassembly.FlagSYN|reassembly.FlagACK) == reassembly.FlagSYN {
		r.synOnly.Add(c)
	}
	rt := r.route(c)
	if c.Closed() && !rt.closing {
		rt.closing = true
		r.closed = append(r.closed, closedConn{c, p.Timestamp.Add(r.opts.Linger)})
	}
	if rt.done {
		return nil
	}
	if r.opts.Selection.Decide(c, false) == Skip {
		rt.done, rt.syns = true, nil
		if rt.sent {
			it, _ := r.slot(rt.worker, nil)
			*it = item{kind: itemDrop, conn: c, dir0: c.DirectionOfSide(0), frame: p.Frame, ts: p.Timestamp, end: &ending{mark: r.settledMark()}}
			r.queued[rt.worker].Add(1)
		}
		return nil
	}
	side := c.Side(s.Src)
	if !rt.sent && len(rt.syns) < maxHeldSYNs && bareSYN(s) {
		rt.syns = append(rt.syns, item{kind: itemSegment, conn: c, side: side, dir: c.DirectionOfSide(side), dir0: c.DirectionOfSide(0),
			mid: midStream(c), seg: *s, frame: p.Frame, ts: p.Timestamp})
		rt.syns[len(rt.syns)-1].seg.Options = nil // a view into the reader's buffer
		return nil
	}
	r.sendSYNs(rt)
	// The item is filled where it lies in the batch: it is a few hundred
	// bytes, and copying it around cost more than the rest of this function.
	it, payload := r.slot(rt.worker, s.Payload)
	it.kind, it.conn, it.side = itemSegment, c, side
	it.dir, it.dir0 = c.DirectionOfSide(side), c.DirectionOfSide(0)
	it.mid = midStream(c)
	it.seg = *s
	it.seg.Payload = payload
	it.frame, it.ts = p.Frame, p.Timestamp
	rt.sent = true
	return nil
}

// bareSYN reports whether s is a SYN without ACK that carries nothing.
func bareSYN(s *reassembly.Segment) bool {
	const flags = reassembly.FlagSYN | reassembly.FlagACK | reassembly.FlagRST | reassembly.FlagFIN
	return s.Flags&flags == reassembly.FlagSYN && s.PayloadLen == 0 && len(s.Payload) == 0
}

// sendSYNs sends the bare SYNs rt holds to its worker, ahead of whatever
// comes next for the connection.
func (r *reader) sendSYNs(rt *route) {
	for i := range rt.syns {
		it, _ := r.slot(rt.worker, nil)
		*it = rt.syns[i]
		rt.sent = true
	}
	rt.syns = nil
}

// release finishes a connection and forgets it: its later packets are not
// even tracked.
func (r *reader) release(c *reassembly.Conn) {
	r.finish(c)
	r.tracker.Forget(c)
	r.routes[c.Stream] = nil
}

// midStream reports whether the capture missed c's start: no SYN either way.
func midStream(c *reassembly.Conn) bool {
	return !c.SYNSeen(reassembly.ClientToServer) && !c.SYNSeen(reassembly.ServerToClient)
}

// finish sends a connection's last item, with its facts as they are now.
func (r *reader) finish(c *reassembly.Conn) {
	rt := r.routes[c.Stream]
	if rt.done {
		return
	}
	rt.done = true
	r.sendSYNs(rt)
	if !rt.sent {
		return
	}
	it, _ := r.slot(rt.worker, nil)
	*it = item{kind: itemFinish, conn: c, dir0: c.DirectionOfSide(0), take: r.opts.Selection.Decide(c, true) == Take,
		mid: midStream(c), frame: r.lastFrame, ts: r.lastTime, end: &ending{facts: *c, mark: r.settledMark()}}
	r.queued[rt.worker].Add(1)
}

// clockSlack is how far back of the latest packet's time a packet may be
// stamped without ending the settled marks: captures taken on several
// CPUs or interfaces hold packets a few microseconds out of order. It is
// the step the capture's warnings tell of.
const clockSlack = reassembly.ClockStep

// clockJump is how far ahead of the packet before it a packet may be
// stamped and still move the marks' clock on its own.
const clockJump = time.Minute

// A connection open for more than holdAfter (a client that left it open,
// a long transfer) no longer holds the mark back: it is listed instead,
// up to maxHeld of them.
const (
	holdAfter = time.Minute
	maxHeld   = 64
)

// settledMark returns the mark for a connection finished or dropped now:
// clockSlack before the first time of the lowest stream still open (but
// for those open for more than holdAfter, listed), or before the latest
// time seen (by the marks' clock, see expire) when none is or that is
// earlier. Streams are numbered in the order their first
// packets come, so while no packet is stamped more than clockSlack before
// one that came earlier, no later stream started before the mark. Once one
// is, no mark. (A mark given before such a packet may not hold for the
// connection it starts: the reader cannot know what is still to come.)
func (r *reader) settledMark() mark {
	if r.backwards {
		return mark{}
	}
	n := len(r.held)
	r.held = slices.DeleteFunc(r.held, func(st int) bool { rt := r.routes[st]; return rt == nil || rt.done })
	changed := len(r.held) < n
	at := r.latest.UnixNano()
	for ; r.unsettled < len(r.routes); r.unsettled++ {
		rt := r.routes[r.unsettled]
		if rt == nil || rt.done {
			continue
		}
		if len(r.held) < maxHeld && at-rt.first > int64(holdAfter) {
			r.held, changed = append(r.held, r.unsettled), true
			continue
		}
		at = min(at, rt.first) // a connection's first packet may be one stamped ahead
		break
	}
	if changed {
		r.heldOpen = r.openTimes()
	}
	if at -= int64(clockSlack); at > 0 {
		return mark{at, r.heldOpen}
	}
	return mark{}
}

// openTimes returns the first times of the held connections, as a new
// slice (marks already sent keep theirs), nil when there are none.
func (r *reader) openTimes() []time.Time {
	if len(r.held) == 0 {
		return nil
	}
	open := make([]time.Time, len(r.held))
	for i, st := range r.held {
		open[i] = time.Unix(0, r.routes[st].first).UTC()
	}
	slices.SortFunc(open, time.Time.Compare)
	return open
}

// finishAll finishes every connection still open at the end, in stream order.
func (r *reader) finishAll() {
	for _, c := range r.tracker.Conns() {
		if c.Stream < len(r.routes) && r.routes[c.Stream] != nil {
			r.finish(c)
		}
	}
}

// send queues an item for a worker, copying payload into the batch arena.
// slot appends an empty item to worker w's batch and copies payload (if
// not nil) into the batch's arena, returning the item and the copy.
func (r *reader) slot(w int, payload []byte) (*item, []byte) {
	b := r.pending[w]
	if b != nil && (len(b.items) == batchItems || len(b.arena)+len(payload) > cap(b.arena)) {
		r.flush(w)
		b = nil
	}
	if b == nil {
		select {
		case b = <-r.free:
			b.items, b.arena = b.items[:0], b.arena[:0]
		default:
			b = &batch{items: make([]item, 0, batchItems), arena: make([]byte, 0, arenaBytes)}
		}
		if len(payload) > cap(b.arena) {
			b.arena = make([]byte, 0, len(payload))
		}
		r.pending[w] = b
	}
	var kept []byte
	if payload != nil {
		start := len(b.arena)
		b.arena = append(b.arena, payload...)
		kept = b.arena[start:len(b.arena):len(b.arena)]
	}
	b.items = append(b.items, item{})
	return &b.items[len(b.items)-1], kept
}

func (r *reader) flush(w int) {
	if b := r.pending[w]; b != nil {
		r.chans[w] <- b
		r.pending[w] = nil
	}
}

// emitSession hands s, from worker w, to emit, with the settled time of
// m, the mark of its finish (see settled), and counts the connection
// dealt with.
func (r *reader) emitSession(w int, m mark, s *Session) {
	if r.opts.Prepare != nil {
		s.Prepared = r.opts.Prepare(s)
	}
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.marks[w] = m
	s.Settled, s.Unsettled = r.settled(w)
	if r.emitErr == nil {
		r.emitErr = r.emit(s)
	}
	r.dealt[w]++
}

// dealtWith records that worker w has dealt with a finished or dropped
// connection whose mark was m and which it does not emit.
func (r *reader) dealtWith(w int, m mark) {
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.marks[w], r.dealt[w] = m, r.dealt[w]+1
}

// settled returns what Session.Settled and Session.Unsettled say for a
// session worker w emits now. Each worker deals with connections in the
// order the reader finished them, so a connection that started before
// the least of the workers' last marks has been dealt with, or is listed
// by one of those marks as held open. A worker that has dealt with all
// the reader sent it holds nothing back (what the reader sends it later
// is of connections that were not settled then). Called with emitMu held.
func (r *reader) settled(w int) (time.Time, []time.Time) {
	least := int64(math.MaxInt64)
	lists := r.lists[:0] // the marks' lists that are not empty, each once
	for v, m := range r.marks {
		if v != w && r.queued[v].Load() == r.dealt[v] {
			continue
		}
		if m.at == 0 {
			return time.Time{}, nil
		}
		least = min(least, m.at)
		if len(m.open) > 0 && !slices.ContainsFunc(lists, func(l []time.Time) bool { return sameList(l, m.open) }) {
			lists = append(lists, m.open)
		}
	}
	r.lists = lists
	return time.Unix(0, least).UTC(), r.unionOf(lists)
}

// unionOf returns lists as one, sorted and without repeats (the workers'
// lists are mostly the same connections), the list itself when there is
// one. Made again only when the lists change.
func (r *reader) unionOf(lists [][]time.Time) []time.Time {
	switch {
	case len(lists) == 0:
		return nil
	case len(lists) == 1:
		return lists[0]
	case slices.EqualFunc(lists, r.unionFrom, sameList):
		return r.union
	}
	union := slices.Concat(lists...)
	slices.SortFunc(union, time.Time.Compare)
	union = slices.CompactFunc(union, time.Time.Equal)
	r.union, r.unionFrom = union, append(r.unionFrom[:0], lists...)
	return union
}

// sameList reports whether a and b, lists of marks (never empty here),
// are the same list: each is made once (openTimes) and never changed.
func sameList(a, b []time.Time) bool { return &a[0] == &b[0] }

// serverTLS returns the first bytes of a server that spoke TLS to a client
// that did not, nil otherwise (see Session.ServerTLS).
func serverTLS(f *feeder) []byte {
	if f.tls {
		return nil
	}
	return f.serverTLS
}

// worker reassembles and parses the connections routed to it.
type worker struct {
	r       *reader
	index   int // in the reader's per-worker lists
	asm     *reassembly.Assembler
	feeders map[*reassembly.Conn]*feeder
	mid     bool              // of the item being processed: what a parser started now is told
	pkt     reassembly.Packet // the item's Frame and Timestamp, for the assembler
}

func (w *worker) newFeeder(c *reassembly.Conn) reassembly.Consumer {
	o := w.r.opts
	f := &feeder{opts: o.Parser, mid: &w.mid, keep: o.KeepBytes, maxKeep: o.MaxKeep, cut: [2]int64{-1, -1}}
	w.feeders[c] = f
	return f
}

func (w *worker) run(ch chan *batch) {
	for b := range ch {
		for i := range b.items {
			it := &b.items[i]
			switch it.kind {
			case itemSegment:
				w.mid = it.mid
				w.pkt.Frame, w.pkt.Timestamp = it.frame, it.ts
				w.asm.AddSide(it.conn, it.side, it.dir, &it.seg, &w.pkt)
			case itemFinish, itemDrop:
				w.finish(it)
			}
		}
		clear(b.items) // drop references to connections and facts
		select {
		case w.r.free <- b:
		default:
		}
	}
}

func (w *worker) finish(it *item) {
	client, server := w.asm.Streams(it.conn, it.dir0)
	// Flushing held data may start the parser: it must see this
	// connection's mid-stream state, not the last segment item's.
	w.mid = it.mid
	w.pkt.Frame, w.pkt.Timestamp = it.frame, it.ts
	w.asm.Finish(it.conn, it.dir0, &w.pkt)
	f := w.feeders[it.conn]
	delete(w.feeders, it.conn)
	if it.kind == itemDrop || !it.take || f == nil {
		w.r.dealtWith(w.index, it.end.mark)
		return
	}
	f.ready()
	w.r.emitSession(w.index, it.end.mark, &Session{
		Conn: &it.end.facts, Until: it.ts, Dialogue: f.parser.Close(), Raw: f.raw, RawCut: f.cut, Arrivals: f.arr, ImplicitTLS: f.tls, ServerTLS: serverTLS(f), ImplicitHandshake: f.handshake,
		streams: [2]*reassembly.Stream{client, server},
	})
	if w.r.opts.Recycle {
		w.asm.Recycle(client)
		w.asm.Recycle(server)
	}
}
