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
	if s.Ports != nil {
		if slices.Contains(s.Ports, c.Client().Port()) || slices.Contains(s.Ports, c.Server().Port()) {
			return Take
		}
		return Skip
	}
	// Called for every packet: no allocation here.
	if reassembly.IsDefaultServerPort(c.Client().Port()) || reassembly.IsDefaultServerPort(c.Server().Port()) {
		return Take
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

// Session is one SMTP connection: its TCP facts and byte streams, and the
// dialogue parsed from them.
type Session struct {
	Conn     *reassembly.Conn // the connection's facts when it was finished
	Dialogue *smtpparse.Dialogue
	Raw      [2][]byte // with Options.KeepBytes: each direction's bytes (gaps as zeros), by smtpparse.Direction; see RawCut
	Arrivals []Arrival // with Options.KeepBytes: every delivery in capture order
	// RawCut is, per direction, the stream offset where Raw stops short of
	// the stream because Options.MaxKeep was reached (-1: Raw is whole).
	RawCut [2]int64
	// ImplicitTLS is set when the client's first bytes are a TLS handshake
	// record (SMTPS on port 465, or TLS spoken on another port): there is
	// no SMTP dialogue in the clear to parse. The server's bytes are
	// parsed all the same when they begin with an SMTP reply line: a
	// server that expects plain SMTP answering the ClientHello in clear
	// text (Exim's "554 SMTP synchronization error").
	ImplicitTLS bool
	// ServerTLS holds the first bytes (at most 7: a TLS record's header
	// and, for an alert, its level and description) of a server that spoke
	// TLS from its first byte to a client that did not: a plain SMTP
	// client on an implicit-TLS port. The server's bytes are not parsed
	// then. Nil otherwise.
	ServerTLS []byte
	// ImplicitHandshake is what the TLS records of an ImplicitTLS session
	// show in the clear, client's and server's (by smtpparse.Direction):
	// hellos, alerts, whether the handshake finished. Nil otherwise.
	ImplicitHandshake *[2]smtpparse.TLSSide
	// Until is how far the capture had been read, in capture time, when
	// the session was finished: for a connection still open or half-closed
	// at the end, the time of the capture's last packet, so Until minus
	// the connection's last packet time is how long the capture went on
	// without a word from it.
	Until time.Time
	// Prepared is what Options.Prepare returned for this session.
	Prepared any
	// Settled is a capture time before which every selected connection
	// started has already been emitted, this one aside, but for those
	// listed in Unsettled: no session emitted after this one started
	// before it unless listed. Zero when the reader cannot say: a worker
	// has yet to emit a session, or the capture's clock went back by more
	// than a second (packets a little out of order are allowed for). It
	// holds for captures whose clock only goes forward, as tcpdump writes
	// them; a packet stamped far back later in the file can start a
	// connection before a mark already given. Consumers that keep
	// something of every session use it to let go of what only a session
	// started nearby could need.
	Settled time.Time
	// Unsettled lists the first times of connections started before
	// Settled whose sessions are still to come: connections open for more
	// than a minute (a client that left one open, a long transfer), which
	// would otherwise hold Settled back. Sorted, at most a few dozen;
	// shared between sessions, not to be changed.
	Unsettled []time.Time
	streams   [2]*reassembly.Stream
}

// Encrypted reports whether the session's SMTP went on under TLS: the
// server accepted STARTTLS and the client began TLS (or may yet: the
// capture ended first), or the client opened with a TLS hello and the
// server did not answer it in clear text (a server that expects plain
// SMTP does: then no TLS session began). In a capture begun mid-stream the
// server's clear text before the hello is the end of a STARTTLS.
func (s *Session) Encrypted() bool {
	if t := s.Dialogue.TLS; t != nil {
		return t.ClientBegan() || !t.Client.NotTLS && s.Conn.End() == reassembly.EndOpen
	}
	return s.ImplicitTLS && (len(s.Dialogue.Replies) == 0 || midStream(s.Conn))
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
func (s *Session) Stream(d smtpparse.Direction) *reassembly.Stream { return s.streams[d] }

// Frames returns the frames that carried a span's bytes.
func (s *Session) Frames(sp smtpparse.Span) []int {
	if st := s.Stream(sp.Dir); st != nil {
		return st.Frames(sp.Start, sp.End)
	}
	return nil
}

// Boundaries returns the segment boundaries inside a span.
func (s *Session) Boundaries(sp smtpparse.Span) []reassembly.Boundary {
	if st := s.Stream(sp.Dir); st != nil {
		return st.Boundaries(sp.Start, sp.End)
	}
	return nil
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
	KeepBytes bool                     // keep raw bytes and arrivals (for follow; memory grows with the streams)
	MaxKeep   int64                    // with KeepBytes: bytes kept per direction (default 256 MiB)
	Workers   int                      // goroutines that reassemble and parse (default GOMAXPROCS); results do not depend on it
	Linger    time.Duration            // capture time a closed connection waits for late packets before it is finished (default 5 s)
	Progress  func(packets, conns int) // called now and then from the reading goroutine; may be nil
	// Prepare, if set, is called on a worker goroutine for each session
	// emit will get, just before, concurrently with other sessions and
	// with emit: the work on one session that needs nothing of the
	// others. What it returns reaches emit as Session.Prepared. With
	// Recycle, what it returns must keep nothing of the session's
	// streams either.
	Prepare func(*Session) any

	// Recycle promises that emit keeps nothing of a Session's streams
	// (segment facts, frames) once it returns, so their memory goes to
	// the next connections instead of the garbage collector.
	Recycle bool
}

// feeder is the reassembly consumer that feeds one connection's parser.
type feeder struct {
	parser *smtpparse.Parser
	tls    bool // the client opened with a TLS record: its bytes are not SMTP
	// tlsByte says tls was decided from a first segment of one byte.
	tlsByte bool
	// The server's first bytes: a TLS record (kept for the Session), or,
	// when the client opened with TLS, an SMTP reply line to parse.
	serverTLS   []byte
	serverClear bool
	// handshake reads the TLS records of a session that opened with TLS.
	handshake *[2]smtpparse.TLSSide
	opts      smtpparse.Options
	mid       *bool // the worker's note of whether the connection's start was missed
	order     int64
	keep      bool
	maxKeep   int64
	raw       [2][]byte
	cut       [2]int64 // where keeping stopped, -1 while it goes on
	arr       []Arrival
}

func (f *feeder) ready() {
	if f.parser == nil {
		opts := f.opts
		opts.MidStream = *f.mid
		f.parser = smtpparse.NewParser(opts)
	}
}

func (f *feeder) record(dir smtpparse.Direction, offset int64, data []byte, n int64, gap bool, p *reassembly.Packet) {
	if !f.keep {
		return
	}
	f.arr = append(f.arr, Arrival{Dir: dir, Offset: offset, Length: n, Gap: gap, Frame: p.Frame, Time: p.Timestamp})
	if f.cut[dir] >= 0 {
		return
	}
	if int64(len(f.raw[dir]))+n > f.maxKeep {
		// Stop here rather than skip: Raw must stay aligned with stream offsets.
		f.cut[dir] = int64(len(f.raw[dir]))
		return
	}
	if gap {
		f.raw[dir] = append(f.raw[dir], make([]byte, n)...)
	} else {
		f.raw[dir] = append(f.raw[dir], data...)
	}
}

// replyStart reports whether b begins like an SMTP reply: with a digit,
// which no TLS record does.
func replyStart(b []byte) bool {
	return len(b) >= 1 && b[0] >= '0' && b[0] <= '9'
}

// clear reports whether dir's bytes are SMTP in the clear, to be parsed.
func (f *feeder) clear(dir reassembly.Direction) bool {
	if dir == reassembly.ClientToServer {
		return !f.tls
	}
	return f.serverTLS == nil && (!f.tls || f.serverClear)
}

// Data feeds in-order bytes to the parser (and keeps them with KeepBytes).
func (f *feeder) Data(dir reassembly.Direction, offset int64, data []byte, p *reassembly.Packet) {
	if offset == 0 {
		switch {
		case dir == reassembly.ClientToServer && smtpparse.LooksLikeTLSRecord(data, true):
			f.tls, f.tlsByte = true, len(data) == 1 // a TLS ClientHello where SMTP would start
		case *f.mid:
			// Begun mid-stream: the server's first bytes seen are not its
			// first, and say nothing of how the session began.
		case dir == reassembly.ServerToClient && smtpparse.LooksLikeTLSRecord(data, false):
			f.serverTLS = append([]byte(nil), data[:min(len(data), 7)]...)
		case dir == reassembly.ServerToClient:
			f.serverClear = replyStart(data)
		}
	} else if n := int64(len(f.serverTLS)); dir == reassembly.ServerToClient && n > 0 && n < 7 && offset == n {
		// The rest of the first record's header and an alert's two bytes,
		// when the first segment held less; its second byte must be 3.
		if n == 1 && data[0] != 3 {
			f.serverTLS = nil
		} else {
			f.serverTLS = append(f.serverTLS, data[:min(len(data), 7-int(n))]...)
		}
	} else if dir == reassembly.ClientToServer && offset == 1 && f.tls && f.tlsByte && data[0] != 3 {
		f.tls = false // one byte of 0x16, then no TLS version
	}
	if !f.clear(dir) {
		f.readTLS(dir, data, offset)
		f.record(smtpDirection(dir), offset, data, int64(len(data)), false, p)
		return
	}
	f.ready()
	f.order++
	f.parser.Write(smtpDirection(dir), offset, data, f.order, p.Timestamp)
	f.record(smtpDirection(dir), offset, data, int64(len(data)), false, p)
}

// readTLS reads the TLS records of a session that opened with TLS (the
// client's, and the server's unless it answered in clear text).
func (f *feeder) readTLS(dir reassembly.Direction, data []byte, offset int64) {
	if !f.tls {
		return // a server speaking TLS to a plain client: ServerTLS tells it
	}
	if f.handshake == nil {
		f.handshake = new([2]smtpparse.TLSSide)
	}
	d := smtpDirection(dir)
	f.handshake[d].Feed(d, data, offset)
}

// Gap tells the parser bytes are missing.
func (f *feeder) Gap(dir reassembly.Direction, offset, n int64, _ reassembly.GapReason, p *reassembly.Packet) {
	if !f.clear(dir) {
		if f.handshake != nil {
			f.handshake[smtpDirection(dir)].Lose()
		}
		f.record(smtpDirection(dir), offset, nil, n, true, p)
		return
	}
	f.ready()
	f.order++
	f.parser.Gap(smtpDirection(dir), offset, n, f.order, p.Timestamp)
	f.record(smtpDirection(dir), offset, nil, n, true, p)
}

// Result is what Read saw besides the sessions.
type Result struct {
	Stats   reassembly.Stats
	Tracker *reassembly.Tracker
}
