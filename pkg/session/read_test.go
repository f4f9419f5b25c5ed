package session

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

func TestUnansweredSYNsAreGivenUpOn(t *testing.T) {
	server := netip.MustParseAddrPort("192.0.2.25:25")
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		synAck  time.Duration // when the server's answer to stream 0's SYN comes
		emitted string        // stream:packets of each session
		late    int
		kept    string // streams the tracker holds at the end
	}{
		// Stream 0's wait runs from its retransmitted SYN (2 min): it is
		// given up on when stream 2 opens, 3.5 min later, and the answer
		// after that is a late packet.
		{"answer after giving up", 5*time.Minute + 31*time.Second, "[0:2 1:1 2:1]", 1, "[1 2]"},
		// When stream 1 opens, 4 min after stream 0's first SYN but 2 min
		// after its last, it still waits, and the answer is its own.
		{"answer within the wait", 4*time.Minute + time.Second, "[0:3 1:1 2:1]", 0, "[0 1 2]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
			syn := func(client string, at time.Duration, isn uint32) *capgen.Session {
				s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort(client), server, t0.Add(at), isn, 9000)
				s.Emit(true, isn, capgen.SYN, nil)
				return s
			}
			answer := func(s *capgen.Session) {
				s.Now = t0.Add(tc.synAck)
				s.Emit(false, 9000, capgen.SYN|capgen.ACK, nil)
			}
			a := syn("192.0.2.1:40001", 0, 100)
			a.Now = t0.Add(2 * time.Minute)
			a.Emit(true, 100, capgen.SYN, nil) // retransmitted
			syn("192.0.2.2:40002", 4*time.Minute, 200)
			if tc.synAck < 5*time.Minute {
				answer(a)
			}
			syn("192.0.2.3:40003", 5*time.Minute+30*time.Second, 300)
			if tc.synAck > 5*time.Minute {
				answer(a)
			}

			c, err := reassembly.OpenReader("syns.pcap", bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			var emitted []string
			res, err := Read(c, Options{Stream: -1, Selection: Selection{All: true}}, func(s *Session) error {
				emitted = append(emitted, fmt.Sprintf("%d:%d", s.Conn.Stream,
					s.Conn.Packets(reassembly.ClientToServer)+s.Conn.Packets(reassembly.ServerToClient)))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(emitted)
			if fmt.Sprint(emitted) != tc.emitted {
				t.Errorf("sessions emitted (stream:packets) %v, want %v", emitted, tc.emitted)
			}
			if res.Stats.Late != tc.late {
				t.Errorf("late segments %d, want %d", res.Stats.Late, tc.late)
			}
			if n := res.Tracker.Count(); n != 3 {
				t.Errorf("connections counted %d, want 3", n)
			}
			var kept []int
			for _, cn := range res.Tracker.Conns() {
				kept = append(kept, cn.Stream)
			}
			if fmt.Sprint(kept) != tc.kept {
				t.Errorf("connections the tracker still holds %v, want %v", kept, tc.kept)
			}
		})
	}
}
