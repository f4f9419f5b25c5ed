package reassembly

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// TestStreamNumbersAgreeWithTshark checks that our stream numbers are
// tshark's tcp.stream for every TCP packet of every capture (the sweeps'
// too, whose dialogues tshark misreads, not their numbering), so that a
// report's "tcp.stream eq N" finds the same connection in Wireshark.
// tshark is installed by .ci/run; without it the oracle cannot be asked.
func TestStreamNumbersAgreeWithTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	for _, path := range testcaps.Every() {
		if testcaps.Broken(path) && !strings.HasSuffix(path, "truncated.pcap") {
			continue
		}
		name, err := filepath.Rel(testcaps.Root(), path)
		if err != nil {
			name = path
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel() // tshark takes most of the time: one per core
			out, err := exec.Command(tshark, "-r", path, "-n", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "icmp.type", "-e", "icmpv6.type").Output()
			if err != nil && len(out) == 0 {
				t.Fatalf("tshark: %v", err)
			}
			want := map[int]int{}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				// Deliberate difference: tshark gives an ICMP error the stream
				// of the TCP header it quotes; smtpcap keeps ICMP out of
				// connections (a split file holds the connection's own packets).
				f := strings.Split(sc.Text(), "\t")
				if len(f) != 4 || f[1] == "" || f[2] != "" || f[3] != "" {
					continue
				}
				frame, _ := strconv.Atoi(f[0])
				stream, _ := strconv.Atoi(f[1])
				want[frame] = stream
			}
			c, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := map[int]int{}
			_, err = Walk(c, NewTracker(TrackerOptions{}), func(cn *Conn, _ *Segment, p *Packet) error {
				got[p.Frame] = cn.Stream
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for frame, ws := range want {
				gs, ok := got[frame]
				if !ok || gs != ws {
					if bad < 5 {
						t.Errorf("frame %d: stream %d (tracked %v), tshark says %d", frame, gs, ok, ws)
					}
					bad++
				}
			}
			for frame := range got {
				if _, ok := want[frame]; !ok {
					t.Errorf("frame %d: we track it, tshark shows no TCP stream", frame)
					break
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d frames disagree", bad, len(want))
			}
		})
	}
}
