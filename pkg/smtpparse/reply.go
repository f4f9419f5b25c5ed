package smtpparse

import (
	"strconv"
	"strings"
)

// Problems reported on replies.
const (
	problemMalformedReply = "malformed reply line"
	problemInconsistent   = "inconsistent codes in multi-line reply"
	problemCodeRange      = "reply code out of range"
	problemLongCode       = "reply code longer than three digits"
	problemLongReply      = "reply line longer than 512 octets"
	// ProblemIncompleteReply: the stream ended (or a gap began) before the
	// reply's last line did.
	ProblemIncompleteReply = "incomplete reply"
	// ProblemGreetingCut: a multi-line 220 greeting followed by a line with
	// another code, the reply to a command sent before the greeting ended.
	ProblemGreetingCut    = "greeting cut off by a reply with another code"
	problemTooManyLines   = "too many lines in reply, rest not kept"
	problemLostTerminator = "final reply came while message content was still expected (end of data lost in a gap)"
	problemLenientEnd     = "final reply came after a non-standard end of data: the server ended the message there"
)

// maxReplyLines bounds the lines kept per reply; a server that never ends a
// multi-line reply must not make the parser grow.
const maxReplyLines = 1000

// parseReplyLine splits a reply line (without ending) into code, separator
// and text. A line of just three digits is a last line with empty text.
func parseReplyLine(b []byte) (code int, sep byte, text []byte, ok bool) {
	if len(b) < 3 || !isDigit(b[0]) || !isDigit(b[1]) || !isDigit(b[2]) {
		return 0, 0, nil, false
	}
	code = int(b[0]-'0')*100 + int(b[1]-'0')*10 + int(b[2]-'0')
	if len(b) == 3 {
		return code, ' ', nil, true
	}
	if b[3] != ' ' && b[3] != '-' {
		return 0, 0, nil, false
	}
	return code, b[3], b[4:], true
}

// overlongCode reads a reply line whose code runs on past three digits
// ("22000 mx", "25000-SIZE"): malformed, but still the server's answer,
// so it is taken as a reply with the first three digits for its code
// rather than left to answer nothing and shift every later pairing.
func overlongCode(b []byte) (code int, sep byte, text []byte, ok bool) {
	n := 0
	for n < len(b) && isDigit(b[n]) {
		n++
	}
	if n <= 3 || n > 6 {
		return 0, 0, nil, false
	}
	code = int(b[0]-'0')*100 + int(b[1]-'0')*10 + int(b[2]-'0')
	if n == len(b) {
		return code, ' ', nil, true
	}
	if b[n] != ' ' && b[n] != '-' {
		return 0, 0, nil, false
	}
	return code, b[n], b[n+1:], true
}

// cutReplyStart reports whether b, a line cut short by a gap, is the start
// of a reply line (one to three digits); the code is 0 unless all three
// digits are there.
func cutReplyStart(b []byte) (code int, ok bool) {
	if len(b) == 0 || len(b) > 3 {
		return 0, false
	}
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
	}
	if len(b) == 3 {
		code, _ = strconv.Atoi(string(b))
	}
	return code, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// codeInRange reports whether code is a reply code RFC 5321 section 4.2
// allows: first digit 2-5, second 0-5.
func codeInRange(code int) bool {
	return code >= 200 && code < 600 && (code/10)%10 <= 5
}

// enhancedCode returns the RFC 3463 status code at the start of text
// ("5.7.1"), or "".
func enhancedCode(text []byte) string {
	if len(text) < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.' {
		return ""
	}
	i := 2
	for part := 0; part < 2; part++ {
		n := 0
		for i+n < len(text) && isDigit(text[i+n]) {
			n++
		}
		if n < 1 || n > 3 {
			return ""
		}
		i += n
		if part == 0 {
			if i >= len(text) || text[i] != '.' {
				return ""
			}
			i++
		}
	}
	if i < len(text) && text[i] != ' ' {
		return ""
	}
	return string(text[:i])
}

// extensionsFrom reads what a reply to EHLO advertised.
func extensionsFrom(r *Reply) Extensions {
	var e Extensions
	if r.Code != 250 {
		return e
	}
	e.Offered, e.Cut = true, r.Gap
	e.Keywords = make(map[string]string)
	e.Lines = append([]string(nil), r.Lines...)
	// The first line is the server's name and greeting text, not a keyword.
	for i := 1; i < len(r.Lines); i++ {
		kw, rest, _ := strings.Cut(strings.TrimLeft(r.Lines[i], " "), " ")
		if kw == "" {
			continue
		}
		kw = upperASCII(kw)
		if _, dup := e.Keywords[kw]; !dup {
			e.Keywords[kw] = strings.TrimSpace(rest)
		}
	}
	if v, ok := e.Keywords["SIZE"]; ok {
		first, _, _ := strings.Cut(v, " ")
		if n, err := strconv.ParseInt(first, 10, 64); err == nil && n > 0 {
			e.Size = n
		}
	}
	return e
}
