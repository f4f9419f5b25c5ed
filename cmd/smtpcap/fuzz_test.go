package main

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
)

// FuzzCommandsNeverPanic feeds arbitrary bytes as a capture on standard
// input to analyze (every output format), follow, streams and split:
// whatever the input, each exits 0, 1 or 2 and never panics, and split
// leaves no .part file behind.
func FuzzCommandsNeverPanic(f *testing.F) {
	for _, fx := range capgen.Fixtures() {
		f.Add(capgen.BuildFixture(fx))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for _, args := range [][]string{
			{"analyze", "--all", "--format", "json", "-"},
			{"analyze", "--all", "--format", "markdown", "-"},
			{"analyze", "--all", "-"},
			{"follow", "--all", "-s", "0", "-"},
			{"follow", "--all", "-s", "0", "--full", "-"},
			{"streams", "--all", "-"},
			{"split", "--all", "--max-open", "2", "-o", dir, "--force", "-"},
		} {
			code := run(append([]string{"smtpcap"}, args...), bytes.NewReader(data), io.Discard, io.Discard)
			if code < 0 || code > 2 {
				t.Fatalf("%v: exit %d", args, code)
			}
		}
		if parts, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(parts) > 0 {
			t.Fatalf("split left %v", parts)
		}
	})
}
