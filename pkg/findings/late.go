package findings

import (
	"fmt"
	"sort"
	"time"

	"github.com/smtpcap/smtpcap/internal/wording"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// detectAcceptedAfterLeaving finds a message the server accepted only
// after the client had stopped waiting for the reply to its end of data
// and closed the connection. The server delivers it; the client never
// reads the 250 (its TCP resets it), counts the message as not sent, and
// sends it again: the duplicate of RFC 1047. RFC 5321 (section 4.5.3.2.6)
// gives the server 10 minutes for that reply, so that a slow content
// scanner or milter does not cause it; a client that waits less, or a
// server slower than the client waits, does.
//
// The same comes of a 250 lost on its way to the client: the server's TCP
// sends it again and again, never acknowledged, while the client times
// out, its FIN acknowledging nothing of the reply.
//
// A FIN alone before the reply is no proof that the client left: one
// that has sent its last command may shut its sending side and still read
// the reply (its TCP acknowledges it, and a reset may come later, for the
// 221). A reset answering the reply, which its TCP never acknowledged, is.
func detectAcceptedAfterLeaving(b builder, _ Options) []Finding {
	c := b.s.Conn
	rstDir, reset := c.RSTDirection()
	clientRST := 0
	if reset && rstDir == reassembly.ClientToServer {
		clientRST = c.RSTFrame
	}
	fin := c.FINFrame(reassembly.ClientToServer)
	if fin == 0 && clientRST == 0 || oneSided(b) {
		return nil // the client did not end the connection, or only one side is in the capture
	}
	var out []Finding
	for _, tx := range b.s.Dialogue.Transactions {
		if tx.Body == nil {
			continue
		}
		r, replyFrame := unreadAcceptance(b, tx)
		eod := endOfDataFrame(b, tx)
		if r == nil || eod == 0 {
			continue
		}
		resent := replyResent(b, r, replyFrame)
		// Where the client left: its FIN or its reset, whichever came
		// first. But a FIN sent with the end of data or at once after it
		// (QUIT pipelined, the sending side shut) is no leaving; a reset
		// after it is, once the reply was sent again: unacknowledged, it
		// never arrived. (A reset right after a reply its TCP did not
		// acknowledge may be an abortive close after reading it.)
		left, how := fin, "FIN"
		halfClosed := finWithData(b, eod, fin)
		if clientRST != 0 && (fin == 0 || clientRST < fin || halfClosed && clientRST > fin && len(resent) > 0) {
			left, how = clientRST, "RST"
		}
		if left <= eod {
			continue // it left before the message was whole: lost-mid-transaction tells it
		}
		from := "" // a capture that began after the MAIL command does not know the sender
		if tx.Mail != nil {
			from = fmt.Sprintf(" from <%s>", clip(tx.Mail.Path, 40))
		}
		eodTime, leftTime := timeOfFrame(b, eod), timeOfFrame(b, left)
		var summary string
		var frames []int
		switch {
		case left < replyFrame:
			// Gone before the reply: its reset answering the reply, or
			// the server sending it again unacknowledged, shows it.
			if clientRST < replyFrame && len(resent) == 0 {
				continue // no sign of the reply's fate: a capture that stopped early
			}
			if how == "FIN" && leftTime.Sub(eodTime) < halfCloseWithin {
				// A FIN at once is a client that shut its sending side
				// as soon as it had sent all (QUIT pipelined), not one
				// that gave up waiting; a reset after the reply may be
				// its abortive close after reading it.
				continue
			}
			summary = fmt.Sprintf("the server accepted the message%s (%d in frame %d) %s after the end of data (frame %d), when the client had already given up: it closed the connection %s after the end of data (its %s in frame %d)",
				from, r.Code, replyFrame, briefly(r.Time.Sub(eodTime)), eod, briefly(leftTime.Sub(eodTime)), how, left)
			frames = []int{eod, left, replyFrame}
			if c, cf := commandWhileWaiting(b, tx, eodTime, replyFrame); c != nil {
				// Some clients say goodbye first (swaks sends QUIT when
				// its timeout runs out, then waits again).
				summary = fmt.Sprintf("the server accepted the message%s (%d in frame %d) %s after the end of data (frame %d), when the client had already given up: it sent %s %s after the end of data (frame %d) and closed the connection %s later (its %s in frame %d)",
					from, r.Code, replyFrame, briefly(r.Time.Sub(eodTime)), eod, quoteCommand(c, 20), briefly(c.Time.Sub(eodTime)), cf, briefly(leftTime.Sub(c.Time)), how, left)
				frames = appendUnique(frames, cf)
			}
			if clientRST > replyFrame {
				summary += fmt.Sprintf(", and its TCP answered the %d with a reset (frame %d)", r.Code, clientRST)
				frames = append(frames, clientRST)
			}
		default:
			// The reply went out before the client left, and never
			// reached it: the client's FIN acknowledges nothing of it,
			// or the server sent it again and again.
			if len(resent) == 0 && clientRST < replyFrame {
				// Neither resent nor reset: a FIN that crossed the reply
				// in flight in a capture that stopped there, or a reset
				// that says nothing of what its sender had received.
				continue
			}
			again := ""
			if n := len(resent); n > 0 {
				again = fmt.Sprintf(", sent again %s, the last in frame %d", wording.Plural(n, "time", "times"), resent[n-1])
			}
			summary = fmt.Sprintf("the server accepted the message%s (%d in frame %d%s), but the reply never reached the client: its TCP never acknowledged it, and the client gave up %s after the end of data (frame %d), its %s in frame %d acknowledging nothing of the reply",
				from, r.Code, replyFrame, again, briefly(leftTime.Sub(eodTime)), eod, how, left)
			frames = []int{eod, replyFrame, left}
			if n := len(resent); n > 0 {
				frames = appendUnique(frames, resent[n-1])
			}
		}
		summary += ". The client never read the acceptance and will send the message again: a duplicate"
		f := b.conn("accepted-after-client-left", Error, PhaseAfterData, frames, r.Time, summary)
		f.tx, f.acceptedIn = tx, replyFrame
		out = append(out, f)
	}
	return out
}

// commandWhileWaiting returns the first command the client sent a second
// or more after tx's end of data (at eodTime) and before the reply in
// frame reply, and the frame that carried it; nil if none. A command
// pipelined behind the end of data is no sign of giving up.
func commandWhileWaiting(b builder, tx *smtpparse.Transaction, eodTime time.Time, reply int) (*smtpparse.Command, int) {
	for _, c := range b.s.Dialogue.Commands {
		if c.Span.Start < tx.Body.Span.End {
			continue
		}
		cf := b.s.Frames(c.Span)
		if len(cf) == 0 || cf[0] >= reply {
			break
		}
		if c.Time.Sub(eodTime) >= halfCloseWithin {
			return c, cf[0]
		}
	}
	return nil, 0
}

// waitedOnMessage reports whether command c came after the end of a
// message whose acceptance the client never read, before that acceptance.
func waitedOnMessage(b builder, c *smtpparse.Command) bool {
	cf := b.s.Frames(c.Span)
	if len(cf) == 0 {
		return false
	}
	for _, tx := range b.s.Dialogue.Transactions {
		if tx.Body == nil || c.Span.Start < tx.Body.Span.End {
			continue
		}
		if r, rf := unreadAcceptance(b, tx); r != nil && cf[0] < rf {
			return true
		}
	}
	return false
}

// unreadAcceptance returns the first acceptance (2xx) of tx's message that
// the client's TCP never acknowledged, and the frame that first carried it;
// nil if none: its final reply, or in LMTP the first such of the replies
// per recipient.
func unreadAcceptance(b builder, tx *smtpparse.Transaction) (*smtpparse.Reply, int) {
	replies := tx.PerRecipient
	if len(replies) == 0 {
		replies = []*smtpparse.Reply{tx.FinalReply}
	}
	for _, r := range replies {
		if r == nil || r.Code/100 != 2 {
			continue
		}
		if rf := b.s.Frames(r.Span); len(rf) > 0 && !tookReply(b, r, rf[0]) {
			return r, rf[0]
		}
	}
	return nil, 0
}

// tookReply reports whether the client's TCP acknowledged reply r, first
// carried in frame, with a packet that is no reset: a socket still open
// for reading (shut for writing only) takes data; a closed one answers it
// with a reset alone.
func tookReply(b builder, r *smtpparse.Reply, frame int) bool {
	st := b.s.Stream(smtpparse.ClientToServer)
	if st == nil {
		return false
	}
	for i := sort.Search(len(st.Segments), func(i int) bool { return st.Segments[i].Frame > frame }); i < len(st.Segments); i++ {
		if sf := &st.Segments[i]; sf.Flags&reassembly.FlagRST == 0 && sf.Ack >= r.Span.End {
			return true
		}
	}
	return false
}

// replyResent returns the frames that carried reply r's bytes again after
// frame, its first: the server's TCP resending what was not acknowledged.
func replyResent(b builder, r *smtpparse.Reply, frame int) []int {
	st := b.s.Stream(smtpparse.ServerToClient)
	if st == nil {
		return nil
	}
	var out []int
	for i := sort.Search(len(st.Segments), func(i int) bool { return st.Segments[i].Frame > frame }); i < len(st.Segments); i++ {
		if sf := &st.Segments[i]; sf.Length > 0 && sf.Offset <= r.Span.Start && sf.Offset+int64(sf.Length) > r.Span.Start {
			out = append(out, sf.Frame)
		}
	}
	return out
}

// finWithData reports whether the client's FIN in frame fin came with
// its end of data in frame eod or at once after it: a client that sent
// all it had and shut its sending side, still reading.
func finWithData(b builder, eod, fin int) bool {
	return fin != 0 && fin >= eod && timeOfFrame(b, fin).Sub(timeOfFrame(b, eod)) < halfCloseWithin
}

// halfCloseWithin is how soon after its end of data a client's FIN (or
// next command) is its own pace, sending all it had (QUIT pipelined, its
// sending side shut), rather than a timeout that ran out.
const halfCloseWithin = time.Second

// dataDoneTimeout is how long RFC 5321 (section 4.5.3.2.6, "DATA
// Termination") lets a server take before it answers the end of data.
const dataDoneTimeout = 10 * time.Minute

// briefly says a duration to a tenth of a second under two minutes, and
// roughly beyond.
func briefly(d time.Duration) string {
	if d < 2*time.Minute {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return roughly(d)
}

// endOfDataFrame returns the frame that carried the end of tx's message:
// its <CRLF>.<CRLF>, or the end of its last BDAT chunk; 0 if unknown.
func endOfDataFrame(b builder, tx *smtpparse.Transaction) int {
	var span smtpparse.Span
	switch {
	case tx.Body.Terminator != nil:
		span = *tx.Body.Terminator
	case len(tx.Chunks) > 0:
		last := tx.Chunks[len(tx.Chunks)-1]
		span = last.Data
		if span.End == span.Start {
			span = last.Command.Span
		}
	default:
		return 0
	}
	if fs := b.s.Frames(span); len(fs) > 0 {
		return fs[len(fs)-1]
	}
	return 0
}
