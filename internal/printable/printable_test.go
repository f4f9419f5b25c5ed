package printable

import (
	"testing"
	"unicode/utf8"
)

// TestStringEscapesWhatATerminalWouldObey: control characters, C1
// controls, bidirectional formatting characters and bytes that are not
// UTF-8 come out as escapes, other UTF-8
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
		{"RCPT TO:<\u202eevil\u202c@x>", 0, `RCPT TO:<\u202eevil\u202c@x>`}, // Trojan Source reordering
		{"a\u2066b\u2069\u200fc", 0, `a\u2066b\u2069\u200fc`},
	} {
		if got := String(tc.in, tc.max); got != tc.want {
			t.Errorf("String(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// FuzzString: whatever the bytes, the result is UTF-8 with no control
// character or C1 control, and it keeps within max bytes plus the "…".
func FuzzString(f *testing.F) {
	f.Add("RCPT TO:<a@b>\r\n", 10)
	f.Add("\x1b[2J\xc2\x9b\xff", 0)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 200
		got := String(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("String(%q, %d) = %q: not UTF-8", s, max, got)
		}
		for _, r := range got {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) || isBidiControl(r) {
				t.Fatalf("String(%q, %d) = %q holds %U", s, max, got, r)
			}
		}
		if max > 0 && len(got) > max+len("…") {
			t.Fatalf("String(%q, %d) = %q: %d bytes", s, max, got, len(got))
		}
	})
}
