package findings

import (
	"fmt"
	"time"

	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// greetingLate is how long after the TCP handshake a server's greeting
// is slow. Servers greet within milliseconds unless a lookup of the
// client (reverse DNS, ident, a blocklist) is timing out, or they wait on
// purpose to catch clients that talk first.
const greetingLate = 5 * time.Second

// greetingPatience is how long after the handshake a client that sends
// or closes before any greeting has waited for one: past it, it gave up
// on a greeting that did not come; before it, it talked first.
const greetingPatience = 2 * time.Second

// greetingWait is what a capture shows of the time between the TCP
// handshake and the greeting: the server's SYN-ACK (the last one before
// anything else was said), its first packet with payload, and the
// client's first packet that said something (payload, FIN or RST); the
// last two nil when not in the capture.
type greetingWait struct {
	synAck, greeting, clientMove *reassembly.SegmentFact
	serverClose                  *reassembly.SegmentFact // the server's FIN or RST before any greeting
}

// waitForGreeting returns the greetingWait of a session; ok is false
// when its handshake is not in the capture or TLS starts at once (port
// 465: the client speaks first).
func waitForGreeting(b builder) (w greetingWait, ok bool) {
	cli, srv := b.s.Stream(smtpparse.ClientToServer), b.s.Stream(smtpparse.ServerToClient)
	if cli == nil || srv == nil || b.s.ImplicitTLS {
		return w, false
	}
	for i := range srv.Segments {
		sf := &srv.Segments[i]
		if sf.Speaks() {
			w.greeting = sf
			break
		}
		if sf.Flags&(reassembly.FlagFIN|reassembly.FlagRST) != 0 {
			w.serverClose = sf
			break
		}
		if sf.Flags&reassembly.FlagSYN != 0 {
			w.synAck = sf
		}
	}
	for i := range cli.Segments {
		if sf := &cli.Segments[i]; sf.Speaks() || sf.Flags&(reassembly.FlagFIN|reassembly.FlagRST) != 0 {
			w.clientMove = sf
			break
		}
	}
	if w.synAck == nil || w.clientMove != nil && w.clientMove.Frame < w.synAck.Frame {
		return w, false
	}
	if w.greeting != nil {
		// The server's first bytes are its greeting, or it speaks
		// something else (TLS from the first byte: tls-handshake-failed
		// tells of a client that waited for a greeting from it).
		g := b.s.Dialogue.Greeting
		if g == nil {
			return w, false
		}
		if gf := b.s.Frames(g.Span); len(gf) == 0 || gf[0] != w.greeting.Frame {
			return w, false
		}
	}
	return w, true
}

// clientGaveUp reports whether the client said something before the
// greeting after waiting greetingPatience or longer for it.
func (w greetingWait) clientGaveUp() bool {
	return w.clientMove != nil && (w.greeting == nil || w.clientMove.Frame < w.greeting.Frame) &&
		(w.serverClose == nil || w.clientMove.Frame < w.serverClose.Frame) &&
		nanosBetween(w.synAck.Nanos, w.clientMove.Nanos) >= greetingPatience
}

// serverGaveUp reports whether the server closed the connection before
// any greeting and before the client said anything, greetingPatience or
// more after the handshake (sooner, it turned the client away at once).
func (w greetingWait) serverGaveUp() bool {
	return w.serverClose != nil && w.greeting == nil && (w.clientMove == nil || w.serverClose.Frame < w.clientMove.Frame) &&
		nanosBetween(w.synAck.Nanos, w.serverClose.Nanos) >= greetingPatience
}

// detectSlowGreeting reports a greeting that came greetingLate or more
// after the TCP handshake, and a client that gave up waiting for one.
func detectSlowGreeting(b builder, _ Options) []Finding {
	d := b.s.Dialogue
	w, ok := waitForGreeting(b)
	if !ok || pipeConnect(d) {
		return nil
	}
	if _, mismatch := tlsMismatch(b); mismatch {
		return nil // silence on the implicit-TLS port: tls-handshake-failed tells why
	}
	frames := []int{w.synAck.Frame}
	var summary string
	switch {
	case w.serverGaveUp():
		how := "FIN"
		if w.serverClose.Flags&reassembly.FlagRST != 0 {
			how = "RST"
		}
		frames = append(frames, w.serverClose.Frame)
		summary = fmt.Sprintf("the server closed the connection (its %s in frame %d) %.1f s after the TCP handshake (its SYN-ACK in frame %d) without sending a greeting",
			how, w.serverClose.Frame, nanosBetween(w.synAck.Nanos, w.serverClose.Nanos).Seconds(), w.synAck.Frame)
	case w.clientGaveUp():
		move := w.clientMove
		what := fmt.Sprintf("sent data in frame %d", move.Frame)
		switch {
		case move.Flags&reassembly.FlagRST != 0 && !move.Speaks():
			what = fmt.Sprintf("reset the connection (its RST in frame %d)", move.Frame)
		case move.Flags&reassembly.FlagFIN != 0 && !move.Speaks():
			what = fmt.Sprintf("closed the connection (its FIN in frame %d)", move.Frame)
		case len(d.Commands) > 0:
			c := d.Commands[0]
			if cf := b.s.Frames(c.Span); len(cf) > 0 && cf[0] == move.Frame {
				what = fmt.Sprintf("sent %s in frame %d without it", quoteCommand(c, 50), move.Frame)
			}
		}
		frames = append(frames, move.Frame)
		summary = fmt.Sprintf("the client waited %.1f s after the TCP handshake (the server's SYN-ACK in frame %d) for a greeting that did not come, then %s",
			nanosBetween(w.synAck.Nanos, move.Nanos).Seconds(), w.synAck.Frame, what)
		if w.greeting != nil {
			frames = append(frames, w.greeting.Frame)
			summary += fmt.Sprintf("; the greeting came %.1f s after the handshake, in frame %d", nanosBetween(w.synAck.Nanos, w.greeting.Nanos).Seconds(), w.greeting.Frame)
		}
	case w.greeting != nil:
		wait := nanosBetween(w.synAck.Nanos, w.greeting.Nanos)
		if wait < greetingLate {
			return nil
		}
		frames = append(frames, w.greeting.Frame)
		summary = fmt.Sprintf("the server sent its greeting %.1f s after the TCP handshake (the server's SYN-ACK in frame %d, the greeting in frame %d)",
			wait.Seconds(), w.synAck.Frame, w.greeting.Frame)
	case w.clientMove == nil && b.s.Conn.End() == reassembly.EndOpen:
		wait := nanosBetween(w.synAck.Nanos, b.s.Conn.LastTime.UnixNano())
		if wait < greetingLate {
			return nil
		}
		summary = fmt.Sprintf("the server sent no greeting in the %.1f s after the TCP handshake (the server's SYN-ACK in frame %d) that the capture holds",
			wait.Seconds(), w.synAck.Frame)
	default:
		return nil
	}
	f := b.conn("slow-greeting", Warning, PhaseGreeting, frames, w.synAck.Time(), summary)
	f.Direction = smtpparse.ServerToClient.String()
	return []Finding{f}
}
