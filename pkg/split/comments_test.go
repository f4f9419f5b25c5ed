package split

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// TestPacketCommentsTravelIntoTheSplitFiles: the comments a pcapng holds
// on its packets (Wireshark's packet comments) are in the split file, on
// the same packets, also when the packets waited for the selector's
// decision.
func TestPacketCommentsTravelIntoTheSplitFiles(t *testing.T) {
	path := testcaps.Path("commented.pcapng")
	want := "3:[second, longer comment here one more] 10:[why the server said no]"
	comments := func(c *reassembly.Capture) string {
		t.Helper()
		var out []string
		var p reassembly.Packet
		for c.Next(&p) == nil {
			if len(p.Comments) > 0 {
				out = append(out, fmt.Sprintf("%d:%s", p.Frame, p.Comments))
			}
		}
		if errs := c.Errors(); len(errs) > 0 {
			t.Fatal(errs)
		}
		return fmt.Sprint(out)
	}
	in, err := reassembly.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if got := comments(in); got != "["+want+"]" {
		t.Fatalf("the input's comments: %s, want [%s]", got, want)
	}

	for _, wait := range []bool{false, true} {
		c, err := reassembly.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		opts := Options{Dir: dir, Prefix: "commented", Format: reassembly.FormatPcapNG, Inputs: []string{path}}
		if wait { // the first five packets wait, undecided
			opts.Select = func(cn *reassembly.Conn, final bool) Decision {
				if cn.LastFrame < 6 && !final {
					return Undecided
				}
				return Take
			}
		}
		s, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reassembly.Walk(c, reassembly.NewTracker(reassembly.TrackerOptions{}), func(cn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
			return s.Add(cn, p)
		}); err != nil {
			t.Fatal(err)
		}
		files, _, err := s.Finish(nil)
		c.Close()
		if err != nil || len(files) != 1 {
			t.Fatalf("%d files, %v", len(files), err)
		}
		out, err := reassembly.Open(filepath.Join(dir, files[0].Name))
		if err != nil {
			t.Fatal(err)
		}
		if got := comments(out); got != "["+want+"]" {
			t.Errorf("waiting %v: the split file's comments %s, want [%s]", wait, got, want)
		}
		out.Close()
	}
}
