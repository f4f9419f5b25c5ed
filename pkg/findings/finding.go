// Package findings finds what went wrong in SMTP sessions and says so as
// data: each Finding names its evidence by stream, direction, frames and
// byte offsets, with an explanation and a remedy a mail administrator can
// act on. Rendering a Report as a table, JSON or Markdown is a separate,
// dumb step (render.go).
package findings

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// Severity ranks findings.
type Severity uint8

// The severities, least severe first.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity reads "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "info":
		return Info, nil
	case "warning", "warn":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return 0, fmt.Errorf("severity %q: want info, warning or error", s)
}

// Phase is where in the SMTP dialogue a finding lies.
type Phase string

// The phases of an SMTP session.
const (
	PhaseConnection Phase = "connection"
	PhaseGreeting   Phase = "greeting"
	PhaseHelo       Phase = "helo"
	PhaseEnvelope   Phase = "envelope"
	PhaseData       Phase = "data"
	PhaseBDAT       Phase = "bdat"
	PhaseAfterData  Phase = "after-data"
	PhaseQuit       Phase = "quit"
	PhaseTLS        Phase = "tls"
)

// Finding is one thing that went wrong (or is worth knowing), with its evidence.
type Finding struct {
	ID          string    `json:"id"`
	Severity    Severity  `json:"severity"`
	Stream      int       `json:"stream"`
	Direction   string    `json:"direction,omitempty"` // "client" or "server": whose bytes are the evidence
	Phase       Phase     `json:"phase"`
	Frames      []int     `json:"frames"`
	Offset      int64     `json:"offset"` // byte offset in Direction's stream; -1 when not about bytes
	Time        time.Time `json:"time"`
	Summary     string    `json:"summary"`
	Evidence    string    `json:"evidence,omitempty"`
	Explanation string    `json:"explanation"`
	Remedy      string    `json:"remedy"`
	Filter      string    `json:"filter"`                 // Wireshark display filter that shows the evidence
	CaptureLoss string    `json:"capture_loss,omitempty"` // set when the evidence touches bytes the capture lost
	Streams     []int     `json:"streams,omitempty"`      // for findings about several connections
	FileFrames  []string  `json:"file_frames,omitempty"`  // with several input files: each of Frames as FILE:FRAME

	// serverTook says the server's side took the client's bytes: it
	// acknowledged unanswered commands, or answered right after a lenient
	// end of data. The diagnosis reads it; the summary only says it.
	serverTook bool
	// retryEnded says, for a retry-loop, how the failed attempts ended,
	// and retries how many there were.
	retryEnded string
	retries    int
	// envelope is, for accepted-after-client-left, the hash of the
	// message's envelope as its attempts are known by (attemptKey), to
	// find the copy the client sent again.
	envelope uint64
	// acceptedIn is, for accepted-after-client-left, the frame of the
	// acceptance the client never read.
	acceptedIn int
	// waitedOut marks a stall the waiting side ended itself: it went on
	// (a client's QUIT) without the answer it waited for.
	waitedOut bool
	// asSent marks a summary that starts with the client's command as it
	// sent it ("rcpt TO:<…>", "mAIL FROM:<…>"): a sentence made of it is
	// not capitalised.
	asSent bool
	// refusedMessage marks a command-rejected/-deferred finding that is
	// the server's answer to a message's content; interrupted marks a
	// lost-mid-transaction whose server gave up while the content was
	// still coming. The diagnosis ties them to bare line endings.
	refusedMessage, interrupted bool
	// smuggled marks a smuggling-end-of-data followed by SMTP commands;
	// answersMessage a sync-error-reply that answered a message's end of
	// data. Together they show a server that ended the message early.
	smuggled, answersMessage bool
	// tlsMismatch marks a tls-handshake-failed of a client and a server
	// that disagree on how TLS starts on the port: the cause of all else.
	tlsMismatch bool
	// cutShort, of a smuggling-end-of-data the server took, is the
	// sentence telling that it answered the rest of the message as
	// commands, so that the message it took was cut short; "" if not.
	cutShort string
	// lenientSeq is the non-standard end-of-data sequence a
	// smuggling-end-of-data the server took is about.
	lenientSeq string
	// changedInPath marks a pix-masked-command whose masking shows a
	// device at work (only the part after a segment boundary masked, or
	// the server quoting X's the client did not send), not X's the
	// client may have sent itself.
	changedInPath bool
	// everyRcpt is, on the refusal of a transaction's first RCPT when the
	// server turned down all its recipients, the sentence saying so, and
	// everyRcptFrames the frames of those RCPTs and their replies
	// (everyRecipientTurned).
	// ofEvery, on the refusal of each of those RCPTs, is their transaction.
	everyRcpt       string
	everyRcptFrames []int
	ofEvery         *smtpparse.Transaction
	// tx is the transaction a bare-ending, refusal or interruption
	// finding is about, so that the diagnosis ties only one message's.
	tx *smtpparse.Transaction
	// said is, for a refusal, the reply as the diagnosis quotes it; code
	// its reply code.
	said string
	code int
	// foldKey tells which findings of one ID are alike, for capRepeats:
	// for a refusal, the command's verb and the reply's code ("RCPT
	// 452"); "" when all of the ID are. foldAs is how a folded one is
	// counted in the summary that takes it in ("RCPT deferred (452)").
	foldKey, foldAs string
	// folded is how many findings of its ID capRepeats took into this
	// one, and foldFrames the last frame of each.
	folded     int
	foldFrames []int
	// contentAsCommands marks a malformed-command that explains message
	// lines the server read as commands; hungUp a command-rejected whose
	// reply was a 221 goodbye to something other than QUIT.
	contentAsCommands, hungUp bool
	// closedSession marks a command-deferred for a 421 the server sent
	// unasked, closing the session.
	closedSession bool
	// cmds are, for an unanswered-command, its commands: what another leg
	// of the session behind a proxy should have carried on.
	cmds []*smtpparse.Command
	// linked marks an unanswered-command already tied to its session's
	// other leg (Analyzer.linkLegs).
	linked bool
	// awaitedReply marks a lost-mid-transaction whose client sent the
	// whole message, half-closed and was still waiting for the reply when
	// the capture ended: a later delivery of its envelope may be a copy.
	awaitedReply bool
}

// filterFor builds the Wireshark filter for frames of a stream (at most
// the first 20). The frames are joined with || rather than listed in a
// set: Wireshark before 4.0 separates a set's elements with spaces, 4.0
// and later with commas, and an administrator may have either.
func filterFor(stream int, frames []int) string {
	b := []byte("tcp.stream eq ")
	b = strconv.AppendInt(b, int64(stream), 10)
	frames = frames[:min(len(frames), 20)]
	switch len(frames) {
	case 0:
		return string(b)
	case 1:
		b = append(b, " && frame.number == "...)
		return string(strconv.AppendInt(b, int64(frames[0]), 10))
	}
	b = append(b, " && ("...)
	for i, f := range frames {
		if i > 0 {
			b = append(b, " || "...)
		}
		b = append(b, "frame.number == "...)
		b = strconv.AppendInt(b, int64(f), 10)
	}
	return string(append(b, ')'))
}

// builder helps a detector fill the common fields of a finding, and holds
// what several detectors ask of a session, worked out once.
type builder struct {
	s        *session.Session
	maskedAt map[*smtpparse.Command]int                  // see maskedCommands
	message  map[*smtpparse.Reply]*smtpparse.Transaction // see messageReplies
	lines    messageLinesFound                           // see messageLines
	// hungUp is the refusal on which the server hung up (hungUpOn), nil
	// if none: the unanswered and lost-transaction detectors both ask.
	hungUp *smtpparse.Reply
	// closed holds, for each direction as the receiver, the stretches in
	// which that side held its receive window closed (findClosedWindows):
	// window-closed tells them, and the detectors that would otherwise
	// blame the peer's silence ask.
	closed [2][]closedWindow
}

// afterHello reports whether c is (part of) a TLS hello the client sent
// although STARTTLS was refused, or came after it: the server reads the
// hello as commands, which are no client's mistakes of their own
// (tls-handshake-failed tells it).
func (b builder) afterHello(c *smtpparse.Command) bool {
	t := b.s.Dialogue.RefusedTLS
	return t != nil && c.Span.Start >= t.Hello.Span.Start
}

// commandText is how a report shows a command: its verb and arguments,
// clipped to n bytes. An AUTH command shows its mechanism only and an AUTH
// response nothing of itself: reports are pasted into tickets, and
// credentials must not travel with them.
func commandText(c *smtpparse.Command, n int) string {
	switch {
	case c.AuthCancel:
		return strings.TrimSpace(`"*" (the client cancelling AUTH `+c.Mechanism) + ")"
	case c.Sensitive && c.Verb == "":
		if c.Mechanism != "" {
			return "(an AUTH " + c.Mechanism + " response; credentials not shown)"
		}
		return "(an AUTH response; credentials not shown)"
	case c.Sensitive:
		return strings.TrimSpace(c.Verb+" "+c.Mechanism) + " (credentials not shown)"
	}
	if len(c.Line) > 0 {
		// The line as the client sent it: Verb is upper-cased, and a
		// quote must show the bytes (ESC[31m, not ESC[31M).
		return clip(strings.TrimRight(string(c.Line), "\r\n"), n)
	}
	return clip(c.Verb+" "+c.Args, n)
}

// quoteCommand is commandText in double quotes, for a summary.
func quoteCommand(c *smtpparse.Command, n int) string { return `"` + commandText(c, n) + `"` }

func newBuilder(s *session.Session) builder {
	b := builder{s: s, maskedAt: maskedCommands(s), message: messageReplies(s.Dialogue)}
	b.lines = messageLines(b)
	b.hungUp = hungUpOn(b)
	for _, receiver := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		b.closed[receiver] = findClosedWindows(s, receiver)
	}
	return b
}

// messageReplies maps each reply that answers a message (a final reply,
// an LMTP recipient's, a refusal in the middle of the content) to its
// transaction: the detectors that tell a message's fate from a command's
// look it up here.
func messageReplies(d *smtpparse.Dialogue) map[*smtpparse.Reply]*smtpparse.Transaction {
	m := make(map[*smtpparse.Reply]*smtpparse.Transaction, len(d.Transactions))
	for _, tx := range d.Transactions {
		for _, r := range tx.PerRecipient {
			m[r] = tx
		}
		for _, r := range [...]*smtpparse.Reply{tx.FinalReply, tx.Interrupt} {
			if r != nil {
				m[r] = tx
			}
		}
	}
	return m
}

// maskedCommands finds the commands a firewall fixup masked: those the
// parser saw masked whole (the map holds 0), and those split across
// segments whose part after a boundary starts with X's (…\r\nRC | XX
// TO:<…>), what a fixup that inspects each segment alone does (the map
// holds the later frame).
func maskedCommands(s *session.Session) map[*smtpparse.Command]int {
	var out map[*smtpparse.Command]int
	mark := func(c *smtpparse.Command, frame int) {
		if out == nil {
			out = map[*smtpparse.Command]int{}
		}
		out[c] = frame
	}
	for _, c := range s.Dialogue.Commands {
		if c.Masked {
			mark(c, 0)
			continue
		}
		if c.Sensitive {
			continue
		}
		for _, bd := range s.Boundaries(c.Span) {
			at := bd.Offset - c.Span.Start
			if bd.After != 0 && at+2 <= int64(len(c.Line)) && c.Line[at] == 'X' && c.Line[at+1] == 'X' {
				mark(c, bd.After)
				break
			}
		}
	}
	return out
}

// at returns a finding about the bytes of span sp.
func (b builder) at(id string, sev Severity, phase Phase, sp smtpparse.Span, t time.Time, summary string) Finding {
	frames := b.s.Frames(sp)
	f := Finding{
		ID: id, Severity: sev, Stream: b.s.Conn.Stream, Direction: sp.Dir.String(), Phase: phase,
		Frames: frames, Offset: sp.Start, Time: t, Summary: summary,
		Evidence: evidence(b.s, sp),
	}
	if st := b.s.Stream(sp.Dir); st != nil {
		if g, ok := st.GapIn(sp.Start, max(sp.End, sp.Start+1)); ok {
			f.CaptureLoss = fmt.Sprintf("the capture lacks %d bytes of this %s stream at offset %d (%s, noticed at frame %d): judge this finding with care",
				g.End-g.Start, sp.Dir, g.Start, g.Reason, g.Frame)
		}
	}
	return f
}

// conn returns a finding about the connection as a whole.
func (b builder) conn(id string, sev Severity, phase Phase, frames []int, t time.Time, summary string) Finding {
	return Finding{ID: id, Severity: sev, Stream: b.s.Conn.Stream, Phase: phase, Frames: frames, Offset: -1, Time: t, Summary: summary}
}

// evidenceBytes caps the escaped excerpt of a finding.
const evidenceBytes = 160

// evidence renders the bytes of a span from what the dialogue kept:
// escaped, with segment boundaries marked "┊[a|b]" naming the frames on
// either side.
func evidence(s *session.Session, sp smtpparse.Span) string {
	raw := spanBytes(s, sp)
	if raw == nil {
		return ""
	}
	st := s.Stream(sp.Dir)
	var b strings.Builder
	fmt.Fprintf(&b, "%s offset %d", sp.Dir, sp.Start)
	if frames := s.Frames(sp); len(frames) > 0 {
		fmt.Fprintf(&b, ", frame %s", joinInts(frames, ", "))
	}
	b.WriteString(": ")
	pos := sp.Start
	write := func(to int64) {
		if to > pos && pos-sp.Start < int64(len(raw)) {
			end := min(to-sp.Start, int64(len(raw)))
			b.WriteString(escape(raw[pos-sp.Start : end]))
		}
		pos = to
	}
	if st != nil {
		for _, bd := range st.Boundaries(sp.Start, sp.End) {
			write(bd.Offset)
			fmt.Fprintf(&b, "┊[%d|%d]", bd.Before, bd.After)
		}
	}
	write(sp.End)
	return b.String()
}

// spanBytes finds the bytes of a span in what the parser kept: command
// lines and reply lines. Other spans have no bytes to show.
func spanBytes(s *session.Session, sp smtpparse.Span) []byte {
	if raw := s.Raw[sp.Dir]; sp.End <= int64(len(raw)) && len(raw) > 0 {
		return raw[sp.Start:min(sp.End, sp.Start+evidenceBytes)]
	}
	d := s.Dialogue
	if sp.Dir == smtpparse.ClientToServer {
		i := sort.Search(len(d.Commands), func(i int) bool { return d.Commands[i].Span.End > sp.Start })
		if i < len(d.Commands) && d.Commands[i].Span.Start <= sp.Start {
			c := d.Commands[i]
			if c.Sensitive {
				return []byte("<credentials hidden>")
			}
			from := sp.Start - c.Span.Start
			if from < int64(len(c.Line)) {
				return c.Line[from:min(int64(len(c.Line)), from+(sp.End-sp.Start), from+evidenceBytes)]
			}
		}
		return nil
	}
	for _, r := range d.Replies {
		if r.Span.Start <= sp.Start && sp.Start < r.Span.End {
			text := fmt.Sprintf("%03d %s", r.Code, strings.Join(r.Lines, " / "))
			return []byte(text[:min(len(text), evidenceBytes)])
		}
	}
	return nil
}

func joinInts(v []int, sep string) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, sep)
}

// escape shows bytes as text: printable ASCII as is, CR and LF as \r \n,
// everything else as \xNN.
func escape(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			s.WriteString(`\r`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\t':
			s.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}
