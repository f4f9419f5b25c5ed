// Package split writes each TCP connection of a capture to its own capture
// file in one pass, with a bounded number of files open at once.
//
// Every packet is written byte for byte with its original timestamp, in
// capture order (the fragments of an IP datagram together, just before the
// frame that completed it); pcap input gives pcap output with the same link type and
// snaplen, pcapng input gives pcapng output. Files are written under a
// ".part" name and renamed only when the whole split succeeded, so a file
// with its final name is always complete.
package split

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smtpcap/smtpcap/internal/recstore"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// Decision says whether a connection's packets are written.
type Decision uint8

// The decisions a Selector makes.
const (
	Undecided Decision = iota // not yet known: buffer the packets
	Take                      // write the connection
	Skip                      // leave it out
)

// Selector decides whether a connection is written. final is true when no
// more packets will come to change its mind; Undecided then means Skip.
type Selector func(c *reassembly.Conn, final bool) Decision

// ErrExists is returned when an output file already exists and Force is off.
var ErrExists = errors.New("output file exists (use --force to overwrite)")

// Options configures a Splitter.
type Options struct {
	Dir        string              // output directory; "" is the current one
	Prefix     string              // file name prefix, normally the input's base name
	Format     reassembly.Format   // pcap or pcapng
	LinkType   reassembly.LinkType // pcap output: the link type of the input
	Snaplen    uint32              // pcap output: the snaplen of the input
	Nanosecond bool                // pcap output: nanosecond timestamps
	Comments   []string            // pcapng output: the section header's comments, as the input's
	Force      bool                // overwrite existing outputs
	MaxOpen    int                 // files open at once; default 1000
	Writers    int                 // goroutines writing files; default 2, at most MaxOpen
	MaxPending int                 // packets buffered per undecided connection; default 64
	Select     Selector            // nil takes every connection
	Inputs     []string            // input names, for the index
}

// File describes one written capture.
type File struct {
	Name        string    `json:"file"`
	Stream      int       `json:"stream"`
	Client      string    `json:"client"`
	Server      string    `json:"server"`
	Packets     int       `json:"packets"`
	Frames      []int     `json:"frames"`                 // in the index; nil in what Finish returns
	InputFrames []string  `json:"input_frames,omitempty"` // "input:frame" when several inputs were read; in the index only
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
}

// Splitter writes connections to files. Use New, Add for every tracked
// packet, then Finish (or Abort).
type Splitter struct {
	opts  Options
	outs  []*output // by stream
	multi bool

	writers []*fileWriter // output i goes to writers[stream % len]
	pool    *blockPool
	wg      sync.WaitGroup
	stopped bool
	held    int                 // bytes gathered in outputs and not yet handed to a writer
	closing []closingEntry      // closed connections waiting for their last ACK, oldest first
	synOnly reassembly.SYNQueue // connections that began with their client's SYN, until given up on (giveUp)
	adds    int                 // packets offered, for the periodic look at closing
	gather  gatherLimits
	scratch []byte // a record's header and trailer, before they are gathered
	skipped output // stands for every skipped connection once retired
	// kept holds each output retired after it took its connection,
	// encoded (see appendKept): what the index and a late packet need of
	// it, in a sixth of the bytes, with no pointers for the collector to
	// follow. keptAt, by stream, is 1 + the index of its record there.
	kept    recstore.Store
	keptAt  []int32
	keptOut output // stands for every output in kept
	rec     []byte // a record for kept, being encoded
	// forget, set by Tracker, lets the tracker drop a connection the
	// splitter is done with.
	forget func(c *reassembly.Conn)
}

// gatherLimits are pieceSize, minPiece and heldBudget; tests shrink them.
type gatherLimits struct{ piece, minPiece, held int }

// An output gathers its records in memory and hands them to its writer in
// pieces: normally the whole file at once when the connection closes, or
// a piece of pieceSize when the connection is long. When the outputs
// together hold more than heldBudget, any output with minPiece gathered
// hands it over, so memory stays bounded however many connections are open.
// Gathering, rather than a bufio.Writer on an open file, means one open,
// one write and one close for most files, done off the reading goroutine.
const (
	pieceSize   = 256 << 10
	minPiece    = 16 << 10
	heldBudget  = 32 << 20
	queuePieces = 32 // pieces queued per writer before the reader waits
)

type ifaceKey struct{ input, section, iface int }

// origins are the input and the frame number there of each packet of an
// output, when several inputs are read as one capture.
type origins struct{ inputs, frames deltas }

// inputFrameNames returns each packet's input and frame number there as
// "input:frame", nil when there are none: formatted only when the index is
// written, not per packet.
func inputFrameNames(from *origins) []string {
	if from == nil || from.inputs.len() == 0 {
		return nil
	}
	in, fr := from.inputs.ints(), from.frames.ints()
	out := make([]string, len(in))
	for i := range in {
		out[i] = strconv.Itoa(in[i]) + ":" + strconv.Itoa(fr[i])
	}
	return out
}

// A closingEntry is a closed connection in the closing list, with the
// capture time it joined (or last rejoined) the list.
type closingEntry struct {
	o  *output
	at time.Time
}

type pendingPacket struct {
	pkt reassembly.Packet // detached: its own Data and Comments
}

type output struct {
	conn     *reassembly.Conn // nil once retired
	retired  retiredConn      // what is kept of conn once it is retired
	decision Decision
	pending  []pendingPacket
	started  bool // its file header gathered
	// firstClient says the first packet's sender was the client when the
	// file was started: its .part name follows the roles as they were
	// then, which the server's greeting may turn later (a capture begun
	// mid-stream).
	firstClient bool
	created     bool   // a piece creating the file has been handed over
	writing     bool   // the writer holds the file open: a later piece must say last
	closing     bool   // waiting in Splitter.closing; cleared when written
	buf         blocks // records not yet handed to the writer
	ifaces      map[ifaceKey]uint32
	frames      deltas   // of its packets, in the order written
	from        *origins // with several inputs: where each packet came from
	first       time.Time
	last        time.Time
}

// retiredConn is what an output keeps of its connection once the tracker
// may forget it: its stream number and endpoints, as they were at the end.
type retiredConn struct {
	stream         int
	client, server netip.AddrPort
	side0Client    bool // the connection's first packet came from the client
}

// identity returns the connection's stream, client and server, and
// whether its first packet came from the client, as they are now.
func (o *output) identity() retiredConn {
	if o.conn == nil {
		return o.retired
	}
	return retiredConn{o.conn.Stream, o.conn.Client(), o.conn.Server(),
		o.conn.DirectionOfSide(0) == reassembly.ClientToServer}
}

// New checks the output directory and returns a Splitter. Unless Force is
// set, it refuses when files of an earlier split with the same prefix are
// there, before anything is written.
func New(opts Options) (*Splitter, error) {
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 1000
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 64
	}
	if opts.Writers <= 0 {
		opts.Writers = 2
	}
	// Each writer keeps at least one file open: no more writers than files.
	opts.Writers = min(opts.Writers, opts.MaxOpen)
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.Prefix == "" || opts.Prefix == "." || opts.Prefix == ".." || strings.ContainsAny(opts.Prefix, `/\`) {
		return nil, fmt.Errorf("prefix %q: want a file name, not a path (the directory is -o)", opts.Prefix)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	s := &Splitter{opts: opts}
	names, err := dirNames(opts.Dir)
	if err != nil {
		return nil, err
	}
	var ours []string
	for name := range names {
		if s.isOutputName(name) {
			ours = append(ours, filepath.Join(opts.Dir, name))
		}
	}
	if err := s.mayReplace(ours...); err != nil {
		return nil, err
	}
	// Files are created exclusively, never through a link: what an
	// unfinished split left under a .part name goes first (Force).
	for _, path := range ours {
		if strings.HasSuffix(path, ".part") {
			if err := os.Remove(path); err != nil {
				return nil, err
			}
		}
	}
	s.multi, s.pool = len(opts.Inputs) > 1, new(blockPool)
	s.scratch, s.gather = make([]byte, 0, 64), gatherLimits{pieceSize, minPiece, heldBudget}
	dirLock := new(sync.Mutex)
	for range opts.Writers {
		w := newFileWriter(s.pool, dirLock, opts.MaxOpen/opts.Writers, queuePieces)
		s.writers = append(s.writers, w)
		s.wg.Add(1)
		go w.run(&s.wg)
	}
	return s, nil
}

// Add offers one packet of connection c.
func (s *Splitter) Add(c *reassembly.Conn, p *reassembly.Packet) error {
	if s.adds++; s.adds%1024 == 0 && len(s.closing) > 0 {
		if err := s.flushClosing(p.Timestamp); err != nil {
			return err
		}
	}
	for len(s.outs) <= c.Stream {
		s.outs = append(s.outs, nil)
	}
	if err := s.synOnly.GiveUp(p.Timestamp, p.Frame, s.tracking, s.giveUp); err != nil {
		return err
	}
	o := s.outs[c.Stream]
	if o == nil {
		o = &output{conn: c}
		s.outs[c.Stream] = o
		if c.OnlySYNs() && c.SYNSeen(reassembly.ClientToServer) {
			s.synOnly.Add(c)
		}
	}
	if o.decision == Undecided {
		o.decision = s.decide(c, false)
	}
	switch o.decision {
	case Skip:
		if c.Finished() {
			s.retire(o)
		}
		return nil
	case Undecided:
		if len(o.pending) < s.opts.MaxPending {
			pp := pendingPacket{pkt: *p}
			pp.pkt.Detach()
			o.pending = append(o.pending, pp)
			return nil
		}
		o.decision = s.decide(c, true)
		if o.decision != Take {
			o.decision, o.pending = Skip, nil
			return nil
		}
	}
	if err := s.flushPending(o); err != nil {
		return err
	}
	return s.write(o, p)
}

// tracking reports whether c's output is still its live one: not retired.
func (s *Splitter) tracking(c *reassembly.Conn) bool {
	o := s.outs[c.Stream]
	return o != nil && o.conn == c
}

// giveUp writes the file of a connection whose SYNs were abandoned (see
// reassembly.Conn.Abandoned), as analyze finishes it, and lets the
// tracker forget it: a port scan or a SYN flood then holds memory for the
// connections of the last few minutes only, not for all it ever opened.
// An answer that comes after all is a late packet, appended to the file
// (AddLate).
func (s *Splitter) giveUp(c *reassembly.Conn) error {
	o := s.outs[c.Stream]
	if o.decision == Undecided {
		o.decision = s.decide(c, true)
	}
	if o.decision != Take {
		o.decision, o.pending = Skip, nil
		s.retire(o)
		return nil
	}
	if err := s.flushPending(o); err != nil {
		return err
	}
	if err := s.flush(o, true); err != nil {
		return err
	}
	s.retire(o)
	return nil
}

func (s *Splitter) decide(c *reassembly.Conn, final bool) Decision {
	if s.opts.Select == nil {
		return Take
	}
	d := s.opts.Select(c, final)
	if final && d == Undecided {
		return Skip
	}
	return d
}

func (s *Splitter) flushPending(o *output) error {
	for i := range o.pending {
		if err := s.write(o, &o.pending[i].pkt); err != nil {
			return err
		}
	}
	o.pending = nil
	return nil
}

// Tracker returns the connection tracker to walk the input with (opts
// with its Late hook set): it forgets each connection the splitter is done
// with (closed, and its file written or the connection skipped), so that
// memory follows the connections open at once, and hands the splitter the
// late packets of those it forgot (AddLate). Without it, every connection
// is tracked to the end.
func (s *Splitter) Tracker(opts reassembly.TrackerOptions) *reassembly.Tracker {
	opts.Late = func(stream int, _ *reassembly.Segment, p *reassembly.Packet) error { return s.AddLate(stream, p) }
	t := reassembly.NewTracker(opts)
	s.forget = t.Forget
	return t
}

// AddLate offers a late packet of a connection the tracker has forgotten
// (see Tracker): it is appended to that connection's file, if it has one.
func (s *Splitter) AddLate(stream int, p *reassembly.Packet) error {
	if stream < 0 || stream >= len(s.outs) {
		return nil
	}
	if s.outs[stream] != &s.keptOut {
		return nil
	}
	o := s.keptOutput(stream, new(output), true)
	if err := s.gatherPacket(o, p); err != nil {
		return err
	}
	if err := s.flush(o, true); err != nil {
		return err
	}
	s.keep(o)
	return nil
}

// retire lets go of o's connection once o takes no packets but late ones:
// o keeps what the index needs, and the tracker may drop the rest.
func (s *Splitter) retire(o *output) {
	if s.forget == nil || o.conn == nil {
		return
	}
	c := o.conn
	if c.Role < reassembly.RolePort &&
		(len(c.Head(reassembly.ClientToServer)) == 0 || len(c.Head(reassembly.ServerToClient)) == 0) {
		// Its roles rest on a guess that a side's first bytes, coming
		// late (a greeting resent), may still turn: it stays tracked.
		return
	}
	if o.decision == Skip {
		s.skipped.decision = Skip
		s.outs[c.Stream] = &s.skipped
	} else {
		s.keep(o)
	}
	s.forget(c)
}

// keep puts what is left of a retired output, which took its connection,
// into kept, in the place of its earlier record if it has one, and lets
// the output go.
func (s *Splitter) keep(o *output) {
	o.retired, o.conn = o.identity(), nil
	stream := o.retired.stream
	s.rec = s.appendKept(s.rec[:0], o)
	for len(s.keptAt) <= stream {
		s.keptAt = append(s.keptAt, 0)
	}
	if i := s.keptAt[stream]; i > 0 {
		s.kept.Replace(int(i-1), s.rec)
	} else {
		s.keptAt[stream] = int32(s.kept.Add(stream, s.rec) + 1)
	}
	s.keptOut.decision = Take
	s.outs[stream] = &s.keptOut
}

// appendKept encodes a retired output: its roles, whether origins follow
// the frame numbers, its endpoints, first and
// last times, frame numbers, origins and (pcapng) interfaces. The rest
// of an output is the same for every retired one: its file started,
// created and closed, nothing gathered, nothing pending, taken.
func (s *Splitter) appendKept(b []byte, o *output) []byte {
	hasOrigins := o.from != nil
	b = recstore.AppendBits(b, &o.retired.side0Client, &o.firstClient, &hasOrigins)
	b = appendAddrPort(b, o.retired.client)
	b = appendAddrPort(b, o.retired.server)
	b = recstore.AppendTime(b, o.first)
	b = recstore.AppendTimeAfter(b, o.last, o.first)
	b = o.frames.appendTo(b)
	if o.from != nil {
		b = o.from.frames.appendTo(o.from.inputs.appendTo(b))
	}
	if s.opts.Format == reassembly.FormatPcapNG {
		keys := make([]ifaceKey, len(o.ifaces))
		for k, id := range o.ifaces {
			keys[id] = k
		}
		b = recstore.AppendUint(b, uint64(len(keys)))
		for _, k := range keys {
			b = recstore.AppendInt(b, int64(k.input))
			b = recstore.AppendInt(b, int64(k.section))
			b = recstore.AppendInt(b, int64(k.iface))
		}
	}
	return b
}

// keptOutput decodes the retired output of stream from kept into o and
// returns it. Its frame numbers are the store's own bytes: appending
// to them copies. Its interfaces are decoded only when late says a late
// packet is to be gathered.
func (s *Splitter) keptOutput(stream int, o *output, late bool) *output {
	r := recstore.NewReader(s.kept.Record(int(s.keptAt[stream] - 1)))
	*o = output{decision: Take, started: true, created: true}
	var hasOrigins bool
	o.retired.stream = stream
	r.Bits(&o.retired.side0Client, &o.firstClient, &hasOrigins)
	o.retired.client, o.retired.server = readAddrPort(&r), readAddrPort(&r)
	o.first = r.Time()
	o.last = r.TimeAfter(o.first)
	o.frames = readDeltas(&r)
	if hasOrigins {
		o.from = &origins{inputs: readDeltas(&r)}
		o.from.frames = readDeltas(&r)
	}
	if late && s.opts.Format == reassembly.FormatPcapNG {
		n := int(r.Uint())
		o.ifaces = make(map[ifaceKey]uint32, n)
		for id := range n {
			k := ifaceKey{input: int(r.Int()), section: int(r.Int()), iface: int(r.Int())}
			o.ifaces[k] = uint32(id)
		}
	}
	return o
}

// outputAt returns the output of stream: the live one, or the retired
// one decoded into scratch. nil when stream has no output that took its
// connection and started a file.
func (s *Splitter) outputAt(stream int, scratch *output) *output {
	o := s.outs[stream]
	switch {
	case o == &s.keptOut:
		return s.keptOutput(stream, scratch, false)
	case o == nil || !o.started:
		return nil
	}
	return o
}

// appendAddrPort appends ap as its binary form after its length.
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	var buf [32]byte
	bin, _ := ap.AppendBinary(buf[:0]) // never fails
	return recstore.AppendBytes(b, bin)
}

// readAddrPort reads what appendAddrPort wrote.
func readAddrPort(r *recstore.Reader) netip.AddrPort {
	var ap netip.AddrPort
	ap.UnmarshalBinary(r.Bytes()) // what AppendBinary wrote
	return ap
}

// gatherPacket gathers p's record, and those of the other fragments of its
// datagram, for o's file.
func (s *Splitter) gatherPacket(o *output, p *reassembly.Packet) error {
	before := o.buf.size
	if !o.started {
		s.start(o)
	}
	// The other fragments of a datagram reassembled in p's frame go first.
	for i := range p.Fragments {
		if err := s.record(o, &p.Fragments[i]); err != nil {
			return err
		}
	}
	if err := s.record(o, p); err != nil {
		return err
	}
	s.held += o.buf.size - before
	return nil
}

func (s *Splitter) write(o *output, p *reassembly.Packet) error {
	if err := s.gatherPacket(o, p); err != nil {
		return err
	}
	g := s.gather
	switch {
	case o.conn.LastFrame != p.Frame:
		// an older packet offered late: gather it with the rest
	case o.conn.Finished():
		// Most likely the connection's last packet (the ACK of the second
		// FIN, or a RST): write and close its file, with one open. A
		// straggler after it reopens the file and appends. Its entry in
		// the closing list, if any, is dropped when it reaches the front.
		o.closing = false
		if err := s.flush(o, true); err != nil {
			return err
		}
		s.retire(o)
		return nil
	case o.conn.Closed() && !o.closing:
		// Both FINs: the last ACK should follow. Until it does, the file
		// waits in the closing list, written when memory runs short or
		// when no ACK came for closingWait of capture time.
		o.closing = true
		s.closing = append(s.closing, closingEntry{o, p.Timestamp})
	}
	if s.held > g.held && len(s.closing) > 0 {
		if err := s.flushClosing(time.Time{}); err != nil {
			return err
		}
	}
	if o.buf.size >= g.piece || (s.held > g.held && o.buf.size >= g.minPiece) {
		return s.flush(o, false)
	}
	return nil
}

// record gathers p's record for o's file.
func (s *Splitter) record(o *output, p *reassembly.Packet) error {
	if o.frames.len() == 0 {
		o.first = p.Timestamp
	}
	o.last = p.Timestamp
	o.frames.add(p.Frame)
	if s.multi {
		if o.from == nil {
			o.from = new(origins)
		}
		o.from.inputs.add(p.Input)
		o.from.frames.add(p.FileFrame)
	}
	switch s.opts.Format {
	case reassembly.FormatPcapNG:
		k := ifaceKey{p.Input, p.Section, p.Interface}
		id, ok := o.ifaces[k]
		if !ok {
			id = uint32(len(o.ifaces))
			o.buf.write(s.pool, appendNgInterface(s.scratch[:0], p.LinkType, p.Snaplen))
			o.ifaces[k] = id
		}
		o.buf.write(s.pool, appendNgPacketHeader(s.scratch[:0], id, p))
		o.buf.write(s.pool, p.Data)
		o.buf.write(s.pool, appendNgPacketTrailer(s.scratch[:0], p))
	default:
		if p.LinkType != s.opts.LinkType {
			return fmt.Errorf("frame %d has link type %s but the pcap output %s has %s: split to pcapng instead",
				p.Frame, p.LinkType, s.partPath(o), s.opts.LinkType)
		}
		o.buf.write(s.pool, appendPcapRecordHeader(s.scratch[:0], p, s.opts.Nanosecond))
		o.buf.write(s.pool, p.Data)
	}
	return nil
}

// closingWait is how long, in capture time, a closed connection's file
// waits for the connection's last ACK before it is written and closed.
const closingWait = 5 * time.Second

// flushClosing writes and closes the files of the closed connections
// waiting in the closing list: all of them with a zero now, else those
// whose last packet is closingWait older than now. The list is in the
// order connections joined it, so only its front is looked at: the cost
// does not grow with the number of connections waiting.
func (s *Splitter) flushClosing(now time.Time) error {
	list := s.closing
	s.closing = nil
	if now.IsZero() {
		for _, e := range list {
			if e.o.closing {
				e.o.closing = false
				if err := s.flush(e.o, true); err != nil {
					return err
				}
				s.retire(e.o)
			}
		}
		return nil
	}
	// Each entry, front first, is dropped (written since it joined),
	// written (closingWait passed with no packet), or put back: at the end
	// when its wait must start again, else with the rest, where the walk
	// stops at the first that has not waited long enough.
	var again []closingEntry
	rest := list[len(list):]
walk:
	for i, e := range list {
		list[i] = closingEntry{} // let the output go once it is written
		switch {
		case !e.o.closing:
			// written since it joined: it finished, or joined twice
		case now.Before(e.at):
			// Stamped ahead of now (the capture's clock stepped back):
			// it waits again from now, behind the others, not in front.
			again = append(again, closingEntry{e.o, now})
		case now.Sub(e.at) < closingWait:
			list[i] = e
			rest = list[i:]
			break walk
		case now.Sub(e.o.last) < closingWait:
			// Packets came after it closed: it waits again from the last.
			again = append(again, closingEntry{e.o, e.o.last})
		default:
			e.o.closing = false
			if err := s.flush(e.o, true); err != nil {
				return err
			}
			s.retire(e.o)
		}
	}
	s.closing = append(rest, again...)
	return nil
}

// flush hands o's gathered records to its writer. last says the
// connection has closed, so the writer closes the file after writing.
func (s *Splitter) flush(o *output, last bool) error {
	if o.buf.size == 0 && !(last && o.writing) {
		return nil
	}
	if err := s.writerErr(); err != nil {
		return err
	}
	p := piece{path: s.partPath(o), data: o.buf.list, create: !o.created, last: last}
	o.created, o.writing = true, !last
	s.held -= o.buf.size
	o.buf = blocks{}
	s.writers[o.identity().stream%len(s.writers)].pieces <- p
	return nil
}

// writerErr returns the first failure of any writer.
func (s *Splitter) writerErr() error {
	for _, w := range s.writers {
		if err := w.failed(); err != nil {
			return err
		}
	}
	return nil
}

// stopWriters lets the writers finish what they were given, and waits.
func (s *Splitter) stopWriters() error {
	if !s.stopped {
		s.stopped = true
		for _, w := range s.writers {
			close(w.pieces)
		}
		s.wg.Wait()
	}
	return s.writerErr()
}

// start gathers o's file header.
func (s *Splitter) start(o *output) {
	o.started = true
	o.firstClient = o.conn.DirectionOfSide(0) == reassembly.ClientToServer
	if s.opts.Format == reassembly.FormatPcapNG {
		o.ifaces = make(map[ifaceKey]uint32)
		o.buf.write(s.pool, appendNgSection(s.scratch[:0], s.opts.Comments))
	} else {
		o.buf.write(s.pool, appendPcapHeader(s.scratch[:0], s.opts.LinkType, s.opts.Snaplen, s.opts.Nanosecond))
	}
}

// partPath returns the name o's file is written under until the split is
// complete, with the connection's roles as they were when the file was
// started. It is built again when needed rather than kept: a split keeps
// every output to the end.
func (s *Splitter) partPath(o *output) string {
	id := o.identity()
	client, server := id.client, id.server
	if id.side0Client != o.firstClient {
		client, server = server, client
	}
	return filepath.Join(s.opts.Dir, s.name(id.stream, client, server, 0)+".part")
}

// fileName builds the name of an output, with its connection's roles as
// they are now.
func (s *Splitter) fileName(o *output, width int) string {
	id := o.identity()
	return s.name(id.stream, id.client, id.server, width)
}

// name builds an output's name. The stream number is zero-padded to
// width so that names sort in stream order; IPv6 colons become
// underscores so the name is valid on every file system.
func (s *Splitter) name(stream int, client, server netip.AddrPort, width int) string {
	ext := ".pcap"
	if s.opts.Format == reassembly.FormatPcapNG {
		ext = ".pcapng"
	}
	b := make([]byte, 0, len(s.opts.Prefix)+80)
	b = append(b, s.opts.Prefix...)
	b = append(b, ".s"...)
	number := strconv.Itoa(stream)
	for i := len(number); i < width; i++ {
		b = append(b, '0')
	}
	b = append(b, number...)
	b = appendEndpointName(append(b, '.'), client)
	b = appendEndpointName(append(b, '.'), server)
	return string(append(b, ext...))
}

// appendEndpointName appends an address and port as "192.0.2.1-25", an
// IPv6 address with its colons as underscores.
func appendEndpointName(b []byte, ap netip.AddrPort) []byte {
	start := len(b)
	b = ap.Addr().WithZone("").Unmap().AppendTo(b)
	for i := start; i < len(b); i++ {
		if b[i] == ':' {
			b[i] = '_'
		}
	}
	b = append(b, '-')
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

// Finish decides the connections still undecided, closes every file,
// renames them to their final names and writes the index. inputErrs are the
// faults met while reading; the index records them so nobody takes a split
// of a damaged capture for a complete one. The Files returned leave out
// Frames and InputFrames, which the index lists: spelled out as ints for
// every file at once, they would take eight bytes for each packet split.
func (s *Splitter) Finish(inputErrs []error) ([]File, string, error) {
	for _, o := range s.outs {
		if o == nil || o.decision != Undecided {
			continue
		}
		o.decision = s.decide(o.conn, true)
		if o.decision == Take {
			if err := s.flushPending(o); err != nil {
				s.Abort()
				return nil, "", err
			}
		}
		o.pending = nil
	}
	for _, o := range s.outs {
		if o == nil || !o.started {
			continue
		}
		if err := s.flush(o, true); err != nil {
			s.Abort()
			return nil, "", err
		}
	}
	if err := s.stopWriters(); err != nil {
		s.Abort()
		return nil, "", err
	}
	maxStream := 0
	for stream, o := range s.outs {
		if o == &s.keptOut || o != nil && o.started {
			maxStream = stream
		}
	}
	width := max(4, len(fmt.Sprint(maxStream)))
	existing, err := dirNames(s.opts.Dir)
	if err != nil {
		s.Abort()
		return nil, "", err
	}
	// Every check comes before the first rename; the renames, the longest
	// part of finishing on most file systems (each one a lookup and an
	// insert in a directory of as many entries as connections), then start
	// while the index's entries are built and encoded.
	// Names are built again where they are needed, not kept: with many
	// connections they would take more memory than the outputs.
	var written []int // their streams
	var scratch output
	for stream := range s.outs {
		o := s.outputAt(stream, &scratch)
		if o == nil {
			continue
		}
		if name := s.fileName(o, width); existing[name] {
			if err := s.mayReplace(filepath.Join(s.opts.Dir, name)); err != nil {
				s.Abort()
				return nil, "", err
			}
		}
		written = append(written, stream)
	}
	idx := indexPath(s.opts)
	if existing[filepath.Base(idx)] {
		if err := s.mayReplace(idx); err != nil {
			s.Abort()
			return nil, "", err
		}
	}
	renamed := make(chan error, 1)
	go func() { renamed <- s.renameAll(written, width) }()
	// Each file's entry, frame numbers spelled out, is built only while it
	// is encoded: as ints, all of them together would take eight bytes a
	// packet. The index gets its name only once every file has its own.
	entry := func(i int, f *File) {
		o := s.outputAt(written[i], &scratch)
		*f = s.fileEntry(o, width)
		f.Frames, f.InputFrames = o.frames.ints(), inputFrameNames(o.from)
	}
	err = writeIndex(idx, s.opts.Inputs, len(written), entry, inputErrs, func() error { return <-renamed })
	// The list returned replaces the outputs, each let go once listed.
	files := make([]File, len(written))
	for i, stream := range written {
		files[i] = s.fileEntry(s.outputAt(stream, &scratch), width)
		s.outs[stream] = nil
	}
	s.outs, s.kept, s.keptAt = nil, recstore.Store{}, nil
	if err != nil {
		return files, "", err
	}
	return files, idx, nil
}

// fileEntry returns o's entry in the index, without its frame numbers.
func (s *Splitter) fileEntry(o *output, width int) File {
	id := o.identity()
	return File{
		Name: s.name(id.stream, id.client, id.server, width), Stream: id.stream,
		Client: id.client.String(), Server: id.server.String(),
		Packets: o.frames.len(), First: o.first, Last: o.last,
	}
}

// renameAll renames the file of each written stream from its .part name to
// its final name in the output directory, stopping at the first failure.
// One goroutine: renames in one directory serialize in the kernel.
func (s *Splitter) renameAll(written []int, width int) error {
	var scratch output
	for _, stream := range written {
		o := s.outputAt(stream, &scratch)
		from, to := s.partPath(o), filepath.Join(s.opts.Dir, s.fileName(o, width))
		// syscall.Rename, not os.Rename, which first stats the new name
		// to refuse a directory; the names were checked against the
		// directory's listing already.
		if err := syscall.Rename(from, to); err != nil {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
		}
	}
	return nil
}

// dirNames returns the names in dir, read once rather than one stat per
// output file.
func dirNames(dir string) (map[string]bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set, nil
}

// Abort stops the writers and removes every partial file.
func (s *Splitter) Abort() {
	s.stopWriters()
	var scratch output
	for stream, o := range s.outs {
		if o == &s.keptOut {
			o = s.keptOutput(stream, &scratch, false)
		}
		if o != nil && o.created {
			os.Remove(s.partPath(o))
		}
	}
}

func indexPath(opts Options) string {
	return filepath.Join(opts.Dir, opts.Prefix+".index.json")
}

// Index is the JSON document written beside the split files.
type Index struct {
	Schema   string   `json:"schema"`
	Inputs   []string `json:"inputs"`
	Complete bool     `json:"complete"`
	Errors   []string `json:"errors,omitempty"`
	Files    []File   `json:"files"`
}

// IndexSchema names the version of the index format.
const IndexSchema = "smtpcap-split/1"

// writeIndex writes the index under a .part name and renames it. The
// document is indented, with each file on one line of its own, so that it
// reads well and a line-oriented tool can grep a stream or a frame; it is
// written as it is encoded, never held whole in memory. entry fills in
// the i-th of n files' entry, frame numbers and all, just before it is
// encoded. Before the index is renamed, ready is called; its error leaves
// the index unnamed.
func writeIndex(path string, inputs []string, n int, entry func(i int, f *File), inputErrs []error, ready func() error) (err error) {
	idx := Index{Schema: IndexSchema, Inputs: inputs, Complete: len(inputErrs) == 0}
	if idx.Inputs == nil {
		idx.Inputs = []string{}
	}
	for _, err := range inputErrs {
		idx.Errors = append(idx.Errors, err.Error())
	}
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		ready()
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if rerr := ready(); rerr != nil {
			err = rerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		} else {
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 256<<10)
	field := func(name string, v any, comma bool) {
		b, _ := json.Marshal(v) // strings, bools and Files always encode
		fmt.Fprintf(w, "  %q: %s", name, b)
		if comma {
			w.WriteString(",")
		}
		w.WriteString("\n")
	}
	w.WriteString("{\n")
	field("schema", idx.Schema, true)
	field("inputs", idx.Inputs, true)
	field("complete", idx.Complete, true)
	if len(idx.Errors) > 0 {
		field("errors", idx.Errors, true)
	}
	w.WriteString(`  "files": [`)
	var file File
	for i := range n {
		if i > 0 {
			w.WriteString(",")
		}
		entry(i, &file)
		b, err := json.Marshal(&file)
		if err != nil {
			return err
		}
		w.WriteString("\n    ")
		w.Write(b)
	}
	if n > 0 {
		w.WriteString("\n  ")
	}
	w.WriteString("]\n}\n")
	return w.Flush()
}

// ErrInput is returned when an output would replace one of the inputs.
var ErrInput = errors.New("is an input of this split: choose another output directory (-o) or --prefix")

// isOutputName reports whether name is one a split with this prefix
// writes: PREFIX.sNNNN….pcap or .pcapng, or PREFIX.index.json, or one of
// those with .part, as a split that did not finish leaves them.
func (s *Splitter) isOutputName(name string) bool {
	name = strings.TrimSuffix(name, ".part")
	if name == s.opts.Prefix+".index.json" {
		return true
	}
	rest, ok := strings.CutPrefix(name, s.opts.Prefix+".s")
	if !ok || !strings.HasSuffix(rest, ".pcap") && !strings.HasSuffix(rest, ".pcapng") {
		return false
	}
	digits, pair, _ := strings.Cut(rest, ".")
	pair = strings.TrimSuffix(strings.TrimSuffix(pair, ".pcap"), ".pcapng")
	return digits != "" && strings.Trim(digits, "0123456789") == "" && endpointPair(pair)
}

// endpointPair reports whether s is two endpoint names joined by a dot,
// as fileName writes them: "192.0.2.1-4000.192.0.2.2-25". Another
// split's prefix that starts like this one's ("A.s1" beside "A") then
// does not pass for its outputs.
func endpointPair(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' && isEndpointName(s[:i]) && isEndpointName(s[i+1:]) {
			return true
		}
	}
	return false
}

// isEndpointName reports whether s is an address and port as endpointName
// writes them.
func isEndpointName(s string) bool {
	i := strings.LastIndexByte(s, '-')
	if i < 0 || i == len(s)-1 || strings.Trim(s[i+1:], "0123456789") != "" {
		return false
	}
	_, err := netip.ParseAddr(strings.ReplaceAll(s[:i], "_", ":"))
	return err == nil
}

// mayReplace says whether the existing files at paths may be replaced:
// never when one is an input, otherwise only with Force.
func (s *Splitter) mayReplace(paths ...string) error {
	slices.Sort(paths)
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		for _, in := range s.opts.Inputs {
			if ii, err := os.Stat(in); err == nil && os.SameFile(fi, ii) {
				return fmt.Errorf("%s %w", path, ErrInput)
			}
		}
	}
	if len(paths) > 0 && !s.opts.Force {
		return fmt.Errorf("%s: %w", paths[0], ErrExists)
	}
	return nil
}

// Prefix derives an output prefix from an input name: its base name without
// the capture and compression extensions ("dump.pcap.gz" gives "dump").
func Prefix(input string) string {
	if input == "-" || input == "" {
		return "stdin"
	}
	base := filepath.Base(input)
	for _, ext := range []string{".gz", ".pcapng", ".pcap", ".cap", ".dmp"} {
		base = strings.TrimSuffix(base, ext)
	}
	if base == "" || base == "." || base == ".." {
		return "capture"
	}
	return base
}
