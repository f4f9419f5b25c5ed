package findings

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/smtpcap/smtpcap/internal/wording"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// diagnose ties a connection's findings together in one or two sentences
// with their frames, most telling cause first.
func diagnose(found []Finding) string {
	byID := map[string][]Finding{}
	for _, f := range found {
		byID[f.ID] = append(byID[f.ID], f)
	}
	first := func(id string) (Finding, bool) {
		fs := byID[id]
		if len(fs) == 0 {
			return Finding{}, false
		}
		return fs[0], true
	}
	var parts []string
	refused := greetingRefused(found)
	bareEnding, messageRefused := bareEndingRefused(found)
	var smuggling, syncAnswer, contentAsCommands, fixupRefused *Finding
	if _, fixup := first("pix-masked-ehlo"); fixup {
		// Seen from the client: a command the server "does not know"
		// behind a fixup is most likely one the fixup masked.
		for i := range found {
			if f := &found[i]; f.ID == "command-rejected" && (f.code == 500 || f.code == 502) && fixupRefused == nil {
				fixupRefused = f
			}
		}
	}
	for i := range found {
		if f := &found[i]; f.contentAsCommands && contentAsCommands == nil {
			contentAsCommands = f
		}
	}
	for i := range found {
		if f := &found[i]; f.ID == "smuggling-end-of-data" && (smuggling == nil || f.serverTook && !smuggling.serverTook) {
			smuggling = f
		}
	}
	for i := range found {
		// A synchronization error that answered the very message holding
		// the sequence (not an earlier or later one).
		if f := &found[i]; f.ID == "sync-error-reply" && f.answersMessage && smuggling != nil && f.tx == smuggling.tx && syncAnswer == nil {
			syncAnswer = f
		}
	}
	frame := func(f Finding) string {
		if len(f.Frames) == 0 {
			return ""
		}
		if len(f.Frames) == 1 {
			return fmt.Sprintf(" (frame %d)", f.Frames[0])
		}
		return fmt.Sprintf(" (frames %s)", joinInts(f.Frames[:min(len(f.Frames), 4)], ", "))
	}
	// firstSure is first, of the findings a capture gap did not put in
	// doubt: a loss or a silence after bytes the capture lost may be the
	// capture's, and the note at the end says so.
	firstSure := func(id string) (Finding, bool) {
		for _, f := range byID[id] {
			if f.CaptureLoss == "" {
				return f, true
			}
		}
		return Finding{}, false
	}
	ending := func() string {
		if st, ok := firstSure("stall"); ok {
			return " " + st.sentence() + "."
		}
		if lost, ok := firstSure("lost-mid-transaction"); ok {
			return " " + lost.sentence() + "."
		}
		return ""
	}
	switch {
	case slices.ContainsFunc(found, func(f Finding) bool { return f.tlsMismatch }):
		i := slices.IndexFunc(found, func(f Finding) bool { return f.tlsMismatch })
		parts = append(parts, found[i].sentence()+".")
	case len(byID["connect-failed"]) > 0:
		f, _ := first("connect-failed")
		parts = append(parts, f.sentence()+".")
	case refused != nil:
		f := *refused
		if slow, ok := first("slow-greeting"); ok {
			parts = append(parts, fmt.Sprintf("%s. The server then refused the session: %s%s; no mail can go through this connection.",
				slow.sentence(), f.said, frame(f)))
			break
		}
		if early, ok := first("early-talker"); ok {
			// Talking first is what some servers refuse a session for
			// (Exim's "input sent without waiting for greeting").
			parts = append(parts, fmt.Sprintf("%s%s. The server then refused the session instead of greeting it: %s%s; no mail can go through this connection.",
				early.sentence(), frame(early), f.said, frame(f)))
			break
		}
		parts = append(parts, fmt.Sprintf("%s%s; no mail can go through this connection.", f.sentence(), frame(f)))
	case len(byID["early-talker"]) > 0:
		// Pregreet checks answer an early talker with a refusal later on:
		// name the first one as the consequence.
		f, _ := first("early-talker")
		then := ""
		if r, ok := first("command-rejected"); ok {
			then = " The server then refused it: " + r.Summary + frame(r) + "."
		}
		parts = append(parts, f.sentence()+"."+then)
	case len(byID["data-terminator-not-at-line-start"]) > 0:
		f, _ := first("data-terminator-not-at-line-start")
		waited, then := " and kept waiting for the end of data", ending()
		if lost, ok := first("lost-mid-transaction"); ok && lost.interrupted {
			waited = "" // it said why it gave up: the summary that follows quotes it
		}
		if messageRefused != nil && !messageRefused.interrupted && messageRefused.tx == f.tx {
			waited, then = "", " "+messageRefused.sentence()+frame(*messageRefused)+"."
		}
		parts = append(parts, fmt.Sprintf("The message body ended in a bare LF%s, so the server never saw <CRLF>.<CRLF>%s.%s", frame(f), waited, then))
	case bareEnding != nil && messageRefused != nil:
		where := frame(*messageRefused)
		if messageRefused.interrupted {
			where = "" // a lost-mid-transaction summary names its frames
		}
		parts = append(parts, fmt.Sprintf("%s%s. The message has %s.",
			messageRefused.sentence(), where, bareEndingText(*bareEnding, frame(*bareEnding))))
	case len(byID["pix-masked-command"]) > 0:
		f, _ := first("pix-masked-command")
		msg := fmt.Sprintf("A firewall SMTP fixup masked a client command%s", frame(f))
		_, ehlo := first("pix-masked-ehlo")
		sp, split := first("command-split-across-segments")
		if !ehlo && !f.changedInPath && !(split && sp.Severity == Error) {
			// Nothing else of a fixup shows: the X's may be the client's own.
			msg = fmt.Sprintf("A client command reached the server with its verb replaced by X's%s, the mark of a firewall SMTP fixup (Cisco PIX/ASA), though the EHLO reply shows none of its masking", frame(f))
		}
		if sp, ok := first("command-split-across-segments"); ok && sp.Severity == Error {
			msg += fmt.Sprintf(" that was split across TCP segments%s", frame(sp))
		}
		msg += "; the server rejected it"
		if se, ok := first("sync-error-reply"); ok {
			msg += fmt.Sprintf(" and reported a synchronization error%s", frame(se))
		}
		parts = append(parts, msg+".")
		if e, ok := first("pix-masked-ehlo"); ok {
			parts = append(parts, fmt.Sprintf("The same device masks the EHLO reply%s.", frame(e)))
		}
	case len(byID["retransmission-conflict"]) > 0:
		f, _ := first("retransmission-conflict")
		parts = append(parts, fmt.Sprintf("Something in the path rewrote data: %s.%s", f.Summary, ending()))
	case len(byID["middlebox-ack"]) > 0:
		f, _ := first("middlebox-ack")
		parts = append(parts, fmt.Sprintf("A device in the path acknowledges data for the other side%s: %s.%s", frame(f), f.Summary, ending()))
	case len(byID["large-segments-lost"]) > 0:
		f, _ := first("large-segments-lost")
		// What the server said in the end (a timeout's 421, say) tells
		// more than the silences between the sender's resends.
		end := ending()
		for _, id := range []string{"command-deferred", "command-rejected"} {
			if r, ok := first(id); ok {
				end = " " + r.sentence() + frame(r) + "."
				break
			}
		}
		parts = append(parts, f.sentence()+"."+end)
	case len(byID["accepted-after-client-left"]) > 0:
		// The message went through, twice to be: what else the session
		// shows (the client's QUIT while the server still worked on the
		// message) follows from it.
		f, _ := first("accepted-after-client-left")
		parts = append(parts, f.sentence()+".")
	case len(byID["window-closed"]) > 0 && byID["window-closed"][0].CaptureLoss == "":
		// A receiver that stopped reading is the cause of the silences
		// and the loss that follow; what the server said in the end (a
		// timeout's 421) or how the connection ended tells the rest.
		f, _ := first("window-closed")
		end := ending()
		for _, id := range []string{"command-deferred", "command-rejected"} {
			if r, ok := first(id); ok && len(r.Frames) > 0 && len(f.Frames) > 0 && r.Frames[0] > f.Frames[0] {
				end = " " + r.sentence() + frame(r) + "." + end
				break
			}
		}
		parts = append(parts, f.sentence()+"."+end)
	case len(byID["command-split-across-segments"]) > 0 && byID["command-split-across-segments"][0].Severity == Error && len(byID["pix-masked-ehlo"]) > 0:
		sp, _ := first("command-split-across-segments")
		e, _ := first("pix-masked-ehlo")
		parts = append(parts, fmt.Sprintf("A valid command split across TCP segments%s was refused, and %s shows a firewall SMTP fixup in the path%s: such fixups inspect each segment alone and mangle the part after the split. Capture on the server side of the firewall to see the masked command.", frame(sp), fixupEvidence(e), frame(e)))
	case smuggling != nil && smuggling.serverTook:
		msg := fmt.Sprintf("The message ended in a non-standard end-of-data sequence and the server accepted it as the end of data%s: the server is lenient about the terminator, which SMTP smuggling abuses.", frame(*smuggling))
		if smuggling.cutShort != "" {
			// The sequence was inside the message; the client put it there.
			msg = fmt.Sprintf("The message held a non-standard end-of-data sequence%s, and the server took it for the end of data.%s", frame(*smuggling), smuggling.cutShort)
			if smuggling.lenientSeq == "\n.\n" {
				msg += " The client sent a line with a lone \".\" among bare LF line endings: it neither ended its lines with CRLF nor doubled the dot (RFC 5321, 4.5.2; curl --upload-file without --crlf does so), and the server is lenient about the terminator, which SMTP smuggling abuses."
			} else {
				msg += " The server is lenient about the terminator, which SMTP smuggling abuses."
			}
		}
		// Only a synchronization error after the server's answer to the
		// sequence (the finding's last frame) is about what followed it.
		if se, ok := first("sync-error-reply"); ok && len(se.Frames) > 0 && len(smuggling.Frames) > 0 && se.Frames[0] > smuggling.Frames[len(smuggling.Frames)-1] {
			msg += fmt.Sprintf(" What the client sent next was read as new commands, and the server refused them as out of step%s.", frame(se))
		}
		parts = append(parts, msg)
	case smuggling != nil && smuggling.smuggled && syncAnswer != nil:
		parts = append(parts, fmt.Sprintf("The message holds a non-standard end-of-data sequence followed by SMTP commands%s, the shape of SMTP smuggling, and the server answered the message with a synchronization error%s: it ended the message at that sequence and took the rest for pipelined commands, so it is lenient about the terminator.",
			frame(*smuggling), frame(*syncAnswer)))
	case contentAsCommands != nil:
		msg := contentAsCommands.sentence() + frame(*contentAsCommands) + "."
		if se, ok := first("sync-error-reply"); ok && len(se.Frames) > 0 && !slices.Contains(contentAsCommands.Frames, se.Frames[0]) {
			msg += fmt.Sprintf(" The server refused them as out of step%s.", frame(se))
		}
		for _, f := range found {
			if f.hungUp {
				msg += fmt.Sprintf(" %s%s.", f.sentence(), frame(f))
				break
			}
		}
		parts = append(parts, msg)
	case len(byID["sync-error-reply"]) > 0 && stallBefore(found, byID["sync-error-reply"][0]) != nil:
		// The server was silent so long that the client gave up and went
		// on (QUIT); the out-of-step refusal of that is the wait's end,
		// not its cause.
		f, _ := first("sync-error-reply")
		st := stallBefore(found, f)
		msg := st.sentence() + "." // it names its frames
		for _, r := range found {
			if r.refusedMessage && len(r.Frames) > 0 && len(f.Frames) > 0 && r.Frames[len(r.Frames)-1] == f.Frames[0] {
				msg += " The server answered the message only then: " + r.Summary + "."
				break
			}
		}
		parts = append(parts, msg+fmt.Sprintf(" What the client had sent meanwhile it refused as out of step%s.", frame(f)))
	case len(byID["sync-error-reply"]) > 0:
		f, _ := first("sync-error-reply")
		cause := ""
		if p, ok := first("pipelining-not-offered"); ok {
			cause = fmt.Sprintf(" because the client pipelined without PIPELINING%s", frame(p))
			if e, ok := first("pix-masked-ehlo"); ok {
				cause += fmt.Sprintf(", which a firewall SMTP fixup had masked in the EHLO reply%s", frame(e))
			}
		} else if p, ok := first("pipelining-bad-sequence"); ok {
			cause = fmt.Sprintf(": %s%s", p.Summary, frame(p))
		} else if e, ok := first("pix-masked-ehlo"); ok {
			cause = fmt.Sprintf("; %s shows a firewall SMTP fixup in the path%s, which rewrites what it does not know on its way to the server", fixupEvidence(e), frame(e))
		} else if p, ok := first("bdat-not-offered"); ok {
			// The chunk's bytes, after a BDAT the server did not know,
			// are what it read as commands out of step.
			cause = fmt.Sprintf(" because the client used BDAT%s, which the server did not offer (no CHUNKING): it read the chunk's bytes as commands", frame(p))
		}
		parts = append(parts, fmt.Sprintf("The server rejected the client's input as out of step%s%s.", frame(f), cause))
	case fixupRefused != nil:
		e, _ := first("pix-masked-ehlo")
		parts = append(parts, fmt.Sprintf("%s%s, and %s shows a firewall SMTP fixup in the path%s: such fixups replace the commands they do not know with X's on their way to the server, which then does not recognise them. Capture on the server side of the firewall to see the masked command.",
			fixupRefused.sentence(), frame(*fixupRefused), fixupEvidence(e), frame(e)))
	case len(byID["unanswered-command"]) > 0 && byID["unanswered-command"][0].serverTook && byID["unanswered-command"][0].CaptureLoss == "":
		f, _ := first("unanswered-command")
		parts = append(parts, f.sentence()+"."+ending())
	case smuggling != nil:
		// The server did not take it (that case comes first).
		what := "split into two messages"
		if !smuggling.smuggled {
			what = "take for the end of data, cutting the message short there"
		}
		parts = append(parts, fmt.Sprintf("The message holds a non-standard end-of-data sequence%s that a lenient server would %s.", frame(*smuggling), what))
	case len(byID["binary-via-data"]) > 0:
		f, _ := first("binary-via-data")
		parts = append(parts, fmt.Sprintf("Binary content was sent with DATA%s; it needs BDAT and BINARYMIME.%s", frame(f), ending()))
	case len(byID["bdat-size-mismatch"]) > 0:
		// The client's chunk size was wrong: the server read commands as
		// message bytes, or waited for bytes that never came.
		f, _ := first("bdat-size-mismatch")
		lead := "The client's BDAT size was wrong"
		if f.Severity < Error {
			lead = "A BDAT chunk never reached the server" // it timed out waiting: the size may be right
		}
		parts = append(parts, fmt.Sprintf("%s: %s%s.%s", lead, f.Summary, frame(f), ending()))
	case ending() != "":
		parts = append(parts, strings.TrimSpace(ending()))
	case len(byID["slow-greeting"]) > 0 && !slices.ContainsFunc(found, func(f Finding) bool { return f.Severity > Warning }):
		// Last, and only without an error: a late greeting costs time;
		// what went wrong after it is what the reader looks for.
		f, _ := first("slow-greeting")
		parts = append(parts, f.sentence()+".")
	}
	if len(parts) == 0 {
		worst := -1
		var top Finding
		for _, f := range found {
			if int(f.Severity) > worst && f.Severity > Info {
				worst, top = int(f.Severity), f
			}
		}
		if worst < 0 {
			// Nothing went wrong on the wire, but the server turned
			// something down: that is what the reader looks for, the
			// first refusal in full and how many more there were.
			var turned []Finding
			var closed *Finding // the server closing the session unasked: told after the refusals
			for i, f := range found {
				switch {
				case f.ID == "command-deferred" && f.closedSession && closed == nil,
					f.ID == "command-rejected" && f.hungUp && f.code >= 400 && closed == nil:
					closed = &found[i]
				case f.ID == "command-deferred" || f.ID == "command-rejected":
					turned = append(turned, f)
				}
			}
			if closed != nil && len(turned) == 0 {
				return closed.sentence() + frame(*closed) + "."
			}
			// A message refused after its content leads: its envelope's
			// refused recipients did not stop it, its refusal did.
			slices.SortStableFunc(turned, func(x, y Finding) int {
				return cmp.Compare(boolRank(x.refusedMessage && x.Phase == PhaseAfterData), boolRank(y.refusedMessage && y.Phase == PhaseAfterData))
			})
			told := turnedDown(turned, frame, true)
			if closed != nil {
				told += " " + closed.capitalised(strings.Replace(closed.Summary, "the server closed", "the server then closed", 1)) + frame(*closed) + "."
			}
			return told
		}
		if top.closedSession {
			parts = append(parts, top.sentence()+frame(top)+".")
		} else {
			parts = append(parts, top.sentence()+".")
		}
	}

	for _, f := range found {
		if told := strings.Join(parts, " "); f.closedSession && len(parts) > 0 && len(f.Frames) > 0 && !namesFrame(told, f.Frames[0]) && !strings.Contains(told, f.sentence()) {
			parts = append(parts, f.capitalised(strings.Replace(f.Summary, "the server closed", "the server then closed", 1))+frame(f)+".")
			break
		}
	}
	// What the server turned down is what a reader looks for first: when
	// the story above is another that tells no refusal and no loss (a long
	// line, a size the client misdeclared), the refusals follow it.
	// Not when the capture lost or cut bytes: which reply answered which
	// command is a guess there, and the refusals may be its artifacts.
	if len(byID["lost-mid-transaction"]) == 0 && len(byID["stall"]) == 0 {
		told := strings.Join(parts, " ")
		var untold []Finding
		for _, f := range found {
			if f.ID != "command-deferred" && f.ID != "command-rejected" || f.CaptureLoss != "" {
				continue // after bytes the capture lost, which command a reply answered is a guess
			}
			if f.Phase == PhaseGreeting || f.closedSession || slices.ContainsFunc(f.Frames, func(n int) bool { return namesFrame(told, n) }) {
				untold = nil
				break // the story tells of the server's refusals already
			}
			untold = append(untold, f)
		}
		if len(untold) > 0 {
			parts = append(parts, "Also: "+turnedDown(untold, frame, false))
		}
	}
	for _, id := range []string{"capture-gap", "snaplen-truncated"} {
		if f, ok := first(id); ok && !strings.Contains(strings.ToLower(parts[0]), strings.ToLower(f.Summary)) {
			parts = append(parts, fmt.Sprintf("Note: the capture itself is incomplete here (%s).", f.Summary))
			break
		}
	}
	return strings.Join(parts, " ")
}

// stallBefore returns the stall in which the server was silent until the
// client gave up and sent something (waitedOut), when that came before the
// synchronization error sync: the error answers what the client sent
// after giving up. Nil otherwise.
func stallBefore(found []Finding, sync Finding) *Finding {
	for i, f := range found {
		if f.ID == "stall" && f.waitedOut && f.Direction == "server" && len(f.Frames) == 2 && len(sync.Frames) > 0 && f.Frames[1] < sync.Frames[0] {
			return &found[i]
		}
	}
	return nil
}

// boolRank orders true before false.
func boolRank(b bool) int {
	if b {
		return 0
	}
	return 1
}

// turnedDown tells of the server's refusals in turned: the first in full,
// with its frames as frame writes them (a sentence of its own when lead),
// and how many more there were, counting those capRepeats folded into
// one finding.
func turnedDown(turned []Finding, frame func(Finding) string, lead bool) string {
	if len(turned) == 0 {
		return ""
	}
	first := turned[0].Summary
	if lead {
		first = turned[0].sentence()
	}
	out := first + frame(turned[0]) + "."
	// A message all of whose recipients were turned down leads: each
	// RCPT's refusal is in the findings, and is not counted again.
	every := -1
	if lead {
		every = slices.IndexFunc(turned, func(f Finding) bool { return f.everyRcpt != "" })
	}
	var (
		skip    []int // frames of the recipients the leading sentence tells of
		tx      *smtpparse.Transaction
		members int // of its RCPTs' refusals, those not folded into others
	)
	if every >= 0 {
		out = upperFirst(turned[every].everyRcpt) + "."
		skip, tx = turned[every].everyRcptFrames, turned[every].ofEvery
	}
	more, frames := 0, []int(nil)
	for i, f := range turned {
		switch {
		case tx != nil && f.ofEvery == tx:
			members++
		case i > 0 || tx != nil:
			more++
			if len(f.Frames) > 0 {
				frames = appendUnique(frames, f.Frames[0])
			}
		}
		more += f.folded
		for _, fr := range f.foldFrames {
			if !slices.Contains(skip, fr) {
				frames = appendUnique(frames, fr)
			}
		}
	}
	if tx != nil {
		more = max(0, more-(len(tx.Rcpts)-members)) // the folded ones among them
	}
	if more > 0 {
		slices.Sort(frames)
		out += fmt.Sprintf(" The server turned down %s (%s); the findings tell of each.",
			wording.Plural(more, "more command", "more commands"), framesInWords(frames))
	}
	return out
}

// bareEndingRefused returns, for a connection whose server refused a
// message (or gave up on it while it was coming) and one of whose messages
// has bare LF or bare CR line endings, or a line too long, the finding
// about that and the refusal; nil, nil otherwise.
func bareEndingRefused(found []Finding) (bare, refusal *Finding) {
	for _, id := range []string{"bare-lf-in-data", "bare-cr-in-data", "line-too-long"} {
		for i := range found {
			r := &found[i]
			if !r.refusedMessage && !(r.ID == "lost-mid-transaction" && r.interrupted) {
				continue
			}
			for j := range found {
				if f := &found[j]; f.ID == id && f.tx != nil && f.tx == r.tx {
					return f, r
				}
			}
		}
	}
	return nil, nil
}

// bareEndingText says what a bare-lf-in-data, bare-cr-in-data or
// line-too-long finding found, and why it matters.
func bareEndingText(f Finding, at string) string {
	switch f.ID {
	case "bare-cr-in-data":
		return "a CR that no LF follows" + at + ", which RFC 5321 forbids and servers hardened against SMTP smuggling refuse"
	case "line-too-long":
		return "a line longer than 998 octets" + at + ", which RFC 5321 forbids (section 4.5.3.1.6) and servers refuse"
	}
	return "a line that ends in a bare LF" + at + ", which RFC 5321 forbids and servers hardened against SMTP smuggling refuse"
}

// greetingRefused returns the finding of a server that refused the session
// in its greeting, or nil.
func greetingRefused(found []Finding) *Finding {
	for i, f := range found {
		if (f.ID == "command-rejected" || f.ID == "command-deferred" || f.ID == "sync-error-reply") && f.Phase == PhaseGreeting {
			return &found[i]
		}
	}
	return nil
}

// namesFrame reports whether text already names frame n, alone ("frame
// 39") or in a list ("frames 38, 39", "frames 12 and 39").
func namesFrame(text string, n int) bool {
	re := regexp.MustCompile(fmt.Sprintf(`\bframes? (?:\d+(?:, | and ))*%d\b`, n))
	return re.MatchString(text)
}

// fixupEvidence names what a pix-masked-ehlo finding saw: the starred
// banner or the masked EHLO reply.
func fixupEvidence(f Finding) string {
	if f.Phase == PhaseGreeting {
		return "the starred-out banner"
	}
	return "the EHLO reply"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sentence returns f's summary as the start of a sentence.
func (f Finding) sentence() string { return f.capitalised(f.Summary) }

// capitalised returns text, made from f's summary, with a capital first
// letter, unless the summary starts with the client's command as sent.
func (f Finding) capitalised(text string) string {
	if f.asSent {
		return text
	}
	return upperFirst(text)
}
