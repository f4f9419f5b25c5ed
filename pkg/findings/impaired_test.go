package findings

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/smtpparse"
)

// TestRealTCPRecoveryReassemblesTheSameStreamsOnBothSides: swaks and msmtp
// sending to Exim through 5 % loss, 25 % reordering, 2 % duplication and
// 20 ms ± 5 ms of delay each way (testdata/pcaps/impaired, real Linux TCP
// recovering), captured on the client's side and on the server's at once.
// The two captures hold different packets (what was lost on the way is in
// one and not the other; retransmissions and reorderings differ), yet
// every connection reassembles to the same bytes both ways in each, the
// 190 KB messages arrive whole and dot-stuffed as sent, no gap is claimed,
// and the only finding is the recipient Exim refused.
func TestRealTCPRecoveryReassemblesTheSameStreamsOnBothSides(t *testing.T) {
	streams := map[string][][2][]byte{}
	for _, side := range []string{"srv", "cli"} {
		path := testcaps.Path("impaired/mix-" + side + ".pcap")
		c, err := reassembly.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var got [][2][]byte
		if _, err := session.Read(c, session.Options{Stream: -1, KeepBytes: true}, func(s *session.Session) error {
			if len(s.Dialogue.Gaps) > 0 || s.RawCut != [2]int64{-1, -1} {
				t.Errorf("%s stream %d: gaps %v, cut %v", side, s.Conn.Stream, s.Dialogue.Gaps, s.RawCut)
			}
			for len(got) <= s.Conn.Stream {
				got = append(got, [2][]byte{})
			}
			got[s.Conn.Stream] = [2][]byte{bytes.Clone(s.Raw[smtpparse.ClientToServer]), bytes.Clone(s.Raw[smtpparse.ServerToClient])}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		streams[side] = got

		r := analyze(t, path)
		var found []string
		for _, f := range r.Findings.All() {
			found = append(found, fmt.Sprintf("%s %s stream %d %v: %s", f.Severity, f.ID, f.Stream, f.Frames, f.Summary))
		}
		if r.Findings.Len() != 1 || r.Findings.All()[0].ID != "command-rejected" || r.Findings.All()[0].Stream != 1 ||
			!strings.Contains(r.Findings.All()[0].Summary, "RCPT TO:<nobody@example.test> was rejected: 550 unknown user") {
			t.Errorf("%s: findings\n%s", side, strings.Join(found, "\n"))
		}
		for _, conn := range r.Connections.All() {
			if conn.Transactions != 1 || conn.Delivered != 1 {
				t.Errorf("%s stream %d: %d of %d delivered, Exim took every message", side, conn.Stream, conn.Delivered, conn.Transactions)
			}
		}
	}
	srv, cli := streams["srv"], streams["cli"]
	if len(srv) != 4 || len(cli) != 4 {
		t.Fatalf("%d and %d connections, want 4 in each capture", len(srv), len(cli))
	}
	body := mediumBody()
	for i := range srv {
		for dir := range 2 {
			if !bytes.Equal(srv[i][dir], cli[i][dir]) {
				t.Errorf("stream %d direction %d: %d bytes from the server's side, %d from the client's, or they differ", i, dir, len(srv[i][dir]), len(cli[i][dir]))
			}
		}
		if medium := i == 1 || i == 2; medium != bytes.Contains(srv[i][0], body) {
			t.Errorf("stream %d: the 2800-line message whole and dot-stuffed: %v, want %v", i, !medium, medium)
		}
	}
}

// mediumBody is the body of record.sh's medium message as it goes on the
// wire: its 2800 lines, every 97th starting with a dot, doubled.
func mediumBody() []byte {
	var b bytes.Buffer
	for i := 1; i <= 2800; i++ {
		if i%97 == 0 {
			fmt.Fprintf(&b, "..dot line %06d ..........\r\n", i)
		} else {
			fmt.Fprintf(&b, "line %06d of the body, some filler text to make it longer %08x\r\n", i, uint64(i)*2654435761%4294967296)
		}
	}
	return b.Bytes()
}
