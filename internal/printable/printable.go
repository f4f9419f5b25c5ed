// Package printable turns bytes from the wire into text that is safe to
// show on a terminal: whatever a capture holds, a report never sends a
// control character, a C1 control (U+009B starts an escape sequence on
// many terminals) or a byte that is not UTF-8 to the screen.
package printable

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// String returns s with CR, LF and tab written as \r, \n and \t, other
// control characters and bytes that are not UTF-8 as \xNN, and C1 controls
// and bidirectional formatting characters (which reorder what a terminal
// shows, "Trojan Source") as \uNNNN; other UTF-8 (international addresses,
// say) stays as it is.
// When max > 0 the result is cut to at most max bytes, never inside an
// escape, and "…" marks the cut.
func String(s string, max int) string {
	plain := max <= 0 || len(s) <= max
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		switch {
		case r == utf8.RuneError && size == 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case r == '\r':
			piece = `\r`
		case r == '\n':
			piece = `\n`
		case r == '\t':
			piece = `\t`
		case r < 0x20 || r == 0x7f:
			piece = fmt.Sprintf(`\x%02x`, r)
		case r >= 0x80 && r < 0xa0, isBidiControl(r):
			piece = fmt.Sprintf(`\u%04x`, r)
		}
		if max > 0 && b.Len()+len(piece) > max {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}

// isBidiControl reports whether r is an explicit bidirectional formatting
// character: the embeddings, overrides and isolates of Unicode's UAX #9,
// the marks LRM, RLM and ALM.
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return r == 0x200e || r == 0x200f || r == 0x061c
}
