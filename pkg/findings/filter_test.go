package findings

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestFilterForShapes(t *testing.T) {
	many := make([]int, 25)
	for i := range many {
		many[i] = 100 + i
	}
	for _, tc := range []struct {
		stream int
		frames []int
		want   string
	}{
		{3, nil, "tcp.stream eq 3"},
		{0, []int{15}, "tcp.stream eq 0 && frame.number == 15"},
		{7, []int{8, 19}, "tcp.stream eq 7 && (frame.number == 8 || frame.number == 19)"},
	} {
		if got := filterFor(tc.stream, tc.frames); got != tc.want {
			t.Errorf("filterFor(%d, %v) = %q, want %q", tc.stream, tc.frames, got, tc.want)
		}
	}
	got := filterFor(1, many)
	if n := strings.Count(got, "frame.number == "); n != 20 {
		t.Errorf("filterFor with 25 frames names %d of them, want the first 20: %s", n, got)
	}
	if !strings.Contains(got, "frame.number == 119)") || strings.Contains(got, "== 120") {
		t.Errorf("filterFor with 25 frames does not end at the 20th: %s", got)
	}
}

// TestFiltersShowTheFindingsFrames runs the filter of every finding of
// captures with one-frame, several-frame and several-stream findings
// through tshark: the filter must parse, and show exactly the finding's
// frames (or only packets of its streams). tshark is installed by
// .ci/run; without it the oracle cannot be asked.
func TestFiltersShowTheFindingsFrames(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	shapes := map[string]int{}
	for _, name := range []string{"barelf.pcap", "crafted/retry.pcap", "crafted/masked-pix.pcap", "nat/nat-any.pcap"} {
		path := capturePath(name)
		r := analyze(t, path)
		for _, f := range r.Findings.All() {
			var stderr bytes.Buffer
			cmd := exec.Command(tshark, "-r", path, "-n", "-Y", f.Filter, "-T", "fields", "-e", "frame.number", "-e", "tcp.stream")
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("%s: %s: filter %q: tshark: %v: %s", name, f.ID, f.Filter, err, stderr.Bytes())
				continue
			}
			var frames, streams []int
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				fields := strings.Split(sc.Text(), "\t")
				frame, err1 := strconv.Atoi(fields[0])
				stream, err2 := strconv.Atoi(fields[len(fields)-1])
				if len(fields) != 2 || err1 != nil || err2 != nil {
					t.Fatalf("%s: tshark printed %q", name, sc.Text())
				}
				frames, streams = append(frames, frame), append(streams, stream)
			}
			switch {
			case len(f.Streams) > 1:
				shapes["streams"]++
				if len(streams) == 0 {
					t.Errorf("%s: %s: filter %q shows nothing", name, f.ID, f.Filter)
				}
				for _, s := range streams {
					if !slices.Contains(f.Streams, s) {
						t.Errorf("%s: %s: filter %q shows stream %d, not one of %v", name, f.ID, f.Filter, s, f.Streams)
						break
					}
				}
			default:
				want := slices.Clone(f.Frames)
				slices.Sort(want)
				want = slices.Compact(want)
				if len(want) == 1 {
					shapes["one"]++
				} else {
					shapes["several"]++
				}
				if !slices.Equal(frames, want) {
					t.Errorf("%s: %s: filter %q shows frames %v, want %v", name, f.ID, f.Filter, frames, want)
				}
			}
		}
	}
	for _, shape := range []string{"one", "several", "streams"} {
		if shapes[shape] == 0 {
			t.Errorf("no finding with %s frames was checked; the captures above no longer have one", shape)
		}
	}
}
