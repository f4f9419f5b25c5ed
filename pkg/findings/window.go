package findings

import (
	"fmt"
	"sort"
	"time"

	"github.com/smtpcap/smtpcap/internal/wording"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// windowClosedFor is how long a receiver must keep its TCP receive window
// at zero before window-closed tells of it. TCP flow control closes the
// window for milliseconds whenever a sender outpaces a busy reader; a
// second is a reader that stopped.
const windowClosedFor = time.Second

// closedWindow is a stretch in which one side (the receiver) advertised a
// zero receive window, so that its peer could send it nothing.
type closedWindow struct {
	receiver smtpparse.Direction
	from     *reassembly.SegmentFact // the receiver's packet that closed the window
	reopened *reassembly.SegmentFact // its first packet with a window again; nil if none came
	until    int64                   // Unix ns of the reopening, or of the connection's last packet
	probes   []int                   // frames of the sender's probes and attempts to send while it was closed
	gaveUp   *reassembly.SegmentFact // the sender's first FIN or RST while it was closed; nil if none
}

// findClosedWindows returns the stretches, windowClosedFor or longer, in
// which the receiver (the side whose packets are the receiver direction's)
// advertised a zero window while its peer had something to send. newBuilder
// keeps them in builder.closed.
func findClosedWindows(s *session.Session, receiver smtpparse.Direction) []closedWindow {
	rst, sst := s.Stream(receiver), s.Stream(1-receiver)
	if rst == nil || sst == nil {
		return nil
	}
	recv, sent := rst.Segments, sst.Segments
	var out []closedWindow
	j := 0 // the sender's packets, walked alongside in frame order
	for i := 0; i < len(recv); i++ {
		sf := &recv[i]
		if sf.Window != 0 || sf.Flags&(reassembly.FlagRST|reassembly.FlagSYN) != 0 || sf.Flags&reassembly.FlagACK == 0 {
			continue
		}
		w := closedWindow{receiver: receiver, from: sf, until: s.Conn.LastTime.UnixNano()}
		k := i + 1
		for ; k < len(recv); k++ {
			if r := &recv[k]; r.Window != 0 && r.Flags&reassembly.FlagRST == 0 {
				w.reopened, w.until = r, r.Nanos
				break
			}
		}
		for j < len(sent) && sent[j].Frame < sf.Frame {
			j++
		}
		var times []int64 // of the probes
		for ; j < len(sent) && (w.reopened == nil || sent[j].Frame < w.reopened.Frame); j++ {
			switch p := &sent[j]; {
			case p.Flags&(reassembly.FlagFIN|reassembly.FlagRST) != 0:
				if w.gaveUp == nil {
					w.gaveUp = p
				}
			case p.Kind&reassembly.KindKeepAlive != 0 || p.Length > 0 && !takenBy(recv[i:k], p):
				// A probe: Linux's carries nothing, one below what was
				// acknowledged (a keep-alive's shape); others carry the
				// next byte, which the receiver does not take. A bare
				// ACK of the receiver's own data is no sign of waiting,
				// nor are bytes it took.
				w.probes = append(w.probes, p.Frame)
				times = append(times, p.Nanos)
			}
		}
		// The sender had something to send: it probed as TCP probes a
		// closed window, at intervals that grow (RFC 9293's exponential
		// backoff; keep-alives of an idle connection come at a fixed
		// interval), or sent data the moment the window opened.
		waiting := backingOff(sf.Nanos, times) ||
			w.reopened != nil && j < len(sent) && sent[j].Length > 0 && nanosBetween(w.reopened.Nanos, sent[j].Nanos) < 200*time.Millisecond
		if waiting && nanosBetween(sf.Nanos, w.until) >= windowClosedFor {
			out = append(out, w)
		}
		i = k // on from the reopening
	}
	return out
}

// ClosedWindow is a stretch in which one side of a connection kept its TCP
// receive window closed while its peer waited to send: what window-closed
// tells, for a view of the connection (follow) to name.
type ClosedWindow struct {
	Side       smtpparse.Direction // whose window: ClientToServer for the client's
	Frame      int                 // the packet that closed it
	Start, End time.Time           // End: the reopening, or the connection's last packet
}

// ClosedWindows returns the stretches in which either side of s kept its
// receive window closed as window-closed finds them, the server's first.
func ClosedWindows(s *session.Session) []ClosedWindow {
	var out []ClosedWindow
	for _, side := range []smtpparse.Direction{smtpparse.ServerToClient, smtpparse.ClientToServer} {
		for _, w := range findClosedWindows(s, side) {
			out = append(out, ClosedWindow{Side: side, Frame: w.from.Frame, Start: w.from.Time(), End: time.Unix(0, w.until).UTC()})
		}
	}
	return out
}

// takenBy reports whether one of the receiver's packets acknowledged all
// of p's bytes: data taken, not a probe turned away.
func takenBy(recv []reassembly.SegmentFact, p *reassembly.SegmentFact) bool {
	for i := range recv {
		if r := &recv[i]; r.Frame > p.Frame && r.Flags&reassembly.FlagRST == 0 && r.Ack >= p.Offset+int64(p.Length) {
			return true
		}
	}
	return false
}

// backingOff reports whether probes at the given Unix times, after a
// window closed at closed, came as a sender probing a closed window sends
// them: at least two, each interval since the one before (the first since
// the closing) longer than the last by half or more, until, after three
// such steps at least, the intervals reach the sender's ceiling (Linux's
// is 120 s) and stay there. Keep-alives come at one interval from the
// start.
func backingOff(closed int64, probes []int64) bool {
	if len(probes) < 2 {
		return false
	}
	last, grew := probes[0]-closed, 0
	for i := 1; i < len(probes); i++ {
		gap := probes[i] - probes[i-1]
		switch {
		case 2*gap >= 3*last:
			grew++
		case grew >= 3 && gap >= int64(probeCeilingFrom) && 5*gap >= 4*last:
			// at the ceiling
		default:
			return false
		}
		last = gap
	}
	return grew > 0
}

// probeCeilingFrom is the shortest interval taken for a sender's ceiling
// on its probes' backoff.
const probeCeilingFrom = 30 * time.Second

// detectWindowClosed finds a side that stopped reading: it kept its TCP
// receive window at zero for a second or more while its peer had bytes
// for it, so the peer could only probe (RFC 9293, section 3.8.6.1). A
// server whose content scanner hangs, whose disk is full or whose process
// is stopped does this in DATA, and the client's message "times out"
// without any packet being lost; a client that stops reading replies
// does it to the server.
//
// When both sides held their windows closed at once, neither could send:
// a deadlock, told as one finding. In SMTP it is the client's doing, as
// the server only sends replies: a client that writes a long pipelined
// group without reading the replies fills its own receive buffer, and the
// server, blocked sending them, stops reading (RFC 2920, section 3.1).
func detectWindowClosed(b builder, _ Options) []Finding {
	srv, cli := b.closed[smtpparse.ServerToClient], b.closed[smtpparse.ClientToServer]
	var out []Finding
	pairedSrv := make([]bool, len(srv))
	pairedCli := make([]bool, len(cli))
	for i := range cli {
		for j := range srv {
			if !pairedSrv[j] && overlapNanos(cli[i], srv[j]) >= windowClosedFor {
				out = append(out, deadlockFinding(b, cli[i], srv[j]))
				pairedCli[i], pairedSrv[j] = true, true
				break
			}
		}
	}
	for j, w := range srv {
		if !pairedSrv[j] {
			out = append(out, windowClosedFinding(b, w))
		}
	}
	for i, w := range cli {
		if !pairedCli[i] {
			out = append(out, windowClosedFinding(b, w))
		}
	}
	return out
}

// overlapNanos returns how long two closed windows were closed at once.
func overlapNanos(a, b closedWindow) time.Duration {
	return nanosBetween(max(a.from.Nanos, b.from.Nanos), min(a.until, b.until))
}

// deadlockFinding tells of the client's and the server's windows closed at
// once: cli is the client's (the server's replies unread), srv the
// server's (the client's commands held back).
func deadlockFinding(b builder, cli, srv closedWindow) Finding {
	what := ""
	if last := lastSpoken(b, smtpparse.ClientToServer, srv.from.Frame); last != nil {
		if w := describeEvent(b, event{smtpparse.ClientToServer, last}); w != "data" {
			what = " (the last " + w + ")"
		}
	}
	summary := fmt.Sprintf("deadlock: the client kept sending%s without reading the replies (RFC 2920, section 3.1): its receive window closed in frame %d with the server's replies unread, and the server, unable to send them, stopped reading too (its window closed in frame %d); for %.1f s neither side could send, each only probing the other",
		what, cli.from.Frame, srv.from.Frame, overlapNanos(cli, srv).Seconds())
	frames := []int{cli.from.Frame, srv.from.Frame}
	sev := Error
	switch {
	case srv.gaveUp != nil:
		summary += fmt.Sprintf("; the client gave up with its %s in frame %d", flagName(srv.gaveUp), srv.gaveUp.Frame)
		frames = append(frames, srv.gaveUp.Frame)
	case cli.gaveUp != nil:
		summary += fmt.Sprintf("; the server gave up with its %s in frame %d", flagName(cli.gaveUp), cli.gaveUp.Frame)
		frames = append(frames, cli.gaveUp.Frame)
	case cli.reopened != nil || srv.reopened != nil:
		sev = Warning
		first := cli.reopened
		if first == nil || srv.reopened != nil && srv.reopened.Frame < first.Frame {
			first = srv.reopened
		}
		summary += fmt.Sprintf("; it cleared in frame %d", first.Frame)
		frames = append(frames, first.Frame)
	default:
		summary += "; neither window opened again before the connection ended"
		frames = append(frames, b.s.Conn.LastFrame)
	}
	f := b.conn("window-closed", sev, phaseAtOffset(b, smtpparse.ClientToServer, srv.from.Ack), appendUnique(nil, frames...), cli.from.Time(), summary)
	f.Direction = smtpparse.ClientToServer.String()
	return f
}

// flagName returns "RST" for a reset, "FIN" otherwise.
func flagName(sf *reassembly.SegmentFact) string {
	if sf.Flags&reassembly.FlagRST != 0 {
		return "RST"
	}
	return "FIN"
}

func windowClosedFinding(b builder, w closedWindow) Finding {
	sender := 1 - w.receiver
	held := nanosBetween(w.from.Nanos, w.until)
	what := "its bytes"
	if last := lastSpoken(b, sender, w.from.Frame); last != nil {
		what = describeEvent(b, event{sender, last})
		if what == "data" {
			what = "its bytes"
		}
	}
	probed := "without a probe in the capture"
	switch n := len(w.probes); {
	case n > 4:
		probed = fmt.Sprintf("probed by the %s %s, the first in frame %d, the last in frame %d", sender, wording.Plural(n, "time", "times"), w.probes[0], w.probes[n-1])
	case n > 0:
		probed = fmt.Sprintf("probed by the %s %s (%s)", sender, wording.Plural(n, "time", "times"), framesInWords(w.probes))
	}
	summary := fmt.Sprintf("the %s stopped reading: it advertised a zero TCP receive window in frame %d while the %s was sending %s, and kept it closed %.1f s, %s",
		w.receiver, w.from.Frame, sender, what, held.Seconds(), probed)
	frames := []int{w.from.Frame}
	if w.gaveUp != nil {
		summary += fmt.Sprintf("; the %s gave up with its %s in frame %d", sender, flagName(w.gaveUp), w.gaveUp.Frame)
		frames = append(frames, w.gaveUp.Frame)
	}
	sev := Warning
	switch {
	case w.reopened != nil:
		summary += fmt.Sprintf("; it opened again in frame %d", w.reopened.Frame)
		frames = append(frames, w.reopened.Frame)
	case w.gaveUp != nil:
		sev = Error
		summary += ", the window still closed"
		frames = appendUnique(frames, b.s.Conn.LastFrame)
	default:
		sev = Error
		summary += "; it never opened again before the connection ended"
		frames = appendUnique(frames, b.s.Conn.LastFrame)
	}
	phase := PhaseConnection
	if sender == smtpparse.ClientToServer {
		phase = phaseAtOffset(b, sender, w.from.Ack)
	}
	f := b.conn("window-closed", sev, phase, frames, w.from.Time(), summary)
	f.Direction = w.receiver.String()
	return f
}

// stoppedReading returns the last stretch, windowClosedFor or longer, in
// which the receiver of its peer's bytes closed its window and never opened
// it again before the connection's last packet; nil if there is none.
func stoppedReading(b builder, receiver smtpparse.Direction) *closedWindow {
	ws := b.closed[receiver]
	if n := len(ws); n > 0 && ws[n-1].reopened == nil {
		return &ws[n-1]
	}
	return nil
}

// windowProbe reports whether frame is the client's probe of the server's
// closed window: one byte, sent while the server's last word was a zero
// window, as Windows and the BSDs probe. The byte goes again with the rest
// once the window opens: the boundary after it is no write of the
// client's.
func windowProbe(b builder, frame int) bool {
	cst, sst := b.s.Stream(smtpparse.ClientToServer), b.s.Stream(smtpparse.ServerToClient)
	if cst == nil || sst == nil {
		return false
	}
	i := sort.Search(len(cst.Segments), func(i int) bool { return cst.Segments[i].Frame >= frame })
	if i == len(cst.Segments) || cst.Segments[i].Frame != frame || cst.Segments[i].Length != 1 {
		return false
	}
	for j := sort.Search(len(sst.Segments), func(j int) bool { return sst.Segments[j].Frame >= frame }) - 1; j >= 0; j-- {
		if sf := &sst.Segments[j]; sf.Flags&reassembly.FlagACK != 0 && sf.Flags&reassembly.FlagRST == 0 {
			return sf.Window == 0
		}
	}
	return false
}

// lastSpoken returns dir's last packet with payload before frame, nil if
// none.
func lastSpoken(b builder, dir smtpparse.Direction, frame int) *reassembly.SegmentFact {
	st := b.s.Stream(dir)
	if st == nil {
		return nil
	}
	for i := len(st.Segments) - 1; i >= 0; i-- {
		if sf := &st.Segments[i]; sf.Frame < frame && sf.Speaks() {
			return sf
		}
	}
	return nil
}

// windowHeld reports whether dir's silence from one Unix time to another
// fell, for the most part, while its peer held its receive window closed:
// dir could not send, so the silence is not its.
func windowHeld(windows []closedWindow, from, to int64) bool {
	for _, w := range windows {
		start := max(from, w.from.Nanos)
		end := min(to, w.until)
		if end > start && 2*(end-start) >= to-from {
			return true
		}
	}
	return false
}
