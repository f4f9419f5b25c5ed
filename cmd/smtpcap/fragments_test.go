package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// streamCounts runs streams --format json and returns, per stream, the
// packets and payload bytes each way.
func streamCounts(t *testing.T, path string) [][4]int64 {
	t.Helper()
	code, out, errOut := runCLI(t, nil, "streams", "--format", "json", path)
	if code != 0 {
		t.Fatalf("streams: exit %d: %s", code, errOut)
	}
	var rows []streamRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	var counts [][4]int64
	for _, r := range rows {
		counts = append(counts, [4]int64{int64(r.ClientPackets), r.ClientBytes, int64(r.ServerPackets), r.ServerBytes})
	}
	return counts
}

// A router fragmented the client's datagrams (real Postfix and swaks,
// testdata/pcaps/fragments): smtpcap reassembles them as tshark does and
// sees the same three deliveries as a capture on the client's own link,
// where the datagrams were whole.
func TestRouterFragmentsAreReassembled(t *testing.T) {
	fragmented := testcaps.Path("fragments/frag-postfix.pcap")
	whole := testcaps.Path("fragments/frag-postfix-client.pcap")

	// Packets and bytes each way, as tshark counts tcp.len per tcp.stream.
	want := [][4]int64{{13, 4392, 11, 304}, {10, 3480, 10, 332}, {24, 20674, 14, 304}}
	if got := streamCounts(t, fragmented); !slices.Equal(got, want) {
		t.Errorf("fragmented capture: streams %v, want %v", got, want)
	}
	if got := streamCounts(t, whole); !slices.Equal(got, want) {
		t.Errorf("client-side capture: streams %v, want %v", got, want)
	}

	code, out, errOut := runCLI(t, nil, "analyze", "--format", "json", fragmented)
	var r struct {
		Findings    []map[string]any `json:"findings"`
		Warnings    []string         `json:"warnings"`
		Connections []struct {
			Delivered int `json:"delivered"`
		} `json:"connections"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("analyze: exit %d, %v: %s", code, err, errOut)
	}
	if code != 0 || len(r.Findings) != 0 || len(r.Warnings) != 0 || errOut != "" {
		t.Errorf("analyze: exit %d, findings %v, warnings %q, stderr %q; want a clean report", code, r.Findings, r.Warnings, errOut)
	}

	// The end of data is in frame 23, where its datagram's third fragment
	// completed it (tshark: "Reassembled IPv4 in frame 23").
	code, out, _ = runCLI(t, nil, "follow", "-s", "0", fragmented)
	if code != 0 || !strings.Contains(out, "C  [23]           +0.014s  .\\r\\n\n") || !strings.Contains(out, "S  [25]") {
		t.Errorf("follow: exit %d, want the final dot in frame 23 and the 250 in 25:\n%s", code, out)
	}

	// split writes every fragment with its connection: frames 15 to 23
	// carry stream 0's message, and only 17, 20 and 23 have a TCP header.
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, nil, "split", "-o", dir, fragmented); code != 0 {
		t.Fatalf("split: exit %d: %s", code, errOut)
	}
	idx := readIndex(t, filepath.Join(dir, "frag-postfix.index.json"))
	if len(idx.Files) != 3 {
		t.Fatalf("split wrote %d files, want 3", len(idx.Files))
	}
	var frames []int
	for f := 1; f <= 30; f++ {
		frames = append(frames, f)
	}
	if got := idx.Files[0].Frames; !slices.Equal(got, frames) {
		t.Errorf("stream 0's file has frames %v, want 1 to 30", got)
	}
	if got := streamCounts(t, filepath.Join(dir, idx.Files[0].Name)); !slices.Equal(got, want[:1]) {
		t.Errorf("stream 0's file: streams %v, want %v", got, want[:1])
	}
}
