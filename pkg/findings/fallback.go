package findings

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// fallbackWait is how long after a failed connection's last packet the
// client's next connection may open and still count as its next try: a
// client that got no SYN-ACK gives up on its own timer, up to about a
// minute after its last SYN (Linux: 64 s after the seventh), then tries
// the next MX host or address.
const fallbackWait = 2 * time.Minute

// busyLookBack bounds how many connections opened before a failed one are
// looked at for one still open when it failed: a client with more on the
// way at once is a busy gateway whose next connection may be anyone's
// mail.
const busyLookBack = 64

// nextHosts completes each connect-failed finding with where the client
// went next, when the capture shows it plainly: the client's next
// connections on the same port opened one after the other, each within
// fallbackWait of the one before, the failed ones skipped, up to the first
// a server answered, and no other connection of the client's open
// meanwhile. That is a client trying the domain's next MX host or
// address, and whether the mail went through is told there. A busy client
// (several connections at once) is left alone: its next connection may
// carry another domain's mail.
func nextHosts(r *Report) {
	type route struct {
		client netip.Addr
		port   uint16
	}
	var routes map[route][]opening
	var place map[int]int              // by connection (index in the report): where it is in its route's list
	cameFrom := map[int][]Connection{} // by the stream the client went on to: the failed connections before it
	conns := &r.Connections
	extendFindings(r, "connect-failed", func(f *Finding, at int, failed Connection) string {
		from, err1 := netip.ParseAddrPort(failed.Client)
		to, err2 := netip.ParseAddrPort(failed.Server)
		if err1 != nil || err2 != nil {
			return ""
		}
		if routes == nil {
			routes = openingsBy(conns, func(c *Connection) (route, bool) {
				a, err1 := netip.ParseAddrPort(c.Client)
				s, err2 := netip.ParseAddrPort(c.Server)
				return route{a.Addr(), s.Port()}, err1 == nil && err2 == nil
			})
			place = map[int]int{}
			for _, list := range routes {
				for k, o := range list {
					place[o.at] = k
				}
			}
		}
		list := routes[route{from.Addr(), to.Port()}]
		self, ok := place[at]
		if !ok || busyBefore(list[max(0, self-busyLookBack):self], failed.First) {
			return ""
		}
		// Walk the client's later connections: failed ones are tries on
		// the way, the first one answered ends the walk. One opened while
		// the one before it was still going means a busy client.
		var tried []int
		var next *Connection
		end := failed.Last
		for j := self + 1; j < len(list) && len(tried) < busyLookBack; j++ {
			o := list[j]
			if o.first.Before(end) || o.first.Sub(end) > fallbackWait {
				break
			}
			c := conns.At(o.at)
			if !c.Handshake {
				tried = append(tried, c.Stream)
				end = c.Last
				continue
			}
			if j+1 < len(list) && list[j+1].first.Sub(o.first) < time.Second {
				break // two answered at once: which carried this mail is not clear
			}
			next = &c
			break
		}
		if next == nil {
			return ""
		}
		what := fmt.Sprintf("the client's next connection on port %d", to.Port())
		if len(tried) > 0 {
			word := "stream"
			if len(tried) > 1 {
				word = "streams"
			}
			what = fmt.Sprintf("after %s %s failed too, %s", word, shortList(tried), what)
		}
		server, elsewhere := "the same server", next.Server != failed.Server
		if elsewhere {
			server = next.Server
			cameFrom[next.Stream] = append(cameFrom[next.Stream], failed)
		}
		what += fmt.Sprintf(" (stream %d, %.1f s after this one's first SYN) reached %s", next.Stream, next.First.Sub(failed.First).Seconds(), server)
		switch {
		case next.Transactions > 0:
			what += fmt.Sprintf(" and delivered %d of %d transactions there", next.Delivered, next.Transactions)
		case next.TLS:
			what += " and went on in TLS (not analysed)"
		default:
			what += ", which answered"
		}
		if elsewhere {
			what += ": most likely the next MX host or address of the same domain"
		}
		return what
	})
	// Told in one pass in stream order: a large list is compressed, and
	// reads far apart cost a block each.
	changes := map[int][]func(c *Connection){}
	for stream, failed := range cameFrom {
		slices.SortFunc(failed, func(x, y Connection) int { return x.Stream - y.Stream })
		var tries []string
		for _, c := range failed {
			if t := fmt.Sprintf("%s (stream %d)", c.Server, c.Stream); !slices.Contains(tries, t) {
				tries = append(tries, t)
			}
		}
		changes[stream] = []func(c *Connection){func(c *Connection) {
			c.Diagnosis = strings.TrimSpace(c.Diagnosis + " The client came here after it failed to connect to " + joinAnd(tries) + ".")
		}}
	}
	conns.updateAll(changes)
}

// extendFindings completes each finding of id, and its connection's
// diagnosis, with what tell says of it (nothing when it returns ""): a
// clause that names what became of the failure in later connections. at
// is the connection's index in the report's list.
func extendFindings(r *Report, id string, tell func(f *Finding, at int, c Connection) string) {
	conns := &r.Connections
	for i := range r.Findings.Len() {
		if fid, _, _ := r.Findings.head(i); fid != id {
			continue
		}
		f := r.Findings.At(i)
		at, ok := conns.index(f.Stream)
		if !ok {
			continue
		}
		c := conns.At(at)
		what := tell(&f, at, c)
		if what == "" {
			continue
		}
		f.Summary += "; " + what
		r.Findings.set(i, &f)
		c.Diagnosis = strings.TrimSpace(c.Diagnosis + " " + strings.ToUpper(what[:1]) + what[1:] + ".")
		conns.store.set(at, &c)
	}
}

// opening is one connection in a client's list of connections by opening
// time.
type opening struct {
	first, last time.Time
	at          int // in the report's connection list
}

// openingsBy lists the report's connections by the key that key gives
// each (those it accepts), each list in order of opening.
func openingsBy[K comparable](conns *ConnectionList, key func(c *Connection) (K, bool)) map[K][]opening {
	lists := map[K][]opening{}
	for j := range conns.Len() {
		c := conns.At(j)
		if k, ok := key(&c); ok {
			lists[k] = append(lists[k], opening{c.First, c.Last, j})
		}
	}
	for _, list := range lists {
		slices.SortStableFunc(list, func(x, y opening) int { return x.first.Compare(y.first) })
	}
	return lists
}

// busyBefore reports whether any of the connections opened before (in
// order of opening) was still going at the time when: the client was busy
// with other mail. A look-back that is full and recent counts as busy
// too.
func busyBefore(before []opening, when time.Time) bool {
	if len(before) == busyLookBack && when.Sub(before[0].first) < 10*time.Minute {
		return true
	}
	return slices.ContainsFunc(before, func(o opening) bool { return o.last.After(when) })
}
