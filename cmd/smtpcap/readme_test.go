package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/internal/textdiff"
)

// TestReadmeExamplesAreWhatTheToolPrints runs every "$ smtpcap …" example
// of the README, from a directory where testdata/ is the repository's,
// and compares what it prints (standard output, then standard error) with
// the lines shown under it. A line in parentheses stands for output the
// README leaves out: the shown lines must then appear in that order.
func TestReadmeExamplesAreWhatTheToolPrints(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(testcaps.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(testcaps.Root(), "testdata"), filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	examples := 0
	for _, block := range strings.Split(string(readme), "```")[1:] {
		command, shown, ok := strings.Cut(strings.TrimPrefix(block, "\n"), "\n")
		args, isExample := strings.CutPrefix(command, "$ smtpcap ")
		if !ok || !isExample {
			continue
		}
		examples++
		t.Run(args, func(t *testing.T) {
			_, out, errOut := runCLI(t, nil, strings.Fields(args)...)
			got := out + errOut
			var want, cut []string
			for _, line := range strings.Split(strings.TrimSuffix(shown, "\n"), "\n") {
				if strings.HasPrefix(line, "(") && strings.HasSuffix(line, ")") {
					cut = append(cut, line)
					continue
				}
				want = append(want, line)
			}
			if len(cut) == 0 {
				if d := textdiff.FirstLine(strings.Join(want, "\n")+"\n", got); d != "" {
					t.Errorf("the README shows other output: %s", d)
				}
				return
			}
			rest := got
			for _, line := range want {
				i := strings.Index(rest, line+"\n")
				if i < 0 {
					t.Fatalf("README line %q is not in the output (after the lines before it):\n%s", line, got)
				}
				rest = rest[i+len(line)+1:]
			}
		})
	}
	if examples < 4 {
		t.Errorf("%d README examples found; the parser of this test is out of step with the README", examples)
	}
}
