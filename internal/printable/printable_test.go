package printable

import "testing"

// TestStringEscapesWhatATerminalWouldObey: control characters, C1
// controls and bytes that are not UTF-8 come out as escapes, other UTF-8
// stays, and a cut never splits an escape.
func TestStringEscapesWhatATerminalWouldObey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"MAIL FROM:<a@b>", 60, "MAIL FROM:<a@b>"},
		{"abcdefgh", 4, "abcd…"},
		{"abcdefgh", 0, "abcdefgh"},
		{"RCPT TO:<jörg@exämple.de>", 60, "RCPT TO:<jörg@exämple.de>"},
		{"jörg", 2, "j…"}, // ö is two bytes: it does not fit
		{"\x1b[31mred\x1b[0m", 60, `\x1b[31mred\x1b[0m`},
		{"a\u009b2Jb", 60, `a\u009b2Jb`},
		{"\xb6Zfp\xcf", 0, `\xb6Zfp\xcf`},
		{"a\tb\rc\n\x7f", 60, `a\tb\rc\n\x7f`},
		{"ab\x1bcd", 4, "ab…"},
	} {
		if got := String(tc.in, tc.max); got != tc.want {
			t.Errorf("String(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
