// Package session turns a capture into SMTP sessions: it picks the SMTP
// connections, reassembles their two byte streams (pkg/reassembly) and
// feeds them, interleaved as the capture saw them, to the SMTP parser
// (pkg/smtpparse). A Session holds both results, so every element of the
// dialogue can be traced back to the frames that carried it.
//
// It is the "dialogues" stage of capture → connections → dialogues →
// findings → report: it imports the two packages before it and nothing after.
package session

import (
	"slices"
	"time"

	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// Verdict says whether a connection is an SMTP connection to look at.
type Verdict uint8

// The verdicts of a Selection.
const (
	Undecided Verdict = iota // no payload seen yet
	Take
	Skip
)

// Selection says which connections are SMTP connections to look at. The
// zero value takes connections on the SMTP ports (25, 465, 587, 2525) and
// any other whose server greets with "220" or whose client starts with
// EHLO/HELO. Ports replaces that rule with a port list; All takes every
// TCP connection.
type Selection struct {
	Ports []uint16
	All   bool
}

// Decide applies the selection to a connection. final says no more
// packets will come, so Undecided is not an answer.
func (s Selection) Decide(c *reassembly.Conn, final bool) Verdict {
	if s.All {
		return Take
	}
	ports := s.Ports
	if ports == nil {
		ports = reassembly.DefaultServerPorts()
	}
	if slices.Contains(ports, c.Client().Port()) || slices.Contains(ports, c.Server().Port()) {
		return Take
	}
	if s.Ports != nil {
		return Skip
	}
	server, client := c.Head(reassembly.ServerToClient), c.Head(reassembly.ClientToServer)
	if smtpparse.LooksLikeGreeting(server) || smtpparse.LooksLikeClientStart(client) {
		return Take
	}
	if server != nil || client != nil || final {
		return Skip
	}
	return Undecided
}

// Sniff lets a tracker recognise the server of a connection seen without
// its handshake by who speaks SMTP first.
func Sniff(b []byte) (server, client bool) {
	return smtpparse.LooksLikeGreeting(b), smtpparse.LooksLikeClientStart(b)
}

// NewTracker returns a connection tracker that knows SMTP's ports and first words.
func NewTracker() *reassembly.Tracker {
	return reassembly.NewTracker(reassembly.TrackerOptions{Sniff: Sniff})
}

// Session is one SMTP connection: its TCP facts and byte streams, and the
// dialogue parsed from them.
type Session struct {
	Conn     *reassembly.Conn
	Dialogue *smtpparse.Dialogue
	Raw      [2][]byte // with Options.KeepBytes: each direction's bytes (gaps as zeros), by smtpparse.Direction
	Arrivals []Arrival // with Options.KeepBytes: every delivery in capture order
}

// Arrival is one piece of a stream as it became available.
type Arrival struct {
	Dir    smtpparse.Direction
	Offset int64
	Length int64
	Gap    bool      // the bytes were not captured
	Frame  int       // the packet being processed when they became available
	Time   time.Time // its time
}

// Stream returns the byte stream of one SMTP direction.
func (s *Session) Stream(d smtpparse.Direction) *reassembly.Stream {
	return s.Conn.ByteStream(tcpDirection(d))
}

// Frames returns the frames that carried a span's bytes.
func (s *Session) Frames(sp smtpparse.Span) []int {
	return s.Stream(sp.Dir).Frames(sp.Start, sp.End)
}

// Boundaries returns the segment boundaries inside a span.
func (s *Session) Boundaries(sp smtpparse.Span) []reassembly.Boundary {
	return s.Stream(sp.Dir).Boundaries(sp.Start, sp.End)
}

func tcpDirection(d smtpparse.Direction) reassembly.Direction {
	if d == smtpparse.ClientToServer {
		return reassembly.ClientToServer
	}
	return reassembly.ServerToClient
}

func smtpDirection(d reassembly.Direction) smtpparse.Direction {
	if d == reassembly.ClientToServer {
		return smtpparse.ClientToServer
	}
	return smtpparse.ServerToClient
}

// Options configures Read.
type Options struct {
	Selection Selection
	Stream    int // only this stream; -1 for all
	Parser    smtpparse.Options
	Limits    reassembly.Limits
	KeepBytes bool  // keep raw bytes and arrivals (for follow; memory grows with the streams)
	MaxKeep   int64 // with KeepBytes: bytes kept per direction (default 256 MiB)
}

// feeder is the reassembly consumer that feeds one connection's parser.
type feeder struct {
	conn    *reassembly.Conn
	sel     Selection
	parser  *smtpparse.Parser
	opts    smtpparse.Options
	order   int64
	skipped bool
	keep    bool
	maxKeep int64
	raw     [2][]byte
	arr     []Arrival
}

func (f *feeder) record(dir smtpparse.Direction, offset int64, data []byte, n int64, gap bool, p *reassembly.Packet) {
	if !f.keep {
		return
	}
	f.arr = append(f.arr, Arrival{Dir: dir, Offset: offset, Length: n, Gap: gap, Frame: p.Frame, Time: p.Timestamp})
	if int64(len(f.raw[dir]))+n > f.maxKeep {
		return
	}
	if gap {
		f.raw[dir] = append(f.raw[dir], make([]byte, n)...)
	} else {
		f.raw[dir] = append(f.raw[dir], data...)
	}
}

func (f *feeder) ready() bool {
	if f.skipped {
		return false
	}
	if f.parser == nil {
		switch f.sel.Decide(f.conn, false) {
		case Skip:
			f.skipped = true
			return false
		}
		opts := f.opts
		opts.MidStream = !f.conn.SYNSeen(reassembly.ClientToServer) && !f.conn.SYNSeen(reassembly.ServerToClient)
		f.parser = smtpparse.NewParser(opts)
	}
	return true
}

func (f *feeder) Data(dir reassembly.Direction, offset int64, data []byte, p *reassembly.Packet) {
	if !f.ready() {
		return
	}
	f.order++
	f.parser.Write(smtpDirection(dir), offset, data, f.order, p.Timestamp)
	f.record(smtpDirection(dir), offset, data, int64(len(data)), false, p)
}

func (f *feeder) Gap(dir reassembly.Direction, offset, n int64, _ reassembly.GapReason, p *reassembly.Packet) {
	if !f.ready() {
		return
	}
	f.order++
	f.parser.Gap(smtpDirection(dir), offset, n, f.order, p.Timestamp)
	f.record(smtpDirection(dir), offset, nil, n, true, p)
}

// Result is what Read saw besides the sessions.
type Result struct {
	Stats   reassembly.Stats
	Tracker *reassembly.Tracker
}

// Read reads the whole capture and calls emit for each selected SMTP
// connection, in stream order, once the capture has been read. It stops
// early only if emit returns an error. Faults in the capture files do not
// stop it (see Capture.Errors).
func Read(capture *reassembly.Capture, opts Options, emit func(*Session) error) (Result, error) {
	tracker := NewTracker()
	var feeders []*feeder
	asm := reassembly.NewAssembler(opts.Limits, func(c *reassembly.Conn) reassembly.Consumer {
		if opts.Stream >= 0 && c.Stream != opts.Stream {
			return nil
		}
		if opts.Selection.Decide(c, false) == Skip {
			return nil
		}
		f := &feeder{conn: c, sel: opts.Selection, opts: opts.Parser, keep: opts.KeepBytes, maxKeep: opts.MaxKeep}
		if f.maxKeep <= 0 {
			f.maxKeep = 256 << 20
		}
		feeders = append(feeders, f)
		return f
	})
	var last reassembly.Packet
	st, err := reassembly.Walk(capture, tracker, func(c *reassembly.Conn, s *reassembly.Segment, p *reassembly.Packet) error {
		asm.Add(c, s, p)
		last = *p
		last.Data = nil
		return nil
	})
	res := Result{Stats: st, Tracker: tracker}
	if err != nil {
		return res, err
	}
	asm.Finish(&last)
	for _, f := range feeders {
		if f.skipped || opts.Selection.Decide(f.conn, true) != Take {
			continue
		}
		if f.parser == nil {
			f.parser = smtpparse.NewParser(f.opts)
		}
		if err := emit(&Session{Conn: f.conn, Dialogue: f.parser.Close(), Raw: f.raw, Arrivals: f.arr}); err != nil {
			return res, err
		}
	}
	return res, nil
}
