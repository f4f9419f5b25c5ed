package findings

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"maps"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// Options tunes the detectors.
type Options struct {
	StallThreshold time.Duration // a wait longer than this is a stall (default 10 s)
	// Locate, when several capture files were read as one, names a merged
	// frame as FILE:FRAME in that file (what Wireshark shows on the file).
	// Report calls it, once the capture has been read.
	Locate func(frame int) (string, bool)
}

// detector finds one kind of problem in one session.
type detector func(b builder, opts Options) []Finding

// detectors lists every per-session detector, in the order their findings
// are reported within a stream.
func detectors() []detector {
	return []detector{
		detectConnectFailed,
		detectCaptureLoss,
		detectOneSided,
		detectMaskedCommands,
		detectMaskedEHLO,
		detectSplitCommands,
		detectMiddleboxACK,
		detectRetransmissionConflicts,
		detectLargeSegmentsLost,
		detectWindowClosed,
		detectPipelining,
		detectSyncErrors,
		detectUnanswered,
		detectRepliesWithoutCommand,
		detectMalformed,
		detectSlowGreeting,
		detectEarlyTalker,
		detectRejected,
		detectContent,
		detectSize,
		detectStalls,
		detectLostMidTransaction,
		detectAcceptedAfterLeaving,
		detectTLS,
	}
}

// Connection summarises one analysed SMTP connection for the report.
type Connection struct {
	Stream       int       `json:"stream"`
	Client       string    `json:"client"`
	Server       string    `json:"server"`
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
	Packets      int       `json:"packets"`
	End          string    `json:"end"`
	Handshake    bool      `json:"handshake"`
	Helo         string    `json:"helo,omitempty"`
	Transactions int       `json:"transactions"`
	Delivered    int       `json:"delivered"`               // transactions whose final reply was 2xx
	EnvelopeOnly int       `json:"envelope_only,omitempty"` // of the transactions, envelopes the server accepted and the client then dropped without a message (address-verification probes, callouts)
	TLS          bool      `json:"tls"`
	Findings     int       `json:"findings"`
	Worst        string    `json:"worst,omitempty"` // most severe finding's severity
	Diagnosis    string    `json:"diagnosis,omitempty"`
	// SameSessionAs is the stream of which this connection is another
	// view (seen-through-nat): its mail is that stream's, not more.
	SameSessionAs *int `json:"same_session_as,omitempty"`
	// tlsAgreed: the server accepted STARTTLS, or the client opened with
	// TLS, whether or not TLS then began (TLS says whether it did).
	tlsAgreed bool
}

// attempt is one delivery attempt, for spotting retries across connections.
type attempt struct {
	stream   int
	time     time.Time
	ok       bool
	envelope string     // of a failed attempt: the envelope's text
	frames   []int      // of a failed attempt's MAIL command
	end      time.Time  // of a failed attempt: its last reply, or the connection's last packet when none ended it
	ended    string     // how a failed attempt ended: the server's refusal, or that no final reply came
	client   netip.Addr // of a failed attempt: the client's address
	server   netip.Addr // of a failed attempt: the server's address
	code     int        // of a failed attempt: the code of the server's first refusal in it, 0 if none or a synchronization error
	unsent   bool       // of a failed attempt: it ended before any of the message was sent
	partial  bool       // of a failed attempt: the recipients deferred in a transaction that delivered to others (noteDeferred)
	message  uint64     // of a partial attempt: a hash of its Message-ID, 0 if none
	byBare   bool       // of a delivered attempt: its envelope has a Message-ID the failed ones never showed (envelopes.eachRetried)
	host     uint64     // a hash of the client's address (envelopes.hostHash), for every attempt
}

// Analyzer runs the detectors over sessions one by one and builds a Report.
type Analyzer struct {
	opts       Options
	detectors  []detector
	catalog    map[string]Entry
	conns      connStore
	findings   findStore
	envelopes  envelopes
	cuts       []factsCut
	legs       chunked[leg]
	legCmds    slab[legCommand]      // the legs' commands
	legFinds   slab[unanswered]      // the legs' unanswered-command findings
	sincePrune int                   // sessions added since the last prune
	pruneGap   int                   // how many sessions come between two prunes (sessionsPerPrune)
	seed       maphash.Seed          // for the legs' hashes
	views      map[uint64]viewSeen   // the first connection seen with each view key
	sameViews  map[uint64][]viewSeen // every connection of a view key more than one has
}

// A view key is what the views of one session seen on both sides of a NAT
// share: the client's initial sequence number and what was said (the
// dialogue's hash), in 64 bits. Two sessions sharing one by chance are
// still told apart by sameSession.

// viewSeen is a connection that could be a view of a session seen
// through NAT: its place in Analyzer.conns, its first frame and its
// server's initial sequence number, if its SYN-ACK was seen. 32 bytes:
// one is kept for each connection with a SYN until no other view of it
// can come (pruneViews).
type viewSeen struct {
	frame     int
	start     int64 // the connection's first capture time, in Unix nanoseconds
	conn      uint32
	serverISN uint32
	serverSYN bool
}

// A leg is what a connection shows of a session that a proxy may have
// relayed: a capture taken on the proxy's host holds both of its legs,
// with the same greeting and EHLO, at the same time.
//
// Every connection with a greeting and an EHLO leaves one, kept until no
// session still to come can be its other leg (pruneLegs), so it is small
// and holds no pointers (nothing for the garbage collector to trace,
// however many): hashes, not text or addresses, and its lists in the
// Analyzer's slabs (the rare near leg's unanswered findings hold theirs).
type leg struct {
	stream     int
	client     uint64 // hash of the client's address, the port left out
	server     uint64 // hash of the server's address and port
	hello      uint64 // hash of the greeting and the EHLO argument
	first      stamp
	commands   slabRun // in Analyzer.legCmds: each command the client sent, in order
	messages   uint64  // hash of the Message-IDs of the messages it carried, 0 if none
	unanswered slabRun // in Analyzer.legFinds: its unanswered-command findings whose bytes were ACKed
	conn       int     // index in Analyzer.conns
}

// stamp is a time as time.Time.Unix and Nanosecond give it: a time.Time
// holds a pointer (its location).
type stamp struct {
	sec  int64
	nsec int32
}

// stampOf returns t as a stamp.
func stampOf(t time.Time) stamp { return stamp{t.Unix(), int32(t.Nanosecond())} }

// before reports whether s is before o, as time.Time.Before does for the
// times a capture holds (the reader keeps them within 1970–2106).
func (s stamp) before(o stamp) bool { return s.sec < o.sec || s.sec == o.sec && s.nsec < o.nsec }

// time returns s as a time.Time (in the local zone: for comparing and
// subtracting only).
func (s stamp) time() time.Time { return time.Unix(s.sec, int64(s.nsec)) }

// legCommand is a command as a leg shows it: a hash of its verb and
// arguments, and the code of the reply it got (0 if none).
type legCommand struct {
	hash     uint64
	code     int
	sent     int64 // when its first byte was seen, in Unix nanoseconds
	answered int64 // when its reply's first byte was seen, 0 if none
}

// factsCut is a direction of a connection whose per-packet facts stopped
// at the segment limit.
type factsCut struct {
	stream int
	dir    smtpparse.Direction
	frame  int
	kept   int
}

// NewAnalyzer returns an analyzer.
func NewAnalyzer(opts Options) *Analyzer {
	if opts.StallThreshold <= 0 {
		opts.StallThreshold = 10 * time.Second
	}
	catalog := catalogByID()
	return &Analyzer{opts: opts, detectors: detectors(), catalog: catalog, findings: findStore{catalog: catalog},
		envelopes: newEnvelopes(), seed: maphash.MakeSeed(), views: map[uint64]viewSeen{}, pruneGap: sessionsPerPrune}
}

// Detected is what the detectors found in one session, not yet part of
// an Analyzer's report.
type Detected struct {
	found    []Finding
	conn     Connection
	dialogue uint64 // dialogueHash of the session
}

// Detect runs the detectors over one session. It reads nothing the
// Analyzer gathers, so sessions may be detected concurrently, with each
// other and with Add.
func (a *Analyzer) Detect(s *session.Session) *Detected {
	b := newBuilder(s)
	var found []Finding
	for _, d := range a.detectors {
		found = append(found, capRepeats(d(b, a.opts))...)
	}
	discountAfterLoss(s, found)
	for i := range found {
		a.complete(&found[i])
	}
	return &Detected{found: found, conn: summarize(s, found), dialogue: a.dialogueHash(s.Dialogue)}
}

// Add adds one session to the report, with what Detect found in it
// (s.Prepared), or running the detectors now when that is not there.
// Sessions may come in any order (session.Read gives them in the order
// their connections finish); Add is not safe for concurrent use.
func (a *Analyzer) Add(s *session.Session) {
	det, ok := s.Prepared.(*Detected)
	if !ok {
		det = a.Detect(s)
	}
	found := det.found
	for i := range found {
		// A transaction the capture joined after its MAIL has no envelope
		// to know its copies by.
		if f := &found[i]; (f.ID == "accepted-after-client-left" || f.awaitedReply) && f.tx != nil && f.tx.Mail != nil {
			key, _, _ := attemptKey(f.tx)
			f.envelope = maphash.String(a.envelopes.seed, key)
		}
	}
	a.noteLeg(s, found)
	for i := range found {
		// What the findings point to in the session's dialogue was for the
		// diagnosis, made already, and for the lines above and noteLeg:
		// kept, it would keep the dialogue alive to the end of the capture.
		f := &found[i]
		f.tx, f.ofEvery, f.cmds = nil, nil, nil
	}
	for i := range found {
		a.findings.add(&found[i])
	}
	a.noteView(s, det.dialogue)
	a.prune(s.Settled, s.Unsettled)
	a.conns.add(&det.conn)
	a.noteAttempts(s)
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		if st := s.Stream(dir); st != nil && st.FactsCut > 0 {
			a.cuts = append(a.cuts, factsCut{s.Conn.Stream, dir, st.FactsCut, len(st.Segments)})
		}
	}
}

// noteView remembers a connection by the sequence numbers of its two
// SYNs, and pairs it with an earlier one that has the same from other
// addresses or ports, started within natViewStart of it and overlapping
// it: one session seen on both sides of a NAT, which keeps sequence
// numbers as they are. Without a NAT two connections share both numbers
// (64 random bits) about never.
func (a *Analyzer) noteView(s *session.Session, dialogue uint64) {
	cisn, ok := s.Conn.ISN(reassembly.ClientToServer)
	if !ok {
		return
	}
	hi, lo := bits.Mul64(dialogue^uint64(cisn), 0x9e3779b97f4a7c15)
	k := hi ^ lo
	this := viewSeen{conn: uint32(a.conns.len()), frame: s.Conn.FirstFrame, start: s.Conn.FirstTime.UnixNano()}
	this.serverISN, this.serverSYN = s.Conn.ISN(reassembly.ServerToClient)
	first, ok := a.views[k]
	switch {
	case !ok:
		a.views[k] = this
	case a.sameViews[k] == nil:
		if a.sameViews == nil {
			a.sameViews = map[uint64][]viewSeen{}
		}
		a.sameViews[k] = []viewSeen{first, this}
	default:
		a.sameViews[k] = append(a.sameViews[k], this)
	}
}

// dialogueHash hashes what both sides said: the greeting, each command as
// sent and each reply, so that two views of a session compare equal only
// when they carried the same words (no device between them rewrote any,
// and neither capture lost any).
func (a *Analyzer) dialogueHash(d *smtpparse.Dialogue) uint64 {
	var h uint64
	add := func(v uint64) {
		hi, lo := bits.Mul64(h^v, 0x9e3779b97f4a7c15)
		h = hi ^ lo
	}
	reply := func(r *smtpparse.Reply) {
		if r == nil {
			add(1)
			return
		}
		add(uint64(r.Code))
		for _, l := range r.Lines {
			add(maphash.String(a.seed, l))
		}
	}
	reply(d.Greeting)
	for _, c := range d.Commands {
		add(maphash.Bytes(a.seed, c.Line))
		add(maphash.String(a.seed, c.Verb))
		add(maphash.String(a.seed, c.Args))
		reply(c.Reply)
	}
	for _, tx := range d.Transactions {
		reply(tx.FinalReply)
		reply(tx.Interrupt)
	}
	return h
}

// sameSession reports whether connections p and c, with the same client
// ISN and dialogue, are views of one session: other addresses or ports,
// the same server ISN where both saw it, started within natViewStart of
// each other and overlapping.
func sameSession(p, c *viewBrief, pv, cv viewSeen) bool {
	if p.Client == c.Client && p.Server == c.Server || pv.serverSYN && cv.serverSYN && pv.serverISN != cv.serverISN {
		return false
	}
	return !p.Last.Before(c.First) && !c.Last.Before(p.First) && c.First.Sub(p.First).Abs() <= natViewStart
}

// viewBrief is what sameSession compares of a connection, decoded once
// however many views it is compared with.
type viewBrief struct {
	Client, Server string
	First, Last    time.Time
	Stream         int
}

// natViewStart is how close together the two views of a session seen
// through NAT start: the router forwards each packet within microseconds.
const natViewStart = time.Second

// natViews turns the connections seen twice into a finding on the second
// view of each, and returns their streams, each with the first view's,
// and the client addresses seen on the second views with the first
// views' (a NAT's outside address and the host behind it).
// The second view's own findings are dropped (findings are told once, in
// the first view) and it takes no part in retry loops or proxy legs.
func (a *Analyzer) natViews() (second map[int]int, inside map[netip.Addr]netip.Addr, found []Finding) {
	if len(a.sameViews) == 0 {
		return nil, nil, nil
	}
	// Each view goes with the lowest stream among the views it is one
	// session with: decided in stream order, whatever order the sessions
	// finished in.
	groups := slices.Collect(maps.Values(a.sameViews))
	for _, g := range groups {
		slices.SortFunc(g, func(x, y viewSeen) int { return a.conns.stream(int(x.conn)) - a.conns.stream(int(y.conn)) })
	}
	slices.SortFunc(groups, func(x, y []viewSeen) int {
		return a.conns.stream(int(x[0].conn)) - a.conns.stream(int(y[0].conn))
	})
	second, inside = map[int]int{}, map[netip.Addr]netip.Addr{}
	var near []int
	for _, g := range groups {
		// The views of a group by start time, so that each view looks
		// only at those started within natViewStart of it: a group can
		// be large (connections that said nothing, from a client that
		// reuses its initial sequence number), the views of one session
		// are not.
		byStart := make([]int, len(g))
		for j := range byStart {
			byStart[j] = j
		}
		slices.SortFunc(byStart, func(x, y int) int { return cmp.Compare(g[x].start, g[y].start) })
		briefs := make([]*viewBrief, len(g))
		brief := func(k int) *viewBrief {
			if briefs[k] == nil {
				c := a.conns.get(int(g[k].conn))
				briefs[k] = &viewBrief{c.Client, c.Server, c.First, c.Last, c.Stream}
			}
			return briefs[k]
		}
		for j, view := range g {
			lo, _ := slices.BinarySearchFunc(byStart, view.start-int64(natViewStart), func(k int, t int64) int { return cmp.Compare(g[k].start, t) })
			near = near[:0]
			for _, k := range byStart[lo:] {
				if g[k].start > view.start+int64(natViewStart) {
					break
				}
				if k < j {
					near = append(near, k)
				}
			}
			if len(near) == 0 {
				continue
			}
			slices.Sort(near) // the lowest stream first, as the group is sorted
			for _, k := range near {
				f := g[k]
				if _, told := second[brief(k).Stream]; told || !sameSession(brief(k), brief(j), f, view) {
					continue // a view told in another is no view to tell this one in
				}
				first, other := a.conns.get(int(f.conn)), a.conns.get(int(view.conn))
				second[other.Stream] = first.Stream
				if out, err := netip.ParseAddrPort(other.Client); err == nil {
					if in, err := netip.ParseAddrPort(first.Client); err == nil && out.Addr() != in.Addr() {
						if was, ok := inside[out.Addr()]; ok && was != in.Addr() {
							in = netip.AddrPort{} // a NAT for several hosts: none of them
						}
						inside[out.Addr()] = in.Addr()
					}
				}
				fd := Finding{
					ID: "seen-through-nat", Severity: Info, Stream: other.Stream, Streams: []int{first.Stream, other.Stream},
					Phase: PhaseConnection, Frames: []int{f.frame, view.frame}, Offset: -1, Time: other.First,
					Summary: fmt.Sprintf("the same TCP session as stream %d, seen on the other side of a NAT: here %s → %s, there %s → %s, with the same sequence numbers and words both ways at the same time; what it holds is told once, in stream %d",
						first.Stream, other.Client, other.Server, first.Client, first.Server, first.Stream),
					Filter: fmt.Sprintf("tcp.stream eq %d || tcp.stream eq %d", other.Stream, first.Stream),
				}
				a.complete(&fd)
				found = append(found, fd)
				same := first.Stream
				other.Findings, other.Worst, other.SameSessionAs = 1, Info.String(), &same
				other.Diagnosis = fmt.Sprintf("The same session as stream %d, seen through NAT: see stream %d.", first.Stream, first.Stream)
				a.conns.set(int(view.conn), &other)
				break
			}
		}
	}
	return second, inside, found
}

// noteLeg keeps what tells the session's other leg from another
// connection, before found joins the analyzer's findings.
func (a *Analyzer) noteLeg(s *session.Session, found []Finding) {
	d := s.Dialogue
	if d.Hello == nil || d.Greeting == nil || d.Hello.Args == "" {
		return
	}
	var h maphash.Hash
	h.SetSeed(a.seed)
	for _, line := range d.Greeting.Lines {
		h.WriteString(line)
		h.WriteByte('\n')
	}
	h.WriteString(d.Hello.Args)
	l := leg{
		stream: s.Conn.Stream, client: maphash.Comparable(a.seed, s.Conn.Client().Addr()),
		server: maphash.Comparable(a.seed, s.Conn.Server()),
		hello:  h.Sum64(), first: stampOf(s.Conn.FirstTime), conn: a.conns.len(),
	}
	var commands []legCommand
	l.commands, commands = a.legCmds.alloc(len(d.Commands))
	for i, c := range d.Commands {
		commands[i].hash, commands[i].sent = a.commandHash(c), c.Time.UnixNano()
		if c.Reply != nil {
			commands[i].code, commands[i].answered = c.Reply.Code, c.Reply.Time.UnixNano()
		}
	}
	var ids maphash.Hash
	ids.SetSeed(a.seed)
	for _, tx := range d.Transactions {
		if tx.Body != nil && tx.Body.MessageID != "" {
			ids.WriteString(tx.Body.MessageID)
			ids.WriteByte('\n')
			l.messages = ids.Sum64()
		}
	}
	var ofLeg []unanswered
	for i, f := range found {
		if f.ID == "unanswered-command" && f.serverTook && len(f.cmds) > 0 {
			u := unanswered{finding: a.findings.len() + i, swallowed: make([]uint64, len(f.cmds))}
			for k, c := range f.cmds {
				u.swallowed[k] = a.commandHash(c)
			}
			ofLeg = append(ofLeg, u)
		}
	}
	var into []unanswered
	l.unanswered, into = a.legFinds.alloc(len(ofLeg))
	copy(into, ofLeg)
	a.legs.add(l)
}

// unanswered is an unanswered-command finding whose bytes were ACKed, on
// a leg: where it is in Analyzer.findings, and what the device in the
// path swallowed, its commands hashed (commandHash), for the far leg.
type unanswered struct {
	finding   int
	swallowed []uint64
}

// sessionsPerPrune is how many sessions come between two looks for what
// no session still to come can need: enough that each look, which goes
// over all that is kept, costs little per session.
const sessionsPerPrune = 4096

// prune lets go, once Analyzer.pruneGap sessions have come since it last did, of
// the proxy legs and NAT views that no session still to come can need:
// settled and unsettled are the latest session's session.Session.Settled
// and Unsettled. A capture whose clock goes back by more than a second
// (its input warnings say so) can start a connection before a mark
// already given: a proxy leg or NAT view it would have been paired with
// may be gone by then.
func (a *Analyzer) prune(settled time.Time, unsettled []time.Time) {
	a.sincePrune++
	if settled.IsZero() || a.sincePrune < a.pruneGap {
		return
	}
	a.sincePrune = 0
	pending := make([]stamp, len(unsettled)) // sorted, as unsettled is
	for i, t := range unsettled {
		pending[i] = stampOf(t)
	}
	a.pruneLegs(stampOf(settled), pending)
	a.pruneViews(settled, pending)
}

// pruneViews lets go of the views that no view still to come can be
// another of: a connection is another view of one started at most
// natViewStart before or after it, and every connection started before
// settled has been added but for those started at pending (sorted).
// Views already paired are kept.
func (a *Analyzer) pruneViews(settled time.Time, pending []stamp) {
	cutoff := settled.Add(-natViewStart).UnixNano()
	for k, v := range a.views {
		if v.start >= cutoff || a.sameViews[k] != nil {
			continue
		}
		// The pending connections closest to the view: the first that
		// started after it, and the one before that.
		start := time.Unix(0, v.start)
		i := sort.Search(len(pending), func(k int) bool { return start.Before(pending[k].time()) })
		if i < len(pending) && pending[i].time().Sub(start) <= natViewStart || i > 0 && start.Sub(pending[i-1].time()) <= natViewStart {
			continue
		}
		delete(a.views, k)
	}
}

// pruneLegs lets go of the legs linkLegs will never look at. linkLegs
// looks, for each near leg (one with unanswered-command findings), at the
// legs opened within legOpening after it. Every connection opened before
// settled has been added, but for those opened at pending (sorted), whose
// sessions are still to come; so a leg opened before settled, with no
// near leg and no pending connection opened within legOpening before it,
// is in no such window and never will be. The legs kept are the near
// legs, those within their windows or a pending connection's, and those
// opened since settled: memory follows the connections open at once, not
// all the capture's.
func (a *Analyzer) pruneLegs(settled stamp, pending []stamp) {
	var nears []stamp // when each near leg opened
	a.legs.each(func(l *leg) {
		if l.unanswered.n > 0 {
			nears = append(nears, l.first)
		}
	})
	sortStamps(nears)
	var kept chunked[leg]
	var cmds slab[legCommand]
	a.legs.each(func(l *leg) {
		if l.unanswered.n == 0 && l.first.before(settled) && !inWindowAfter(nears, l.first) && !inWindowAfter(pending, l.first) {
			return
		}
		run, into := cmds.alloc(l.commands.n)
		copy(into, a.legCmds.get(l.commands))
		l.commands = run
		kept.add(*l)
	})
	a.legs, a.legCmds = kept, cmds
}

// sortStamps sorts stamps, earliest first.
func sortStamps(stamps []stamp) {
	slices.SortFunc(stamps, func(x, y stamp) int {
		if x.before(y) {
			return -1
		}
		if y.before(x) {
			return 1
		}
		return 0
	})
}

// inWindowAfter reports whether a leg opened at first lies within
// legOpening after one of opens (sorted).
func inWindowAfter(opens []stamp, first stamp) bool {
	// The last opened at or before first is the closest.
	i := sort.Search(len(opens), func(k int) bool { return first.before(opens[k]) }) - 1
	return i >= 0 && first.time().Sub(opens[i].time()) <= legOpening
}

// commandHash identifies a command by its verb and arguments, as another
// leg of the same session carries it.
func (a *Analyzer) commandHash(c *smtpparse.Command) uint64 {
	var h maphash.Hash
	h.SetSeed(a.seed)
	h.WriteString(c.Verb)
	h.WriteByte(' ')
	h.WriteString(c.Args)
	return h.Sum64()
}

// relayedFrom reports whether far carries some of near's commands, in
// order, and nothing else, each after near did (a device passes on what
// it received) and, where both legs got an answer, answered alike and
// first on the far leg (it relays the server's replies to the client).
func relayedFrom(far, near []legCommand) bool {
	i := 0
	for _, v := range near {
		if i < len(far) && far[i].hash == v.hash {
			f := far[i]
			if f.sent < v.sent || (f.code != 0 && v.code != 0 && (f.code != v.code || f.answered > v.answered)) {
				return false
			}
			i++
		}
	}
	return i == len(far)
}

// legOpening is how soon after a client's connection a proxy opens its
// own to the server.
const legOpening = 2 * time.Second

// linkLegs finds, for each unanswered-command whose bytes were ACKed, the
// other leg of the same session in the capture, and says when that leg
// never carried the commands: the device between them acknowledged them
// and did not pass them on. Each finding is told once.
func (a *Analyzer) linkLegs(natSecond map[int]int) {
	// The legs are needed here only: let go of them on the way out.
	defer func() {
		a.legs, a.legCmds, a.legFinds = chunked[leg]{}, slab[legCommand]{}, slab[unanswered]{}
	}()
	if !a.legs.contains(func(l *leg) bool { return l.unanswered.n > 0 }) {
		return
	}
	// Sessions come in the order they finish, which depends on the
	// workers: in stream order, which near leg claims a far leg, and
	// which of two far legs is taken, do not. The second view of a
	// session seen through NAT is no leg of it.
	legs := slices.DeleteFunc(a.legs.take(), func(l leg) bool {
		_, ok := natSecond[l.stream]
		return ok
	})
	slices.SortFunc(legs, func(x, y leg) int { return x.stream - y.stream })
	// The legs by opening time (then by stream), so that each near leg
	// looks only at those opened within legOpening after it.
	byTime := make([]int, len(legs))
	for i := range byTime {
		byTime[i] = i
	}
	sort.SliceStable(byTime, func(i, j int) bool { return legs[byTime[i]].first.before(legs[byTime[j]].first) })
	nearOf := map[int]int{} // far leg → the stream of its near leg
	for _, near := range legs {
		if near.unanswered.n == 0 {
			continue
		}
		lo := sort.Search(len(byTime), func(k int) bool { return !legs[byTime[k]].first.before(near.first) })
		for _, u := range a.legFinds.get(near.unanswered) {
			f := a.findings.get(u.finding)
			if f.linked {
				continue
			}
			// Of the legs opened within legOpening after the near one, the
			// first by stream that is not another near leg's far leg.
			far := -1
			for k := lo; k < len(byTime) && legs[byTime[k]].first.time().Sub(near.first.time()) <= legOpening; k++ {
				j := byTime[k]
				if owner, taken := nearOf[j]; (taken && owner != near.stream) || (far >= 0 && j > far) {
					continue
				}
				if a.isFarLeg(&near, &legs[j], u.swallowed) {
					far = j
				}
			}
			if far >= 0 {
				nearOf[far] = near.stream
				a.link(&f, &near, &legs[far])
				a.findings.set(u.finding, &f)
			}
		}
	}
}

// isFarLeg reports whether to can be the far leg of the session whose
// near leg is near, which the device in between acknowledged and never
// passed on the commands hashed in swallowed: a leg greeted alike,
// carrying some of the near leg's commands, in order, after it, answered
// alike, and none of the swallowed ones, with the same messages if both
// carry any. Connections of one busy client to one server share a
// greeting and an EHLO too, and a bulk sender's even their envelopes; but
// the device opens the far leg from its own address, or to the server's
// where the near leg went to the device's: the two legs never join the
// same client address to the same server.
func (a *Analyzer) isFarLeg(near, to *leg, swallowed []uint64) bool {
	switch {
	case to.stream == near.stream || to.hello != near.hello:
		return false
	case to.messages != 0 && near.messages != 0 && to.messages != near.messages:
		return false
	case to.client == near.client && to.server == near.server:
		return false
	}
	toCmds := a.legCmds.get(to.commands)
	return relayedFrom(toCmds, a.legCmds.get(near.commands)) &&
		!slices.ContainsFunc(toCmds, func(c legCommand) bool { return slices.Contains(swallowed, c.hash) })
}

// link tells, in the unanswered-command finding f and in both legs'
// diagnoses, that the device between near and far swallowed f's commands.
func (a *Analyzer) link(f *Finding, near, far *leg) {
	f.linked = true
	farConn := a.conns.get(far.conn)
	f.Summary += fmt.Sprintf("; the capture also holds the session's other leg, stream %d (%s to %s), which never carries them: the device between the legs acknowledged them and did not pass them on",
		far.stream, farConn.Client, farConn.Server)
	// The near leg's diagnosis leads with it: it is the cause.
	acked := ""
	if n := len(f.Frames); n > 1 {
		acked = fmt.Sprintf(", acknowledged in frame %d,", f.Frames[n-1])
	}
	c := a.conns.get(near.conn)
	c.Diagnosis = strings.TrimSpace(fmt.Sprintf("A device in the path swallowed the client's commands: what the client sent in frame %d%s never appears on the session's other leg in the capture, stream %d. ",
		f.Frames[0], acked, far.stream) + c.Diagnosis)
	a.conns.set(near.conn, &c)
	c = a.conns.get(far.conn)
	c.Diagnosis = strings.TrimSpace(c.Diagnosis + fmt.Sprintf(" This is the far leg of stream %d, whose commands (frame %d) the device in the path acknowledged and never passed on.", near.stream, f.Frames[0]))
	a.conns.set(far.conn, &c)
}

// complete fills in what a detector left to the catalog: the Wireshark
// filter for the finding's frames, why it matters and what to do.
func (a *Analyzer) complete(f *Finding) {
	if f.Filter == "" {
		f.Filter = filterFor(f.Stream, f.Frames)
	}
	e := a.catalog[f.ID]
	if f.Explanation == "" {
		f.Explanation = e.Explanation
	}
	if f.Remedy == "" {
		f.Remedy = e.Remedy
	}
}

// sequencing lists the findings that judge the order of commands and
// replies: after bytes the capture lost, the pairing they rest on may be
// off by one, and the fault may be the capture's, not the servers'.
func sequencing(id string) bool {
	switch id {
	case "pipelining-not-offered", "pipelining-bad-sequence", "unanswered-command",
		"reply-without-command", "malformed-command", "malformed-reply", "command-split-across-segments", "early-talker",
		"lost-mid-transaction":
		return true
	}
	return false
}

// discountAfterLoss turns sequencing findings that come after a capture
// gap into info findings that say why.
func discountAfterLoss(s *session.Session, found []Finding) {
	first := 0
	var gap reassembly.Gap
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		st := s.Stream(dir)
		if st == nil {
			continue
		}
		for _, g := range st.Gaps {
			if !shiftsPairing(dir, g) {
				continue
			}
			if first == 0 || g.Frame < first {
				gap, first = g, g.Frame
			}
			break
		}
	}
	// The server's replies lost after a command: it went unanswered in
	// the capture, not necessarily on the wire.
	var serverGaps []reassembly.Gap
	if st := s.Stream(smtpparse.ServerToClient); st != nil {
		serverGaps = slices.DeleteFunc(slices.Clone(st.Gaps), func(g reassembly.Gap) bool { return !shiftsPairing(smtpparse.ServerToClient, g) })
	}
	if first == 0 {
		return
	}
	for i := range found {
		f := &found[i]
		if f.ID == "unanswered-command" && len(f.Frames) > 0 {
			if j := slices.IndexFunc(serverGaps, func(g reassembly.Gap) bool { return g.Frame >= f.Frames[0] }); j >= 0 && f.Frames[len(f.Frames)-1] < first {
				g := serverGaps[j]
				f.Severity = Info
				f.CaptureLoss = fmt.Sprintf("the capture lost %d bytes of the server's (%s) at frame %d, after this command: its reply may be among them, so this is not held against either side",
					g.End-g.Start, g.Reason, g.Frame)
				continue
			}
		}
		if len(f.Frames) == 0 || f.Frames[len(f.Frames)-1] < first {
			continue
		}
		if (f.ID == "command-rejected" || f.ID == "command-deferred") && f.CaptureLoss == "" {
			// The server's words are its own; which command they
			// answered rests on the pairing.
			f.CaptureLoss = fmt.Sprintf("the capture lost %d bytes (%s) at frame %d, before this: which command this reply answered may be wrong",
				gap.End-gap.Start, gap.Reason, gap.Frame)
			continue
		}
		if !sequencing(f.ID) {
			continue
		}
		f.Severity = Info
		if f.CaptureLoss == "" {
			f.CaptureLoss = fmt.Sprintf("the capture lost %d bytes (%s) at frame %d, before this: commands and replies may be paired wrongly from there on, so this is not held against either side",
				gap.End-gap.Start, gap.Reason, gap.Frame)
		}
	}
}

// maxRepeats is how many findings alike (one ID and fold key) a stream
// reports in full, and maxPerID how many of one ID: a desynchronised
// dialogue would otherwise bury the cause under its echoes.
const (
	maxRepeats = 3
	maxPerID   = 2 * maxRepeats
)

// capRepeats keeps, of each ID, the first maxRepeats findings alike and
// at most maxPerID in all. What it drops is told, with its frames, on the
// last finding of the ID it kept: how many more there were and, where they
// differ from it, what they were (a refusal's command and code), so that
// no refusal goes untold.
func capRepeats(found []Finding) []Finding {
	if len(found) <= maxRepeats {
		return found // nothing to fold: most detectors find nothing or one thing in a session
	}
	type fold struct {
		key, as string
		n       int
		frames  []int
	}
	alike, ofID := map[[2]string]int{}, map[string]int{}
	last := map[string]int{} // ID → index in kept of its last kept finding
	folds := map[string][]fold{}
	foldAt := map[[2]string]int{} // ID and fold key → index in folds[ID]
	kept := found[:0]
	for _, f := range found {
		k := [2]string{f.ID, f.foldKey}
		if f.hungUp || f.closedSession {
			// What ended the session is told whatever came before it.
			kept = append(kept, f)
			continue
		}
		if alike[k] < maxRepeats && ofID[f.ID] < maxPerID {
			alike[k]++
			ofID[f.ID]++
			last[f.ID] = len(kept)
			kept = append(kept, f)
			continue
		}
		fs := folds[f.ID]
		i, ok := foldAt[k]
		if !ok {
			as := f.foldAs
			if as == "" {
				as = quote(clip(f.Summary, 60), 70)
			}
			fs, i = append(fs, fold{key: f.foldKey, as: as}), len(fs)
			foldAt[k] = i
		}
		fs[i].n++
		if len(f.Frames) > 0 {
			fs[i].frames = append(fs[i].frames, f.Frames[len(f.Frames)-1])
		}
		folds[f.ID] = fs
	}
	for id, fs := range folds {
		f := &kept[last[id]]
		n := 0
		for i := range fs {
			n += fs[i].n
			slices.Sort(fs[i].frames)
			fs[i].frames = slices.Compact(fs[i].frames)
			f.foldFrames = append(f.foldFrames, fs[i].frames...)
		}
		f.folded += n
		slices.Sort(f.foldFrames)
		f.foldFrames = slices.Compact(f.foldFrames)
		if len(fs) == 1 && fs[0].key == f.foldKey {
			f.Summary += fmt.Sprintf(" (and %d more like it in this stream, %s)", n, framesInWords(fs[0].frames))
			continue
		}
		var parts []string
		for i, x := range fs {
			if i == 4 {
				parts = append(parts, "…")
				break
			}
			parts = append(parts, fmt.Sprintf("%d × %s, %s", x.n, x.as, framesInWords(x.frames)))
		}
		f.Summary += fmt.Sprintf(" (and %d more in this stream: %s)", n, strings.Join(parts, "; "))
	}
	return kept
}

// framesInWords names frames as a summary does: "frame 9", "frames 9, 13,
// 14", or "frames 9 to 63" when there are more than four.
func framesInWords(frames []int) string {
	switch {
	case len(frames) == 0:
		return "no frame"
	case len(frames) == 1:
		return fmt.Sprintf("frame %d", frames[0])
	case len(frames) > 4:
		return fmt.Sprintf("frames %d to %d", slices.Min(frames), slices.Max(frames))
	}
	parts := make([]string, len(frames))
	for i, fr := range frames {
		parts[i] = strconv.Itoa(fr)
	}
	return "frames " + strings.Join(parts, ", ")
}

func summarize(s *session.Session, found []Finding) Connection {
	c, d := s.Conn, s.Dialogue
	conn := Connection{
		Stream: c.Stream, Client: c.Client().String(), Server: c.Server().String(),
		First: c.FirstTime, Last: c.LastTime,
		Packets: c.Packets(reassembly.ClientToServer) + c.Packets(reassembly.ServerToClient),
		End:     c.End().String(), Handshake: c.Handshake, TLS: s.Encrypted(),
		Transactions: len(d.Transactions), Findings: len(found),
		tlsAgreed: d.TLS != nil || s.ImplicitTLS,
	}
	for i, tx := range d.Transactions {
		switch {
		case !tried(tx):
			conn.Transactions--
		case i+1 < len(d.Transactions) && resent(tx, d.Transactions[i+1]):
			// A MAIL refused and sent again at once, the same sender
			// (without the parameters a HELO session does not allow,
			// say), is one message's transaction, not two.
			conn.Transactions--
		}
	}
	if d.Hello != nil {
		conn.Helo = escape([]byte(d.Hello.Args))
	}
	for _, tx := range d.Transactions {
		switch {
		case delivered(tx):
			conn.Delivered++
		case envelopeOnly(d, tx):
			conn.EnvelopeOnly++
		}
	}
	worst := -1
	for _, f := range found {
		worst = max(worst, int(f.Severity))
	}
	if worst >= 0 {
		conn.Worst = Severity(worst).String()
	}
	conn.Diagnosis = diagnose(found)
	if d.Dropped > 0 {
		// A connection that carried thousands of messages: what the
		// parser did not keep is in no count and no finding, and the
		// reader must know the counts stop short.
		conn.Diagnosis = strings.TrimSpace(conn.Diagnosis + fmt.Sprintf(" The connection was too long to keep whole: %d of its commands, replies and transactions, past the first %d of each, were read but not kept, so its counts and findings cover the first ones only.",
			d.Dropped, smtpparse.DefaultMaxElements))
	}
	if d.Forgotten > 0 {
		// A client this far ahead of its server: the parser stopped
		// waiting for the oldest replies, so those commands look
		// unanswered whether or not the server answered them.
		conn.Diagnosis = strings.TrimSpace(conn.Diagnosis + fmt.Sprintf(" More than %d commands were waiting for replies at once: the oldest %d were no longer waited for, so they show no reply, and the replies that came for them are paired with none.",
			smtpparse.DefaultMaxElements, d.Forgotten))
	}
	return conn
}

// noteDeferred records, for a delivered transaction some of whose
// recipients were deferred (4xx), a failed attempt at the envelope of the
// sender and those recipients: the one an MTA retries later.
func (a *Analyzer) noteDeferred(s *session.Session, tx *smtpparse.Transaction, delivered attempt) {
	var deferred []*smtpparse.Command
	var first *smtpparse.Reply
	for _, r := range tx.Rcpts {
		if r.Reply != nil && r.Reply.Code/100 == 4 {
			deferred = append(deferred, r)
			first = cmp.Or(first, r.Reply)
		}
	}
	// In LMTP a recipient the server accepted has a final reply of its
	// own after the message, and may be deferred there (a full mailbox).
	accepted := acceptedRcpts(tx)
	afterMessage := false // deferred in a final reply: the retries send the message, Message-ID and all
	for i, r := range tx.PerRecipient {
		if r.Code/100 == 4 && i < len(accepted) {
			deferred = append(deferred, accepted[i])
			first = cmp.Or(first, r)
			afterMessage = true
		}
	}
	if len(deferred) == 0 {
		return
	}
	key := envelopeKey(tx, deferred)
	at := delivered
	at.ok, at.code, at.client, at.server, at.partial = false, first.Code, s.Conn.Client().Addr(), s.Conn.Server().Addr(), true
	if tx.Body != nil && tx.Body.MessageID != "" {
		at.message = maphash.String(a.seed, tx.Body.MessageID)
	}
	at.end, at.frames = first.EndTime, s.Frames(tx.Mail.Span)
	at.ended = endedWithReply(first)
	bare, byMessage := "", false
	if afterMessage && tx.Mail.Params["SIZE"] == "" && tx.Body != nil && tx.Body.MessageID != "" {
		// Keyed as noteAttempts keys the retries, which get that far.
		bare, byMessage = key, true
		key += " " + tx.Body.MessageID
	}
	a.envelopes.add(key, bare, byMessage, at)
}

// envelopeKey is the text an envelope is known by: the sender (<> for the
// null one, of bounces and callouts), the recipients rcpts, lower-cased
// and sorted, and SIZE= when MAIL declared one.
func envelopeKey(tx *smtpparse.Transaction, rcpts []*smtpparse.Command) string {
	paths := make([]string, 0, len(rcpts))
	for _, r := range rcpts {
		paths = append(paths, strings.ToLower(r.Path))
	}
	sort.Strings(paths)
	sender := strings.ToLower(tx.Mail.Path)
	if sender == "" {
		sender = "<>"
	}
	key := sender + " → " + strings.Join(paths, ", ")
	if size := tx.Mail.Params["SIZE"]; size != "" {
		key += " SIZE=" + size
	}
	return key
}

// resent reports whether next is tx sent again: tx's MAIL was refused,
// nothing else came of tx, and next, within resendWithin of the refusal,
// has the same sender and sends a message (not an address probe) or is
// refused at MAIL in turn (the client tries once more).
func resent(tx, next *smtpparse.Transaction) bool {
	m, n := tx.Mail, next.Mail
	return m != nil && n != nil && m.Reply != nil && m.Reply.Code >= 400 && len(tx.Rcpts) == 0 &&
		tx.Data == nil && len(tx.Chunks) == 0 && strings.EqualFold(m.Path, n.Path) &&
		n.Time.Sub(m.Reply.EndTime) <= resendWithin &&
		(next.Data != nil || len(next.Chunks) > 0 || next.Body != nil || n.Reply != nil && n.Reply.Code >= 400 && len(next.Rcpts) == 0)
}

// resendWithin is how soon after a refused MAIL the same sender's next
// one is the same message sent again.
const resendWithin = 10 * time.Second

// attemptKey returns the text an attempt at tx's message is known by:
// its envelope, and its Message-ID when MAIL declared no SIZE (byMessage;
// bare is then the envelope alone, as attempts that never reached DATA
// show it).
func attemptKey(tx *smtpparse.Transaction) (key, bare string, byMessage bool) {
	key = envelopeKey(tx, tx.Rcpts)
	if tx.Mail.Params["SIZE"] == "" && tx.Body != nil && tx.Body.MessageID != "" {
		return key + " " + tx.Body.MessageID, key, true
	}
	return key, "", false
}

// noteAttempts records each transaction's envelope, to find retries.
func (a *Analyzer) noteAttempts(s *session.Session) {
	for _, tx := range s.Dialogue.Transactions {
		if tx.Mail == nil || len(tx.Rcpts) == 0 || envelopeOnly(s.Dialogue, tx) {
			continue // a repeated address-verification probe is no retried message
		}
		key, bare, byMessage := attemptKey(tx)
		at := attempt{stream: s.Conn.Stream, time: tx.Mail.Time, ok: delivered(tx), host: a.envelopes.hostHash(s.Conn.Client().Addr())}
		if !at.ok && lostBytes(s) {
			// The capture lost bytes of this connection (dropped or cut by
			// the snaplen): the failure may be the pairing's, not the
			// server's, and is not counted as a retry's.
			continue
		}
		if !at.ok { // only failures are told of, by their frames and how they ended
			at.end, at.frames, at.ended = attemptEnd(tx, closedAt(s)), s.Frames(tx.Mail.Span), howEnded(tx)
			at.client, at.server = s.Conn.Client().Addr(), s.Conn.Server().Addr()
			if r := firstRefusal(tx); r != nil && !isSyncError(r) {
				at.code = r.Code
			}
			at.unsent = tx.Body == nil && len(tx.Chunks) == 0
		}
		a.envelopes.add(key, bare, byMessage, at)
		if at.ok {
			// The recipients deferred in a delivered transaction are what
			// an MTA tries again, alone: that is a failed attempt at the
			// envelope of those, where the retries' attempts are.
			a.noteDeferred(s, tx, at)
		}
	}
}

// lostBytes reports whether the capture lacks bytes of s, either way.
func lostBytes(s *session.Session) bool {
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		if st := s.Stream(dir); st != nil && len(st.Gaps) > 0 {
			return true
		}
	}
	return false
}

// probeWait is how soon after its MAIL was accepted a client that sends no
// recipient must drop the envelope for it to count as a probe.
const probeWait = 5 * time.Second

// envelopeOnly reports whether tx, a transaction of d, is an envelope the
// server accepted and the client then dropped itself (RSET, QUIT, a new
// MAIL) without sending a message: an address-verification probe
// (Postfix) or callout (Exim), or a sender that stopped right after MAIL
// (a test tool's --quit-after), not a message that failed. An envelope
// without recipients counts only when the client's next command after
// MAIL ended it and the server took that (QUIT, or a 2xx reply): a RCPT
// that a firewall mangled into an unknown command leaves one too, and that
// message did fail; and a server that refuses a nested MAIL or a bad EHLO
// keeps the envelope open.
func envelopeOnly(d *smtpparse.Dialogue, tx *smtpparse.Transaction) bool {
	if tx.Reset == nil || tx.Data != nil || len(tx.Chunks) > 0 || tx.Body != nil || tx.FinalReply != nil {
		return false
	}
	if tx.Mail == nil || tx.Mail.Reply == nil || tx.Mail.Reply.Code/100 != 2 {
		return false
	}
	if len(tx.Rcpts) == 0 {
		i := slices.Index(d.Commands, tx.Mail)
		taken := tx.Reset.Verb == "QUIT" || tx.Reset.Reply != nil && tx.Reset.Reply.Code/100 == 2
		// Nothing between them in the client's stream either: a capture
		// gap (or skipped bytes) there may hold the RCPT and the message.
		adjacent := tx.Reset.Span.Start == tx.Mail.Span.End
		// And at once: a client whose RCPT a device in the path swallowed
		// waits, then gives up, and from the server's side looks just the
		// same.
		prompt := tx.Reset.Time.Sub(tx.Mail.Reply.Time) < probeWait
		return taken && adjacent && prompt && i >= 0 && i+1 < len(d.Commands) && d.Commands[i+1] == tx.Reset
	}
	for _, r := range tx.Rcpts {
		if r.Reply == nil || r.Reply.Code/100 != 2 {
			return false
		}
	}
	// Bytes the capture lost between the last RCPT and the end of the
	// envelope may hold its DATA and message (a kernel drop), which the
	// server's later 250 took: no probe.
	from := tx.Rcpts[len(tx.Rcpts)-1].Span.End
	return !slices.ContainsFunc(d.Gaps, func(g smtpparse.Span) bool {
		return g.Dir == smtpparse.ClientToServer && g.End > from && g.Start < tx.Reset.Span.Start
	})
}

// tried reports whether tx tried a message: it has a MAIL, or its
// content went (a DATA the server took, BDAT), or it was delivered. RCPTs
// or a DATA refused with no MAIL before them (503), or the rest of a
// message a lenient server ended early, try none of their own.
func tried(tx *smtpparse.Transaction) bool {
	return tx.Mail != nil || len(tx.Chunks) > 0 || delivered(tx) ||
		tx.Data != nil && (tx.Data.Reply == nil || tx.Data.Reply.Code/100 == 3)
}

// delivered reports whether the server took tx's message for at least one
// recipient: its final reply, or in LMTP any recipient's, is 2xx, and not
// every recipient was refused. A server that answers 354 to a DATA
// pipelined behind refused recipients (RFC 2920 wants 554 there) takes
// the client's lone "." with 250 for nobody: nothing was delivered, and
// the client retries the recipients it deferred.
func delivered(tx *smtpparse.Transaction) bool {
	for _, r := range tx.PerRecipient {
		if r.Code/100 == 2 {
			return true
		}
	}
	if tx.FinalReply == nil || tx.FinalReply.Code/100 != 2 {
		return false
	}
	for _, rcpt := range tx.Rcpts {
		if rcpt.Reply == nil || rcpt.Reply.Code < 400 {
			return true
		}
	}
	// Every recipient refused; with none in the capture (it began
	// later), the final reply is all there is to go by.
	return len(tx.Rcpts) == 0
}

// closedAt is when s's connection was first closed or reset, by either
// side; its last packet's time if it never was. Retransmitted FINs may
// follow for minutes after the sender gave up on the connection.
func closedAt(s *session.Session) time.Time {
	if frame, _ := s.Conn.FirstClose(); frame != 0 {
		if t, ok := frameTime(s, frame); ok {
			return t
		}
	}
	return s.Conn.LastTime
}

// attemptEnd is when a delivery attempt was over: its last reply, or
// closed, when the connection was closed, when it ended without a final
// reply or refusal.
func attemptEnd(tx *smtpparse.Transaction, closed time.Time) time.Time {
	end := tx.Mail.Time
	refused := false
	note := func(r *smtpparse.Reply) {
		if r == nil {
			return
		}
		end = later(end, r.EndTime)
		refused = refused || r.Code >= 400
	}
	note(tx.Mail.Reply)
	for _, r := range tx.Rcpts {
		note(r.Reply)
	}
	if tx.Data != nil {
		note(tx.Data.Reply)
	}
	note(tx.FinalReply)
	note(tx.Interrupt)
	if tx.FinalReply == nil && !refused {
		end = later(end, closed)
	}
	return end
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// howEnded says how a transaction that delivered nothing ended: "with"
// the server's first refusal in it, or "without a final reply".
func howEnded(tx *smtpparse.Transaction) string {
	if r := firstRefusal(tx); r != nil {
		return endedWithReply(r)
	}
	return "without a final reply"
}

// endedWithReply says an attempt ended with refusal r. Its text goes
// inside sentences: a full stop of its own would double theirs
// ("closing connection..").
func endedWithReply(r *smtpparse.Reply) string {
	return "with " + replyClause(r, 80)
}

// firstRefusal returns the server's first 4xx or 5xx reply in tx, nil if
// none.
func firstRefusal(tx *smtpparse.Transaction) *smtpparse.Reply {
	replies := []*smtpparse.Reply{tx.Mail.Reply}
	for _, r := range tx.Rcpts {
		replies = append(replies, r.Reply)
	}
	if tx.Data != nil {
		replies = append(replies, tx.Data.Reply)
	}
	replies = append(replies, tx.FinalReply, tx.Interrupt)
	for _, r := range replies {
		if r != nil && r.Code >= 400 {
			return r
		}
	}
	return nil
}

// withoutRelayedLegs drops, of attempts in stream order, each that began
// within legOpening after an earlier one, before that one ended, from
// another client address to another server: the far leg of a session a
// proxy relayed (the near leg went to the proxy, the far one comes from
// it). Two hosts of one sender trying the same envelope at once go to
// the same server, and stay two attempts.
func withoutRelayedLegs(attempts []attempt) []attempt {
	kept := attempts[:0:0]
	// The kept attempts by time, so that each attempt looks only at those
	// begun within legOpening before it: one envelope can have tens of
	// thousands of attempts (a capture of a loop), a session's legs are
	// close together.
	var byTime []int
	at := func(i int, t time.Time) int { return kept[i].time.Compare(t) }
	for _, a := range attempts {
		relayed := false
		from, _ := slices.BinarySearchFunc(byTime, a.time.Add(-legOpening), at)
		for _, i := range byTime[from:] {
			k := &kept[i]
			if k.time.After(a.time) {
				break
			}
			if k.client != a.client && k.server != a.server && !a.time.After(k.end) {
				relayed = true
				break
			}
		}
		if !relayed {
			to, _ := slices.BinarySearchFunc(byTime, a.time, at)
			byTime = slices.Insert(byTime, to, len(kept))
			kept = append(kept, a)
		}
	}
	return kept
}

// retryWait is how long after an attempt ended an MTA waits, at the
// least, before it tries deferred recipients again on another connection:
// its queue waits minutes.
const retryWait = time.Second

// withoutHastyRepeats drops, of attempts in stream order, each partial
// one (recipients deferred in a message delivered to others) that began
// on another connection less than retryWait after the attempt before it
// ended: nodemailer's pool sends its next message, to these recipients
// and others, 3 ms after the first was deferred, which is another message,
// no retry. (Whole attempts that quick stay: a test's loop retries so.)
func withoutHastyRepeats(attempts []attempt) []attempt {
	kept := attempts[:0:0]
	for _, at := range attempts {
		if n := len(kept); n > 0 && at.partial {
			prev := kept[n-1]
			if at.stream != prev.stream && !at.time.Before(prev.time) && at.time.Sub(prev.end) < retryWait {
				continue
			}
		}
		kept = append(kept, at)
	}
	return kept
}

// concurrent reports whether an attempt started in one connection
// before an attempt in another had ended.
func concurrent(attempts []attempt) bool {
	byTime := slices.Clone(attempts)
	sort.SliceStable(byTime, func(i, j int) bool { return byTime[i].time.Before(byTime[j].time) })
	var open attempt // of the attempts so far, the one that ended last
	for i, at := range byTime {
		if i > 0 && at.stream != open.stream && at.time.Before(open.end) {
			return true
		}
		if i == 0 || at.end.After(open.end) {
			open = at
		}
	}
	return false
}

// retryLoops reports envelopes attempted in several connections without a
// 2xx final reply.
func (a *Analyzer) retryLoops(natSecond map[int]int, natInside map[netip.Addr]netip.Addr) []Finding {
	var out []Finding
	a.envelopes.eachRetried(func(key string, byMessage bool, list []attempt) {
		// The second view of a session seen through NAT is no attempt.
		list = slices.DeleteFunc(list, func(at attempt) bool {
			_, ok := natSecond[at.stream]
			return ok
		})
		sort.SliceStable(list, func(i, j int) bool { return list[i].stream < list[j].stream })
		// Partial deferrals of messages with different Message-IDs are
		// several messages' recipients, not one message's: only its
		// retries alone tell a loop then.
		partialMessages := map[uint64]bool{}
		for _, at := range list {
			if at.partial && at.message != 0 {
				partialMessages[at.message] = true
			}
		}
		var failed []attempt
		retried := false // an attempt at these recipients alone: partial deferrals are not retries
		for _, at := range list {
			if !at.ok && (!at.partial || len(partialMessages) < 2) {
				failed = append(failed, at)
				retried = retried || !at.partial
			}
		}
		if !retried {
			// The same recipients deferred in several deliveries to
			// others: several submissions, none of them a retry.
			return
		}
		// A capture taken on a proxy's host holds each attempt twice, on
		// both legs: the same envelope from the proxy's address, begun
		// within legOpening of the client's and overlapping it. That is
		// one attempt, told by the leg seen first.
		failed = withoutRelayedLegs(failed)
		failed = withoutHastyRepeats(failed)
		if !byMessage && concurrent(failed) {
			// One message is never tried twice at once: these are
			// several messages with one envelope (a bulk sender's).
			return
		}
		streams := map[int]bool{}
		for _, at := range failed {
			streams[at.stream] = true
		}
		if len(streams) < 2 && (len(failed) < 3 || slices.ContainsFunc(failed, func(at attempt) bool { return at.code/100 != 4 })) {
			// Twice in one connection may be two messages; three times,
			// each deferred, is a client retrying in the session
			// (OpenSMTPD does). A test client's envelope refused in
			// several ways is no retry.
			return
		}
		var ids, frames []int
		for _, at := range failed { // in stream order
			if len(ids) == 0 || ids[len(ids)-1] != at.stream {
				ids = append(ids, at.stream)
			}
			frames = append(frames, at.frames...)
		}
		sev := Warning
		if len(ids) >= 3 {
			sev = Error
		}
		// With no size or Message-ID to go by, attempts from several
		// hosts may be several messages (bounces from <> to one
		// postmaster, one test run by many) or one message that a pool of
		// hosts retries: the report says which hosts, and no more than a
		// warning unless one host failed three times itself.
		var hosts []netip.Addr
		perHost := map[netip.Addr]map[int]bool{} // each host's failed streams
		most := 0
		for _, at := range failed {
			host := at.client
			if in, ok := natInside[host]; ok && in.IsValid() {
				host = in // a NAT's address, seen for this host alone in other sessions
			}
			if !slices.Contains(hosts, host) {
				hosts = append(hosts, host)
				perHost[host] = map[int]bool{}
			}
			perHost[host][at.stream] = true
			most = max(most, len(perHost[host]))
		}
		several := ""
		if len(hosts) > 1 && !byMessage && !strings.Contains(key, " SIZE=") {
			if most < 3 { // one host's three failures are a loop whoever else tried
				sev = Warning
			}
			names := make([]string, 0, 3)
			for _, h := range hosts[:min(3, len(hosts))] {
				names = append(names, h.String())
			}
			if len(hosts) > 3 {
				names = append(names, "…")
			}
			several = fmt.Sprintf("; the attempts came from %d client addresses (%s) and carry no SIZE or Message-ID: one message retried by several hosts, or different messages with one envelope",
				len(hosts), strings.Join(names, ", "))
		}
		ended := "each ended " + failed[0].ended
		for _, at := range failed {
			if at.ended != failed[0].ended {
				ended = "the last ended " + failed[len(failed)-1].ended
				break
			}
		}
		// A message that got through in the end was delayed, not lost:
		// its client's retries worked. Only a delivery from the host
		// that failed counts, when one host did: another client's
		// message may share the envelope.
		// The hosts that failed, and the NAT addresses they were seen
		// behind: with one, only its delivery ends the loop; a delivery
		// matched by its envelope without the Message-ID must be one of
		// theirs in any case.
		oneHost := len(hosts) == 1
		hostHashes := map[uint64]bool{}
		for _, at := range failed {
			hostHashes[at.host] = true
		}
		for _, h := range hosts {
			hostHashes[a.envelopes.hostHash(h)] = true
			for outside, in := range natInside {
				if in == h {
					hostHashes[a.envelopes.hostHash(outside)] = true
				}
			}
		}
		failedHost := func(h uint64) bool { return hostHashes[h] }
		delivered, finally, acceptedAt := "", false, time.Time{}
		firstFailure, lastFailure := failed[0].time, failed[0].time
		for _, at := range failed {
			if at.time.Before(firstFailure) {
				firstFailure = at.time
			}
			if at.time.After(lastFailure) {
				lastFailure = at.time
			}
		}
		for _, at := range list {
			if at.ok && oneHost && !failedHost(at.host) {
				continue
			}
			if at.ok && at.byBare && (!at.time.After(lastFailure) || !failedHost(at.host)) {
				// A message with its own Message-ID delivered before or
				// between them may be another: only one delivered after
				// them all ends them.
				continue
			}
			switch {
			case at.ok && at.time.After(lastFailure):
				delivered, finally, acceptedAt = fmt.Sprintf("; it was finally accepted in stream %d", at.stream), true, at.time
			case at.ok && delivered == "" && at.time.Before(firstFailure):
				// Accepted before the failed attempts: a message sent again.
				delivered = fmt.Sprintf("; it had been accepted in stream %d before them", at.stream)
			case at.ok && delivered == "":
				// Accepted between failures: neither the end of the
				// loop nor what started it.
				delivered = fmt.Sprintf("; it was accepted in stream %d, between them", at.stream)
			}
		}
		// Refused for good before any message was sent: nothing tells
		// one message from several.
		temporary, permanent := true, true
		for _, at := range failed {
			temporary = temporary && at.code >= 400 && at.code < 500
			permanent = permanent && at.code >= 500 && at.unsent
		}
		explanation, remedy := "", ""
		switch {
		case finally:
			// Deferred, then delivered: greylisting, or a passing fault.
			sev = min(sev, Warning)
			if temporary {
				sev = Info
			}
			explanation = fmt.Sprintf("The message got through in the end, %s after the first attempt: the server turned the earlier attempts away and the client retried, as it should. Greylisting defers a client it does not know yet (451) and accepts the same envelope minutes later; the cost is the delay.",
				roughly(acceptedAt.Sub(firstFailure)))
			remedy = "Nothing is broken if the delay is acceptable. A greylisting server can list the sending host so that it is not delayed again; for other deferrals the first attempt's reply says why."
		case permanent && !byMessage && !strings.Contains(key, " SIZE="):
			// A client does not retry a message the server refused for
			// good: one envelope refused so in the envelope again and
			// again is most likely several messages (a monitor's,
			// callouts, bounces).
			sev = min(sev, Warning)
			if strings.HasPrefix(key, "<> ") {
				sev = Info
			}
			several += "; every attempt was refused for good (5xx) before its message was sent, after which a client does not retry a message: more likely different messages with one envelope (a monitor's, address-verification callouts, bounces), or a client that ignores 5xx"
			explanation = "A client gives up a message the server refuses for good (5xx) and bounces it to its sender; it does not try it again. The same envelope refused so in several connections is most likely several messages (a monitoring job's, address-verification callouts, bounces to one address), each refused once; if it is one message, its client ignores permanent failures."
			remedy = "Fix the cause in the first attempt's reply (an unknown or refused address), or stop whatever keeps sending to it."
		}
		var partialStreams []int
		for _, at := range failed {
			if at.partial {
				partialStreams = append(partialStreams, at.stream)
			}
		}
		partialNote := ""
		if len(partialStreams) > 0 {
			which := "stream"
			if len(partialStreams) > 1 {
				which = "streams"
			}
			partialNote = fmt.Sprintf(" (in %s %s the server took the message for the other recipients and deferred these)", which, joinInts(partialStreams, ", "))
		}
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = fmt.Sprintf("tcp.stream eq %d", id)
		}
		tried := fmt.Sprintf("in %d connections without a 2xx final reply: streams %s", len(ids), joinInts(ids, ", "))
		if len(ids) == 1 {
			tried = fmt.Sprintf("%d times in stream %d without a 2xx final reply, the client retrying in the same connection", len(failed), ids[0])
		}
		f := Finding{
			ID: "retry-loop", Severity: sev, Stream: ids[0], Streams: ids, Phase: PhaseEnvelope,
			Frames: frames, Offset: -1, Time: failed[0].time,
			Summary:     fmt.Sprintf("the same envelope (%s) was tried %s%s; %s%s%s", key, tried, partialNote, ended, delivered, several),
			Filter:      strings.Join(parts, " || "),
			retryEnded:  ended + delivered,
			retries:     len(failed),
			Explanation: explanation, Remedy: remedy,
		}
		a.complete(&f)
		out = append(out, f)
	})
	return out
}

// roughly writes a duration as a report tells a delay: "40 s", "12 min",
// "3.5 h".
func roughly(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < 2*time.Hour:
		return fmt.Sprintf("%.0f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}

// Report returns what the analyzer found. inputs names the capture files.
// It is called once, after the last Add: it hands over what the analyzer
// kept, and lets go of the rest, so that a large report is not held
// twice while it is written.
func (a *Analyzer) Report(inputs []string) *Report {
	// Sessions arrive in the order their connections finish; the report is
	// in stream order, whatever that order was.
	second, inside, views := a.natViews()
	a.views, a.sameViews = nil, nil
	a.linkLegs(second)
	extra := append(a.retryLoops(second, inside), views...)
	slices.SortStableFunc(extra, func(x, y Finding) int { return x.Stream - y.Stream })
	dropped := func(stream int, id string) bool {
		_, ok := second[stream]
		return ok && id != "seen-through-nat"
	}
	r := &Report{Schema: Schema, Files: inputs, Connections: a.conns.takeSorted()}
	// A retry loop belongs to the diagnosis of every stream it names. The
	// extra findings are the only retry loops, and their counts are not
	// kept once they join the others.
	// The changes are made together, in stream order: the connections a
	// loop names are far apart, and a large list is compressed.
	changes := map[int][]func(c *Connection){}
	for _, f := range extra {
		if f.ID != "retry-loop" || dropped(f.Stream, f.ID) {
			continue
		}
		for _, stream := range f.Streams {
			changes[stream] = append(changes[stream], func(c *Connection) {
				where := "in streams " + shortList(f.Streams)
				if len(f.Streams) == 1 {
					where = fmt.Sprintf("%d times in this connection", f.retries)
				}
				c.Diagnosis = strings.TrimSpace(c.Diagnosis +
					fmt.Sprintf(" The same envelope was tried %s; %s.", where, f.retryEnded))
				if c.Stream == f.Stream {
					// The finding is this stream's, found after its summary.
					c.Findings++
					if worst, err := ParseSeverity(c.Worst); err != nil || f.Severity > worst {
						c.Worst = f.Severity.String()
					}
				}
			})
		}
	}
	r.Connections.updateAll(changes)
	r.Findings = a.findings.takeSorted(extra)
	if second != nil {
		r.Findings.keep(func(i int) bool {
			id, _, stream := r.Findings.head(i)
			return !dropped(stream, id)
		})
	}
	// Frames are located in their files only now: Locate reads the
	// capture's table of runs, which grows while the capture is read.
	unlocated := false // a frame Locate could not place: the inputs interleave too finely to map
	if a.opts.Locate != nil {
		for i := range r.Findings.Len() {
			f := r.Findings.At(i)
			if len(f.Frames) == 0 {
				continue // its record stays as it is
			}
			for _, fr := range f.Frames {
				if where, ok := a.opts.Locate(fr); ok {
					f.FileFrames = append(f.FileFrames, where)
				} else {
					unlocated = true
				}
			}
			r.Findings.set(i, &f)
		}
	}
	cuts := slices.Clone(a.cuts)
	sort.SliceStable(cuts, func(i, j int) bool { return cuts[i].stream < cuts[j].stream })
	for _, c := range cuts {
		r.Warnings = append(r.Warnings, fmt.Sprintf("stream %d: the %s's packets from frame %d on are past the limit of %d kept per direction; their timing, ACKs and TTLs were not looked at, so stall and middlebox findings may miss what happened after them",
			c.stream, c.dir, c.frame, c.kept))
	}
	if len(inputs) > 1 {
		r.FrameNote = "frame and stream numbers count the packets of all input files merged in timestamp order, as `mergecap -w merged.pcap` numbers them; file_frames names each frame as FILE:FRAME in its own file"
		if unlocated {
			r.FrameNote = "frame and stream numbers count the packets of all input files merged in timestamp order, as `mergecap -w merged.pcap` numbers them; the files interleave too finely (packet by packet) for smtpcap to keep where each frame came from, so file_frames is missing where it could not place a frame: merge them with mergecap to find the frames"
		}
	}
	a.noteCopies(r)
	a.envelopes = envelopes{}
	plaintextFallbacks(r)
	nextHosts(r)
	r.count()
	return r
}

// noteCopies completes the first accepted-after-client-left of each
// envelope with the copies the capture shows: the later connections that
// delivered the same envelope (the client sending the message again),
// named in the finding and in each connection's diagnosis. A
// lost-mid-transaction whose client was still waiting for the reply
// (awaitedReply) gets the same, told as a copy only if the server had
// accepted it, which the capture does not show.
func (a *Analyzer) noteCopies(r *Report) {
	told := map[uint64]bool{} // envelopes whose copies are told
	for i := range r.Findings.Len() {
		if id, _, _ := r.Findings.head(i); id != "accepted-after-client-left" && id != "lost-mid-transaction" {
			continue // awaitedReply marks only lost-mid-transaction
		}
		found := r.Findings.At(i)
		f := &found
		if f.ID != "accepted-after-client-left" && !f.awaitedReply || f.envelope == 0 || told[f.envelope] {
			continue
		}
		e, ok := a.envelopes.index[f.envelope]
		if !ok {
			continue
		}
		told[f.envelope] = true
		var again []int
		for ti := a.envelopes.list.at(e).first; ti >= 0; ti = a.envelopes.tries.at(ti).next {
			if t := a.envelopes.tries.at(ti); t.failure < 0 && t.stream > f.Stream {
				again = append(again, t.stream)
			}
		}
		if len(again) == 0 {
			continue
		}
		slices.Sort(again)
		where := fmt.Sprintf("stream %d", again[0])
		if len(again) > 1 {
			where = "streams " + shortList(again)
		}
		diagnose := func(stream int, sentence string) {
			r.Connections.update(stream, func(c *Connection) { c.Diagnosis = strings.TrimSpace(c.Diagnosis + " " + sentence) })
		}
		if f.awaitedReply {
			// Whether the server had accepted it is not in the capture.
			did := fmt.Sprintf("the same envelope was delivered later in %s: a second copy if the server had accepted this one", where)
			f.Summary += "; " + did
			f.Streams = append([]int{f.Stream}, again...)
			r.Findings.set(i, f)
			diagnose(f.Stream, "T"+did[1:]+".")
			for _, stream := range again {
				diagnose(stream, fmt.Sprintf("The same envelope as stream %d's, whose final reply never came: a second copy if that server had accepted it.", f.Stream))
			}
			continue
		}
		did := fmt.Sprintf("the same envelope was delivered again in %s: %d copies", where, 1+len(again))
		f.Summary += "; " + did
		f.Streams = append([]int{f.Stream}, again...)
		r.Findings.set(i, f)
		diagnose(f.Stream, "T"+did[1:]+".")
		for _, stream := range again {
			diagnose(stream, fmt.Sprintf("Another copy: stream %d's server had accepted this envelope, and the client never learned it (the acceptance in frame %d).", f.Stream, f.acceptedIn))
		}
	}
}

// Schema names the version of the JSON report.
const Schema = "smtpcap/1"

// Report is everything analyze found in a capture.
type Report struct {
	Schema      string         `json:"schema"`
	Version     string         `json:"version,omitempty"` // smtpcap version that wrote it
	Command     string         `json:"command,omitempty"` // command line that produced it
	Files       []string       `json:"files"`
	Connections ConnectionList `json:"connections"`
	Findings    FindingList    `json:"findings"`
	Counts      []Count        `json:"counts"`
	Warnings    []string       `json:"input_warnings,omitempty"` // problems reading the capture, and limits that cut what was looked at
	FrameNote   string         `json:"frame_note,omitempty"`     // how to read frame numbers (several input files)
}

// Count is how often one finding ID occurred and where.
type Count struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	N        int      `json:"count"`
	Streams  []int    `json:"streams"`
}

func (r *Report) count() {
	byID := map[string]*Count{}
	type idStream struct {
		id     string
		stream int
	}
	listed := map[idStream]bool{} // not slices.Contains: one ID may span 100 000 streams
	var order []string
	for i := range r.Findings.Len() {
		id, sev, stream := r.Findings.head(i)
		c := byID[id]
		if c == nil {
			c = &Count{ID: id, Severity: sev}
			byID[id] = c
			order = append(order, id)
		}
		c.N++
		c.Severity = max(c.Severity, sev)
		if k := (idStream{id, stream}); !listed[k] {
			listed[k] = true
			c.Streams = append(c.Streams, stream)
		}
	}
	r.Counts = []Count{}
	for _, id := range order {
		r.Counts = append(r.Counts, *byID[id])
	}
	sort.SliceStable(r.Counts, func(i, j int) bool {
		if r.Counts[i].Severity != r.Counts[j].Severity {
			return r.Counts[i].Severity > r.Counts[j].Severity
		}
		return r.Counts[i].ID < r.Counts[j].ID
	})
}

// Filter keeps the findings at or above min whose IDs are not ignored,
// and recounts.
func (r *Report) Filter(min Severity, ignore []string) {
	r.Findings.keep(func(i int) bool {
		id, sev, _ := r.Findings.head(i)
		return sev >= min && !slices.Contains(ignore, id)
	})
	r.count()
}

// Worst returns the highest severity found, and false when nothing was found.
func (r *Report) Worst() (Severity, bool) {
	if r.Findings.Len() == 0 {
		return Info, false
	}
	w := Info
	for i := range r.Findings.Len() {
		_, sev, _ := r.Findings.head(i)
		w = max(w, sev)
	}
	return w, true
}

// phaseOf says which phase a command belongs to.
func phaseOf(c *smtpparse.Command) Phase {
	if c == nil {
		return PhaseConnection
	}
	switch c.Verb {
	case "EHLO", "HELO", "LHLO":
		return PhaseHelo
	case "MAIL", "RCPT", "RSET":
		return PhaseEnvelope
	case "DATA":
		return PhaseData
	case "BDAT":
		return PhaseBDAT
	case "QUIT":
		return PhaseQuit
	case "STARTTLS", smtpparse.VerbAnonymousTLS:
		return PhaseTLS
	}
	return PhaseEnvelope
}

// shortList lists streams, or for many the first few, the last and how
// many: each stream of a long retry loop repeats it in its diagnosis.
func shortList(streams []int) string {
	if len(streams) <= 8 {
		return joinInts(streams, ", ")
	}
	return fmt.Sprintf("%s, …, %d (%d in all)", joinInts(streams[:5], ", "), streams[len(streams)-1], len(streams))
}

// plaintextFallbacks tells, in a failed STARTTLS handshake's finding and
// diagnosis, of the client's next connection to the same server when it
// came at once (by the time the failed one ended, or a second later) and
// without STARTTLS: an opportunistic sender (Postfix's
// smtp_tls_security_level = may) retrying in the clear.
func plaintextFallbacks(r *Report) {
	// The connections by client address and server, each list by opening
	// time, built at the first failed handshake: a look per failure, not
	// a walk over every connection.
	type route struct {
		client netip.Addr
		server string
	}
	var routes map[route][]opening
	conns := &r.Connections
	extendFindings(r, "tls-handshake-failed", func(f *Finding, _ int, failed Connection) string {
		from, err := netip.ParseAddrPort(failed.Client)
		if err != nil {
			return ""
		}
		if routes == nil {
			routes = openingsBy(conns, func(c *Connection) (route, bool) {
				a, err := netip.ParseAddrPort(c.Client)
				return route{a.Addr(), c.Server}, err == nil
			})
		}
		list := routes[route{from.Addr(), failed.Server}]
		var next *Connection
		j, _ := slices.BinarySearchFunc(list, f.Time, func(o opening, t time.Time) int { return o.first.Compare(t) })
		for ; j < len(list) && !list[j].first.After(failed.Last.Add(time.Second)); j++ {
			if c := conns.At(list[j].at); c.Stream != failed.Stream {
				next = &c
				break
			}
		}
		if next == nil || next.TLS || next.tlsAgreed {
			return ""
		}
		what := fmt.Sprintf("the client connected to the same server again in stream %d, %.1f s after this STARTTLS, without STARTTLS", next.Stream, next.First.Sub(f.Time).Seconds())
		if next.Transactions > 0 {
			what += fmt.Sprintf(", and delivered %d of %d transactions in the clear", next.Delivered, next.Transactions)
		}
		return what + ": a plaintext fallback"
	})
}
