package capgen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"
)

// GatewayOptions shapes a large, realistic capture of a mail gateway.
type GatewayOptions struct {
	Seed        uint64 // same seed, same capture
	TargetBytes int64  // stop starting sessions once this many bytes are written
	Concurrency int    // connections open at once
	Clients     int    // distinct client addresses
	MaxBody     int    // largest message body in bytes
	NonSMTP     int    // percent of connections that are not SMTP (port 443 noise)
}

// script is a connection and the steps it has still to write.
type script struct {
	s     *Session
	steps []func(*Session)
}

// Gateway writes interleaved SMTP sessions of varied shape — plain,
// pipelined, multi-segment bodies, BDAT, STARTTLS, rejected recipients, a
// few anomalies (bare-LF body, masked command) — plus non-SMTP noise, with
// Concurrency connections open at once, until TargetBytes are written.
// It returns the number of connections and packets written.
func Gateway(w *Writer, size *int64, opts GatewayOptions) (conns, packets int) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1000
	}
	if opts.Clients <= 0 {
		opts.Clients = 5000
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 256 << 10
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5eed))
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	server := netip.MustParseAddr("198.51.100.25")
	var active []*script
	nextPort := map[int]uint16{}
	start := func() {
		ci := rng.IntN(opts.Clients)
		addr := netip.AddrFrom4([4]byte{10, byte(ci >> 16), byte(ci >> 8), byte(ci)})
		port := nextPort[ci]
		if port == 0 {
			port = 32768 + uint16(rng.IntN(20000))
		}
		nextPort[ci] = port + 1
		srvPort := uint16(25)
		nonSMTP := rng.IntN(100) < opts.NonSMTP
		if nonSMTP {
			srvPort = 443
		}
		s := NewSession(w, LinkEthernet, netip.AddrPortFrom(addr, port), netip.AddrPortFrom(server, srvPort), now, rng.Uint32(), rng.Uint32())
		s.Step = 0
		s.AckEvery = 2
		var steps []func(*Session)
		if nonSMTP {
			steps = noiseSteps(rng)
		} else {
			steps = smtpSteps(rng, conns, opts.MaxBody)
		}
		active = append(active, &script{s: s, steps: steps})
		conns++
	}
	for {
		for len(active) < opts.Concurrency && *size < opts.TargetBytes {
			start()
		}
		if len(active) == 0 {
			return conns, packets
		}
		i := rng.IntN(len(active))
		sc := active[i]
		now = now.Add(time.Duration(rng.IntN(200)) * time.Microsecond)
		sc.s.Now = now
		before := sc.s.ipid
		sc.steps[0](sc.s)
		packets += int(sc.s.ipid[0]-before[0]) + int(sc.s.ipid[1]-before[1])
		sc.steps = sc.steps[1:]
		if len(sc.steps) == 0 {
			active[i] = active[len(active)-1]
			active = active[:len(active)-1]
		}
	}
}

// GatewayCapture builds a gateway capture in memory: the pcap file's bytes.
// Tests use it for captures of many interleaved connections.
func GatewayCapture(opts GatewayOptions) []byte {
	var buf bytes.Buffer
	var size int64
	Gateway(NewGatewayWriter(&buf, &size), &size, opts)
	return buf.Bytes()
}

// NewGatewayWriter returns a pcap writer that counts its bytes into size.
func NewGatewayWriter(out interface{ Write([]byte) (int, error) }, size *int64) *Writer {
	return NewWriter(&sizeWriter{out, size}, Format{}, LinkEthernet)
}

type sizeWriter struct {
	w interface{ Write([]byte) (int, error) }
	n *int64
}

// Write writes b and counts it.
func (s *sizeWriter) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	*s.n += int64(n)
	return n, err
}

func noiseSteps(rng *rand.Rand) []func(*Session) {
	steps := []func(*Session){func(s *Session) { s.Handshake() }}
	for i := rng.IntN(6) + 1; i > 0; i-- {
		n := rng.IntN(4000) + 100
		steps = append(steps, func(s *Session) {
			b := make([]byte, n)
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			s.Send(i%2 == 0, b, segments(n)...)
			s.Ack(i%2 != 0)
		})
	}
	return append(steps, func(s *Session) { s.Close() })
}

// segments cuts n bytes into MSS-sized segments.
func segments(n int) []int {
	var out []int
	for ; n > 1448; n -= 1448 {
		out = append(out, 1448)
	}
	return out
}

func body(rng *rand.Rand, id, maxBody int, bareLF bool) string {
	n := 200 + rng.IntN(max(1, rng.IntN(maxBody)))
	var b strings.Builder
	fmt.Fprintf(&b, "From: sender%d@example.org\r\nTo: user@example.test\r\nMessage-ID: <%d@gen.example.org>\r\nSubject: message %d\r\n\r\n", id, id, id)
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	if bareLF {
		b.WriteString("%%EOF\n")
	}
	return b.String()
}

func smtpSteps(rng *rand.Rand, id, maxBody int) []func(*Session) {
	from := fmt.Sprintf("sender%d@example.org", id%977)
	rcpt := fmt.Sprintf("user%d@example.test", id%1311)
	kind := rng.IntN(100)
	steps := []func(*Session){
		func(s *Session) { s.Handshake() },
		func(s *Session) { s.Server("220 mx.example.test ESMTP\r\n") },
		func(s *Session) { s.Client("EHLO client.example.org\r\n") },
		func(s *Session) {
			s.Server("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-CHUNKING\r\n250 STARTTLS\r\n")
		},
	}
	switch {
	case kind < 8: // STARTTLS, then opaque TLS records
		steps = append(steps,
			func(s *Session) { s.Client("STARTTLS\r\n") },
			func(s *Session) { s.Server("220 2.0.0 Ready to start TLS\r\n") },
		)
		for i := rng.IntN(8) + 2; i > 0; i-- {
			n := rng.IntN(3000) + 50
			steps = append(steps, func(s *Session) {
				b := make([]byte, n)
				// One application data record of n bytes, header included.
				b[0], b[1], b[2], b[3], b[4] = 0x17, 0x03, 0x03, byte((n-5)>>8), byte(n-5)
				s.Send(i%2 == 0, b, segments(n)...)
				s.Ack(i%2 != 0)
			})
		}
		return append(steps, func(s *Session) { s.Close() })
	case kind < 40: // pipelined envelope
		steps = append(steps,
			func(s *Session) { s.Client("MAIL FROM:<" + from + ">\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n") },
			func(s *Session) { s.Server("250 OK\r\n250 Accepted\r\n354 Go ahead\r\n") },
		)
	case kind < 55: // BDAT
		msg := body(rng, id, maxBody, false)
		steps = append(steps,
			func(s *Session) { s.Client("MAIL FROM:<" + from + ">\r\n") },
			func(s *Session) { s.Server("250 OK\r\n") },
			func(s *Session) { s.Client("RCPT TO:<" + rcpt + ">\r\n") },
			func(s *Session) { s.Server("250 Accepted\r\n") },
			func(s *Session) {
				chunk := fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg)
				s.Send(true, []byte(chunk), segments(len(chunk))...)
				s.Ack(false)
			},
			func(s *Session) { s.Server("250 OK chunked\r\n") },
			func(s *Session) { s.Client("QUIT\r\n") },
			func(s *Session) { s.Server("221 bye\r\n") },
			func(s *Session) { s.Close() },
		)
		return steps
	default:
		steps = append(steps,
			func(s *Session) { s.Client("MAIL FROM:<" + from + ">\r\n") },
			func(s *Session) { s.Server("250 OK\r\n") },
		)
		if kind < 62 {
			steps = append(steps,
				func(s *Session) { s.Client("RCPT TO:<nobody@example.test>\r\n") },
				func(s *Session) { s.Server("550 5.1.1 No such user\r\n") },
			)
		}
		masked := kind >= 97
		steps = append(steps,
			func(s *Session) {
				if masked {
					s.Client("XXXX TO:<" + rcpt + ">\r\n")
				} else {
					s.Client("RCPT TO:<" + rcpt + ">\r\n")
				}
			},
			func(s *Session) {
				if masked {
					s.Server("500 unrecognized command\r\n")
				} else {
					s.Server("250 Accepted\r\n")
				}
			},
			func(s *Session) { s.Client("DATA\r\n") },
			func(s *Session) { s.Server("354 Enter message\r\n") },
		)
	}
	bareLF := kind >= 95 && kind < 97
	msg := body(rng, id, maxBody, bareLF) + ".\r\n"
	steps = append(steps, func(s *Session) {
		s.Send(true, []byte(msg), segments(len(msg))...)
		s.Ack(false)
	})
	if bareLF {
		// The server never sees <CRLF>.<CRLF>: it waits, the client gives up.
		return append(steps, func(s *Session) { s.Reset(true) })
	}
	return append(steps,
		func(s *Session) { s.Server("250 OK queued\r\n") },
		func(s *Session) { s.Client("QUIT\r\n") },
		func(s *Session) { s.Server("221 bye\r\n") },
		func(s *Session) { s.Close() },
	)
}
