package smtpparse

import (
	"bytes"
	"strings"
)

// Problems reported on commands. They are fixed strings so that callers can
// match them and so that no Sensitive text can leak into them.
const (
	problemEmptyLine   = "empty line"
	problemUnknownVerb = "unknown verb"
	problemMaskedVerb  = "verb masked by a firewall (all X)"
	problemLongCommand = "line longer than 512 octets"
	problemNotKept     = "line too long to keep whole (only its start is shown)"
	// ProblemNonASCII: bytes above 127 where SMTP allows none.
	ProblemNonASCII       = "non-ASCII bytes"
	problemUTF8NoParam    = "a UTF-8 address without SMTPUTF8 on MAIL FROM, though the server offers it (RFC 6531)"
	problemUTF8NotOffered = "a UTF-8 address with SMTPUTF8 on MAIL FROM, though the server does not offer SMTPUTF8 (RFC 6531)"
	problemControl        = "control characters"
	problemBareLF         = "bare LF line ending"
	problemBareCR         = "bare CR in line"
	// ProblemNoEnding: the stream ended in the middle of the command line.
	ProblemNoEnding    = "no line ending (stream ended)"
	problemGapCut      = "cut by a capture gap"
	problemTLSCut      = "cut by the switch to TLS"
	problemAnsweredCut = "no line ending: the server answered the line before it ended"
	// ProblemBeforeGreeting: the client spoke before the server's banner
	// (allowed only under early pipelining, PIPECONNECT).
	ProblemBeforeGreeting = "sent before greeting"
	problemNoPathMail     = "no path in MAIL FROM"
	problemNoPathRcpt     = "no path in RCPT TO"
	problemMailNoFrom     = "MAIL without FROM:"
	problemRcptNoTo       = "RCPT without TO:"
	// ProblemSpaceAfterColon: "MAIL FROM: <a@b>", against RFC 5321 but
	// accepted by nearly every server.
	ProblemSpaceAfterColon = "space after colon"
	// ProblemParamTwice: an ESMTP parameter given twice on one command
	// (Python's smtplib repeats SMTPUTF8); servers take the last.
	ProblemParamTwice       = "a parameter given twice"
	problemNoBrackets       = "path without angle brackets"
	problemUnterminatedPath = "path without closing >"
	problemJunkAfterPath    = "junk after path"
	problemNoDomain         = "no domain after EHLO/HELO"
	problemUnexpectedArgs   = "unexpected arguments"
	problemBDATSize         = "BDAT size is not a number"
	problemBDATHuge         = "BDAT size is too large for any chunk"
	problemBDATJunk         = "junk after BDAT size"
	problemEarlyContent     = "message content sent before the 354 reply"
	problemAssumed354       = "reply not seen: 354 assumed"
	problemAssumedAuth      = "reply not seen: AUTH outcome guessed from the next line"
)

// IsGuess reports whether a problem records a guess the parser made (a
// reply it never saw and assumed, where it placed an end of data lost in a
// gap or ended leniently) rather than a fault in the peer's bytes.
func IsGuess(problem string) bool {
	switch problem {
	case problemAssumed354, problemAssumedAuth, problemLostTerminator, problemLenientEnd:
		return true
	}
	return false
}

// maxCommandOctets is RFC 5321's limit for a command line, CRLF included.
const maxCommandOctets = 512

func addProblem(list *[]string, p string) {
	for _, q := range *list {
		if q == p {
			return
		}
	}
	*list = append(*list, p)
}

// VerbAnonymousTLS is Microsoft Exchange's STARTTLS between the servers
// of one organisation (offered as the EHLO keyword X-ANONYMOUSTLS): after
// its 220 both sides start TLS, as after STARTTLS.
const VerbAnonymousTLS = "X-ANONYMOUSTLS"

// StartsTLS reports whether the command asks to start TLS: STARTTLS, or
// Exchange's X-ANONYMOUSTLS.
func (c *Command) StartsTLS() bool {
	return c != nil && (c.Verb == "STARTTLS" || c.Verb == VerbAnonymousTLS)
}

// knownVerb returns the canonical spelling of an SMTP verb, so that the
// common case costs no allocation, or "" when v is not one.
func knownVerb(v string) string {
	if len(v) < 4 || len(v) > len(VerbAnonymousTLS) {
		return ""
	}
	for _, k := range [...]string{
		"HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT",
		"VRFY", "EXPN", "HELP", "STARTTLS", "AUTH", "ETRN", "TURN", "ATRN",
		"BURL", "XCLIENT", "XFORWARD", VerbAnonymousTLS,
	} {
		if strings.EqualFold(v, k) {
			return k
		}
	}
	return ""
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func allX(v string) bool {
	if len(v) < 2 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] != 'X' {
			return false
		}
	}
	return true
}

// lineProblems notes what is wrong with a line as a line, whatever it says.
func lineProblems(list *[]string, l *lineReader, limit int64) {
	if l.ended && !l.crlf {
		addProblem(list, problemBareLF)
	}
	if l.bareCR {
		addProblem(list, problemBareCR)
	}
	if l.high {
		addProblem(list, ProblemNonASCII)
	}
	if l.ctl {
		addProblem(list, problemControl)
	}
	if limit > 0 && l.n > limit {
		addProblem(list, problemLongCommand)
	}
}

// parseCommand fills Verb, Args and the verb-specific fields of c from the
// line's content (line ending removed).
func parseCommand(c *Command, content []byte) {
	s := string(content)
	// Servers take a tab between the verb and its arguments as a space
	// (Postfix, Exim): so must the parser, or AUTH<TAB>PLAIN would not be
	// known for what it carries.
	verb := s
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		verb, c.Args = s[:i], s[i+1:]
	}
	if k := knownVerb(verb); k != "" {
		c.Verb, c.Known = k, true
	} else {
		c.Verb = upperASCII(verb)
		// A fixup writes capital X's; a line of small x's (a message line
		// read as a command, a redaction) is no sign of one.
		c.Masked = allX(verb)
	}
	switch {
	case s == "":
		addProblem(&c.Problems, problemEmptyLine)
	case c.Masked:
		addProblem(&c.Problems, problemMaskedVerb)
		// A PIX rewrites the verb but leaves the arguments, which still
		// say what the client tried to do.
		if hasPrefixFold(c.Args, "FROM:") {
			parseAddressArgs(c, "FROM:", "", "")
		} else if hasPrefixFold(c.Args, "TO:") {
			parseAddressArgs(c, "TO:", "", "")
		} else if mech, _ := authArgs(c.Args); len(c.Verb) == len("AUTH") && isSASLMechanism(mech) {
			// A masked AUTH still carries its credentials.
			c.Sensitive, c.Mechanism = true, upperASCII(mech)
		}
	case !c.Known:
		addProblem(&c.Problems, problemUnknownVerb)
	}
	switch c.Verb {
	case "MAIL":
		parseAddressArgs(c, "FROM:", problemNoPathMail, problemMailNoFrom)
	case "RCPT":
		parseAddressArgs(c, "TO:", problemNoPathRcpt, problemRcptNoTo)
	case "EHLO", "HELO", "LHLO":
		if strings.TrimSpace(c.Args) == "" {
			addProblem(&c.Problems, problemNoDomain)
		}
	case "DATA", "RSET", "QUIT", "STARTTLS", VerbAnonymousTLS:
		if c.Args != "" {
			addProblem(&c.Problems, problemUnexpectedArgs)
		}
	case "AUTH":
		// The initial response is a credential; only the mechanism name
		// is safe to show. Without one the line holds nothing secret.
		mech, response := authArgs(c.Args)
		c.Mechanism = upperASCII(mech)
		c.Sensitive = response != ""
	case "BDAT":
		parseBDAT(c)
	}
}

// authArgs splits AUTH's arguments into the mechanism and what follows
// it, after a space or a tab: the initial response, a credential.
func authArgs(args string) (mech, response string) {
	args = strings.TrimLeft(args, " \t")
	mech = args
	if i := strings.IndexAny(args, " \t"); i >= 0 {
		mech = args[:i]
	}
	return mech, strings.TrimSpace(args[len(mech):])
}

// isSASLMechanism reports whether name is a SASL mechanism a mail client
// uses (RFC 4954; the IANA registry's common ones).
func isSASLMechanism(name string) bool {
	switch upperASCII(name) {
	case "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "NTLM", "GSSAPI", "XOAUTH2", "XOAUTH", "OAUTHBEARER",
		"EXTERNAL", "ANONYMOUS", "GS2-KRB5", "SRP":
		return true
	}
	return strings.HasPrefix(upperASCII(name), "SCRAM-")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseAddressArgs parses "FROM:<path> params" / "TO:<path> params".
// forgetLastParam drops the parameter that c's arguments, read only in
// part, end with: its value may have gone on past what was read
// (SIZE=1234 of SIZE=123456).
func forgetLastParam(c *Command) {
	if len(c.Params) == 0 {
		return
	}
	last := c.Args[strings.LastIndexByte(c.Args, ' ')+1:]
	key, _, _ := strings.Cut(last, "=")
	delete(c.Params, upperASCII(key))
	if len(c.Params) == 0 {
		c.Params = nil
	}
}

// Empty problem strings mean: do not report (masked commands).
func parseAddressArgs(c *Command, prefix, noPath, noPrefix string) {
	a := c.Args
	if !hasPrefixFold(a, prefix) {
		if noPrefix != "" {
			addProblem(&c.Problems, noPrefix)
		}
		return
	}
	rest := a[len(prefix):]
	if trimmed := strings.TrimLeft(rest, " "); len(trimmed) != len(rest) {
		// RFC 5321 has no space here, but many servers accept it.
		addProblem(&c.Problems, ProblemSpaceAfterColon)
		rest = trimmed
	}
	if rest == "" {
		if noPath != "" {
			addProblem(&c.Problems, noPath)
		}
		return
	}
	var tail string
	if rest[0] == '<' {
		end := closingAngle(rest)
		if end < 0 {
			addProblem(&c.Problems, problemUnterminatedPath)
			c.Path, tail, _ = strings.Cut(rest[1:], " ")
		} else {
			c.Path, tail = rest[1:end], rest[end+1:]
			if tail != "" && tail[0] != ' ' {
				// "<a@b>junk": the junk is no parameter.
				addProblem(&c.Problems, problemJunkAfterPath)
				_, tail, _ = strings.Cut(tail, " ")
			}
		}
	} else {
		word, after, _ := strings.Cut(rest, " ")
		if strings.Contains(word, "=") && !strings.Contains(word, "@") {
			// "MAIL FROM: SIZE=12345": the path is missing, what is
			// there is a parameter.
			if noPath != "" {
				addProblem(&c.Problems, noPath)
			}
			tail = rest
		} else {
			c.Path, tail = word, after
			addProblem(&c.Problems, problemNoBrackets)
		}
	}
	var twice bool
	c.Params, twice = parseParams(tail)
	if twice {
		addProblem(&c.Problems, ProblemParamTwice)
	}
}

// closingAngle returns the index of the '>' that closes the path starting
// at s[0] == '<', skipping quoted strings and quoted pairs in the local part.
func closingAngle(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case '>':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

func parseParams(s string) (m map[string]string, twice bool) {
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		if k == "" {
			continue
		}
		if m == nil {
			m = make(map[string]string)
		}
		k = upperASCII(k)
		_, seen := m[k]
		twice = twice || seen
		m[k] = v
	}
	return m, twice
}

// bdatSize returns the chunk size of a BDAT command and whether it is the
// last chunk; size is -1 when the argument is not a number, or one too
// large for any chunk (huge). junk says more follows than LAST.
func bdatSize(args string) (size int64, last, junk, huge bool) {
	f := strings.Fields(args)
	last = len(f) >= 2 && strings.EqualFold(f[1], "LAST")
	junk = len(f) > 2 || (len(f) == 2 && !last)
	if len(f) == 0 {
		return -1, last, junk, false
	}
	for i := 0; i < len(f[0]); i++ {
		if c := f[0][i]; c < '0' || c > '9' {
			return -1, last, junk, false
		}
	}
	if len(f[0]) > 18 {
		return -1, last, junk, true
	}
	for i := 0; i < len(f[0]); i++ {
		size = size*10 + int64(f[0][i]-'0')
	}
	return size, last, junk, false
}

func parseBDAT(c *Command) {
	size, last, junk, huge := bdatSize(c.Args)
	switch {
	case huge:
		addProblem(&c.Problems, problemBDATHuge)
	case size < 0:
		addProblem(&c.Problems, problemBDATSize)
	}
	if junk {
		addProblem(&c.Problems, problemBDATJunk)
	}
	if last {
		c.Params = map[string]string{"LAST": ""}
	}
}

// looksLikeCommandLine reports whether b, the start of a line, reads as a
// command an SMTP server would act on. It is stricter than parseCommand: it
// decides where to resynchronise and whether bytes after a lenient end of
// data would smuggle a command, so ordinary text must not pass. When cut is
// true, b may stop before the end of the line.
func looksLikeCommandLine(b []byte, cut bool) bool {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		cut = false
	}
	// Resynchronisation asks this of every line of a message it skips:
	// the verb is cut out of the bytes, and only it is made a string
	// (at most 8 bytes, on the stack).
	verb, args, spaced := bytes.Cut(b, []byte{' '})
	if len(verb) < 4 || len(verb) > 8 {
		return false
	}
	switch knownVerb(string(verb)) {
	case "MAIL":
		return hasPrefixFoldBytes(args, "FROM:")
	case "RCPT":
		return hasPrefixFoldBytes(args, "TO:")
	case "DATA", "RSET", "QUIT", "STARTTLS", "TURN", VerbAnonymousTLS:
		return !spaced
	case "NOOP", "HELP":
		return true
	case "EHLO", "HELO", "LHLO", "VRFY", "EXPN", "ETRN", "ATRN", "BURL", "XCLIENT", "XFORWARD":
		return spaced && len(bytes.TrimSpace(args)) > 0 || cut && !spaced
	case "BDAT":
		return spaced && len(args) > 0 && args[0] >= '0' && args[0] <= '9' || cut && !spaced
	case "AUTH":
		return spaced && len(args) > 0 && isAlpha(args[0]) || cut && !spaced
	}
	return false
}

func hasPrefixFoldBytes(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

func isAlpha(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }
