// Package textdiff tells where two texts first differ, for tests that
// compare output with a golden file or one run with another. It imports
// only the standard library, so any package's tests may use it.
package textdiff

import (
	"fmt"
	"strings"
)

// FirstLine returns the first line at which got differs from want, as
// "line N:" followed by both lines quoted, or "" if the texts are equal.
func FirstLine(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n want %q\n got  %q", i+1, a, b)
		}
	}
	return ""
}
