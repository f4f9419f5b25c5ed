package findings

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smtpcap/smtpcap/internal/printable"
	"github.com/smtpcap/smtpcap/internal/wording"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// ---- capture loss ----

func detectCaptureLoss(b builder, _ Options) []Finding {
	var out []Finding
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		st := b.s.Stream(dir)
		if st == nil {
			continue
		}
		var lost, cut []reassembly.Gap
		for _, g := range st.Gaps {
			if g.Reason == reassembly.GapSnaplen {
				cut = append(cut, g)
			} else {
				lost = append(lost, g)
			}
		}
		var acks peerAcks
		if len(lost) > 0 { // most streams lose nothing: spare a walk over the peer's packets
			acks = acksOf(b.s.Stream(1 - dir))
		}
		for _, g := range lost {
			// Point at the hole's edge as Wireshark does ("previous segment
			// not captured" on the segment after it), or else at the packet
			// whose acknowledgement revealed it.
			frame, where := g.Frame, fmt.Sprintf("frame %d acknowledges them", g.Frame)
			if g.Next != 0 {
				frame, where = g.Next, fmt.Sprintf("the next captured bytes are in frame %d", g.Next)
			}
			if g.Reason != reassembly.GapNotCaptured {
				frame, where = g.Frame, fmt.Sprintf("noticed at frame %d", g.Frame)
			}
			summary := fmt.Sprintf("%s of the %s's stream at offset %d are not in the capture (%s; %s)", wording.Plural(g.End-g.Start, "byte", "bytes"), dir, g.Start, g.Reason, where)
			if g.Reason == reassembly.GapNotCaptured && g.Next != 0 && acks.missed(g.Start, g.Next) {
				// Later bytes came and were acknowledged around the hole.
				// Without an ACK after them (a reset, or the capture ended)
				// nothing says these did not arrive.
				summary = fmt.Sprintf("%s of the %s's stream at offset %d never arrived: the %s's ACKs never went past offset %d, though later bytes did arrive (frame %d); they were lost on the way, not only missing from the capture",
					wording.Plural(g.End-g.Start, "byte", "bytes"), dir, g.Start, 1-dir, acks.highest, g.Next)
			}
			f := b.conn("capture-gap", Warning, phaseAtOffset(b, dir, g.Start), []int{frame}, timeOfFrame(b, frame), summary)
			f.Direction, f.Offset = dir.String(), g.Start
			out = append(out, f)
		}
		if len(cut) > 0 {
			var n int64
			var frames []int
			for _, g := range cut {
				n += g.End - g.Start
				frames = append(frames, g.Frame)
			}
			f := b.conn("snaplen-truncated", Warning, PhaseConnection, frames, timeOfFrame(b, frames[0]),
				fmt.Sprintf("the snaplen cut %d of the %s's bytes from %s (first: frame %d); capture with -s 0", n, dir, wording.Plural(int64(len(cut)), "packet", "packets"), frames[0]))
			f.Direction, f.Offset = dir.String(), cut[0].Start
			out = append(out, f)
		}
	}
	return out
}

// peerAcks is what one side acknowledged of the other's stream: the
// highest offset, and the last frame that carried an ACK (0: none).
type peerAcks struct {
	highest int64
	last    int
}

// acksOf gathers the ACKs of st's packets.
func acksOf(st *reassembly.Stream) peerAcks {
	var a peerAcks
	if st == nil {
		return a
	}
	for i := range st.Segments {
		if sf := &st.Segments[i]; sf.Ack >= 0 {
			a.highest, a.last = max(a.highest, sf.Ack), max(a.last, sf.Frame)
		}
	}
	return a
}

// missed reports whether bytes from offset start, sent by frame, never
// reached the acknowledging side while it was still there to say so: it
// acknowledged after that frame, never past start. Wherever they were
// lost, it was not only the capture that missed them.
func (a peerAcks) missed(start int64, frame int) bool { return a.last > frame && a.highest <= start }

// timeOfFrame returns the capture time of frame, one of the connection's,
// or its first packet's time if its facts were not kept.
func timeOfFrame(b builder, frame int) time.Time {
	if t, ok := frameTime(b.s, frame); ok {
		return t
	}
	return b.s.Conn.FirstTime
}

// frameTime returns the capture time of frame, if it is one of s's
// packets whose facts were kept.
func frameTime(s *session.Session, frame int) (time.Time, bool) {
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		if st := s.Stream(dir); st != nil {
			i := sort.Search(len(st.Segments), func(i int) bool { return st.Segments[i].Frame >= frame })
			if i < len(st.Segments) && st.Segments[i].Frame == frame {
				return st.Segments[i].Time(), true
			}
		}
	}
	return time.Time{}, false
}

// phaseAtOffset guesses the phase of a byte offset from the transactions.
func phaseAtOffset(b builder, dir smtpparse.Direction, off int64) Phase {
	if dir != smtpparse.ClientToServer {
		return PhaseConnection
	}
	for _, tx := range b.s.Dialogue.Transactions {
		if tx.Body != nil && off >= tx.Body.Span.Start && off <= tx.Body.Span.End {
			if tx.Data != nil {
				return PhaseData
			}
			return PhaseBDAT
		}
	}
	return PhaseEnvelope
}

// ---- middleboxes ----

func detectMaskedCommands(b builder, _ Options) []Finding {
	var out []Finding
	for _, c := range b.s.Dialogue.Commands {
		after, masked := b.maskedAt[c]
		if !masked {
			continue
		}
		f := b.at("pix-masked-command", Error, phaseOf(c), c.Span, c.Time,
			fmt.Sprintf("the client's command reached the server as %s: a firewall SMTP fixup replaced the verb with X's", quoteCommand(c, 60)))
		f.changedInPath = after != 0 // only the part after a segment boundary is masked
		if after != 0 {
			f.Summary = fmt.Sprintf("the command %s was split across TCP segments and the part in frame %d starts with X's: a firewall SMTP fixup inspecting each segment alone masked it as if it were a new command",
				quoteCommand(c, 60), after)
		}
		if c.Reply != nil {
			f.Summary += fmt.Sprintf("; the server answered %d", c.Reply.Code)
			f.Frames = appendUnique(f.Frames, b.s.Frames(c.Reply.Span)...)
		}
		out = append(out, f)
	}
	// A reply that quotes a masked command the capture did not show masked
	// (the capture was taken on the client's side of the fixup).
	for _, r := range b.s.Dialogue.Replies {
		if r.Code < 500 {
			continue
		}
		if _, reported := b.maskedAt[r.Command]; reported {
			continue
		}
		for _, line := range r.Lines {
			if masked := findMasked(line); masked != "" {
				f := b.at("pix-masked-command", Error, phaseOf(r.Command), r.Span, r.Time,
					fmt.Sprintf("the server's %d reply quotes a masked command %s", r.Code, quote(masked, 60)))
				f.changedInPath = true // the client's own bytes were not masked
				if r.Command != nil {
					f.Frames = appendUnique(f.Frames, b.s.Frames(r.Command.Span)...) // the command as the client sent it
				}
				out = append(out, f)
				break
			}
		}
	}
	return out
}

var (
	// maskedWord is a command or keyword a PIX/ASA fixup replaced with X's.
	maskedWord = regexp.MustCompile(`\bX{4,}[A-Z0-9]?\b`)
	// maskedKeyword is an EHLO keyword a fixup masked: X's and at most one
	// last character kept (250-XXXXXXXA).
	maskedKeyword = regexp.MustCompile(`^X{3,}[A-Z0-9]?$`)
)

// maskedBanner is what a PIX/ASA fixup leaves of a greeting it stars out.
const maskedBanner = "******"

// findMasked returns the first masked word in s. Every reply line of every
// session passes here; the regexp runs only on lines that hold four X's.
func findMasked(s string) string {
	if !strings.Contains(s, "XXXX") {
		return ""
	}
	return maskedWord.FindString(s)
}

// isMaskedKeyword reports whether an EHLO keyword was masked by a fixup.
func isMaskedKeyword(word string) bool {
	return strings.HasPrefix(word, "XXX") && maskedKeyword.MatchString(word)
}

// maskedKeywords returns the EHLO keywords a fixup masked.
func maskedKeywords(d *smtpparse.Dialogue) []string {
	var masked []string
	for _, line := range d.Extensions.Lines {
		word, _, _ := strings.Cut(line, " ")
		if isMaskedKeyword(word) {
			masked = append(masked, word)
		}
	}
	return masked
}

func detectMaskedEHLO(b builder, _ Options) []Finding {
	d := b.s.Dialogue
	var out []Finding
	if g := d.Greeting; g != nil && len(g.Lines) > 0 && strings.Contains(g.Lines[0], maskedBanner) {
		out = append(out, b.at("pix-masked-ehlo", Warning, PhaseGreeting, g.Span, g.Time,
			fmt.Sprintf("the greeting banner is starred out (%s): a Cisco PIX/ASA SMTP fixup (\"mailguard\") is between client and server", quote(g.Lines[0], 50))))
	}
	if d.Hello == nil || d.Hello.Reply == nil {
		return out
	}
	r := d.Hello.Reply
	if masked := maskedKeywords(d); len(masked) > 0 {
		out = append(out, b.at("pix-masked-ehlo", Warning, PhaseHelo, r.Span, r.Time,
			fmt.Sprintf("the EHLO reply lists masked keywords %s: a firewall SMTP fixup hides extensions it does not know (the client cannot use them)", strings.Join(masked, ", "))))
	}
	return out
}

func detectSplitCommands(b builder, _ Options) []Finding {
	var out []Finding
	syncError := slices.ContainsFunc(b.s.Dialogue.Replies, isSyncError)
	for _, c := range b.s.Dialogue.Commands {
		bounds := b.s.Boundaries(c.Span)
		var real []reassembly.Boundary
		for _, bd := range bounds {
			if bd.Before != 0 && bd.After != 0 && !windowProbe(b, bd.Before) {
				real = append(real, bd)
			}
		}
		if len(real) == 0 || c.Sensitive || b.lines.all[c] {
			continue // message lines the server read as commands are told as such
		}
		sev := Info
		why := ""
		switch _, masked := b.maskedAt[c]; {
		case masked && strings.Trim(string(c.Line[:min(len(c.Line), int(real[0].Offset-c.Span.Start))]), "X") == "":
			sev, why = Error, "; both parts were masked, each as if it were a command of its own"
		case masked:
			sev, why = Error, "; the part after the split was masked"
		case c.Reply != nil && c.Reply.Code >= 500:
			sev, why = Error, fmt.Sprintf("; the server rejected it with %d", c.Reply.Code)
		case syncError:
			sev, why = Error, "; the server later reported a synchronization error"
		case !c.Known:
			sev, why = Error, "; the server received an unknown verb"
		}
		bd := real[0]
		if _, masked := b.maskedAt[c]; !masked && !syncError && c.Known && c.Reply != nil && (!syntaxRefusal(c.Reply) || c.Length > 512) && fullSegment(b, bd.Before) {
			// TCP filled a segment in the middle of a large write (a long
			// pipelined envelope), and the server read the command whole
			// and answered it: a refusal of an unknown user, or of a line
			// longer than SMTP allows (512 octets, told as malformed), is
			// no sign of a device that inspects one segment at a time.
			continue
		}
		split := bd.Offset - c.Span.Start
		rest := fmt.Sprintf("frame %d carries the rest", bd.After)
		if len(real) > 1 {
			rest = fmt.Sprintf("the rest follows in frames %s", frameList(real))
		}
		f := b.at("command-split-across-segments", sev, phaseOf(c), c.Span, c.Time,
			fmt.Sprintf("the command %s was carried by %d TCP segments: frame %d ends after %s (%s), %s%s",
				quoteCommand(c, 50), len(real)+1, bd.Before, wording.Plural(split, "byte", "bytes"), quote(string(c.Line[:min(int(split), len(c.Line))]), 20), rest, why))
		out = append(out, f)
	}
	return out
}

// frameList names the frames after each boundary: "14 and 16", "14, 16 and 18".
func frameList(bounds []reassembly.Boundary) string {
	var names []string
	for _, bd := range bounds {
		names = append(names, strconv.Itoa(bd.After))
	}
	return joinAnd(names)
}

// joinAnd lists names as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(names []string) string {
	last := len(names) - 1
	if last <= 0 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:last], ", ") + " and " + names[last]
}

// pipeConnect reports whether the server offers early pipelining, under
// which a client that remembers the offer from an earlier connection sends
// EHLO and its envelope before the banner and the EHLO reply arrive. Exim
// 4.94 and later call it PIPECONNECT; its experimental build called it
// X_PIPE_CONNECT.
func pipeConnect(d *smtpparse.Dialogue) bool {
	return d.Extensions.Has("PIPECONNECT") || d.Extensions.Has("X_PIPE_CONNECT") || d.Extensions.Has("PIPE_CONNECT")
}

// isSyncError reports whether a reply complains that the client did not
// wait its turn.
func isSyncError(r *smtpparse.Reply) bool {
	if r.Code < 400 {
		return false
	}
	for _, line := range r.Lines {
		line = strings.ToLower(line)
		if strings.Contains(line, "synchroni") || strings.Contains(line, "pipelin") || strings.Contains(line, "improper command") {
			return true
		}
	}
	return false
}

func detectMiddleboxACK(b builder, _ Options) []Finding {
	var out []Finding
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		peer := b.s.Stream(1 - dir)
		if peer == nil {
			continue
		}
		// The peer's own data packets tell its TTL.
		own, seen, varies := uint8(0), false, false
		for i := range peer.Segments {
			if sf := &peer.Segments[i]; sf.Length > 0 {
				if seen && sf.TTL != own {
					varies = true
					break
				}
				own, seen = sf.TTL, true
			}
		}
		if !seen || varies {
			continue // no data, or the peer's own TTL varies: nothing to compare with
		}
		var odd []reassembly.SegmentFact
		for i := range peer.Segments {
			if sf := &peer.Segments[i]; sf.Length == 0 && sf.Flags&reassembly.FlagSYN == 0 && absDiff(sf.TTL, own) > 1 {
				odd = append(odd, *sf)
			}
		}
		if len(odd) == 0 {
			continue
		}
		peerName := (1 - dir).String()
		frames := make([]int, 0, len(odd))
		for _, sf := range odd {
			frames = append(frames, sf.Frame)
		}
		what := "ACKs"
		if slices.ContainsFunc(odd, func(sf reassembly.SegmentFact) bool { return sf.Flags&reassembly.FlagRST != 0 }) {
			what = "ACKs or RSTs"
		}
		f := b.conn("middlebox-ack", Warning, PhaseConnection, frames, odd[0].Time(),
			fmt.Sprintf("%s for the %s's data (%d packets, first: frame %d) carry TTL %d, but the %s's own data packets carry TTL %d: a device in the path answers for the %s",
				what, dir, len(odd), odd[0].Frame, odd[0].TTL, peerName, own, peerName))
		f.Direction = peerName
		out = append(out, f)
	}
	return out
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}

func detectRetransmissionConflicts(b builder, _ Options) []Finding {
	var out []Finding
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		st := b.s.Stream(dir)
		if st == nil {
			continue
		}
		for _, cf := range st.Conflicts {
			f := b.conn("retransmission-conflict", Error, phaseAtOffset(b, dir, cf.Offset), []int{cf.FirstFrame, cf.SecondFrame}, timeOfFrame(b, cf.SecondFrame),
				fmt.Sprintf("frame %d retransmits %s bytes at offset %d with different content than frame %d: %s became %s",
					cf.SecondFrame, dir, cf.Offset, cf.FirstFrame, quote(escape(cf.First), 30), quote(escape(cf.Second), 30)))
			f.Direction, f.Offset = dir.String(), cf.Offset
			f.Evidence = fmt.Sprintf("frame %d: %s\nframe %d: %s", cf.FirstFrame, escape(cf.First), cf.SecondFrame, escape(cf.Second))
			out = append(out, f)
		}
	}
	return out
}

// ---- pipelining ----

func detectPipelining(b builder, _ Options) []Finding {
	d := b.s.Dialogue
	var out []Finding
	// A capture that began after the EHLO may hold its reply (the parser
	// takes it for the EHLO's), or not even that.
	conn := b.s.Conn
	midStream := d.Hello == nil && !conn.SYNSeen(reassembly.ClientToServer) && !conn.SYNSeen(reassembly.ServerToClient)
	offered := d.Extensions.Has("PIPELINING") && (d.Hello.IsHello() && d.Hello.Verb != "HELO" || midStream)
	reported := false
	for i, c := range d.Commands {
		// Without the reply to EHLO nobody knows what the server offers
		// (it may have refused the client before answering, as Postfix's
		// smtpd_forbid_unauth_pipelining does): the group rule below says
		// what the client did wrong.
		unknown := !d.Extensions.Offered && (d.Hello != nil && d.Hello.Verb != "HELO" || midStream) ||
			d.Extensions.Cut // the capture lost the rest of the list (snaplen)
		// Message lines after a refused DATA are the client's message, not
		// commands it pipelined (told as such), and what follows them
		// waited for the message's reply as far as the client knows.
		behindMessage := b.lines.all[c] || i > 0 && b.lines.all[d.Commands[i-1]]
		if c.Pipelined && !offered && !reported && c.Verb != "" && !unknown && !behindMessage {
			why := "the server did not offer PIPELINING"
			if d.Hello != nil && d.Hello.Verb == "HELO" {
				why = "the client greeted with HELO, which allows no extensions"
			}
			f := b.at("pipelining-not-offered", Warning, phaseOf(c), c.Span, c.Time,
				fmt.Sprintf("the client sent %s before the reply to the previous command, but %s", clip(c.Verb, 10), why))
			if slices.ContainsFunc(d.Replies, isSyncError) {
				f.Severity = Error
			}
			if len(maskedKeywords(d)) > 0 {
				f.Summary += " (its EHLO reply has masked keywords: a firewall may have hidden PIPELINING from the client)"
			}
			out = append(out, f)
			reported = true
		}
		if !c.EndsGroup() || i+1 >= len(d.Commands) {
			continue
		}
		if c.IsHello() && pipeConnect(d) {
			continue // early pipelining (Exim's PIPECONNECT) lets the envelope follow EHLO unanswered
		}
		next := d.Commands[i+1]
		if next.Verb == "" || !next.Pipelined || b.afterHello(next) {
			continue // a TLS hello behind a refused STARTTLS is told by tls-handshake-failed
		}
		if c.Reply == nil && serverClosedBefore(b, next) {
			// Never answered because the server had gone (Exim's 554 on
			// too many non-mail commands, then its FIN): the next command
			// went to a closed session, not into a pipelined group.
			continue
		}
		if c.Reply == nil || next.Order < c.Reply.EndOrder {
			f := b.at("pipelining-bad-sequence", Warning, phaseOf(c), next.Span, next.Time,
				fmt.Sprintf("%s must end a pipelined group (RFC 2920), but the client sent %s before its reply", clip(c.Verb, 10), clip(next.Verb, 10)))
			f.Frames = appendUnique(b.s.Frames(c.Span), f.Frames...)
			if t := d.TLS; t != nil && t.Command == c {
				// In clear text behind STARTTLS: what a server that kept
				// the bytes would take as said inside TLS.
				f.Summary += "; sent in clear text behind STARTTLS, it is what a server that kept such bytes would run as the first command inside TLS (the STARTTLS command injection of CVE-2011-0411)"
			}
			out = append(out, f)
		}
	}
	return out
}

// halfSent returns the command line the client had begun but not ended
// when reply r came, the frame of its first byte, the frame that ended it
// and how many of its bytes came before r; nil if none.
func halfSent(b builder, r *smtpparse.Reply) (c *smtpparse.Command, first, rest int, n int64) {
	rf := b.s.Frames(r.Span)
	if len(rf) == 0 {
		return nil, 0, 0, 0
	}
	for _, cmd := range b.s.Dialogue.Commands {
		cf := b.s.Frames(cmd.Span)
		if len(cf) > 1 && cf[0] < rf[0] && cf[len(cf)-1] > rf[0] {
			return cmd, cf[0], cf[len(cf)-1], clientBytesBefore(b, rf[0]) - cmd.Span.Start
		}
	}
	return nil, 0, 0, 0
}

// serverClosedBefore reports whether the server's side had closed (its
// FIN or a reset from it) before the first frame of c.
func serverClosedBefore(b builder, c *smtpparse.Command) bool {
	frames := b.s.Frames(c.Span)
	if len(frames) == 0 {
		return false
	}
	conn := b.s.Conn
	if fin := conn.FINFrame(reassembly.ServerToClient); fin != 0 && fin < frames[0] {
		return true
	}
	d, ok := conn.RSTDirection()
	return ok && d == reassembly.ServerToClient && conn.RSTFrame < frames[0]
}

func detectSyncErrors(b builder, _ Options) []Finding {
	if b.s.ImplicitTLS {
		// The client's bytes are a TLS hello, not commands out of step:
		// tls-handshake-failed quotes the server's refusal.
		return nil
	}
	var out []Finding
	for _, r := range b.s.Dialogue.Replies {
		if isSyncError(r) && r == b.s.Dialogue.Greeting {
			// Exim's answer to a client that talked first, or gave up
			// waiting and did: the session refused in the greeting,
			// told once (not also as command-rejected).
			said := replyClause(r, 80)
			f := b.at("sync-error-reply", Error, PhaseGreeting, r.Span, r.Time,
				fmt.Sprintf("the server refused the session in its greeting with a synchronization error: %s", said))
			f.said = said
			out = append(out, f)
		} else if isSyncError(r) {
			f := b.at("sync-error-reply", Error, phaseOf(r.Command), r.Span, r.Time,
				fmt.Sprintf("the server reported a synchronization/pipelining error: %s", replyClause(r, 80)))
			f.tx = b.message[r]
			f.answersMessage = f.tx != nil && r.Final
			out = append(out, f)
		}
	}
	return out
}

func detectUnanswered(b builder, _ Options) []Finding {
	d := b.s.Dialogue
	srv := b.s.Stream(smtpparse.ServerToClient)
	if srv == nil || srv.Next == 0 || d.TLS != nil {
		return nil // a one-sided capture, or nothing to wait for
	}
	// Commands sent together (one segment) and left unanswered together are
	// one story: the segment was lost, or held by something in the path.
	var out []Finding
	var group []*smtpparse.Command
	flush := func() {
		if len(group) == 0 {
			return
		}
		first := group[0]
		if g := d.Greeting; g != nil && g.Code >= 400 {
			// A server that refused the session in its greeting answers
			// nothing but QUIT, and may hang up (RFC 5321 3.1): what it
			// left unanswered is the refusal's doing, told by it.
			group = nil
			return
		}
		sev := Warning
		if (len(group) == 1 && first.Verb == "QUIT") || b.s.Conn.End() == reassembly.EndOpen {
			sev = Info // a QUIT's reply matters little; and the capture may just have stopped too soon
		}
		span := smtpparse.Span{Dir: smtpparse.ClientToServer, Start: first.Span.Start, End: group[len(group)-1].Span.End}
		if waitedOnMessage(b, first) {
			// Sent while the server was still at the message, which it
			// accepted after the client left: accepted-after-client-left
			// tells it.
			group = nil
			return
		}
		f := b.at("unanswered-command", sev, phaseOf(first), span, first.Time, "")
		written := 0 // the length of the one segment that carried them all
		if len(f.Frames) == 1 {
			written = segmentLength(b, f.Frames[0])
		}
		if len(group) == 1 {
			f.Summary = fmt.Sprintf("the server never answered %s (%s)", quoteCommand(first, 50), endPhrase(b.s.Conn))
		} else {
			size := ""
			if written > 0 {
				// The size of one write can be what a middlebox trips on
				// (it drops exactly 513 or 1025 bytes).
				size = fmt.Sprintf(", a segment of %s", wording.Plural(int64(written), "byte", "bytes"))
			}
			in := "frame " + joinInts(f.Frames, ", ")
			if n := len(f.Frames); n > 4 {
				in = fmt.Sprintf("%d segments, frames %d to %d", n, f.Frames[0], f.Frames[n-1])
			}
			f.Summary = fmt.Sprintf("the server never answered the %d commands (%s) the client sent in %s%s (%s)",
				len(group), verbList(group), in, size, endPhrase(b.s.Conn))
		}
		f.cmds = slices.Clone(group)
		last := group[len(group)-1]
		if ack := ackFrame(b, span.End); ack != 0 && ack == b.s.Conn.RSTFrame && serverReset(b.s.Conn) {
			// The server had let go of the connection: its TCP answered
			// what came after with a reset (data on a closed socket).
			them := "them"
			if len(group) == 1 {
				them = "it"
			}
			f.Summary += "; that reset answered " + them + ": the server had already let go of the connection"
			f.Frames = appendUnique(f.Frames, ack)
		} else if w := stoppedReading(b, smtpparse.ClientToServer); w != nil && len(f.Frames) > 0 && w.from.Frame > f.Frames[0] {
			// The client's window closed for good: replies the server
			// had for it could not be sent (window-closed tells of it).
			f.Summary += fmt.Sprintf("; the client was not reading the replies: its receive window closed in frame %d and never opened again, so the server could send no more", w.from.Frame)
			f.Frames = appendUnique(f.Frames, w.from.Frame)
		} else if w := stoppedReading(b, smtpparse.ServerToClient); ack != 0 && w != nil && len(f.Frames) > 0 && w.from.Frame > f.Frames[0] {
			// The server's TCP took the bytes, then its receive window
			// closed for good: the server had stopped reading, and no
			// middlebox need be suspected (window-closed tells of it).
			f.Summary += fmt.Sprintf("; the server had stopped reading: its receive window closed in frame %d and never opened again", w.from.Frame)
			f.Frames = appendUnique(f.Frames, w.from.Frame)
		} else if ack != 0 && !repliedSoon(d, last) {
			whose := "their"
			if len(group) == 1 {
				whose = "its"
			}
			f.Summary += fmt.Sprintf("; yet %s bytes were acknowledged in frame %d, so they reached the server's TCP — or a device in the path that answers for it", whose, ack)
			f.Frames = appendUnique(f.Frames, ack)
			f.serverTook = true
			if written == 513 || written == 1025 {
				// A size that points at the device: such middleboxes
				// re-segment what they take and lose exactly these writes.
				f.Summary += fmt.Sprintf("; a write of exactly %d bytes is what middleboxes that re-segment TCP are known to lose (one byte less goes through)", written)
			}
		} else if acks := acksOf(b.s.Stream(smtpparse.ServerToClient)); len(f.Frames) > 0 && acks.missed(span.Start, f.Frames[len(f.Frames)-1]) {
			// Not an unanswered command but an undelivered one (a
			// path-MTU black hole behind the client's last segment).
			whose := "their"
			if len(group) == 1 {
				whose = "its"
			}
			f.Summary += fmt.Sprintf("; %s bytes never reached the server: the server's ACKs (last in frame %d) never went past offset %d of the client's stream",
				whose, acks.last, acks.highest)
		}
		out = append(out, f)
		group = nil
	}
	// 421 closes the session (RFC 5321 section 3.8): what the client sent
	// after it goes unanswered as a matter of course.
	closedAt := int64(-1)
	for _, r := range withLast(d.Replies, d.LastReply) {
		// A 221 to anything but QUIT is a goodbye too (Postfix hangs up
		// on a non-SMTP command so).
		if r.Code == 421 || r.Code == 221 && r.Command != nil && r.Command.Verb != "QUIT" {
			closedAt = r.EndOrder
			break
		}
	}
	// So does what the client pipelined behind a command the server
	// refused before hanging up.
	// behindRefusal: c came after the command the server refused before
	// hanging up (within hangUpWithin: hungUpOn), pipelined behind it or
	// crossing the close.
	behindRefusal := func(c *smtpparse.Command) bool {
		return b.hungUp != nil && c.Span.Start > b.hungUp.Command.Span.Start
	}
	for _, c := range withLast(d.Commands, d.LastCommand) {
		// A command finished after the goodbye (begun before it, the
		// client pausing in the middle of the line) is one too.
		if c.Reply != nil || c.Forgotten || c.Sensitive || c.Verb == "" || closedAt >= 0 && c.EndOrder > closedAt || behindRefusal(c) || b.lines.all[c] || b.afterHello(c) {
			flush()
			continue
		}
		if len(group) > 0 {
			prev := b.s.Frames(group[len(group)-1].Span)
			cur := b.s.Frames(c.Span)
			if len(prev) == 0 || len(cur) == 0 || prev[len(prev)-1] != cur[0] {
				flush()
			}
		}
		group = append(group, c)
	}
	flush()
	return out
}

// sentUnseen looks, among the client's packets without payload between
// frame and the server's reply in rf, for one whose sequence number is past
// every byte the server acknowledged: the client had sent bytes that never
// arrived. It returns that packet, how many bytes, and the server's ACK.
func sentUnseen(b builder, frame int, rf []int) (ackFrame int, unseen, acked int64, ok bool) {
	cli, srv := b.s.Stream(smtpparse.ClientToServer), b.s.Stream(smtpparse.ServerToClient)
	if cli == nil || srv == nil || len(rf) == 0 {
		return 0, 0, 0, false
	}
	acked = -1
	for _, sf := range srv.Segments {
		if sf.Frame < rf[0] && sf.Ack >= 0 {
			acked = max(acked, sf.Ack)
		}
	}
	seen := int64(0) // past the last client byte in the capture
	for _, sf := range cli.Segments {
		if sf.Length > 0 {
			seen = max(seen, sf.Offset+int64(sf.Length))
		}
	}
	for _, sf := range cli.Segments {
		if sf.Frame > frame && sf.Frame < rf[0] && sf.Length == 0 && sf.Flags&(reassembly.FlagSYN|reassembly.FlagRST) == 0 &&
			acked >= 0 && sf.Offset > acked && sf.Offset > seen {
			return sf.Frame, sf.Offset - acked, acked, true
		}
	}
	return 0, 0, 0, false
}

// segmentLength returns the payload length of the client's packet in
// frame, or 0.
func segmentLength(b builder, frame int) int {
	st := b.s.Stream(smtpparse.ClientToServer)
	if st == nil {
		return 0
	}
	i := sort.Search(len(st.Segments), func(i int) bool { return st.Segments[i].Frame >= frame })
	if i < len(st.Segments) && st.Segments[i].Frame == frame {
		return int(st.Segments[i].Length)
	}
	return 0
}

// syntaxRefusal reports whether r says the server did not understand the
// command (500-509: unknown, bad syntax, not implemented, out of
// sequence): what a device that mangled it would bring about.
func syntaxRefusal(r *smtpparse.Reply) bool { return r.Code >= 500 && r.Code < 510 }

// fullSegment reports whether the client's segment in frame carried as
// many bytes as the client's largest one, 512 or more: a segment TCP cut
// at its maximum size, not one the client's own write ended.
func fullSegment(b builder, frame int) bool {
	st := b.s.Stream(smtpparse.ClientToServer)
	if st == nil {
		return false
	}
	largest := int32(0)
	for i := range st.Segments {
		largest = max(largest, st.Segments[i].Length)
	}
	n := segmentLength(b, frame)
	return n >= 512 && int32(n) == largest
}

// repliedSoon reports whether the server said anything within a second of
// the command c: if it did, it had the command and chose what to answer.
func repliedSoon(d *smtpparse.Dialogue, c *smtpparse.Command) bool {
	for _, r := range d.Replies {
		if r.Order > c.EndOrder {
			return r.Time.Sub(c.EndTime) <= time.Second
		}
	}
	return false
}

// verbList names commands compactly: "MAIL, RCPT×15, DATA".
func verbList(cmds []*smtpparse.Command) string {
	var parts []string
	for i := 0; i < len(cmds); {
		j := i
		for j < len(cmds) && cmds[j].Verb == cmds[i].Verb {
			j++
		}
		if n := j - i; n > 1 {
			parts = append(parts, fmt.Sprintf("%s×%d", cmds[i].Verb, n))
		} else {
			parts = append(parts, cmds[i].Verb)
		}
		i = j
	}
	return strings.Join(parts, ", ")
}

// ackFrame returns the first server packet that acknowledges the client's
// bytes up to offset end, or 0.
func ackFrame(b builder, end int64) int {
	srv := b.s.Stream(smtpparse.ServerToClient)
	if srv == nil {
		return 0
	}
	for _, sf := range srv.Segments {
		if sf.Ack >= end {
			return sf.Frame
		}
	}
	return 0
}

func detectRepliesWithoutCommand(b builder, _ Options) []Finding {
	if serverOnly(b) {
		return nil // no command was captured: one-sided-capture tells it
	}
	d := b.s.Dialogue
	if b.s.ImplicitTLS {
		return nil // they answer the client's TLS bytes, which are no commands
	}
	// A capture that began in the middle of the connection may start
	// with the replies to commands sent before it.
	c := b.s.Conn
	before := int64(-1)
	if !c.SYNSeen(reassembly.ClientToServer) && !c.SYNSeen(reassembly.ServerToClient) {
		before = math.MaxInt64
		if len(d.Commands) > 0 {
			before = d.Commands[0].Order
		}
	}
	var out []Finding
	for _, r := range d.Replies {
		// A reply that answers a message (a refusal in the middle of the
		// content included) is told of by the message's findings.
		if r == d.Greeting || r.Command != nil || r.Forgotten || r.Final || r.Code == 0 || b.message[r] != nil || r.EndOrder < before {
			continue
		}
		if r.Code == 421 {
			// A server may close with 421 at any time, unasked (RFC 5321
			// section 3.8): an idle timeout, a shutdown. The transaction it
			// cut short, if any, names it (lost-mid-transaction).
			continue
		}
		sev, why := Warning, ""
		if unofferedBDATBefore(d, r) {
			// A server without CHUNKING reads the chunk's bytes as
			// commands and answers them: bdat-not-offered tells that.
			sev, why = Info, " (it read the bytes of a BDAT chunk, which it did not offer, as commands)"
		}
		if e, ok := afterLenientEnd(d, r); ok {
			// The server ended the message early and read the rest as
			// commands: smuggling-end-of-data tells that.
			sev, why = Info, fmt.Sprintf(" (it answered %s, what the client sent after the non-standard end-of-data at offset %d, where the server ended the message)",
				quote(escape(e.After), 30), e.At.Start)
		}
		out = append(out, b.at("reply-without-command", sev, PhaseConnection, r.Span, r.Time,
			fmt.Sprintf("the server sent %d %s with no command waiting for it%s", r.Code, quote(strings.Join(r.Lines, " "), 60), why)))
	}
	return out
}

// afterLenientEnd returns the non-standard end-of-data at which the server
// ended a message (its final reply came right after it) when r comes next,
// with only other unasked replies between: r answers the bytes the client
// sent after that sequence as message, which the server read as commands.
func afterLenientEnd(d *smtpparse.Dialogue, r *smtpparse.Reply) (smtpparse.EndOfData, bool) {
	for _, tx := range d.Transactions {
		answer, _ := lenientAnswer(d, tx)
		if answer == nil || len(tx.Body.Lenient) == 0 || answer.Span.End > r.Span.Start {
			continue
		}
		e := tx.Body.Lenient[0]
		if e.At.End >= tx.Body.Span.End {
			continue // nothing after the sequence for the server to answer
		}
		i, j := slices.Index(d.Replies, answer), slices.Index(d.Replies, r)
		if i < 0 || j <= i {
			continue
		}
		if !slices.ContainsFunc(d.Replies[i+1:j], func(x *smtpparse.Reply) bool { return x.Command != nil }) {
			return e, true
		}
	}
	return smtpparse.EndOfData{}, false
}

// unofferedBDATBefore reports whether the client sent BDAT, which the
// server did not offer (no CHUNKING), before the reply r.
func unofferedBDATBefore(d *smtpparse.Dialogue, r *smtpparse.Reply) bool {
	if d.Extensions.Has("CHUNKING") {
		return false
	}
	for _, c := range d.Commands {
		if c.Verb == "BDAT" && c.Order <= r.Order {
			return true
		}
	}
	return false
}

// messageLine is a line of a message that went to the server as a
// command, and why it did.
type messageLine struct {
	c     *smtpparse.Command
	why   string
	reply *smtpparse.Reply // the refusal of DATA the explanation names, if any
}

// messageLinesFound are the runs of message lines a server read as
// commands: the first line of each run, explained, and all of their lines.
type messageLinesFound struct {
	first []messageLine
	all   map[*smtpparse.Command]bool
}

// messageLines finds where message lines went to the server as commands:
// after a DATA the server refused, or after an end of data the client did
// not mean (a line holding a lone dot it did not double, RFC 5321 4.5.2).
func messageLines(b builder) messageLinesFound {
	d := b.s.Dialogue
	var out messageLinesFound
	if !slices.ContainsFunc(d.Commands, isMessageLine) {
		return out // the usual case: every line a command
	}
	out.all = map[*smtpparse.Command]bool{}
	inRun := false
	ends := map[int64]bool{}
	for _, tx := range d.Transactions {
		if tx.Body != nil && tx.Body.Terminator != nil {
			ends[tx.Body.Terminator.End] = true
		}
	}
	// A lone dot read as a command later on is the message's real end:
	// the sign that an earlier end of data came too soon.
	loneDotAfter := func(i int) bool {
		for _, c := range d.Commands[i+1:] {
			if c.Verb == "." && strings.TrimSpace(c.Args) == "" {
				return true
			}
		}
		return false
	}
	var lastKnown *smtpparse.Command
	explained := map[*smtpparse.Command]bool{} // a refused DATA explained once
	for i, c := range d.Commands {
		_, masked := b.maskedAt[c]
		line := isMessageLine(c)
		if !line || masked || c.Gap || c.Verb == "" {
			switch {
			case !line:
				lastKnown, inRun = c, false
			case c.Verb == "" && inRun && !masked && !c.Gap:
				out.all[c] = true // an empty line of the message (its header's end)
			}
			continue
		}
		var why string
		var named *smtpparse.Reply
		switch {
		case ends[c.Span.Start] && loneDotAfter(i):
			why = fmt.Sprintf("%s came right after an end of data, and a lone dot later: most likely the message held a line with a lone dot that the client did not double (RFC 5321 4.5.2), which ended it early and sent the rest of it as commands",
				quoteCommand(c, 40))
		case lastKnown != nil && lastKnown.Verb == "DATA" && lastKnown.Args == "" && lastKnown.Reply != nil && lastKnown.Reply.Code >= 400 &&
			c.Order > lastKnown.Reply.EndOrder && !explained[lastKnown]:
			// Sent after the refusal had come: the client ignored it.
			why = fmt.Sprintf("the client sent its message although DATA was refused (%d%s): the server reads the message's lines, such as %s, as commands",
				lastKnown.Reply.Code, inFrame(b, lastKnown.Reply.Span), quoteCommand(c, 40))
			explained[lastKnown], named = true, lastKnown.Reply
		case lastKnown != nil && lastKnown.Verb == "DATA" && lastKnown.Args == "" && lastKnown.Reply != nil && lastKnown.Reply.Code >= 400 && !explained[lastKnown]:
			// Sent with DATA, before its reply: the pipelining rule broken,
			// and the refusal left the message without a DATA to belong to.
			why = fmt.Sprintf("the client sent its message with DATA, without waiting for a 354 (RFC 2920), and DATA was refused (%d%s): the server reads the message's lines, such as %s, as commands",
				lastKnown.Reply.Code, inFrame(b, lastKnown.Reply.Span), quoteCommand(c, 40))
			if isSyncError(lastKnown.Reply) {
				why = fmt.Sprintf("the client sent its message with DATA, without waiting for a 354 (RFC 2920): the server answered with a synchronization error (%d%s) and took none of it",
					lastKnown.Reply.Code, inFrame(b, lastKnown.Reply.Span))
			}
			explained[lastKnown], named = true, lastKnown.Reply
		case lastKnown != nil && lastKnown.Verb == "BDAT" && lastKnown.Reply != nil && lastKnown.Reply.Code >= 400 && !isSyncError(lastKnown.Reply) && refusedChunk(d, lastKnown) && !explained[lastKnown]:
			// (A synchronization error ends the session: the server read
			// none of the chunk; the sync-error story tells it.)
			why = fmt.Sprintf("the client sent a BDAT chunk to a server that did not offer CHUNKING; it refused BDAT (%d%s) and reads the chunk's lines, such as %s, as commands",
				lastKnown.Reply.Code, inFrame(b, lastKnown.Reply.Span), quoteCommand(c, 40))
			explained[lastKnown], named = true, lastKnown.Reply
		default:
			if inRun {
				out.all[c] = true // a later line of the same message
			}
			continue
		}
		out.first = append(out.first, messageLine{c, why, named})
		out.all[c], inRun = true, true
	}
	return out
}

// refusedChunk reports whether bdat's chunk was refused, its bytes read as
// commands (smtpparse.Chunk.Refused).
func refusedChunk(d *smtpparse.Dialogue, bdat *smtpparse.Command) bool {
	for _, tx := range d.Transactions {
		for _, ch := range tx.Chunks {
			if ch.Command == bdat {
				return ch.Refused
			}
		}
	}
	return false
}

// isMessageLine reports whether c may be a line of a message rather than
// a command: an unknown verb, or a DATA with an argument ("Data follows").
func isMessageLine(c *smtpparse.Command) bool {
	return !c.Known && !c.Masked || c.Verb == "DATA" && c.Args != ""
}

func detectMalformed(b builder, _ Options) []Finding {
	d := b.s.Dialogue
	var out []Finding
	told := map[*smtpparse.Command]bool{} // the message lines explained
	for _, ml := range b.lines.first {
		told[ml.c] = true
		f := b.at("malformed-command", Warning, phaseOf(ml.c), ml.c.Span, ml.c.Time, ml.why)
		if ml.reply != nil {
			f.Frames = appendUnique(f.Frames, b.s.Frames(ml.reply.Span)...) // the refusal it names
		}
		f.contentAsCommands = true
		out = append(out, f)
	}
	for _, c := range d.Commands {
		// Message lines read as commands are told by the first of them.
		if _, masked := b.maskedAt[c]; len(c.Problems) == 0 || masked || c.Gap || told[c] || b.lines.all[c] || b.afterHello(c) {
			continue
		}
		var problems []string
		sev := Info
		for _, p := range c.Problems {
			if smtpparse.IsGuess(p) {
				continue // the parser's guess where replies are missing, not the client's fault
			}
			if p == smtpparse.ProblemNoEnding && c == d.LastCommand && stoppedReading(b, smtpparse.ServerToClient) != nil {
				continue // the server's closed window held the rest back (window-closed tells it)
			}
			if p == smtpparse.ProblemBeforeGreeting {
				continue // not the command's syntax: early-talker tells it
			}
			problems = append(problems, p)
			// A space after "MAIL FROM:" breaks RFC 5321, and a parameter
			// given twice is sloppy, but nearly every server accepts
			// them: worth knowing, not a warning.
			if p != smtpparse.ProblemSpaceAfterColon && p != smtpparse.ProblemParamTwice {
				sev = Warning
			}
		}
		if len(problems) == 0 {
			continue
		}
		out = append(out, b.at("malformed-command", sev, phaseOf(c), c.Span, c.Time,
			fmt.Sprintf("malformed command %s: %s", quoteCommand(c, 50), strings.Join(problems, "; "))))
	}
	for _, r := range d.Replies {
		if r.Gap {
			continue
		}
		var problems []string
		for _, p := range r.Problems {
			// Neither the parser's reading of where data ended nor a
			// greeting cut short by an early talker's reply (early-talker
			// tells that) is the reply's syntax.
			if smtpparse.IsGuess(p) || p == smtpparse.ProblemGreetingCut {
				continue
			}
			if p == smtpparse.ProblemNonASCII && r.Command != nil && echoes(r, r.Command) {
				continue // the server quotes the client's own 8-bit bytes back
			}
			if p == smtpparse.ProblemIncompleteReply && r == d.LastReply && stoppedReading(b, smtpparse.ClientToServer) != nil {
				continue // the client's closed window held the rest back (window-closed tells it)
			}
			problems = append(problems, p)
		}
		if len(problems) == 0 {
			continue
		}
		out = append(out, b.at("malformed-reply", Warning, phaseOf(r.Command), r.Span, r.Time,
			fmt.Sprintf("malformed reply: %s", strings.Join(problems, "; "))))
	}
	return out
}

// detectEarlyTalker reports a client that spoke before the server's
// greeting had ended, unless the server offers early pipelining
// (PIPECONNECT), under which it may. Pregreet checks refuse such clients;
// when the server cut its greeting short to answer, that is named too.
func detectEarlyTalker(b builder, _ Options) []Finding {
	d := b.s.Dialogue
	if pipeConnect(d) {
		return nil
	}
	var early []*smtpparse.Command
	for _, c := range d.Commands {
		if slices.Contains(c.Problems, smtpparse.ProblemBeforeGreeting) {
			early = append(early, c)
		}
	}
	if len(early) == 0 {
		return nil
	}
	if w, ok := waitForGreeting(b); ok && w.clientGaveUp() {
		return nil // it waited for a greeting that did not come: slow-greeting tells of it
	}
	c := early[0]
	summary := fmt.Sprintf("the client sent %s before the server's greeting had ended", quoteCommand(c, 50))
	if n := len(early) - 1; n > 0 {
		summary += fmt.Sprintf(" (and %s more)", wording.Plural(int64(n), "command", "commands"))
	}
	f := b.at("early-talker", Warning, PhaseGreeting, c.Span, c.Time, summary)
	if g := d.Greeting; g != nil && slices.Contains(g.Problems, smtpparse.ProblemGreetingCut) && len(g.Lines) > 0 {
		f.Frames = appendUnique(f.Frames, b.s.Frames(g.Span)...)
		f.Summary += fmt.Sprintf("; the server stopped its greeting after %s and answered at once, as Postfix's postscreen does",
			quote(fmt.Sprintf("%d-%s", g.Code, g.Lines[0]), 50))
	}
	return []Finding{f}
}

func detectRejected(b builder, _ Options) []Finding {
	var out []Finding
	report := func(r *smtpparse.Reply, phase Phase, what string, frames []int) *Finding {
		id, how := "command-rejected", "rejected"
		if r.Code < 500 {
			id, how = "command-deferred", "deferred"
		}
		f := b.at(id, Info, phase, r.Span, r.Time, fmt.Sprintf("%s was %s: %s", what, how, replyClause(r, 80)))
		f.Frames = appendUnique(frames, f.Frames...)
		f.code = r.Code
		out = append(out, f)
		return &out[len(out)-1]
	}
	// A server that will take no mail from this client says so in its
	// greeting (554, or 421 for "not now"), RFC 5321 section 3.1.
	if g := b.s.Dialogue.Greeting; g != nil && g.Code >= 400 && g.Code <= 599 && !isSyncError(g) { // sync-error-reply tells that one
		id, how := "command-rejected", "refused the session"
		if g.Code < 500 {
			id, how = "command-deferred", "turned the session away for now"
		}
		greeting := replyClause(g, 80)
		f := b.at(id, Info, PhaseGreeting, g.Span, g.Time, fmt.Sprintf("the server %s in its greeting: %s", how, greeting))
		f.said = greeting
		out = append(out, f)
	}
	// The RCPTs of transactions whose every recipient was turned down.
	allTurned := map[*smtpparse.Command]*smtpparse.Transaction{}
	for _, tx := range b.s.Dialogue.Transactions {
		if text, _ := everyRecipientTurned(b, tx); text != "" {
			for _, c := range tx.Rcpts {
				allTurned[c] = tx
			}
		}
	}
	for _, c := range b.s.Dialogue.Commands {
		// BDAT LAST: the command's reply is the message's (in LMTP, the
		// first recipient's, reported below with the recipient).
		tx := b.message[c.Reply]
		if r := c.Reply; r != nil && r.Code == 221 && c.Verb != "QUIT" && !serverLostBefore(b, r) {
			// A goodbye to anything but QUIT: the server hung up on the
			// command (Postfix: "221 2.7.0 Error: I can break rules, too.
			// Goodbye." for a non-SMTP command).
			f := b.at("command-rejected", Info, phaseOf(c), r.Span, r.Time,
				fmt.Sprintf("the server ended the session on %s with %d %s", quoteCommand(c, 50), r.Code, quote(strings.Join(r.Lines, " "), 80)))
			f.Frames = appendUnique(b.s.Frames(c.Span), f.Frames...)
			f.hungUp = true
			out = append(out, f)
			continue
		}
		if c.AuthCancel || b.afterHello(c) || b.lines.all[c] {
			continue // the client's own "*": the 501 that answers it refuses nothing; a TLS hello read as commands; message lines read as commands (malformed-command tells them)
		}
		if _, masked := b.maskedAt[c]; closedOn(b, c) && !masked && !inTransaction(c.Verb) {
			// A 421 in answer to a command of no transaction: the server
			// ended the session there (Sendmail's "Too many bad commands;
			// closing connection"), it deferred nothing. (On MAIL, RCPT or
			// DATA it defers the message, which the client will retry.)
			r := c.Reply
			f := b.at("command-deferred", Warning, phaseOf(c), r.Span, r.Time,
				fmt.Sprintf("the server closed the session after %s with %d %s", quoteCommand(c, 50), r.Code, quote(strings.Join(r.Lines, " "), 80)))
			f.Frames = appendUnique(b.s.Frames(c.Span), f.Frames...)
			f.code, f.closedSession = r.Code, true
			out = append(out, f)
			continue
		}
		if _, masked := b.maskedAt[c]; (isRefusal(c.Reply) || closedOn(b, c)) && !masked && (tx == nil || len(tx.PerRecipient) == 0) {
			f := report(c.Reply, phaseOf(c), commandText(c, 50), b.s.Frames(c.Span))
			f.asSent = len(c.Line) > 0 && !c.Sensitive
			if c.Reply != nil {
				verb, how, key := c.Verb, "rejected", c.Verb
				switch {
				case verb == "":
					verb, key = "the AUTH response", ""
				case !c.Known && !c.Masked:
					// XFOO1, XFOO2 …: alike for the reader when the server
					// says the same of each, but for the command it may
					// quote (Sendmail's 'Command unrecognized: "XFOO1"');
					// Exim's "Too many unrecognized commands" is another.
					said, _, _ := strings.Cut(strings.Join(c.Reply.Lines, " "), `"`)
					verb, key = "unknown command", "unknown command: "+said
				}
				if c.Reply.Code < 500 {
					how = "deferred"
				}
				f.foldKey = fmt.Sprintf("%s %d", key, c.Reply.Code)
				f.foldAs = fmt.Sprintf("%s %s (%d)", verb, how, c.Reply.Code)
			}
			if tx != nil {
				f.refusedMessage, f.tx = true, tx
			}
			if c.Reply != nil && c.Reply == b.hungUp {
				// The refusal the server hung up on (Exim's "554 Too many
				// nonmail commands"): it ended the session.
				closed, _ := b.s.Conn.FirstClose()
				how := "its FIN"
				if b.s.Conn.FINFrame(reassembly.ServerToClient) != closed {
					how = "a reset"
				}
				f.Summary += fmt.Sprintf(", and the server closed the connection at once (%s in frame %d)", how, closed)
				f.hungUp = true
			}
			if c.Verb == "RCPT" {
				f.Summary += givenUp(b.s.Dialogue, c)
				if tx := allTurned[c]; tx != nil {
					f.ofEvery = tx
					if tx.Rcpts[0] == c {
						f.everyRcpt, f.everyRcptFrames = everyRecipientTurned(b, tx)
					}
				}
			}
			switch c.Verb {
			case "DATA":
				if noRecipient(b.s.Dialogue, c) {
					f.Explanation = "DATA was refused because no recipient had been accepted: every RCPT before it was refused or deferred. It follows from those refusals and is no failure of its own; a client that pipelines sends DATA before it knows (RFC 2920)."
					f.Remedy = "See why the recipients were refused or deferred (their findings); a deferred one is retried by the client."
				}
			case "ETRN", "VRFY", "EXPN", "HELP", "NOOP", "TURN", "ATRN":
				// No mail rides on these: the catalog's words about the
				// sender keeping and retrying a message do not apply.
				f.Explanation = fmt.Sprintf("%s carries no mail: its refusal loses nothing. Servers often refuse or do not implement it on purpose (502 or 500: not implemented or not known; 252/550 for VRFY by policy).", c.Verb)
				f.Remedy = "Nothing to fix unless the client depends on it; the reply text says why."
			}
		}
	}
	// A 421 sent unasked closes the session (RFC 5321 3.8): a timeout, or
	// Postfix's "too many errors". When a transaction was open, its loss
	// (lost-mid-transaction) tells of it already. One sent after the
	// client had closed its side defers nothing: it is the server's word
	// to a client already gone (Exim's "lost input connection" whenever a
	// client leaves without QUIT).
	d := b.s.Dialogue
	for _, r := range d.Replies {
		if r.Code != 421 || r.Command != nil || r == d.Greeting || r.Final || afterClientFIN(b, r) {
			continue
		}
		told := false
		for _, tx := range d.Transactions {
			if tx.Mail != nil && tx.FinalReply == nil && tx.Reset == nil { // still open when the 421 came
				gr, _ := gaveUp(b, tx)
				told = told || gr == r
			}
		}
		if !told {
			f := b.at("command-deferred", Info, PhaseConnection, r.Span, r.Time,
				fmt.Sprintf("the server closed the session unasked with %d %s", r.Code, quote(strings.Join(r.Lines, " "), 80)))
			if c, first, rest, n := halfSent(b, r); c != nil {
				// A command line the client stopped in the middle of: the
				// server's command timeout ran out on it.
				f.Summary += fmt.Sprintf(" while the client's command %s was still incomplete: frame %d held its first %s, and the rest came only in frame %d, after that",
					quoteCommand(c, 40), first, wording.Plural(n, "byte", "bytes"), rest)
				f.Frames = appendUnique(b.s.Frames(c.Span), f.Frames...)
				slices.Sort(f.Frames)
			}
			f.closedSession = true
			out = append(out, f)
		}
	}
	// The reply to a message's content, unless it is its command's own
	// reply (BDAT LAST), which the loop above has reported. Here a 421
	// refuses the message too: Sendmail answers a bare LF that way.
	for _, tx := range b.s.Dialogue.Transactions {
		if len(tx.PerRecipient) > 0 {
			// LMTP: each accepted recipient has its own final reply.
			accepted := acceptedRcpts(tx)
			for i, r := range tx.PerRecipient {
				if isRefusal(r) || r.Code == 421 {
					what := "the message"
					if i < len(accepted) {
						what = fmt.Sprintf("the message for <%s>", clip(accepted[i].Path, 60))
					}
					f := report(r, PhaseAfterData, what, nil)
					f.refusedMessage, f.tx = true, tx
				}
			}
			continue
		}
		if r := tx.Interrupt; isRefusal(r) {
			// Refused before its end of data by a server that stays (a
			// 421 closes the session: lost-mid-transaction tells that).
			f := report(r, PhaseData, "the message (before its end of data)", nil)
			f.refusedMessage, f.tx = true, tx
			f.Summary += overSize(b.s.Dialogue, tx, r)
		}
		r := tx.FinalReply
		if (isRefusal(r) || r != nil && r.Code == 421) && (r.Command == nil || r.Command.Reply != r) {
			f := report(r, PhaseAfterData, "the message", nil)
			f.refusedMessage, f.tx = true, tx
			f.Summary += overSize(b.s.Dialogue, tx, r)
		}
	}
	return out
}

// everyRecipientTurned says, of a transaction all of whose two or more
// recipients the server turned down (each RCPT refused, deferred or
// closed on, so each has its refusal finding), what became of them, and
// returns the frames of those RCPTs and their replies; "", nil for any
// other transaction. The diagnosis leads with it: a reader wants to know
// that the message reached no one before reading each refusal.
func everyRecipientTurned(b builder, tx *smtpparse.Transaction) (string, []int) {
	if len(tx.Rcpts) < 2 || tx.PerRecipient != nil {
		return "", nil
	}
	if tx.Mail == nil || tx.Mail.Reply == nil || tx.Mail.Reply.Code/100 != 2 {
		return "", nil // the refused MAIL is the story
	}
	first := tx.Rcpts[0]
	deferred, refused, closed := 0, 0, 0
	var frames []int
	for _, c := range tx.Rcpts {
		_, masked := b.maskedAt[c]
		if masked || b.lines.all[c] || !isRefusal(c.Reply) && !closedOn(b, c) {
			return "", nil
		}
		switch {
		case c.Reply.Code == 421:
			closed++
		case c.Reply.Code < 500:
			deferred++
		default:
			refused++
		}
		frames = appendUnique(frames, b.s.Frames(c.Span)...)
		frames = appendUnique(frames, b.s.Frames(c.Reply.Span)...)
	}
	slices.Sort(frames)
	from := fmt.Sprintf("the message from <%s>", clip(tx.Mail.Path, 60))
	firstSaid := replyClause(first.Reply, 80)
	alike := true
	for _, c := range tx.Rcpts[1:] {
		alike = alike && c.Reply.Code == first.Reply.Code && slices.Equal(c.Reply.Lines, first.Reply.Lines)
	}
	at := " (" + framesInWords(frames) + ")"
	all := fmt.Sprintf("all %d recipients of %s were", len(tx.Rcpts), from)
	if len(tx.Rcpts) == 2 {
		all = fmt.Sprintf("both recipients of %s were", from)
	}
	var how []string
	for _, n := range []struct {
		n    int
		what string
	}{{refused, "refused"}, {deferred, "deferred"}, {closed, "ended with 421"}} {
		if n.n > 0 {
			how = append(how, fmt.Sprintf("%d %s", n.n, n.what))
		}
	}
	var text string
	switch {
	case len(how) > 1:
		text = fmt.Sprintf("%s turned down (%s); the first: %s%s", all, strings.Join(how, ", "), firstSaid, at)
	case alike:
		text = fmt.Sprintf("%s %s alike: %s%s", all, strings.TrimPrefix(how[0], fmt.Sprint(len(tx.Rcpts), " ")), firstSaid, at)
	default:
		text = fmt.Sprintf("%s %s; the first: %s%s", all, strings.TrimPrefix(how[0], fmt.Sprint(len(tx.Rcpts), " ")), firstSaid, at)
	}
	switch {
	case alike && deferred+closed > 0:
		text += ". Nothing was delivered and the client will try again later; one answer for every address points to the server's side (greylisting or another policy, a lookup or authentication service down), not to the addresses"
	case deferred+closed > 0:
		text += fmt.Sprintf(". Nothing was delivered yet: the client will try again later for the %d not refused for good", deferred+closed)
	default:
		text += ". Nothing was delivered"
	}
	return text, frames
}

// givenUp says, of a refused RCPT after which the client ended its
// transaction (QUIT or RSET) without sending the message, though the
// server had accepted other recipients, that they got nothing either:
// curl does so unless told --mail-rcpt-allowfails. "" otherwise, and for
// all but the transaction's last refused RCPT.
func givenUp(d *smtpparse.Dialogue, refused *smtpparse.Command) string {
	for _, tx := range d.Transactions {
		i := slices.Index(tx.Rcpts, refused)
		if i < 0 {
			continue
		}
		if tx.Data != nil || len(tx.Chunks) > 0 || tx.Reset == nil || tx.Reset.Verb != "QUIT" && tx.Reset.Verb != "RSET" {
			return ""
		}
		var accepted []string
		for j, r := range tx.Rcpts {
			switch {
			case r.Reply == nil:
			case j > i && r.Reply.Code >= 400:
				return "" // a later refusal tells it
			case r.Reply.Code/100 == 2:
				accepted = append(accepted, "<"+clip(r.Path, 40)+">")
			}
		}
		if len(accepted) == 0 || resentTo(d, tx) {
			return ""
		}
		return fmt.Sprintf("; the client then sent %s without sending the message, so the accepted %s got nothing either",
			tx.Reset.Verb, strings.Join(accepted[:min(len(accepted), 3)], ", "))
	}
	return ""
}

// resentTo reports whether a transaction after tx delivered a message to
// one of the recipients the server accepted in tx: a client that, after a
// refusal and RSET, sends again to the valid addresses only.
func resentTo(d *smtpparse.Dialogue, tx *smtpparse.Transaction) bool {
	i := slices.Index(d.Transactions, tx)
	if i < 0 {
		return false
	}
	for _, later := range d.Transactions[i+1:] {
		if !delivered(later) {
			continue
		}
		for _, r := range later.Rcpts {
			if r.Reply == nil || r.Reply.Code/100 != 2 {
				continue
			}
			if slices.ContainsFunc(tx.Rcpts, func(c *smtpparse.Command) bool {
				return c.Reply != nil && c.Reply.Code/100 == 2 && strings.EqualFold(c.Path, r.Path)
			}) {
				return true
			}
		}
	}
	return false
}

// overSize says, for a refusal of tx's message for its size, that the
// message was larger than the SIZE limit the server offered and the client
// had not declared its size (a declared one is size-exceeds-limit's): ""
// otherwise. The reply's text is the server's; the numbers are the
// capture's.
func overSize(d *smtpparse.Dialogue, tx *smtpparse.Transaction, r *smtpparse.Reply) string {
	limit := d.Extensions.Size
	if !sizeRefusal(r) || limit <= 0 || tx.Body == nil || tx.Body.Size <= limit || tx.Mail == nil {
		return ""
	}
	if _, declared := tx.Mail.Params["SIZE"]; declared {
		return ""
	}
	return fmt.Sprintf("; the client sent %s of message, over the limit of %s the server offered (SIZE in its EHLO reply), without declaring the size in MAIL FROM",
		wording.Plural(tx.Body.Size, "byte", "bytes"), wording.Plural(limit, "byte", "bytes"))
}

// noRecipientLeft reports whether tx had RCPTs and the server turned every
// one of them away (4xx or 5xx), by replies the capture holds.
func noRecipientLeft(tx *smtpparse.Transaction) bool {
	return len(tx.Rcpts) > 0 && !slices.ContainsFunc(tx.Rcpts, func(r *smtpparse.Command) bool { return r.Reply == nil || r.Reply.Code < 400 })
}

// inTransaction reports whether a command of this verb belongs to a mail
// transaction (RFC 5321 3.3).
func inTransaction(verb string) bool {
	switch verb {
	case "MAIL", "RCPT", "DATA", "BDAT":
		return true
	}
	return false
}

// noRecipient reports whether the transaction whose DATA is data had RCPTs
// and the server refused every one of them.
func noRecipient(d *smtpparse.Dialogue, data *smtpparse.Command) bool {
	for _, tx := range d.Transactions {
		if tx.Data == data {
			return noRecipientLeft(tx)
		}
	}
	return false
}

// sizeRefusal reports whether r refuses a message for its size: 552
// (RFC 1870), or a 5xx whose enhanced status code says so (RFC 3463:
// 5.2.3 message length exceeds administrative limit, 5.3.4 message too
// big for system; OpenSMTPD answers "554 5.3.4 Message too big"), or
// whose text does. overSize checks the numbers besides.
func sizeRefusal(r *smtpparse.Reply) bool {
	if r.Code == 552 {
		return true
	}
	if r.Code/100 != 5 || len(r.Lines) == 0 {
		return false
	}
	if strings.HasPrefix(r.Lines[0], "5.2.3 ") || strings.HasPrefix(r.Lines[0], "5.3.4 ") {
		return true
	}
	// Without an enhanced code, the words (Haraka: "550 Message too big!").
	text := strings.ToLower(strings.Join(r.Lines, " "))
	return strings.Contains(text, "too big") || strings.Contains(text, "too large") || strings.Contains(text, "size exceed")
}

// acceptedRcpts returns the RCPT commands of tx the server accepted: in
// LMTP, the recipients the final replies are for, in order.
func acceptedRcpts(tx *smtpparse.Transaction) []*smtpparse.Command {
	var out []*smtpparse.Command
	for _, c := range tx.Rcpts {
		if c.Reply != nil && c.Reply.Code/100 == 2 {
			out = append(out, c)
		}
	}
	return out
}

// closedOn reports whether the server answered command c with 421: it
// will not take c now and closes the session (Exim's "too many messages in
// this connection", a timeout in the middle of a BDAT chunk). QUIT's is
// no refusal: the client was leaving. Nor is a 421 after the client's own
// FIN: that answers the close (Exim's "lost input connection"), nor a
// timeout while the client owed the rest of a BDAT chunk (timedOut).
func closedOn(b builder, c *smtpparse.Command) bool {
	if c.Reply == nil || c.Reply.Code != 421 || c.Verb == "QUIT" || afterClientFIN(b, c.Reply) {
		return false
	}
	_, _, timeout := timedOut(b, c.Reply)
	return !timeout // the client's silence, not the command, brought it
}

// clientClosedFirst reports whether the client began to end the
// connection, with a FIN or a RST, before the server did.
func clientClosedFirst(c *reassembly.Conn) bool {
	frame, d := c.FirstClose()
	return frame != 0 && d == reassembly.ClientToServer
}

// afterClientFIN reports whether reply r came after the client's FIN.
func afterClientFIN(b builder, r *smtpparse.Reply) bool {
	cf := b.s.Conn.FINFrame(reassembly.ClientToServer)
	rf := b.s.Frames(r.Span)
	return cf != 0 && len(rf) > 0 && cf < rf[0]
}

// txCommands returns the commands of tx, MAIL first.
func txCommands(tx *smtpparse.Transaction) []*smtpparse.Command {
	cmds := append([]*smtpparse.Command{tx.Mail}, tx.Rcpts...)
	cmds = append(cmds, tx.Data)
	for _, ch := range tx.Chunks {
		cmds = append(cmds, ch.Command)
	}
	return cmds
}

// deferredInside returns the reply of the first command of tx that the
// server answered with 421 (closedOn), or nil.
func deferredInside(b builder, tx *smtpparse.Transaction) *smtpparse.Reply {
	for _, c := range txCommands(tx) {
		if c != nil && closedOn(b, c) {
			return c.Reply
		}
	}
	return nil
}

// echoes reports whether every 8-bit byte sequence in r's lines also
// appears in c's line: a refusal that quotes the client's address.
func echoes(r *smtpparse.Reply, c *smtpparse.Command) bool {
	for _, line := range r.Lines {
		for _, word := range strings.Fields(line) {
			for _, part := range strings.FieldsFunc(word, func(ch rune) bool { return ch < 0x80 }) {
				if !bytes.Contains(c.Line, []byte(part)) {
					return false
				}
			}
		}
	}
	return true
}

// inFrame returns " in frame N" for the first frame that carried span,
// or "" when the capture does not hold it.
func inFrame(b builder, span smtpparse.Span) string {
	if f := b.s.Frames(span); len(f) > 0 {
		return fmt.Sprintf(" in frame %d", f[0])
	}
	return ""
}

// isRefusal reports whether r turns a command or message down, for now
// (4xx) or for good (5xx). 421 closes the session and synchronization
// errors are about the client's timing; other detectors report those.
func isRefusal(r *smtpparse.Reply) bool {
	return r != nil && r.Code >= 400 && r.Code <= 599 && r.Code != 421 && !isSyncError(r)
}

// ---- message content ----

func detectContent(b builder, _ Options) []Finding {
	d := b.s.Dialogue
	var out []Finding
	for _, tx := range d.Transactions {
		body := tx.Body
		var verb *smtpparse.Command
		if tx.Data != nil {
			verb = tx.Data
		} else if len(tx.Chunks) > 0 {
			verb = tx.Chunks[0].Command
		}
		phase := PhaseData
		if tx.Data == nil {
			phase = PhaseBDAT
		}
		bodyParam := ""
		if tx.Mail != nil {
			bodyParam = strings.ToUpper(tx.Mail.Params["BODY"])
		}
		// What the server offered is known from its EHLO reply, or from a
		// HELO, which offers nothing; without either (the capture began
		// later, or lost the reply) nobody can say.
		// A reply the capture cut (snaplen) tells what it kept, not what
		// it lost: a keyword missing from it may have been offered.
		offerKnown := d.Extensions.Offered || d.Hello != nil && d.Hello.Verb == "HELO"
		lacks := func(keyword string) bool { return offerKnown && !d.Extensions.Cut && !d.Extensions.Has(keyword) }
		if len(tx.Chunks) > 0 && lacks("CHUNKING") {
			c := tx.Chunks[0].Command
			out = append(out, b.at("bdat-not-offered", Error, PhaseBDAT, c.Span, c.Time,
				"the client used BDAT, but the server did not offer CHUNKING"))
		}
		if bodyParam == "BINARYMIME" && lacks("BINARYMIME") {
			out = append(out, b.at("binarymime-not-offered", Error, PhaseEnvelope, tx.Mail.Span, tx.Mail.Time,
				"the client declared BODY=BINARYMIME, but the server did not offer BINARYMIME"))
		}
		if tx.Data != nil && (bodyParam == "BINARYMIME" || body != nil && (body.TransferEncoding == "binary" || body.BinaryPart >= 0)) {
			what := "Content-Transfer-Encoding: binary"
			switch {
			case bodyParam == "BINARYMIME":
				what = "BODY=BINARYMIME"
			case body.TransferEncoding != "binary":
				what = fmt.Sprintf("a MIME part with Content-Transfer-Encoding: binary, its header at byte %d of the message", body.BinaryPart)
			}
			out = append(out, b.at("binary-via-data", Error, PhaseData, tx.Data.Span, tx.Data.Time,
				fmt.Sprintf("binary content (%s) was sent with DATA; binary MIME must go with BDAT (RFC 3030)", what)))
		}
		if body == nil {
			continue
		}
		at := func(off int64) smtpparse.Span {
			return smtpparse.Span{Dir: smtpparse.ClientToServer, Start: off, End: off + 1}
		}
		answer, cutShort := lenientAnswer(d, tx)
		if answer != nil {
			e := body.Lenient[0]
			summary := fmt.Sprintf("the server answered %d in frame %s right after the non-standard end-of-data \"%s\" at offset %d: this server ends DATA without <CRLF>.<CRLF>, so it is open to SMTP smuggling",
				answer.Code, joinInts(b.s.Frames(answer.Span), ","), escape([]byte(e.Seq)), e.At.Start)
			if cutShort != nil {
				summary = fmt.Sprintf("the server ended the message at the non-standard end-of-data \"%s\" at offset %d: after its %d (frame %s) it answered what followed in the message, %s, with %d %s (frame %s), as a command; the message was taken cut short there, and this server ends DATA without <CRLF>.<CRLF>, so it is open to SMTP smuggling",
					escape([]byte(e.Seq)), e.At.Start, answer.Code, joinInts(b.s.Frames(answer.Span), ","), quote(escape(firstLine(e.After)), 40),
					cutShort.Code, quote(strings.Join(cutShort.Lines, " "), 40), joinInts(b.s.Frames(cutShort.Span), ","))
			}
			f := b.at("smuggling-end-of-data", Error, PhaseData, e.At, verb.Time, summary)
			f.Frames = appendUnique(f.Frames, b.s.Frames(answer.Span)...)
			if !e.CommandsAfter {
				f.lenientSeq = e.Seq // commands after it: smuggling, not a slip
			}
			if cutShort != nil {
				f.cutShort = fmt.Sprintf(" The message was taken cut short there: the server answered the line after the sequence, %s, with %d (frame %s).",
					quote(escape(firstLine(e.After)), 40), cutShort.Code, joinInts(b.s.Frames(cutShort.Span), ","))
			}
			f.Evidence = fmt.Sprintf("client offset %d: %s┃%s", e.At.Start, escape([]byte(e.Seq)), escape(e.After))
			f.serverTook, f.tx = true, tx
			out = append(out, f)
		}
		tail, stuck := strandedTail(tx, body, answer)
		if stuck {
			then := " and keeps waiting"
			if r := tx.Interrupt; r != nil {
				said := fmt.Sprintf("%d %s (frame %s)", r.Code, quote(strings.Join(r.Lines, " "), 60), joinInts(b.s.Frames(r.Span), ", "))
				if _, idle, timeout := timedOut(b, r); timeout {
					then = fmt.Sprintf(" and keeps waiting: this one gave up after %.0f s with %s", idle.Seconds(), said)
				} else {
					then = "; this one refused the message at once with " + said
				}
			}
			f := b.at("data-terminator-not-at-line-start", Error, PhaseData, tail.At, verb.Time,
				fmt.Sprintf("the message ends with %s at offset %d: the last line has a bare LF, so a strict server never sees <CRLF>.<CRLF>%s", angled(tail.Seq+string(tail.After)), tail.At.Start, then))
			f.Evidence = tailEvidence(b, body, tail)
			f.tx = tx
			out = append(out, f)
		}
		for i, e := range body.Lenient {
			if answer != nil {
				break
			}
			if stuck && i == len(body.Lenient)-1 {
				continue // reported above as the message's end
			}
			sev := Warning
			after := "nothing that looks like a command"
			if e.CommandsAfter {
				sev = Error
				after = fmt.Sprintf("SMTP commands (%s)", quote(escape(e.After), 40))
			}
			f := b.at("smuggling-end-of-data", sev, phase, e.At, verb.Time,
				fmt.Sprintf("non-standard end-of-data \"%s\" inside the message at offset %d: a lenient server would end the message there; what follows is %s",
					escape([]byte(e.Seq)), e.At.Start, after))
			f.Evidence = fmt.Sprintf("client offset %d: %s┃%s", e.At.Start, escape([]byte(e.Seq)), escape(e.After))
			f.smuggled, f.tx = e.CommandsAfter, tx
			out = append(out, f)
			if len(out) > 20 {
				break
			}
		}
		if body.BareLF.N > 0 {
			out = append(out, b.at("bare-lf-in-data", Warning, phase, at(body.BareLF.First), verb.Time,
				fmt.Sprintf("%s in the message (first at offset %d); RFC 5321 requires CRLF", wording.Plural(body.BareLF.N, "bare LF line ending", "bare LF line endings"), body.BareLF.First)))
			out[len(out)-1].tx = tx
		}
		if body.BareCR.N > 0 {
			out = append(out, b.at("bare-cr-in-data", Warning, phase, at(body.BareCR.First), verb.Time,
				fmt.Sprintf("%s in the message (first at offset %d)", wording.Plural(body.BareCR.N, "bare CR character", "bare CR characters"), body.BareCR.First)))
			out[len(out)-1].tx = tx
		}
		if body.NUL.N > 0 {
			out = append(out, b.at("nul-in-data", Warning, phase, at(body.NUL.First), verb.Time,
				fmt.Sprintf("%s in the message (first at offset %d)", wording.Plural(body.NUL.N, "NUL byte", "NUL bytes"), body.NUL.First)))
		}
		if body.EightBit.N > 0 && bodyParam != "BINARYMIME" && !(tx.Mail != nil && hasParam(tx.Mail, "SMTPUTF8")) && offerKnown && (d.Extensions.Has("8BITMIME") || !d.Extensions.Cut) {
			// To a server that offers 8BITMIME the missing BODY=8BITMIME is a
			// formality most clients skip (Exim relays 8-bit mail so); to one
			// that does not, the message may be mangled or refused, and
			// BODY=8BITMIME is not the client's to use (RFC 6152, 3).
			sev, why, report := Info, "without BODY=8BITMIME (the server offers 8BITMIME, so it takes 8-bit data anyway)", true
			switch offered := d.Extensions.Has("8BITMIME"); {
			case !offered && bodyParam == "8BITMIME":
				sev, why = Warning, "declared with BODY=8BITMIME, but the server did not offer 8BITMIME, so the client may not use it (RFC 6152)"
			case !offered && !d.Extensions.Offered:
				// HELO: no extensions were negotiated at all; the server
				// may well offer 8BITMIME to a client that says EHLO.
				sev, why = Warning, "but the client greeted with HELO, so no extension was negotiated and 8BITMIME was not offered"
			case !offered:
				sev, why = Warning, "but the server did not offer 8BITMIME"
			case bodyParam == "8BITMIME":
				report = false // declared to a server that offers it: as it should be
			}
			if report {
				out = append(out, b.at("eightbit-not-offered", sev, phase, at(body.EightBit.First), verb.Time,
					fmt.Sprintf("%s with the high bit set in the message (first at offset %d), %s", wording.Plural(body.EightBit.N, "byte", "bytes"), body.EightBit.First, why)))
			}
		}
		if body.LongLines.N > 0 {
			out = append(out, b.at("line-too-long", Warning, phase, at(body.LongLines.First), verb.Time,
				fmt.Sprintf("%s longer than 998 octets (longest %d; first at offset %d)", wording.Plural(body.LongLines.N, "message line", "message lines"), body.LongestLine, body.LongLines.First)))
			out[len(out)-1].tx = tx
		}
	}
	for _, tx := range d.Transactions {
		for i, ch := range tx.Chunks {
			if ch.Declared < 0 || ch.Refused {
				continue // a refused chunk's bytes were read as commands: no size to judge
			}
			got := ch.Data.End - ch.Data.Start
			next := nextCommandAfter(d, ch.Data.End)
			mismatch := ""
			switch {
			case got < ch.Declared && next == nil && stoppedReading(b, smtpparse.ServerToClient) != nil:
				// The server stopped reading and its window stayed shut:
				// the client could not send the rest, so the chunk was
				// cut, not wrongly sized (window-closed says so).
			case got < ch.Declared && b.s.Conn.End() != reassembly.EndOpen && next == nil && !clientClosedFirst(b.s.Conn):
				// A client that closed mid-chunk died or gave up: its chunk
				// was cut, not wrongly sized (lost-mid-transaction says so).
				mismatch = fmt.Sprintf("only %s followed before the connection ended", wording.Plural(got, "byte", "bytes"))
			case next != nil && !next.Known && !next.Masked:
				mismatch = fmt.Sprintf("the bytes after it do not start with a command (%s): the chunk was longer than declared", quoteCommand(next, 30))
			}
			if mismatch != "" {
				c := ch.Command
				f := b.at("bdat-size-mismatch", Error, PhaseBDAT, c.Span, c.Time,
					fmt.Sprintf("BDAT chunk %d declared %d bytes, but %s", i+1, ch.Declared, mismatch))
				if r, frame := chunkTimedOut(b, ch); r != nil && got < ch.Declared {
					// The server waited for the chunk and gave up: what came
					// after its timeout is no part of the chunk, and the
					// bytes the client says it sent may have been lost on
					// the way.
					f.Severity = Warning
					f.Summary = fmt.Sprintf("BDAT chunk %d declared %d bytes, but none of them came for %s: the server gave up with %d %s in frame %d; a capture on the client's side tells whether it sent them (a device in the path may have dropped them)",
						i+1, ch.Declared, roughly(r.Time.Sub(c.EndTime)), r.Code, quote(strings.Join(r.Lines, " "), 50), frame)
					f.Frames = appendUnique(f.Frames, frame)
				}
				out = append(out, f)
			}
		}
	}
	return out
}

// chunkTimedOut returns the server's timeout reply (421) that came while
// it waited for chunk ch's bytes, none of which had come, and its frame.
func chunkTimedOut(b builder, ch *smtpparse.Chunk) (*smtpparse.Reply, int) {
	for _, r := range b.s.Dialogue.Replies {
		if r.Code != 421 || r.Time.Before(ch.Command.EndTime) {
			continue
		}
		rf := b.s.Frames(r.Span)
		if len(rf) == 0 || clientBytesBefore(b, rf[0]) > ch.Data.Start {
			return nil, 0
		}
		if _, idle, ok := timedOut(b, r); ok && idle > 0 {
			return r, rf[0]
		}
		return nil, 0
	}
	return nil, 0
}

// lenientAnswer returns the final reply of a DATA transaction that the
// server ended at a non-standard end-of-data sequence (the parser saw the
// reply come with no <CRLF>.<CRLF> before it), or nil.
//
// The server shows it ended the message early in a second way: it answers
// what the client sent after the sequence, which it read as commands. A
// reply nothing asked for, right after the message's final reply (only
// unasked replies between), when the message holds such a sequence with
// more of it after, is that answer (curl uploading a file with LF line
// endings and a lone "." line: Exim ends the message there, then answers
// the next line with 500). Then cutShort is that reply.
func lenientAnswer(d *smtpparse.Dialogue, tx *smtpparse.Transaction) (answer, cutShort *smtpparse.Reply) {
	body := tx.Body
	if body == nil || tx.FinalReply == nil {
		return nil, nil
	}
	if body.EndedLenient {
		return tx.FinalReply, nil
	}
	if tx.Data == nil || !body.Complete || len(body.Lenient) == 0 || len(body.Lenient[0].After) == 0 || body.Lenient[0].At.End >= body.Span.End {
		return nil, nil
	}
	i := slices.Index(d.Replies, tx.FinalReply)
	if i < 0 || slices.ContainsFunc(d.Gaps, func(g smtpparse.Span) bool {
		return g.Dir == smtpparse.ClientToServer && g.End > body.Span.End
	}) {
		// After a gap in what the client sent, what the server answered
		// is unknown.
		return nil, nil
	}
	for _, r := range d.Replies[i+1:] {
		switch {
		case r.Command != nil || r.Final || r == d.Greeting || r.Code == 0:
			return nil, nil
		case r.Code == 421:
			continue // closing, unasked: it answers nothing
		case r.Code == 221 || r.Time.Sub(tx.FinalReply.Time) > cutShortWait:
			// A goodbye, or a reply long after (an idle timeout's 451):
			// the server's own doing, not its answer to the message's rest.
			return nil, nil
		}
		return tx.FinalReply, r
	}
	return nil, nil
}

// cutShortWait is how soon after a message's final reply the server's
// answer to the rest of the message comes: it reads those lines at once,
// as commands the client pipelined.
const cutShortWait = time.Second

// firstLine returns b up to its first line ending.
func firstLine(b []byte) []byte {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		return b[:i]
	}
	return b
}

// strandedTail returns the <LF>.<CRLF> or <LF>.<LF> that ends the bytes
// of a DATA message a strict server never saw end: the client's last line
// has a bare LF, and no reply followed it. A client that writes LF alone
// ends its message with <LF>.<LF> and waits just the same.
func strandedTail(tx *smtpparse.Transaction, body *smtpparse.Body, answer *smtpparse.Reply) (smtpparse.EndOfData, bool) {
	n := len(body.Lenient)
	if tx.Data == nil || body.Complete || answer != nil || n == 0 {
		return smtpparse.EndOfData{}, false
	}
	e := body.Lenient[n-1]
	return e, (e.Seq == "\n.\r\n" || e.Seq == "\n.\n" && e.ClientWaited) && tailIsTerminator(e, body)
}

// angled writes an end-of-data sequence the way RFC 5321 does: <LF>.<CRLF>.
func angled(seq string) string {
	return strings.NewReplacer("\r\n", "<CRLF>", "\r", "<CR>", "\n", "<LF>").Replace(seq)
}

// tailIsTerminator reports whether a lenient sequence ends the body's bytes
// (nothing but the stream's end follows it), or the client stopped there
// and waited for a reply (what it sent after, a QUIT say, was not message).
func tailIsTerminator(e smtpparse.EndOfData, body *smtpparse.Body) bool {
	return e.ClientWaited || e.At.End >= body.Span.End-2 || len(e.After) == 0 || !strings.ContainsAny(string(e.After), "\n")
}

func tailEvidence(b builder, body *smtpparse.Body, e smtpparse.EndOfData) string {
	tail := body.Tail[max(0, len(body.Tail)-40):]
	frames := b.s.Frames(e.At)
	return fmt.Sprintf("client offset %d, frame %s: …%s (the message ends here; no <CRLF>.<CRLF> follows)",
		e.At.Start, joinInts(frames, ", "), escape(tail))
}

func nextCommandAfter(d *smtpparse.Dialogue, off int64) *smtpparse.Command {
	i := sort.Search(len(d.Commands), func(i int) bool { return d.Commands[i].Span.Start >= off })
	if i < len(d.Commands) {
		return d.Commands[i]
	}
	return nil
}

func hasParam(c *smtpparse.Command, key string) bool {
	_, ok := c.Params[key]
	return ok
}

func detectSize(b builder, _ Options) []Finding {
	d := b.s.Dialogue
	var out []Finding
	for _, tx := range d.Transactions {
		if tx.Mail == nil {
			continue
		}
		raw, ok := tx.Mail.Params["SIZE"]
		if !ok {
			continue
		}
		size, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			continue // the parser flags the syntax
		}
		if limit := d.Extensions.Size; limit > 0 && size > limit {
			out = append(out, b.at("size-exceeds-limit", Warning, PhaseEnvelope, tx.Mail.Span, tx.Mail.Time,
				fmt.Sprintf("the client declared SIZE=%d, above the server's limit of %d bytes", size, limit)))
		}
		if tx.Body != nil && tx.Body.Complete && !tx.Body.Gap && tx.Body.Size > size+size/10+1024 {
			summary := fmt.Sprintf("the client declared SIZE=%d but sent %d bytes of message", size, tx.Body.Size)
			if limit := d.Extensions.Size; limit > 0 && tx.Body.Size > limit {
				summary += fmt.Sprintf(", over the limit of %d bytes the server offered", limit)
				if delivered(tx) {
					summary += ", which it took all the same" // a limit it does not enforce
				}
			}
			out = append(out, b.at("size-mismatch", Warning, PhaseData, tx.Mail.Span, tx.Mail.Time, summary))
		}
	}
	return out
}

// ---- connections and time ----

func detectStalls(b builder, opts Options) []Finding {
	if oneSided(b) || serverOnly(b) {
		// With one side's packets only, who was silent is not seen: a
		// client that went on after a pause may have had its reply.
		return nil
	}
	var segs [2][]reassembly.SegmentFact
	for _, dir := range []smtpparse.Direction{smtpparse.ClientToServer, smtpparse.ServerToClient} {
		if st := b.s.Stream(dir); st != nil {
			segs[dir] = st.Segments
		}
	}
	says := func(sf *reassembly.SegmentFact) bool {
		return sf.Speaks() || sf.Flags&(reassembly.FlagFIN|reassembly.FlagRST) != 0
	}
	// A side that could not send, its peer's receive window closed, was
	// not silent of its own accord, nor was its peer, which had stopped
	// reading: window-closed tells of it.
	held := func(from, to int64) bool {
		return windowHeld(b.closed[smtpparse.ServerToClient], from, to) || windowHeld(b.closed[smtpparse.ClientToServer], from, to)
	}
	// Walk both directions' packets in frame order (each list already is),
	// comparing each packet that says something with the one before.
	// A packet stamped reassembly.ClockStep or more before the one in
	// front of it (a clock step, an edited capture) makes the silence
	// around it meaningless: no stall is measured across it (the input
	// warnings tell of it). Smaller inversions are ordinary and ignored.
	var (
		out       []Finding
		prev      event
		hasPrev   bool
		before    event // the packet that said something before prev
		hasBefore bool
		i, j      int
		last      int64 // the previous packet's timestamp (Unix ns), in frame order
		hasLast   bool
		backSince bool // a packet since prev (prev included) went back in time
	)
	for i < len(segs[0]) || j < len(segs[1]) {
		var next event
		if j >= len(segs[1]) || (i < len(segs[0]) && segs[0][i].Frame < segs[1][j].Frame) {
			next = event{smtpparse.ClientToServer, &segs[0][i]}
			i++
		} else {
			next = event{smtpparse.ServerToClient, &segs[1][j]}
			j++
		}
		t := next.fact.Nanos
		back := hasLast && nanosBetween(t, last) >= reassembly.ClockStep
		last, hasLast = t, true
		backSince = backSince || back
		if !says(next.fact) {
			continue
		}
		if hasPrev && !backSince {
			from, again := prev, 0
			if next.dir == prev.dir && hasBefore && resends(prev, before) && !resends(next, prev) {
				// The side that waited resent what it had said (its
				// peer's ACK was lost), then said something new: the
				// silence began at the first copy.
				from, again = before, prev.fact.Frame
			}
			// A side resending what it sent last is backing off, its
			// bytes unacknowledged: no pause of its, and no stall to tell.
			backoff := resends(next, prev)
			if wait := nanosBetween(from.fact.Nanos, t); wait > opts.StallThreshold && !backoff && !idleBetween(b, from, next) {
				if f := stallFinding(b, from, next, wait, again); !held(from.fact.Nanos, t) {
					out = append(out, f)
				}
			}
		}
		before, hasBefore = prev, hasPrev
		prev, hasPrev, backSince = next, true, back
	}
	out = append(out, slowAnswers(b, opts, out, held)...)
	if hasPrev && !backSince && b.s.Conn.End() == reassembly.EndOpen {
		// Silence until the capture ended counts too: to the end of the
		// capture, which other connections may have kept going long
		// after this one's last packet. Not when the connection was
		// idle, its peer owing nothing (a client keeping its connection
		// for more mail), nor past the last packet inside TLS, where who
		// owes what is not seen.
		last := b.s.Conn.LastTime
		end, after := last, ""
		switch {
		case inTLS(b, prev):
			// Measured to the connection's last packet, as far as it shows.
		case idleAtEnd(b, prev):
			end = prev.fact.Time()
		case b.s.Until.Sub(last) >= time.Second:
			end = b.s.Until
			after = fmt.Sprintf(" %.1f s after this connection's last packet (frame %d)", end.Sub(last).Seconds(), b.s.Conn.LastFrame)
		}
		if wait := end.Sub(prev.fact.Time()); wait > opts.StallThreshold && !held(prev.fact.Nanos, end.UnixNano()) {
			f := b.conn("stall", Warning, phaseAtFrame(b, prev), []int{prev.fact.Frame, b.s.Conn.LastFrame}, prev.fact.Time(),
				fmt.Sprintf("%s silent %.1f s after the %s's %s in frame %d, until the capture ended%s",
					1-prev.dir, wait.Seconds(), prev.dir, describeEvent(b, prev), prev.fact.Frame, after))
			f.Direction = (1 - prev.dir).String()
			out = append(out, f)
		}
	}
	return out
}

// slowAnswers returns a stall for each command the server answered more
// than the threshold after it came, when the client gave up waiting in
// between (its QUIT, or its FIN), so that no silence between two packets
// was that long: a client that left a tarpitting server before its late
// answer. A client that pipelined more commands meanwhile did not give
// up. Stalls already told (told), ending at the answer or inside the
// wait, and waits held by a closed window are not told again.
func slowAnswers(b builder, opts Options, told []Finding, held func(from, to int64) bool) []Finding {
	// The client's first QUIT and its FIN: what giving up looks like.
	quit, quitFrame := (*smtpparse.Command)(nil), 0
	for _, c := range b.s.Dialogue.Commands {
		if c.Verb == "QUIT" {
			if f := b.s.Frames(c.Span); len(f) > 0 {
				quit, quitFrame = c, f[0]
			}
			break
		}
	}
	fin := b.s.Conn.FINFrame(reassembly.ClientToServer)
	if quit == nil && fin == 0 {
		return nil
	}
	var out []Finding
	for _, c := range b.s.Dialogue.Commands {
		r := c.Reply
		if r == nil || r.Forgotten || c.Verb == "" || c == quit || r.Time.Sub(c.EndTime) <= opts.StallThreshold ||
			r.Final && afterClientFIN(b, r) { // a message's answer after the client left: accepted-after-client-left tells it
			continue
		}
		cf, rf := b.s.Frames(c.Span), b.s.Frames(r.Span)
		if len(cf) == 0 || len(rf) == 0 {
			continue
		}
		sent, answered := cf[len(cf)-1], rf[0]
		var meanwhile []string
		if quitFrame > sent && quitFrame < answered {
			meanwhile = append(meanwhile, fmt.Sprintf("sent %s in frame %d", quoteCommand(quit, 30), quitFrame))
		}
		if fin > sent && fin < answered {
			meanwhile = append(meanwhile, fmt.Sprintf("closed its side (its FIN in frame %d)", fin))
		}
		if len(meanwhile) == 0 || held(c.EndTime.UnixNano(), r.Time.UnixNano()) || slices.ContainsFunc(told, func(f Finding) bool {
			return f.ID == "stall" && len(f.Frames) == 2 && f.Frames[1] > sent && f.Frames[1] <= answered
		}) {
			continue
		}
		f := b.conn("stall", Warning, phaseOf(c), []int{sent, answered}, c.EndTime,
			fmt.Sprintf("server silent %.1f s after the client's %s in frame %d, until its answer in frame %d; the client gave up waiting meanwhile: it %s",
				r.Time.Sub(c.EndTime).Seconds(), quoteCommand(c, 40), sent, answered, strings.Join(meanwhile, ", then ")))
		f.Direction = smtpparse.ServerToClient.String()
		f.waitedOut = true
		out = append(out, f)
	}
	return out
}

// nanosBetween returns to-from, two Unix times in nanoseconds, as
// time.Time.Sub would: saturated, not wrapped, past the range of a
// Duration. Detectors that walk every packet use it rather than make two
// time.Times a packet.
func nanosBetween(from, to int64) time.Duration {
	d := to - from
	if (to >= from) != (d >= 0) {
		if to > from {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return time.Duration(d)
}

// event is a packet that says something: payload, FIN or RST.
type event struct {
	dir  smtpparse.Direction
	fact *reassembly.SegmentFact
}

// resends reports whether e is a retransmission of bytes that the packet
// before it, from the same side, carried.
func resends(e, before event) bool {
	return e.dir == before.dir && e.fact.Length > 0 && e.fact.Kind&reassembly.KindRetransmitted != 0 &&
		before.fact.Offset <= e.fact.Offset && e.fact.Offset+int64(e.fact.Length) <= before.fact.Offset+int64(before.fact.Length)
}

// stallFinding tells of the silence between prev and next; again, when
// not 0, is the frame in which prev's side resent what prev carried.
func stallFinding(b builder, prev, next event, wait time.Duration, again int) Finding {
	silent := 1 - prev.dir
	said, ended := describeEvent(b, prev), describeEvent(b, next)
	what := fmt.Sprintf("%s in frame %d", said, prev.fact.Frame)
	if again != 0 {
		what += fmt.Sprintf(" (sent again in frame %d)", again)
	}
	sentNext := ended
	if next.fact.Length > 0 && next.fact.Kind&reassembly.KindRetransmitted != 0 {
		sentNext += " again (a retransmission)"
	}
	summary := fmt.Sprintf("%s silent %.1f s after the %s's %s; then the %s sent %s in frame %d",
		silent, wait.Seconds(), prev.dir, what, next.dir, sentNext, next.fact.Frame)
	gaveUp := false // the side that waited went on without an answer
	if prev.dir == smtpparse.ClientToServer && said == "message data" {
		// In the middle of a message the server waits: the client paused.
		silent = smtpparse.ClientToServer
		summary = fmt.Sprintf("client silent %.1f s in the middle of its message, after frame %d, while the server waited for the rest; then the %s sent %s in frame %d",
			wait.Seconds(), prev.fact.Frame, next.dir, sentNext, next.fact.Frame)
	} else if c := openLine(b, prev); c != nil && next.dir != prev.dir {
		// In the middle of a command line the server waits too.
		silent = smtpparse.ClientToServer
		summary = fmt.Sprintf("client silent %.1f s in the middle of its command line %s, after frame %d, while the server waited for the rest; then the %s sent %s in frame %d",
			wait.Seconds(), quoteCommand(c, 40), prev.fact.Frame, next.dir, sentNext, next.fact.Frame)
	} else if next.dir == prev.dir {
		gaveUp = true
		summary = fmt.Sprintf("%s silent %.1f s after the %s's %s; the %s gave up waiting and sent %s in frame %d",
			silent, wait.Seconds(), prev.dir, what, next.dir, sentNext, next.fact.Frame)
		if ended == moreMessage {
			summary += ", which the server, still reading the message, took as more of it"
		}
	}
	f := b.conn("stall", Warning, phaseAtFrame(b, prev), []int{prev.fact.Frame, next.fact.Frame}, prev.fact.Time(), summary)
	f.Direction = silent.String()
	f.waitedOut = gaveUp
	return f
}

// idleBetween reports whether the silence from prev to next is a client
// idling between transactions: after a server's reply, once a transaction
// was done, it began a session command (QUIT, MAIL, RSET, NOOP, a hello). A sender that keeps its
// connection open for the next message does so (OpenSMTPD waits 10 s,
// Postfix's connection cache longer); the server was not waiting for
// anything the client owed it.
func idleBetween(b builder, prev, next event) bool {
	if prev.dir != smtpparse.ServerToClient || next.dir != smtpparse.ClientToServer || next.fact.Length == 0 || prev.fact.Length == 0 {
		return false
	}
	cmds := b.s.Dialogue.Commands
	i, ok := slices.BinarySearchFunc(cmds, next.fact.Offset, func(c *smtpparse.Command, off int64) int { return cmp.Compare(c.Span.Start, off) })
	if !ok {
		return false
	}
	switch cmds[i].Verb {
	case "QUIT", "MAIL", "RSET", "NOOP", "EHLO", "HELO", "LHLO":
		// Only after the commands before it were all answered (a client
		// waiting for a reply idles for nobody), and after a transaction
		// (a client that has sent no MAIL yet owes one, or its QUIT).
		return i > 0 && cmds[i-1].Reply != nil && cmds[i-1].Reply.Span.End <= prev.fact.Offset+int64(prev.fact.Length) &&
			slices.ContainsFunc(cmds[:i], func(c *smtpparse.Command) bool { return c.Verb == "MAIL" })
	}
	return false
}

// withLast returns kept, the elements of a kind the parser kept, with
// last, the last one it read, after them when it is not among them (a
// connection too long to keep whole): how the connection ended is then
// still looked at.
func withLast[E comparable](kept []E, last E) []E {
	var none E
	if last == none || len(kept) > 0 && kept[len(kept)-1] == last {
		return kept
	}
	return append(kept[:len(kept):len(kept)], last)
}

// idleAtEnd reports whether a connection whose last word was e, open
// when the capture ended, was idle rather than stuck: the server had the
// last word and had answered every command, and the client owed nothing,
// its QUIT answered or its last transaction over (a final reply, a
// reset, a refused MAIL). A client that has not sent MAIL yet, or is in
// the middle of a transaction, owes the server a command.
func idleAtEnd(b builder, e event) bool {
	if e.dir != smtpparse.ServerToClient || e.fact.Length == 0 {
		return false
	}
	d := b.s.Dialogue
	cmd := d.LastCommand // kept or not: a connection too long to keep whole ends past what was kept
	if cmd == nil {
		return false
	}
	if cmd.Reply == nil || cmd.Reply.Span.End > e.fact.Offset+int64(e.fact.Length) {
		return false
	}
	if cmd.Verb == "QUIT" {
		return true
	}
	tx := d.LastTx
	if tx == nil {
		return false
	}
	return tx.FinalReply != nil || tx.Reset != nil || tx.Interrupt != nil ||
		tx.Mail != nil && tx.Mail.Reply != nil && tx.Mail.Reply.Code >= 400
}

// inTLS reports whether e carried or followed bytes of a TLS session
// begun with STARTTLS: what they say is not seen.
func inTLS(b builder, e event) bool {
	tls := b.s.Dialogue.TLS
	if tls == nil {
		return false
	}
	start := tls.ClientStart
	if e.dir == smtpparse.ServerToClient {
		start = tls.ServerStart
	}
	return e.fact.Offset+int64(e.fact.Length) > start
}

// openLine returns the command whose line the client's packet e left
// unfinished, nil if none: a line the client went on with later, or one
// the server answered (Sendmail does on its command timeout) or the
// connection ended before its end came.
func openLine(b builder, e event) *smtpparse.Command {
	if e.dir != smtpparse.ClientToServer || e.fact.Length == 0 {
		return nil
	}
	end := e.fact.Offset + int64(e.fact.Length)
	cmds := b.s.Dialogue.Commands
	i, _ := slices.BinarySearchFunc(cmds, end, func(c *smtpparse.Command, off int64) int { return cmp.Compare(c.Span.End, off) })
	if i == len(cmds) || cmds[i].Span.Start >= end || cmds[i].Span.End == end && cmds[i].Ending != smtpparse.LineEndingNone {
		return nil
	}
	return cmds[i]
}

// moreMessage is what describeEvent calls client bytes after a lenient
// end of data that a strict server still reads as message content.
const moreMessage = "more bytes"

// describeEvent names what a packet carried: a command, reply, end of data, FIN or RST.
func describeEvent(b builder, e event) string {
	switch {
	case e.fact.Flags&reassembly.FlagRST != 0:
		return "a RST"
	case e.fact.Flags&reassembly.FlagFIN != 0 && e.fact.Length == 0:
		return "a FIN"
	}
	end := e.fact.Offset + int64(e.fact.Length)
	d := b.s.Dialogue
	if e.dir == smtpparse.ClientToServer {
		for _, tx := range d.Transactions {
			body := tx.Body
			if body == nil {
				continue
			}
			// Where the client ended its message: the strict terminator,
			// or a <LF>.<CRLF> it stopped at.
			ended, waited := int64(-1), false
			if body.Terminator != nil {
				ended = body.Terminator.End
			} else if tx.Data == nil && body.Complete {
				ended = body.Span.End // BDAT: the LAST chunk's end
			} else if n := len(body.Lenient); n > 0 && tailIsTerminator(body.Lenient[n-1], body) {
				ended, waited = body.Lenient[n-1].At.End, body.Lenient[n-1].ClientWaited
			}
			switch {
			case ended >= 0 && e.fact.Offset < ended && end >= ended:
				return "end of data"
			case waited && e.fact.Offset >= ended && end <= body.Span.End:
				return moreMessage
			case e.fact.Offset >= body.Span.Start && end <= body.Span.End:
				return "message data"
			}
		}
		for i := len(d.Commands) - 1; i >= 0; i-- {
			c := d.Commands[i]
			if c.Span.Start < end && c.Span.End > e.fact.Offset {
				if c.Sensitive {
					return "AUTH data"
				}
				return quoteCommand(c, 40)
			}
		}
		return "data"
	}
	for i := len(d.Replies) - 1; i >= 0; i-- {
		r := d.Replies[i]
		if r.Span.Start < end && r.Span.End > e.fact.Offset {
			return fmt.Sprintf("%d reply", r.Code)
		}
	}
	if t := d.TLS; t != nil && t.Server.NotTLS && t.Server.ClearReply() && e.fact.Offset <= t.Server.ClearAt && end > t.Server.ClearAt {
		// A reply in clear text after the server left TLS.
		return fmt.Sprintf("%s reply in clear text", t.Server.Clear[:3])
	}
	return "data"
}

func phaseAtFrame(b builder, e event) Phase {
	if e.dir == smtpparse.ClientToServer {
		return phaseAtOffset(b, e.dir, e.fact.Offset)
	}
	return PhaseConnection
}

// oneSided reports whether the capture holds only the client's packets.
func oneSided(b builder) bool {
	srv := b.s.Stream(smtpparse.ServerToClient)
	return srv == nil || len(srv.Segments) == 0
}

// serverOnly reports whether the capture holds only the server's packets
// (asymmetric routing past the capture point, or a filter on the source
// port): its replies answer commands nobody saw.
func serverOnly(b builder) bool {
	srv := b.s.Stream(smtpparse.ServerToClient)
	return b.s.Conn.Packets(reassembly.ClientToServer) == 0 && srv != nil && srv.Next > 0
}

func detectOneSided(b builder, _ Options) []Finding {
	c := b.s.Conn
	if serverOnly(b) {
		return []Finding{b.conn("one-sided-capture", Warning, PhaseConnection, []int{c.FirstFrame}, c.FirstTime,
			fmt.Sprintf("the capture holds only the server's packets (%d of them) and none of the client's: the commands its replies answer, and so the outcome, cannot be judged", c.Packets(reassembly.ServerToClient)))}
	}
	if cl := b.s.Stream(smtpparse.ClientToServer); !oneSided(b) || cl == nil || cl.Next == 0 {
		return nil // both sides seen, or no SMTP at all (connect-failed says why)
	}
	return []Finding{b.conn("one-sided-capture", Warning, PhaseConnection, []int{c.FirstFrame}, c.FirstTime,
		fmt.Sprintf("the capture holds only the client's packets (%d of them) and none of the server's: replies, and so the outcome, cannot be judged", c.Packets(reassembly.ClientToServer)))}
}

func detectLostMidTransaction(b builder, opts Options) []Finding {
	c := b.s.Conn
	if oneSided(b) {
		return nil // without the server's side nobody knows whether it replied
	}
	var out []Finding
	for _, tx := range b.s.Dialogue.Transactions {
		abandoned := tx.Reset != nil && tx.Data != nil && tx.Data.Reply == nil
		if tx.Mail == nil || tx.FinalReply != nil || (tx.Reset != nil && !abandoned) {
			continue // delivered, refused, or reset by the client while it could still go on
		}
		if tx.Mail.Reply != nil && tx.Mail.Reply.Code >= 400 {
			continue // the server refused the transaction: nothing to lose
		}
		if tx.Data != nil && tx.Data.Reply != nil && tx.Data.Reply.Code >= 500 {
			continue // refused at DATA (a synchronization error too): no message was to come
		}
		if tx.Data == nil && len(tx.Chunks) == 0 && noRecipientLeft(tx) && clientClosedFirst(c) {
			// Every recipient refused or deferred, and the client left: it
			// gave up an envelope the server had turned away (dma leaves
			// so after a 451, to retry later). The refusals tell it.
			continue
		}
		if isRefusal(tx.Interrupt) || deferredInside(b, tx) != nil {
			continue // refused before its end: command-rejected/-deferred says so
		}
		if saidGoodbyeBefore(b.s.Dialogue, tx) {
			continue // sent to a session the server had ended: its goodbye tells it
		}
		if f, ok := droppedAfterRefusal(b, tx); ok {
			out = append(out, f)
			continue
		}
		if f, ok := hungUpAfterRefusal(b, tx); ok {
			out = append(out, f)
			continue
		}
		phase, where := PhaseEnvelope, "in the envelope (after MAIL FROM)"
		if n := len(tx.Rcpts); n > 0 {
			// The last command of the envelope is what the reader
			// looks for: a session that ends after RCPT did not stop at MAIL.
			where = fmt.Sprintf("in the envelope (after MAIL FROM and %s, before DATA)", wording.Plural(n, "RCPT TO", "RCPT TOs"))
		}
		switch {
		case tx.Data != nil && tx.Data.Reply == nil:
		case tx.Body != nil && tx.Body.Complete:
			// The whole message, after DATA or in BDAT chunks to the LAST.
			phase, where = PhaseAfterData, "after the end of data, before the server's final reply"
		case tx.Body != nil && tx.Data == nil:
			phase, where = PhaseBDAT, fmt.Sprintf("during BDAT, after %s of message", wording.Plural(tx.Body.Size, "byte", "bytes"))
		case tx.Body != nil:
			phase, where = PhaseData, fmt.Sprintf("during DATA, after %s of message", wording.Plural(tx.Body.Size, "byte", "bytes"))
		case tx.Data != nil:
			phase, where = PhaseData, "after DATA"
		}
		if tx.Data != nil && tx.Data.Reply == nil {
			phase, where = PhaseData, "after DATA, which the server never answered"
		}
		if tx.Interrupt != nil {
			// Where the server gave up, whatever the client sent after.
			phase, where = PhaseData, "during DATA"
			if tx.Data == nil && len(tx.Chunks) > 0 {
				phase, where = PhaseBDAT, "during BDAT"
				// How much of the message came before the server gave up:
				// bytes that came after are told as too late.
				if rf := b.s.Frames(tx.Interrupt.Span); tx.Body != nil && len(rf) > 0 {
					if n := min(tx.Body.Size, clientBytesBefore(b, rf[0])-tx.Body.Span.Start); n > 0 {
						where = fmt.Sprintf("during BDAT, after %s of message", wording.Plural(n, "byte", "bytes"))
					}
				}
			}
		}
		// The first FIN: whoever closed first is among the frames (endedWith).
		firstFIN, _ := c.FirstFIN()
		frames := b.s.Frames(tx.Mail.Span)
		interrupt, clientFirst := "", false
		if r, what := gaveUp(b, tx); r != nil {
			rf := b.s.Frames(r.Span)
			frames = appendUnique(frames, rf...)
			said := fmt.Sprintf("%d %s", r.Code, quote(strings.Join(r.Lines, " "), 60))
			if len(rf) > 0 {
				said += fmt.Sprintf(" in frame %d", rf[0])
			}
			interrupt = fmt.Sprintf("%s with %s", what, said)
			if frame, idle, ok := timedOut(b, r); ok {
				// Not refused for what came: the client stopped sending
				// what it owed and the server's timeout ran out.
				interrupt = fmt.Sprintf("the client sent nothing for %.1f s after frame %d, and the server gave up waiting with %s", idle.Seconds(), frame, said)
				if r == tx.Interrupt {
					interrupt = fmt.Sprintf("the message stopped coming (nothing from the client for %.1f s after frame %d), and the server gave up with %s", idle.Seconds(), frame, said)
					if tx.Body != nil && len(rf) > 0 && clientBytesBefore(b, rf[0]) <= tx.Body.Span.Start {
						// Not a byte of it before the timeout.
						interrupt = fmt.Sprintf("the message never began (nothing from the client for %.1f s after frame %d), and the server gave up with %s", idle.Seconds(), frame, said)
						if late := b.s.Frames(tx.Body.Span); len(late) > 0 && late[0] > rf[0] {
							interrupt += fmt.Sprintf("; the client sent it only after that, in frame %d, too late", late[0])
						}
					}
					if af, unseen, acked, ok := sentUnseen(b, frame, rf); ok {
						// The client's sequence number says it did send:
						// the bytes were lost between it and this capture.
						what := "the rest of the message never reached the server: nothing more of it"
						if tx.Body == nil || tx.Body.Span.End == tx.Body.Span.Start {
							what = "the message never reached the server: nothing of it"
						}
						interrupt = fmt.Sprintf("%s arrived for %.1f s after frame %d, though the client's ACK in frame %d shows it had sent %d bytes past offset %d (lost on the way: a capture on the client's side tells whether it kept resending them), and the server gave up with %s",
							what, idle.Seconds(), frame, af, unseen, acked, said)
					}
				}
			}
			if cf := c.FINFrame(reassembly.ClientToServer); cf != 0 && len(rf) > 0 && cf < rf[0] {
				// The client hung up first: the server's reply (Exim's "421
				// Lost incoming connection") answers that, it gave up on nothing.
				interrupt, clientFirst = fmt.Sprintf("the client closed its side first (its FIN in frame %d), and the server answered with %s", cf, said), true
			}
		}
		closedEarly := ""
		if sf := c.FINFrame(reassembly.ServerToClient); sf != 0 && interrupt == "" {
			var ef []int
			if tx.Body != nil && tx.Body.Terminator != nil {
				ef = b.s.Frames(*tx.Body.Terminator)
			}
			switch mf := b.s.Frames(tx.Mail.Span); {
			case len(mf) > 0 && sf < mf[0]:
				// The client began the transaction on a connection the
				// server had already closed: it could never get a reply.
				phase, where = PhaseEnvelope, "before it began"
				closedEarly = fmt.Sprintf("the server had closed its side (its FIN in frame %d) when the client sent MAIL FROM (frame %d)", sf, mf[0])
			case len(ef) > 0 && sf < ef[0]:
				// The server closed while the message was still coming:
				// what the client sent after (the end of data) came too late.
				phase, where = PhaseData, "during DATA"
				if n := clientBytesBefore(b, sf) - tx.Body.Span.Start; n > 0 {
					where = fmt.Sprintf("during DATA, after %s of message", wording.Plural(n, "byte", "bytes"))
				}
				closedEarly = fmt.Sprintf("the server closed its side (its FIN in frame %d) before the end of data came (frame %d)", sf, ef[0])
			}
		}
		// How the connection ended, without the FIN named already.
		mentioned := 0
		if clientFirst {
			mentioned = c.FINFrame(reassembly.ClientToServer)
		} else if closedEarly != "" {
			mentioned = c.FINFrame(reassembly.ServerToClient)
		}
		how, frame := endedWith(c, mentioned)
		gaveUpAt := ""
		if abandoned {
			// The client stopped waiting for a reply to DATA and ended the
			// transaction itself (QUIT, RSET): that, not the close, lost it.
			if rf := b.s.Frames(tx.Reset.Span); len(rf) > 0 {
				gaveUpAt, frame = fmt.Sprintf("the client stopped waiting and sent %s in frame %d", quoteCommand(tx.Reset, 40), rf[0]), rf[0]
			}
		}
		frames = appendUnique(frames, frame)
		if firstFIN != 0 && gaveUpAt == "" && c.End() != reassembly.EndOpen {
			frames = appendUnique(frames, firstFIN) // named: who closed first
			slices.Sort(frames)
		}
		sev := Error
		if c.End() == reassembly.EndOpen {
			sev = Warning // the capture stopped; the connection may have gone on
		}
		summary := fmt.Sprintf("the transaction from <%s> was lost %s: the connection ended with %s before a final reply", clip(tx.Mail.Path, 40), where, how)
		switch {
		case gaveUpAt != "":
			summary = fmt.Sprintf("the transaction from <%s> was lost %s: %s", clip(tx.Mail.Path, 40), where, gaveUpAt)
		case c.End() == reassembly.EndOpen && interrupt != "":
			summary = fmt.Sprintf("the transaction from <%s> was lost %s: %s, and the capture ended with the connection still open", clip(tx.Mail.Path, 40), where, interrupt)
		case c.End() == reassembly.EndOpen:
			summary = fmt.Sprintf("the transaction from <%s> had no final reply when the capture ended, %s, with the connection still open", clip(tx.Mail.Path, 40), where)
		case interrupt != "":
			summary = fmt.Sprintf("the transaction from <%s> was lost %s: %s, and the connection ended with %s", clip(tx.Mail.Path, 40), where, interrupt, how)
		case closedEarly != "":
			summary = fmt.Sprintf("the transaction from <%s> was lost %s: %s, and the connection ended with %s before a final reply", clip(tx.Mail.Path, 40), where, closedEarly, how)
		}
		if fin, dir := c.FirstFIN(); phase == PhaseAfterData && interrupt == "" && closedEarly == "" && gaveUpAt == "" && fin != 0 && dir == reassembly.ClientToServer {
			// The client stopped waiting for the reply to its end of
			// data: how long it waited is what its administrator needs.
			if eod := endOfDataFrame(b, tx); eod != 0 && eod < fin {
				// Under a second is no timeout but a client that closed
				// its side as soon as it had sent all (QUIT pipelined).
				if waited := timeOfFrame(b, fin).Sub(timeOfFrame(b, eod)); waited >= halfCloseWithin && waited < dataDoneTimeout {
					summary += fmt.Sprintf("; the client gave up %s after its end of data (frame %d), where RFC 5321 (section 4.5.3.2.6) lets the server take 10 minutes over that reply", briefly(waited), eod)
					frames = appendUnique(frames, eod)
				}
			}
		}
		waiting, went := false, time.Duration(0)
		if phase == PhaseAfterData && interrupt == "" && closedEarly == "" && gaveUpAt == "" {
			if eod, fin, ok := halfClosedWithData(b, tx); ok {
				// Not an end: the client shut only its sending side, having
				// sent all it had, and went on waiting for the reply.
				waiting, went = true, max(0, b.s.Until.Sub(c.LastTime))
				summary = fmt.Sprintf("the transaction from <%s> got no final reply: the client sent the whole message (its end of data in frame %d) and shut its sending side with it (its FIN in frame %d: it had sent all it had, QUIT pipelined, and went on waiting for the replies), and nothing more of this connection came in the %s the capture went on after its last packet (frame %d)",
					clip(tx.Mail.Path, 40), eod, fin, briefly(went), c.LastFrame)
				frames = appendUnique(frames, eod, fin, c.LastFrame)
				slices.Sort(frames)
				if went <= opts.StallThreshold {
					sev = Warning // the capture stopped soon after: the reply may have come
				}
			}
		}
		f := b.conn("lost-mid-transaction", sev, phase, frames, tx.Mail.Time, summary)
		f.interrupted, f.tx = tx.Interrupt != nil && !clientFirst, tx
		if waiting {
			f.awaitedReply = true
			f.Explanation = "The client sent the whole message and closed its sending side at once, as a client does that has pipelined QUIT behind its end of data: it still reads, and waits for the replies. None came, nor any sign that the server received the end of data and answered: its replies were lost on the way (a capture on the server's side shows whether it sent them), the server is stuck after the end of data, or the capture stopped too soon. A client that times out here counts the message as failed and sends it again; if the server had accepted it, the recipients get two copies."
			f.Remedy = "Look the message up in the server's log by the envelope and time: accepted there means the replies were lost on the way back (capture on the server's side, check the firewalls and the path), not accepted means the server never finished with it (its content scanner, milters, queue disk)."
		} else if c.End() == reassembly.EndOpen && interrupt == "" {
			// The capture stopped, not the session: nothing says the
			// message failed.
			f.Explanation = "The capture ended while this transaction was still under way, the connection open: whether the message went through is not in the capture. A capture stopped early (tcpdump -c, a ring buffer, a time limit) looks just like this."
			f.Remedy = "Capture for longer, until the connection closes, or look the message up in the server's log by the envelope and time."
		}
		out = append(out, f)
	}
	return out
}

// halfClosedWithData reports whether the client shut its sending side with
// tx's end of data or at once after it (sent all it had), the server never
// closing its side before the capture ended: the end of data's frame and
// the FIN's.
func halfClosedWithData(b builder, tx *smtpparse.Transaction) (eod, fin int, ok bool) {
	c := b.s.Conn
	fin = c.FINFrame(reassembly.ClientToServer)
	if c.End() != reassembly.EndHalfClosed || fin == 0 || c.FINFrame(reassembly.ServerToClient) != 0 {
		return 0, 0, false
	}
	if eod = endOfDataFrame(b, tx); eod == 0 || !finWithData(b, eod, fin) {
		return 0, 0, false
	}
	return eod, fin, true
}

// droppedAfterRefusal returns the finding for a transaction the client
// gave up itself because the server refused one of its recipients: after
// the 354 it closed its side without sending a byte of the message. Some
// clients send a message only when every recipient is accepted (msmtp,
// pipelining its RCPTs and DATA, learns of the refusal with the 354).
// Nothing was lost on the way, and such a client reports the failure
// rather than retrying: a warning, not the error of a lost transaction.
func droppedAfterRefusal(b builder, tx *smtpparse.Transaction) (Finding, bool) {
	c := b.s.Conn
	afterData := tx.Data != nil && tx.Data.Reply != nil && tx.Data.Reply.Code == 354
	if !afterData && (tx.Data != nil || len(tx.Chunks) > 0) || tx.Body != nil && tx.Body.Size > 0 ||
		!clientClosedFirst(c) || c.End() == reassembly.EndOpen {
		return Finding{}, false
	}
	var refused *smtpparse.Command
	accepted := 0
	for _, r := range tx.Rcpts {
		switch {
		case r.Reply == nil:
		case r.Reply.Code >= 500 && refused == nil:
			refused = r
		case r.Reply.Code/100 == 2:
			accepted++
		}
	}
	if refused == nil {
		return Finding{}, false
	}
	closed, side := c.FirstClose()
	frames := b.s.Frames(refused.Reply.Span)
	when := "after the 354 "
	if afterData {
		frames = appendUnique(frames, b.s.Frames(tx.Data.Reply.Span)...)
	} else if when = ""; len(frames) == 0 || closed < frames[0] {
		return Finding{}, false // it closed before it could see the refusal
	}
	frames = appendUnique(frames, closed)
	slices.Sort(frames)
	how := fmt.Sprintf("its FIN in frame %d", closed)
	if c.FINFrame(reassembly.ClientToServer) != closed || side != reassembly.ClientToServer {
		how = fmt.Sprintf("its RST in frame %d", closed)
	}
	phase, rest := PhaseData, fmt.Sprintf(", to the %s either", wording.Plural(accepted, "accepted recipient", "accepted recipients"))
	if !afterData {
		phase = PhaseEnvelope
	}
	if accepted == 0 {
		rest = ": the server had accepted no recipient"
	}
	f := b.conn("lost-mid-transaction", Warning, phase, frames, tx.Mail.Time,
		fmt.Sprintf("the client gave up the message from <%s> itself: the server refused <%s> (%d %s, frame %s), and %sthe client closed the connection (%s) without sending the message%s",
			clip(tx.Mail.Path, 40), clip(refused.Path, 40), refused.Reply.Code, quote(strings.Join(refused.Reply.Lines, " "), 40),
			joinInts(b.s.Frames(refused.Reply.Span), ","), when, how, rest))
	f.Explanation = "Some clients (msmtp among them) send a message only when the server accepts every recipient; after a refusal they drop the whole message and close the connection without sending it. Nothing was lost in the network: no recipient got the message, and the client reports the failure to its user rather than retrying it. (A client probing addresses one after another leaves the same way.)"
	f.Remedy = "Correct or remove the refused address (the server's reply says why), or have the client deliver to the recipients the server accepts where it can (curl: --mail-rcpt-allowfails)."
	f.tx = tx
	return f, true
}

// serverLostBefore reports whether the capture lost server bytes before
// reply r: replies may then be paired with the wrong commands (a QUIT's
// 221 with a RCPT whose own reply was lost).
func serverLostBefore(b builder, r *smtpparse.Reply) bool {
	st := b.s.Stream(smtpparse.ServerToClient)
	if st == nil {
		return false
	}
	for _, g := range st.Gaps {
		if shiftsPairing(smtpparse.ServerToClient, g) && g.Start < r.Span.Start {
			return true
		}
	}
	return false
}

// shiftsPairing reports whether gap g of direction dir may pair replies
// with the wrong commands after it: any gap but a lost greeting (the
// server's gap at offset 0), which the parser knows is missing.
func shiftsPairing(dir smtpparse.Direction, g reassembly.Gap) bool {
	return dir != smtpparse.ServerToClient || g.Start > 0
}

// saidGoodbyeBefore reports whether the server had ended the session
// (221, or 421) before the client began tx: a transaction it could never
// take, which no network lost.
func saidGoodbyeBefore(d *smtpparse.Dialogue, tx *smtpparse.Transaction) bool {
	for _, r := range d.Replies {
		if r.EndOrder >= tx.Mail.Order {
			break
		}
		if r.Code == 221 || r.Code == 421 {
			return true
		}
	}
	return false
}

// hungUpOn returns the refusal on which the server hung up: its last
// reply, a 4xx or 5xx answer to a command (421 says it closes, and is
// told as such), after which the server closed the connection before the
// client did. Servers drop a client so when a policy says it must go
// (Exim's ACL verb drop, blocklists, rate limits): what the client had
// pipelined behind the refused command goes unanswered as a matter of
// course.
func hungUpOn(b builder) *smtpparse.Reply {
	d := b.s.Dialogue
	closed, side := b.s.Conn.FirstClose()
	r := d.LastReply
	if closed == 0 || side != reassembly.ServerToClient || r == nil {
		return nil
	}
	if r.Command == nil || r == d.Greeting || r.Code < 400 || r.Code > 599 || r.Code == 421 {
		return nil
	}
	if rf := b.s.Frames(r.Span); len(rf) == 0 || rf[len(rf)-1] > closed {
		return nil
	}
	if at, ok := frameTime(b.s, closed); !ok || at.Sub(r.EndTime) > hangUpWithin {
		return nil // it closed later, on a timeout of its own: not on the refusal
	}
	return r
}

// hangUpWithin is how soon after a refusal a server that closes the
// connection closes it "at once", on the refusal.
const hangUpWithin = 2 * time.Second

// hungUpAfterRefusal returns the finding for a transaction the server
// ended by refusing one of its commands and closing the connection at
// once (hungUpOn): not lost in the network, but turned away.
func hungUpAfterRefusal(b builder, tx *smtpparse.Transaction) (Finding, bool) {
	r := b.hungUp
	if r == nil || !slices.Contains(txCommands(tx), r.Command) {
		return Finding{}, false
	}
	c := b.s.Conn
	closed, _ := c.FirstClose()
	how := fmt.Sprintf("its FIN in frame %d", closed)
	if c.FINFrame(reassembly.ServerToClient) != closed {
		how = fmt.Sprintf("its RST in frame %d", closed)
	}
	accepted := 0
	for _, rc := range tx.Rcpts {
		if rc.Reply != nil && rc.Reply.Code/100 == 2 {
			accepted++
		}
	}
	rest := ""
	if accepted > 0 {
		rest = fmt.Sprintf(", though the server had accepted %s", wording.Plural(accepted, "recipient", "recipients"))
	}
	frames := appendUnique(b.s.Frames(r.Command.Span), b.s.Frames(r.Span)...)
	frames = appendUnique(frames, closed)
	f := b.conn("lost-mid-transaction", Warning, phaseOf(r.Command), frames, tx.Mail.Time,
		fmt.Sprintf("the server refused %s with %d %s (frame %s) and closed the connection at once (%s): the message from <%s> was not sent%s",
			quoteCommand(r.Command, 50), r.Code, quote(strings.Join(r.Lines, " "), 60), joinInts(b.s.Frames(r.Span), ","), how,
			clip(tx.Mail.Path, 40), rest))
	f.Explanation = "The server refused a command and hung up at once, as servers do when a policy says the client must go (Exim's ACL verb drop, a synchronization check that caught the client sending ahead, a blocklist or rate limit, too many errors). What the client had pipelined behind the refused command got no answer, and the message went to no recipient in this connection. Nothing was lost in the network."
	f.Remedy = "Read the refusal: its text says why the server wanted the client gone (the address, a blocklist, a rate limit, a policy). Fix that on the client's side or take it to the server's administrators; a client that retries at once is dropped again."
	f.tx = tx
	return f, true
}

// tlsMismatch returns the finding for a client and a server that disagree
// on how TLS starts on the connection's port: the client opened with a
// TLS hello where the server expected plain SMTP (it answered in clear
// text), or the server spoke TLS from its first byte to a client that
// expected a greeting in the clear.
func tlsMismatch(b builder) (Finding, bool) {
	c, d := b.s.Conn, b.s.Dialogue
	if !c.SYNSeen(reassembly.ClientToServer) && !c.SYNSeen(reassembly.ServerToClient) {
		return Finding{}, false // begun mid-stream: the first bytes seen are not the session's first
	}
	port := c.Server().Port()
	firstFrame := func(dir smtpparse.Direction) int {
		if st := b.s.Stream(dir); st != nil {
			return st.FrameAt(0)
		}
		return 0
	}
	var f Finding
	switch {
	case b.s.ImplicitTLS && len(d.Replies) > 0:
		r := d.Replies[0]
		hello, rf := firstFrame(smtpparse.ClientToServer), b.s.Frames(r.Span)
		frames := appendUnique([]int{hello}, rf...)
		slices.Sort(frames)
		said := fmt.Sprintf("%d %s (frame %s)", r.Code, quote(strings.Join(r.Lines, " "), 60), joinInts(rf, ","))
		implicit := "implicit TLS, as on port 465"
		if port == 465 {
			implicit = "implicit TLS, which port 465 is for"
		}
		summary := fmt.Sprintf("the client spoke TLS from its first byte (%s) to server port %d, where the server speaks plain SMTP: after the TLS hello (frame %d) it sent %s in clear text, so no TLS session and no mail could follow",
			implicit, port, hello, said)
		if len(rf) > 0 && hello != 0 && rf[0] < hello {
			summary = fmt.Sprintf("the server on port %d greeted in clear text with %s, as for plain SMTP, and the client answered with a TLS hello (frame %d): it expects TLS from the first byte (%s), so no TLS session and no mail could follow",
				port, said, hello, implicit)
		}
		f = b.conn("tls-handshake-failed", Error, PhaseTLS, frames, r.Time, summary)
		f.Explanation = "The client and the server disagree on how TLS starts on this port. The client sends a TLS ClientHello at once (implicit TLS, SMTPS, normally port 465); the server speaks SMTP in the clear and starts TLS only after STARTTLS (normally ports 25 and 587), so it takes the hello for bytes out of turn, or for a command it does not know."
		f.Remedy = "Point the client at the server's implicit-TLS port (465), or have it use STARTTLS on this one (msmtp: tls_starttls on; curl: smtp:// with --ssl-reqd instead of smtps://)."
		if port == 465 {
			f.Remedy = "Port 465 is the implicit-TLS port (RFC 8314): the server there should start TLS at once (Postfix: smtpd_tls_wrappermode=yes on its submissions service; Exim: tls_on_connect_ports = 465). Until it does, point the client at the server's STARTTLS port (587 or 25)."
		}
	case b.s.ServerTLS != nil:
		rec := b.s.ServerTLS
		what := "a TLS handshake record"
		if rec[0] == 21 {
			what = "a TLS alert"
			if len(rec) >= 7 {
				what = "a TLS " + (&smtpparse.TLSAlert{Level: rec[5], Description: rec[6]}).String() + " alert"
			}
		}
		sf := firstFrame(smtpparse.ServerToClient)
		frames := []int{sf}
		client := "the client sent nothing in the clear"
		if len(d.Commands) > 0 {
			cmd := d.Commands[0]
			client = fmt.Sprintf("the client sent %s (frame %s) as if in the clear", quoteCommand(cmd, 30), joinInts(b.s.Frames(cmd.Span), ","))
			frames = appendUnique(frames, b.s.Frames(cmd.Span)...)
		} else if cf := c.FINFrame(reassembly.ClientToServer); cf != 0 {
			client = fmt.Sprintf("the client waited for a greeting in the clear and closed its side after %.1f s (its FIN in frame %d)", c.LastTime.Sub(c.FirstTime).Seconds(), cf)
			if t, ok := frameTime(b.s, cf); ok {
				client = fmt.Sprintf("the client waited for a greeting in the clear and closed its side after %.1f s (its FIN in frame %d)", t.Sub(c.FirstTime).Seconds(), cf)
			}
			frames = appendUnique(frames, cf)
		}
		slices.Sort(frames)
		t, ok := frameTime(b.s, sf)
		if !ok {
			t = c.FirstTime
		}
		f = b.conn("tls-handshake-failed", Error, PhaseTLS, frames, t,
			fmt.Sprintf("the server on port %d speaks TLS from the first byte (implicit TLS, as SMTPS on port 465 does), and the client did not: %s; the server's first bytes were %s (frame %d), so no TLS session and no mail could follow",
				port, client, what, sf))
		f.Explanation = "The client and the server disagree on how TLS starts on this port. The server expects a TLS ClientHello at once (implicit TLS, SMTPS, normally port 465); the client waits for an SMTP greeting in the clear, to start TLS with STARTTLS later if at all (as on ports 25 and 587). Neither sends what the other waits for."
		f.Remedy = "Point the client at the server's STARTTLS port (587 or 25), or have it start TLS at once on this one (msmtp: tls_starttls off; curl: smtps:// instead of smtp://)."
		if port == 25 || port == 587 {
			f.Remedy = fmt.Sprintf("Port %d is for SMTP in the clear with STARTTLS (RFC 5321, RFC 6409): the server there should greet in the clear, not start TLS at once (Exim: drop %d from tls_on_connect_ports; Postfix: no smtpd_tls_wrappermode on that service).", port, port)
		}
	case port == 465 && c.Handshake && c.Bytes(reassembly.ClientToServer) == 0 && c.Bytes(reassembly.ServerToClient) == 0 && c.End() != reassembly.EndOpen:
		// Nothing either way on the implicit-TLS port until one side gave
		// up: the client waited for a greeting, the server for a TLS hello
		// (Postfix sends no alert, as Exim does). Likely, not certain.
		closed, side := c.FirstClose()
		t, ok := frameTime(b.s, closed)
		if !ok {
			t = c.LastTime
		}
		// From the server's SYN-ACK: SYNs sent again before it (a lost
		// first SYN) are no wait for a greeting.
		from := c.FirstTime
		if st := b.s.Stream(smtpparse.ServerToClient); st != nil && len(st.Segments) > 0 {
			from = st.Segments[0].Time()
		}
		if t.Sub(from) < silentGiveUp {
			// Connected and closed at once: a port check, not a client
			// that waited for a greeting.
			return Finding{}, false
		}
		who := "the client"
		if side == reassembly.ServerToClient {
			who = "the server"
		}
		f = b.conn("tls-handshake-failed", Warning, PhaseTLS, []int{closed}, t,
			fmt.Sprintf("nothing was sent either way for %.1f s on port 465, the implicit-TLS port, until %s closed the connection (frame %d): most likely a plain SMTP client waiting for a greeting while the server waited for its TLS hello, so no TLS session and no mail could follow",
				t.Sub(from).Seconds(), who, closed))
		f.Explanation = "On port 465 the server expects a TLS ClientHello at once (implicit TLS, SMTPS, RFC 8314) and says nothing before it; a client set up for plain SMTP or STARTTLS waits for the server's greeting first. Neither sends what the other waits for, and the connection ends when one of them times out."
		f.Remedy = "Have the client start TLS at once on port 465 (msmtp: tls_starttls off; curl: smtps:// instead of smtp://), or point it at the server's STARTTLS port (587 or 25)."
	default:
		return Finding{}, false
	}
	f.tlsMismatch = true
	return f, true
}

// silentGiveUp is how long a connection on the implicit-TLS port must
// have stayed silent both ways before it closed to be taken for a client
// and a server waiting for each other.
const silentGiveUp = 2 * time.Second

// endedWith says how connection c ended and names the frame that shows
// it: its RST (after the FIN that came first, if one did), or its first
// FIN. named is a FIN the finding has named already, not to be named
// again: then the other side's FIN, or that the other side never closed.
// A connection still open ended with nothing: "" and its last frame.
func endedWith(c *reassembly.Conn, named int) (string, int) {
	firstFIN, firstSide := c.FirstFIN()
	switch c.End() {
	case reassembly.EndRST:
		how := fmt.Sprintf("%s in frame %d", rstSender(c), c.RSTFrame)
		if firstFIN != 0 && firstFIN < c.RSTFrame && firstFIN != named {
			how = fmt.Sprintf("the %s's FIN in frame %d, then %s", firstSide, firstFIN, how)
		}
		return how, c.RSTFrame
	case reassembly.EndFIN, reassembly.EndHalfClosed:
		how, frame := "", 0
		for _, dir := range []reassembly.Direction{reassembly.ClientToServer, reassembly.ServerToClient} {
			if f := c.FINFrame(dir); f != 0 && f != named && (how == "" || f < frame) {
				how, frame = fmt.Sprintf("the %s's FIN in frame %d", dir, f), f
			}
		}
		if how == "" {
			// The only FIN was named already: the other side never sent one.
			other := reassembly.ServerToClient
			if named == c.FINFrame(reassembly.ServerToClient) {
				other = reassembly.ClientToServer
			}
			how, frame = fmt.Sprintf("the %s never closing its side", other), named
		}
		return how, frame
	}
	return "", c.LastFrame
}

// endPhrase says how c ended, naming who closed or reset it first and the
// frame: "connection ended: the server's FIN in frame 12, then the
// client's RST in frame 40"; or that it had not ended, one side's FIN
// aside.
func endPhrase(c *reassembly.Conn) string {
	if c.End() == reassembly.EndHalfClosed {
		// One side shut only its sending side: it may still be reading.
		frame, side := c.FirstFIN()
		return fmt.Sprintf("the %s shut its sending side with its FIN in frame %d, and the connection was still half-open when the capture ended", side, frame)
	}
	if how, _ := endedWith(c, 0); how != "" {
		return "connection ended: " + how
	}
	return "the connection was still open when the capture ended"
}

// rstSender names c's RST as the client's or the server's.
// serverReset reports whether the server sent the connection's RST.
func serverReset(c *reassembly.Conn) bool {
	d, _ := c.RSTDirection()
	return d == reassembly.ServerToClient
}

func rstSender(c *reassembly.Conn) string {
	d, _ := c.RSTDirection()
	return fmt.Sprintf("the %s's RST", d)
}

// idleBeforeTimeout is how long the client must have sent nothing before
// a server's reply in the middle of a message for that reply to be a
// timeout rather than an answer to what came.
const idleBeforeTimeout = 2 * time.Second

// clientBytesBefore returns the client stream's offset at frame: how many
// bytes it had sent in the frames before it.
func clientBytesBefore(b builder, frame int) int64 {
	st := b.s.Stream(smtpparse.ClientToServer)
	if st == nil {
		return 0
	}
	var end int64
	for i := range st.Segments {
		if sf := &st.Segments[i]; sf.Frame < frame && sf.Length > 0 {
			end = max(end, sf.Offset+int64(sf.Length))
		}
	}
	return end
}

// timedOut reports whether reply r is the server's timeout: it came
// while the client owed it something (the rest of a message or of a BDAT
// chunk, or a command when none was waiting) and had sent nothing for
// idleBeforeTimeout. It returns the client's last frame before r and how
// long before r that was.
func timedOut(b builder, r *smtpparse.Reply) (int, time.Duration, bool) {
	frame, idle := clientIdleBefore(b, r)
	if idle < idleBeforeTimeout {
		return frame, idle, false
	}
	owed := r.Command == nil
	for _, tx := range b.s.Dialogue.Transactions {
		owed = owed || tx.Interrupt == r
		for _, ch := range tx.Chunks {
			owed = owed || ch.Command == r.Command && ch.Declared >= 0 && ch.Data.End-ch.Data.Start < ch.Declared
		}
	}
	return frame, idle, owed
}

// clientIdleBefore returns the client's last packet with payload before
// reply r and how long before r it came.
func clientIdleBefore(b builder, r *smtpparse.Reply) (int, time.Duration) {
	st := b.s.Stream(smtpparse.ClientToServer)
	rf := b.s.Frames(r.Span)
	if st == nil || len(rf) == 0 {
		return 0, 0
	}
	for i := len(st.Segments) - 1; i >= 0; i-- {
		if sf := &st.Segments[i]; sf.Frame < rf[0] && sf.Speaks() {
			return sf.Frame, r.Time.Sub(sf.Time())
		}
	}
	return 0, 0
}

// gaveUp returns the reply with which the server gave up on a transaction
// that never got its final reply, and what it did: a refusal or timeout
// while the message was still coming, or a 421 that closed the session,
// unasked or answering one of the transaction's commands. It returns nil
// if the server said nothing.
func gaveUp(b builder, tx *smtpparse.Transaction) (*smtpparse.Reply, string) {
	d := b.s.Dialogue
	if r := tx.Interrupt; r != nil {
		if body := tx.Body; body != nil && len(body.Lenient) > 0 && tailIsTerminator(body.Lenient[len(body.Lenient)-1], body) {
			// The client had sent all of it, ending it in a way the
			// server does not take for the end: the server waited for
			// the end and timed out (Exim), or refused the bare LF at
			// once (Sendmail).
			seq := angled(body.Lenient[len(body.Lenient)-1].Seq)
			if _, _, timeout := timedOut(b, r); timeout {
				return r, fmt.Sprintf("the server waited for the end of data (the client's %s is none) and gave up,", seq)
			}
			return r, fmt.Sprintf("the server refused the message once the client had sent all of it (ending in %s, which is no end of data),", seq)
		}
		return r, "the server gave up on the message while it was still coming,"
	}
	cmds := txCommands(tx)
	for _, r := range d.Replies {
		if r.Code == 421 && !r.Final && r != d.Greeting && r.Order > tx.Mail.EndOrder && (r.Command == nil || slices.Contains(cmds, r.Command)) {
			return r, "the server closed the session"
		}
	}
	return nil, ""
}

func detectConnectFailed(b builder, _ Options) []Finding {
	c := b.s.Conn
	if !c.SYNSeen(reassembly.ClientToServer) || c.SYNSeen(reassembly.ServerToClient) {
		return nil
	}
	cl, sv := b.s.Stream(smtpparse.ClientToServer), b.s.Stream(smtpparse.ServerToClient)
	if cl == nil || cl.Next > 0 {
		return nil
	}
	var syns []int
	var first, last time.Time
	for _, sf := range cl.Segments {
		if sf.Flags&reassembly.FlagSYN != 0 {
			if len(syns) == 0 {
				first = sf.Time()
			}
			syns = append(syns, sf.Frame)
			last = sf.Time()
		}
	}
	if len(syns) == 0 {
		return nil
	}
	if sv != nil {
		for _, sf := range sv.Segments {
			if sf.Flags&reassembly.FlagRST != 0 {
				f := b.conn("connect-failed", Error, PhaseConnection, appendUnique(syns, sf.Frame), first,
					fmt.Sprintf("the server refused the connection: its RST in frame %d answered the client's SYN (frame %d); nothing listens on %s", sf.Frame, syns[0], c.Server()))
				return []Finding{f}
			}
		}
	}
	f := b.conn("connect-failed", Error, PhaseConnection, syns, first,
		fmt.Sprintf("the client's SYN got no answer: %d SYNs over %.1f s (frames %s) and no SYN-ACK; %s is unreachable or a firewall drops the packets",
			len(syns), last.Sub(first).Seconds(), joinInts(syns, ", "), c.Server()))
	return []Finding{f}
}

func detectTLS(b builder, _ Options) []Finding {
	if f, ok := tlsMismatch(b); ok {
		return []Finding{f}
	}
	if b.s.ImplicitTLS {
		c := b.s.Conn
		if t := tlsImplicit(b); t != nil && len(b.s.Dialogue.Replies) == 0 {
			// The server answered in TLS too: its handshake may have failed.
			for _, failed := range []func(builder, *smtpparse.TLSStart) (Finding, bool){tlsFailed, tlsUnfinished, tlsAbandoned} {
				if f, ok := failed(b, t); ok {
					return []Finding{f}
				}
			}
		}
		var out []Finding
		if f, ok := tlsCut(b, 0, 0); ok {
			out = append(out, f)
		}
		summary := fmt.Sprintf("the client opened the connection with TLS (implicit TLS, as SMTPS on port 465 does; server port %d): nothing to analyse in the clear", c.Server().Port())
		// The evidence is the ClientHello's record header at the client's
		// offset 0, not the SYN: that is the frame a reader looks for.
		hello := smtpparse.Span{Dir: smtpparse.ClientToServer, Start: 0, End: 5}
		if cl := b.s.Stream(smtpparse.ClientToServer); cl != nil {
			if frame := cl.FrameAt(0); frame != 0 {
				t, ok := frameTime(b.s, frame)
				if !ok {
					t = c.FirstTime
				}
				return append(out, b.at("tls-started", Info, PhaseTLS, hello, t, summary))
			}
		}
		return append(out, b.conn("tls-started", Info, PhaseTLS, []int{c.FirstFrame}, c.FirstTime, summary))
	}
	t := b.s.Dialogue.TLS
	if t == nil {
		if refused := b.s.Dialogue.RefusedTLS; refused != nil {
			// The client went on with TLS though the server refused it.
			c, r := refused.Hello, refused.Reply
			said := ""
			if c.Reply != nil {
				said = fmt.Sprintf(": the server read the hello as commands (%d %s, frame %s)", c.Reply.Code,
					quote(strings.Join(c.Reply.Lines, " "), 50), joinInts(b.s.Frames(c.Reply.Span), ", "))
			}
			f := b.at("tls-handshake-failed", Error, PhaseTLS, c.Span, c.Time,
				fmt.Sprintf("the client began TLS (a ClientHello, frame %s) although the server had refused STARTTLS (%d %s, frame %s)%s, so no TLS session and no mail could follow",
					joinInts(b.s.Frames(smtpparse.Span{Dir: c.Span.Dir, Start: c.Span.Start, End: c.Span.Start + 1}), ", "),
					r.Code, quote(strings.Join(r.Lines, " "), 60), joinInts(b.s.Frames(r.Span), ", "), said))
			f.Frames = appendUnique(f.Frames, b.s.Frames(r.Span)...)
			if c.Reply != nil {
				f.Frames = appendUnique(f.Frames, b.s.Frames(c.Reply.Span)...)
			}
			slices.Sort(f.Frames)
			f.tlsMismatch = true // the cause of all else: it leads the diagnosis
			f.Explanation = fmt.Sprintf("The client asked for STARTTLS, the server refused it (%d; 454 means TLS is not available now, often a broken certificate or key on the server), and the client started its TLS handshake anyway. The server, still speaking SMTP in the clear, reads the binary hello as command lines and refuses them.", r.Code)
			f.Remedy = "Fix TLS on the server (its log says why it is not available: certificate, key, permissions), or have the client continue without TLS, or stop, when STARTTLS is refused."
			return []Finding{f}
		}
		return nil
	}
	var out []Finding
	if f, ok := clearAfterTLS(b, t); ok {
		out = append(out, f)
	}
	if f, ok := tlsFailed(b, t); ok {
		return append(out, f)
	}
	if f, ok := tlsUnfinished(b, t); ok {
		return append(out, f)
	}
	if f, ok := tlsNeverBegun(b, t); ok {
		return append(out, f)
	}
	if f, ok := tlsAbandoned(b, t); ok {
		return append(out, f)
	}
	if f, ok := tlsCut(b, t.ClientStart, t.ServerStart); ok {
		out = append(out, f)
	}
	negotiated := ""
	if h := t.Server.Hello; h != nil {
		negotiated = fmt.Sprintf("; %s negotiated (frame %d)", smtpparse.TLSVersionName(h.Version), firstFrame(b.s.Frames(h.Span)))
	}
	answer := "its reply is not in the capture, but the client began TLS"
	if t.Reply != nil {
		answer = replyClause(t.Reply, 40)
	}
	f := b.at("tls-started", Info, PhaseTLS, t.Command.Span, t.Command.Time,
		fmt.Sprintf("%s succeeded (%s)%s; the rest of the connection (%d client and %d server bytes) is encrypted and not analysed",
			t.Command.Verb, answer, negotiated, t.ClientBytes, t.ServerBytes))
	f.Frames = tlsStartFrames(b, t)
	return append(out, f)
}

// Inside TLS nothing of the dialogue can be read, but TCP still shows who
// ended the connection and what was on its way: tlsCut tells a session cut
// in the middle of a transfer. cutAfterServer is how many client bytes
// after the server's close (more than a TLS alert or two) show the client
// still sending; cutClientBurst how many client bytes since the server's
// last word show the client in the middle of a message when it closed.
const (
	cutAfterServer = 1024
	cutClientBurst = 32 << 10
)

// tlsCut returns the finding for a TLS session (whose client and server
// bytes begin at clientStart and serverStart) ended in the middle of what
// the client was sending: the server closed (FIN or reset) while more
// than cutAfterServer bytes of the client's were still to come, or the
// client closed right after more than cutClientBurst bytes with no word
// from the server since. A clean session ends with the server's reply to
// QUIT before either side closes.
func tlsCut(b builder, clientStart, serverStart int64) (Finding, bool) {
	cl, sv := b.s.Stream(smtpparse.ClientToServer), b.s.Stream(smtpparse.ServerToClient)
	c := b.s.Conn
	if cl == nil || sv == nil || cl.FactsCut > 0 || sv.FactsCut > 0 {
		return Finding{}, false // the facts that tell it are incomplete
	}
	// clientEnd is the end of the client's TLS bytes sent before frame
	// (all of them when frame is 0), and the first and last frames that
	// carried any of them after frame after.
	clientEnd := func(before, after int) (end int64, first, last int) {
		end = clientStart
		for _, sf := range cl.Segments {
			if sf.Length == 0 || sf.Offset < clientStart || before > 0 && sf.Frame >= before {
				continue
			}
			end = max(end, sf.Offset+int64(sf.Length))
			if sf.Frame > after {
				first, last = cmp.Or(first, sf.Frame), sf.Frame
			}
		}
		return end, first, last
	}
	serverClose := c.FINFrame(reassembly.ServerToClient)
	if d, ok := c.RSTDirection(); ok && d == reassembly.ServerToClient && (serverClose == 0 || c.RSTFrame < serverClose) {
		serverClose = c.RSTFrame
	}
	clientClose := c.FINFrame(reassembly.ClientToServer)
	if d, ok := c.RSTDirection(); ok && d == reassembly.ClientToServer && (clientClose == 0 || c.RSTFrame < clientClose) {
		clientClose = c.RSTFrame
	}
	how := func(frame int, dir reassembly.Direction) string {
		if c.FINFrame(dir) == frame {
			return fmt.Sprintf("its FIN in frame %d", frame)
		}
		return fmt.Sprintf("its reset in frame %d", frame)
	}
	// cut returns the finding, at the time of the frame that ended the
	// session.
	cut := func(closed int, frames []int, summary string) (Finding, bool) {
		at, ok := frameTime(b.s, closed)
		if !ok {
			at = c.LastTime
		}
		return b.conn("tls-session-cut", Error, PhaseTLS, frames, at, summary), true
	}
	if serverClose > 0 && (clientClose == 0 || serverClose < clientClose) {
		before, _, _ := clientEnd(serverClose, 0)
		all, first, last := clientEnd(0, serverClose)
		if sent := all - before; sent > cutAfterServer && first > 0 {
			return cut(serverClose, []int{serverClose, first, last},
				fmt.Sprintf("inside TLS, the server ended the connection (%s) while the client was still sending: %s more came after it (frames %d to %d), so the server (or a device in the path) ended the session in the middle of what the client sent, most likely a message",
					how(serverClose, reassembly.ServerToClient), wording.Plural(sent, "byte", "bytes"), first, last))
		}
		return Finding{}, false
	}
	if clientClose == 0 {
		return Finding{}, false
	}
	lastWord := 0 // the server's last frame with TLS bytes before the client closed
	for _, sf := range sv.Segments {
		if sf.Length > 0 && sf.Offset >= serverStart && sf.Frame < clientClose {
			lastWord = max(lastWord, sf.Frame)
		}
	}
	if lastWord == 0 {
		return Finding{}, false // no TLS session: tls-handshake-failed tells
	}
	before, _, _ := clientEnd(lastWord, 0)
	upTo, first, _ := clientEnd(clientClose+1, lastWord)
	if sent := upTo - before; sent > cutClientBurst && first > 0 {
		return cut(clientClose, []int{lastWord, first, clientClose},
			fmt.Sprintf("inside TLS, the client ended the connection (%s) right after sending %s (frames %d to %d), with no word from the server since frame %d: it left in the middle of a transfer, most likely a message, without waiting for its reply (the client, or a device in the path, cut the session)",
				how(clientClose, reassembly.ClientToServer), wording.Plural(sent, "byte", "bytes"), first, clientClose, lastWord))
	}
	return Finding{}, false
}

// clearAfterTLS returns the finding for a reply the server sent in clear
// text after STARTTLS, where its TLS records stopped: Exim leaves TLS and
// writes "421 … SMTP command timeout - closing connection" so when a
// client goes quiet inside the session. Nothing else after STARTTLS can
// be read; this line can, and it says why the session ended.
func clearAfterTLS(b builder, t *smtpparse.TLSStart) (Finding, bool) {
	side := &t.Server
	if !side.NotTLS || !side.ClearReply() {
		return Finding{}, false
	}
	line := side.Clear
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i+1]
	}
	code := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if code < 400 || code > 599 {
		return Finding{}, false
	}
	span := smtpparse.Span{Dir: smtpparse.ServerToClient, Start: side.ClearAt, End: side.ClearAt + int64(len(line))}
	frames := b.s.Frames(span)
	if cf := b.s.Conn.FINFrame(reassembly.ClientToServer); code == 421 && cf != 0 && len(frames) > 0 && cf < frames[0] {
		// To a client already gone (Exim's "lost input connection"): it
		// tells nothing, as in the clear (detectRejected).
		return Finding{}, false
	}
	at := b.s.Conn.LastTime
	if len(frames) > 0 {
		if ft, ok := frameTime(b.s, frames[0]); ok {
			at = ft
		}
	}
	text := strings.TrimRight(string(line[min(4, len(line)):]), "\r\n")
	said := fmt.Sprintf("%d %s", code, quote(escape([]byte(text)), 80))
	id, what := "command-rejected", fmt.Sprintf("the server left TLS and refused the session in clear text with %s", said)
	if code < 500 {
		id, what = "command-deferred", fmt.Sprintf("the server left TLS and sent %s in clear text", said)
	}
	if code == 421 {
		what = fmt.Sprintf("the server left TLS and closed the session with %s, sent in clear text", said)
	}
	f := b.at(id, Info, PhaseTLS, span, at, what)
	f.closedSession = code == 421
	return f, true
}

// tlsFailed reports a TLS handshake after STARTTLS that ended in an alert
// sent in the clear: the records before encryption show who refused what.
func tlsFailed(b builder, t *smtpparse.TLSStart) (Finding, bool) {
	// The first fatal alert of either side: a warning before it (the
	// server's unrecognized_name, say) did not end the handshake.
	alert, by := t.Server.Alert, smtpparse.ServerToClient
	if alert != nil && !alert.Fatal() {
		alert = nil
	}
	if a := t.Client.Alert; a != nil && a.Fatal() && (alert == nil || firstFrame(b.s.Frames(a.Span)) < firstFrame(b.s.Frames(alert.Span))) {
		alert, by = a, smtpparse.ClientToServer
	}
	if alert == nil {
		return Finding{}, false
	}
	frames := tlsStartFrames(b, t)
	var hellos []string
	for _, h := range []*smtpparse.TLSHello{t.Client.Hello, t.Server.Hello} {
		if h == nil {
			continue
		}
		hf := firstFrame(b.s.Frames(h.Span))
		frames = appendUnique(frames, hf)
		if h.Client {
			hellos = append(hellos, fmt.Sprintf("the client offered %s (frame %d)", h.Offered(), hf))
		} else {
			hellos = append(hellos, fmt.Sprintf("the server chose %s, cipher suite 0x%04x (frame %d)", h.Offered(), h.Cipher, hf))
		}
	}
	af := firstFrame(b.s.Frames(alert.Span))
	frames = appendUnique(frames, af)
	summary := fmt.Sprintf("the TLS handshake %s failed: the %s sent a fatal %s alert (%d) in frame %d", tlsWhich(t),
		by, smtpparse.TLSAlertName(alert.Description), alert.Description, af)
	if len(hellos) > 0 {
		summary += ", after " + strings.Join(hellos, " and ")
	}
	if why := alertMeaning(alert.Description, by); why != "" {
		summary += ": " + why
	}
	summary += "; " + endPhrase(b.s.Conn)
	f := b.conn("tls-handshake-failed", Error, PhaseTLS, frames, tlsStartTime(b, t), summary)
	f.Direction, f.Offset = by.String(), alert.Span.Start
	return f, true
}

// tlsUnfinished reports a TLS handshake after STARTTLS that never
// completed (TLSStart.Completed), with no alert in the clear, before the
// connection ended: the server never answered the ClientHello, or a side
// never finished; a TLS 1.3 client's single encrypted record then the end
// is most likely an encrypted alert.
func tlsUnfinished(b builder, t *smtpparse.TLSStart) (Finding, bool) {
	c, s := &t.Client, &t.Server
	how, endFrame := endedWith(b.s.Conn, 0)
	if how == "" || c.Lost || s.Lost || c.NotTLS || s.NotTLS || c.Records == 0 || t.Completed() {
		return Finding{}, false
	}
	frames := tlsStartFrames(b, t)
	if c.Hello != nil {
		frames = appendUnique(frames, firstFrame(b.s.Frames(c.Hello.Span)))
	}
	var what string
	switch h := s.Hello; {
	case h == nil && s.Records == 0:
		what = "the server never answered the client's TLS handshake"
	case h == nil:
		return Finding{}, false // records, but no hello read: nothing sure to say
	default:
		hf := firstFrame(b.s.Frames(h.Span))
		frames = appendUnique(frames, hf)
		switch {
		case h.Version >= 0x0304 && serverAlerted(b, t):
			af := firstFrame(b.s.Frames(s.LastRecord.Span))
			frames = appendUnique(frames, af)
			where := fmt.Sprintf("in frame %d", af)
			if af == hf {
				where = "in the same frame"
			}
			what = fmt.Sprintf("the server ended its own handshake (%s, frame %d) without its Finished: its last record, a short encrypted one %s, is most likely an alert (a broken certificate or key on the server)", smtpparse.TLSVersionName(h.Version), hf, where)
		case h.Version >= 0x0304 && c.ApplicationData == 1:
			what = fmt.Sprintf("after the server's handshake (%s, frame %d) the client sent one encrypted record and no mail, most likely an encrypted alert: it refused the server's certificate or parameters", smtpparse.TLSVersionName(h.Version), hf)
		case h.Version >= 0x0304 || !c.ChangeCipherSpec:
			what = fmt.Sprintf("the client never finished the handshake after the server's (%s, frame %d)", smtpparse.TLSVersionName(h.Version), hf)
			if clientClosedFirst(b.s.Conn) {
				what += " and closed the connection first: most likely it refused the server's certificate"
			}
		default:
			what = fmt.Sprintf("the server never finished the handshake (%s, frame %d) after the client's key exchange", smtpparse.TLSVersionName(h.Version), hf)
		}
	}
	frames = appendUnique(frames, endFrame)
	f := b.conn("tls-handshake-failed", Warning, PhaseTLS, frames, tlsStartTime(b, t),
		fmt.Sprintf("the TLS handshake %s did not complete: %s; connection ended: %s", tlsWhich(t), what, how))
	return f, true
}

// tlsAbandoned reports a TLS 1.2 handshake after STARTTLS that completed,
// after which the client sent nothing under TLS and closed the connection:
// a client that refused the server's certificate once the handshake was
// done (Node.js checks it only then), or gave up for another reason of
// its own. In TLS 1.3 the client's Finished is encrypted: tlsUnfinished
// tells of it.
func tlsAbandoned(b builder, t *smtpparse.TLSStart) (Finding, bool) {
	c, s := &t.Client, &t.Server
	h := s.Hello
	if h == nil || h.Version >= 0x0304 || !t.Completed() || c.ApplicationData > 0 || c.Lost || !clientClosedFirst(b.s.Conn) {
		return Finding{}, false
	}
	how, endFrame := endedWith(b.s.Conn, 0)
	hf := firstFrame(b.s.Frames(h.Span))
	frames := appendUnique(tlsStartFrames(b, t), hf, endFrame)
	f := b.conn("tls-handshake-failed", Warning, PhaseTLS, frames, tlsStartTime(b, t),
		fmt.Sprintf("the client completed the TLS handshake (%s, frame %d) but sent nothing under TLS: it closed the connection at once (%s), most likely refusing the server's certificate", smtpparse.TLSVersionName(h.Version), hf, how))
	return f, true
}

// serverAlerted reports whether a TLS 1.3 server's last record is most
// likely an encrypted alert that ended the handshake: a short encrypted
// record after others (its encrypted handshake), sent before the client
// sent any encrypted record, or only one that came later (a client that
// read on and refused the certificate it got, Go's crypto/tls).
func serverAlerted(b builder, t *smtpparse.TLSStart) bool {
	s, c := &t.Server, &t.Client
	if !s.LastRecord.MayBeEncryptedAlert() || s.ApplicationData < 2 || c.ApplicationData > 1 {
		return false
	}
	af := firstFrame(b.s.Frames(s.LastRecord.Span))
	if cf, _ := b.s.Conn.FirstClose(); cf != 0 && cf < af {
		// Sent after the connection began to close (Exim's alert to a
		// client that hung up on its certificate): no cause of it.
		return false
	}
	if c.ApplicationData == 0 {
		return true
	}
	return c.LastRecord.Type == s.LastRecord.Type && af < firstFrame(b.s.Frames(c.LastRecord.Span))
}

// tlsNeverBegun reports a STARTTLS the server accepted after which the
// client never began TLS: it went on in clear text (a client that did not
// take the 220 for the start of TLS; the server reads its line as a
// broken handshake), or it sent nothing until the connection ended (a
// client that gave up, or waited for something else). Either way no TLS
// session and no mail followed; tls-started would say the opposite.
func tlsNeverBegun(b builder, t *smtpparse.TLSStart) (Finding, bool) {
	c := &t.Client
	how, endFrame := endedWith(b.s.Conn, 0)
	if t.Reply == nil || t.ClientBegan() || how == "" && !c.NotTLS {
		return Finding{}, false
	}
	frames := tlsStartFrames(b, t)
	replyFrame := firstFrame(b.s.Frames(t.Reply.Span))
	ending := ""
	if how != "" {
		frames = appendUnique(frames, endFrame)
		ending = "; connection ended: " + how
	}
	if c.NotTLS {
		line := c.Clear
		if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
			line = line[:i]
		}
		span := smtpparse.Span{Dir: smtpparse.ClientToServer, Start: c.ClearAt, End: c.ClearAt + max(int64(len(line)), 1)}
		lineFrames := b.s.Frames(span)
		frames = appendUnique(frames, lineFrames...)
		sent := "bytes that are no TLS record"
		if len(line) > 0 && printable.String(string(line), len(line)) == string(line) {
			sent = quote(string(line), 60) + " in clear text"
		}
		f := b.conn("tls-handshake-failed", Error, PhaseTLS, frames, t.Command.Time,
			fmt.Sprintf("the client did not begin TLS after the server's %d (frame %d): it sent %s (frame %s), which the server reads as a broken TLS handshake%s",
				t.Reply.Code, replyFrame, sent, joinInts(lineFrames, ", "), ending))
		f.Direction, f.Offset = smtpparse.ClientToServer.String(), c.ClearAt
		f.tlsMismatch = true // the cause of all else: it leads the diagnosis
		f.Explanation = "After the server's 220 to STARTTLS both sides must start the TLS handshake, the client first with its ClientHello. This client went on speaking SMTP in clear text: it did not take the 220 as the start of TLS (a client that sends STARTTLS only to see what happens, or a broken TLS setup on its side)."
		f.Remedy = "Fix TLS on the client (its library, its configuration), or have it not send STARTTLS."
		return f, true
	}
	waited := ""
	if at, ok := frameTime(b.s, endFrame); ok {
		waited = fmt.Sprintf(" in %.1f s", at.Sub(t.Reply.EndTime).Seconds())
	}
	f := b.conn("tls-handshake-failed", Warning, PhaseTLS, frames, t.Command.Time,
		fmt.Sprintf("the client never began TLS after the server's %d (frame %d): it sent nothing%s%s", t.Reply.Code, replyFrame, waited, ending))
	return f, true
}

// tlsStartFrames returns the frames of STARTTLS and its reply; none for
// implicit TLS (tlsImplicit).
func tlsStartFrames(b builder, t *smtpparse.TLSStart) []int {
	if t.Command == nil {
		return nil
	}
	if t.Reply == nil {
		return b.s.Frames(t.Command.Span)
	}
	return appendUnique(b.s.Frames(t.Command.Span), b.s.Frames(t.Reply.Span)...)
}

// tlsImplicit returns, for a session that spoke TLS from its first byte,
// its handshake's records as a TLSStart without a STARTTLS (Command nil),
// for the detectors of failed handshakes; nil without them.
func tlsImplicit(b builder) *smtpparse.TLSStart {
	hs := b.s.ImplicitHandshake
	if hs == nil {
		return nil
	}
	return &smtpparse.TLSStart{Client: hs[smtpparse.ClientToServer], Server: hs[smtpparse.ServerToClient]}
}

// tlsWhich names the handshake a finding tells of.
func tlsWhich(t *smtpparse.TLSStart) string {
	if t.Command == nil {
		return "of the implicit-TLS session"
	}
	return "after " + t.Command.Verb
}

// tlsStartTime is when the handshake began: at STARTTLS, or at the
// connection's start for implicit TLS.
func tlsStartTime(b builder, t *smtpparse.TLSStart) time.Time {
	if t.Command == nil {
		return b.s.Conn.FirstTime
	}
	return t.Command.Time
}

// alertMeaning says what a fatal alert usually means, sent by the given side.
func alertMeaning(d uint8, by smtpparse.Direction) string {
	switch d {
	case 70:
		return "no TLS version that both sides accept"
	case 40, 71:
		return "no cipher suite (or key exchange) that both sides accept"
	case 42, 43, 44, 45, 46, 48:
		if by == smtpparse.ClientToServer {
			return "the client does not accept the server's certificate"
		}
		return "the server does not accept the client's certificate"
	case 116:
		return "the server requires a client certificate"
	case 112:
		return "the server does not know the name the client asked for (SNI)"
	}
	return ""
}

// firstFrame returns the first of frames, 0 if none.
func firstFrame(frames []int) int {
	if len(frames) == 0 {
		return 0
	}
	return frames[0]
}

// ---- helpers ----

// clip returns s, trimmed, as printable text of at most n bytes, "…"
// marking a cut: every piece of wire text in a summary goes through it.
func clip(s string, n int) string { return printable.String(strings.TrimSpace(s), n) }

// replyClause returns reply r as a clause of our own sentence: its code and its
// text clipped to n, without the full stop that would double ours
// ("unavailable. (frames 11 to 16).").
func replyClause(r *smtpparse.Reply, n int) string {
	return fmt.Sprintf("%d %s", r.Code, strings.TrimRight(clip(strings.Join(r.Lines, " "), n), "."))
}

// quote returns clip(s, n) in double quotes: text from the wire, in a
// summary.
func quote(s string, n int) string { return `"` + clip(s, n) + `"` }

// appendUnique adds v to a and returns them sorted, each once: in time
// proportional to their number, however many a long line's frames are.
func appendUnique(a []int, v ...int) []int {
	a = append(a, v...)
	slices.Sort(a)
	return slices.Compact(a)
}
