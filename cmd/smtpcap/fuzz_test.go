package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// FuzzCommandsNeverPanic feeds arbitrary bytes as a capture on standard
// input to analyze (every output format), follow and streams: whatever the
// input, each exits 0, 1 or 2 and never panics.
func FuzzCommandsNeverPanic(f *testing.F) {
	for _, fx := range capgen.Fixtures() {
		f.Add(capgen.BuildFixture(fx))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, args := range [][]string{
			{"analyze", "--all", "--format", "json", "-"},
			{"analyze", "--all", "--format", "markdown", "-"},
			{"analyze", "--all", "-"},
			{"follow", "--all", "-s", "0", "-"},
			{"follow", "--all", "-s", "0", "--full", "-"},
			{"streams", "--all", "-"},
		} {
			code := run(append([]string{"smtpcap"}, args...), bytes.NewReader(data), io.Discard, io.Discard)
			if code < 0 || code > 2 {
				t.Fatalf("%v: exit %d", args, code)
			}
		}
	})
}
