package findings

import (
	"fmt"
	"time"

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
// A FIN alone is no proof that the client left: one that has sent its
// last command may shut its sending side and still read the reply (its
// TCP acknowledges it, and a reset may come later, for the 221). A reset
// answering the reply, which its TCP never acknowledged, is.
func detectAcceptedAfterLeaving(b builder, _ Options) []Finding {
	c := b.s.Conn
	rstDir, reset := c.RSTDirection()
	if !reset || rstDir != reassembly.ClientToServer {
		return nil
	}
	var out []Finding
	for _, tx := range b.s.Dialogue.Transactions {
		r := tx.FinalReply
		if r == nil || r.Code/100 != 2 || tx.Body == nil {
			continue
		}
		rf := b.s.Frames(r.Span)
		eod := endOfDataFrame(b, tx)
		if len(rf) == 0 || eod == 0 {
			continue
		}
		// Where the client left: its FIN, when its reset answered the
		// reply; its FIN or reset, when the reset came before the reply.
		fin := c.FINFrame(reassembly.ClientToServer)
		left, how := fin, "FIN"
		switch {
		case c.RSTFrame < rf[0] && (fin == 0 || c.RSTFrame < fin):
			left, how = c.RSTFrame, "RST"
		case fin == 0 || fin > rf[0]:
			continue // it was still there when the reply came
		}
		if left <= eod {
			continue // it left before the message was whole: lost-mid-transaction tells it
		}
		if tookReply(b, r, rf[0]) {
			continue // its TCP acknowledged the reply: it had shut only its sending side, and read it
		}
		eodTime, leftTime := timeOfFrame(b, eod), timeOfFrame(b, left)
		summary := fmt.Sprintf("the server accepted the message from <%s> (%d in frame %d) %s after the end of data (frame %d), when the client had already given up: it closed the connection %s after the end of data (its %s in frame %d)",
			clip(tx.Mail.Path, 40), r.Code, rf[0], briefly(r.Time.Sub(eodTime)), eod, briefly(leftTime.Sub(eodTime)), how, left)
		frames := []int{eod, left, rf[0]}
		if c.RSTFrame > rf[0] {
			summary += fmt.Sprintf(", and its TCP answered the %d with a reset (frame %d)", r.Code, c.RSTFrame)
			frames = append(frames, c.RSTFrame)
		}
		summary += ". The client never read the acceptance and will send the message again: a duplicate"
		f := b.conn("accepted-after-client-left", Error, PhaseAfterData, frames, r.Time, summary)
		f.tx = tx
		out = append(out, f)
	}
	return out
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
	for i := range st.Segments {
		sf := &st.Segments[i]
		if sf.Frame > frame && sf.Flags&reassembly.FlagRST == 0 && sf.Ack >= r.Span.End {
			return true
		}
	}
	return false
}

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
