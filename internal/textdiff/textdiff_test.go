package textdiff

import "testing"

func TestFirstLine(t *testing.T) {
	for _, c := range []struct{ want, got, diff string }{
		{"a\nb\n", "a\nb\n", ""},
		{"a\nb\n", "a\nc\n", "line 2:\n want \"b\"\n got  \"c\""},
		{"a\n", "a\nmore", "line 2:\n want \"\"\n got  \"more\""},
	} {
		if d := FirstLine(c.want, c.got); d != c.diff {
			t.Errorf("FirstLine(%q, %q) = %q, want %q", c.want, c.got, d, c.diff)
		}
	}
}
