// Package smtpparse turns the two byte streams of one TCP connection into an
// SMTP Dialogue whose every element knows its byte span in its stream.
//
// The package knows SMTP, not pcap or TCP: a caller delivers in-order bytes
// (and holes) per direction with Parser.Write and Parser.Gap, and maps the
// returned spans back to frames itself.
//
// Garbage is evidence, not an error. Masked commands from firewalls, malformed
// replies, lines before the greeting and binary bytes are kept as they are,
// with their spans, and parsing goes on. Message content is checked against
// the strict RFC 5321 end of data (<CRLF>.<CRLF>), and every place where a
// lenient receiver would have stopped instead is reported (SMTP smuggling).
//
// Everything is streaming: bytes may arrive in pieces of any size, and the
// memory a Parser keeps is bounded by its Options whatever the input.
package smtpparse

import (
	"strconv"
	"strings"
	"time"
)

// Direction says which peer sent a stream.
type Direction uint8

const (
	// ClientToServer is the stream the SMTP client sent.
	ClientToServer Direction = iota
	// ServerToClient is the stream the SMTP server sent.
	ServerToClient
)

// String returns "client" or "server".
func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "client"
	case ServerToClient:
		return "server"
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

// Span is the half-open byte range [Start, End) in one direction's stream.
type Span struct {
	Dir        Direction // the stream the offsets are in
	Start, End int64     // stream offsets; End is exclusive
}

// Len returns the number of bytes in the span.
func (s Span) Len() int64 { return s.End - s.Start }

// LineEnding says how a command or reply line ended.
type LineEnding uint8

const (
	// LineEndingCRLF is the only ending RFC 5321 allows.
	LineEndingCRLF LineEnding = iota
	// LineEndingLF is a bare LF.
	LineEndingLF
	// LineEndingCR is a CR that was the last byte before the stream ended or
	// a gap began; a CR inside a line never ends it.
	LineEndingCR
	// LineEndingNone means the stream ended (or a gap began) mid-line.
	LineEndingNone
)

// String returns "CRLF", "LF", "CR" or "none".
func (e LineEnding) String() string {
	switch e {
	case LineEndingCRLF:
		return "CRLF"
	case LineEndingLF:
		return "LF"
	case LineEndingCR:
		return "CR"
	case LineEndingNone:
		return "none"
	}
	return "lineending(" + strconv.Itoa(int(e)) + ")"
}

// Dialogue is everything the parser learnt from one connection.
type Dialogue struct {
	Greeting     *Reply         // first server reply when it came before any command was answered (any code; 554 greetings exist)
	Commands     []*Command     // every client line parsed in command mode, in stream order, including garbage/masked ones
	Replies      []*Reply       // every server reply in stream order (greeting included)
	Transactions []*Transaction // MAIL … RCPT … DATA/BDAT … final reply, in order; also incomplete ones (lost mid-way)
	Hello        *Command       // the last EHLO/HELO (LHLO in LMTP)
	Extensions   Extensions     // from the reply to the last EHLO or LHLO (before TLS)
	TLS          *TLSStart      // set when STARTTLS got a 2xx reply
	RefusedTLS   *RefusedTLS    // set when the client began TLS although the server refused STARTTLS
	Gaps         []Span         // gaps reported via Gap (and holes between Writes)
	Unparsed     []Span         // bytes skipped while resynchronising (mid-stream start, after gaps)
	HeldAssumed  bool           // parser assumed a reply it never saw (one-sided capture or MaxHeld hit)
	Dropped      int64          // commands, replies, transactions, gaps and skipped spans not stored because Options.MaxElements was reached
	LastCommand  *Command       // the last command read, kept in Commands or not; nil before any
	LastReply    *Reply         // the last reply read, kept in Replies or not; nil before any
	LastTx       *Transaction   // the last transaction begun, kept in Transactions or not; nil before any
	RcptCommands int64          // RCPT commands read, kept in Commands or not
	Forgotten    int64          // requests no longer awaited because more than Options.MaxElements were outstanding at once; the replies that came for them answer no command
	KeepLimited  bool           // Options.MaxKeep ran out: some Line, Lines, Kept or After bytes were not kept
}

// Extensions is what a server advertised in its 250 reply to EHLO.
type Extensions struct {
	Offered  bool              // an EHLO reply with 250 was seen
	Keywords map[string]string // upper-cased keyword -> rest of line, e.g. "SIZE" -> "10485760"
	Lines    []string          // raw text of each reply line after "250-"/"250 " (to see PIX masking such as "XXXXXXXA")
	Size     int64             // SIZE limit, 0 if none / unlimited
	// Cut: the capture lost part of the reply (Reply.Gap, a snaplen): a
	// keyword missing from Keywords may have been offered all the same.
	Cut bool
}

// Has reports whether the server advertised keyword (case-insensitive).
func (e Extensions) Has(keyword string) bool {
	_, ok := e.Keywords[strings.ToUpper(keyword)]
	return ok
}

// Command is one client line read in command mode.
type Command struct {
	Verb      string            // first word upper-cased, exactly as sent otherwise ("XXXX" stays "XXXX"); empty for an empty line and for AUTH continuations
	Args      string            // everything after the verb and one space, without line ending (for a continuation: the whole line)
	Line      []byte            // raw bytes incl. line ending, at most Options.MaxLineKeep
	Length    int64             // full line length in bytes incl. line ending
	Span      Span              // where the line is in the client stream
	Order     int64             // order of the Write that carried the line's first byte
	EndOrder  int64             // order of the Write that carried its last byte
	Time      time.Time         // time of the first byte
	EndTime   time.Time         // time of the last byte
	Ending    LineEnding        // CRLF, LF (bare LF), CR, None (stream ended mid-line)
	Path      string            // MAIL FROM / RCPT TO path without <> (empty for <>)
	Params    map[string]string // MAIL/RCPT/BDAT ESMTP parameters, upper-cased keys (SIZE, BODY, SMTPUTF8, NOTIFY, LAST...); nil if none
	Mechanism string            // AUTH and its continuations: the SASL mechanism, upper-cased; safe to print even though the command is Sensitive
	Reply     *Reply            // the reply matched to it, nil if none
	Problems  []string          // human-readable syntax problems
	Sensitive bool              // AUTH line with an initial response, or AUTH continuation (Verb ""): callers must not print Args/Line
	Gap       bool              // part of the line was not captured
	Known     bool              // verb is a known SMTP verb
	Masked    bool              // verb is all 'X' characters (two or more), the Cisco PIX/ASA "fixup" signature
	Pipelined bool              // sent before the reply to an earlier command (or end of data) had fully arrived
	// AuthCancel marks an AUTH continuation of "*": the client cancels
	// the exchange (RFC 4954 section 4), and the server's 501 answers
	// that. It is no credential.
	AuthCancel bool
	// Forgotten: the parser stopped waiting for its reply because more
	// than Options.MaxElements requests were outstanding at once
	// (Dialogue.Forgotten); Reply is nil whether or not it was answered.
	Forgotten bool
}

// LMTP reports whether the session is LMTP (RFC 2033): the server took the
// client's last greeting, an LHLO. An LMTP server gives one final reply per
// accepted recipient (Transaction.PerRecipient).
func (d *Dialogue) LMTP() bool {
	h := d.Hello
	return h != nil && h.Verb == "LHLO" && h.Reply != nil && h.Reply.Code/100 == 2
}

// IsHello reports whether c opens a session: EHLO, HELO or LMTP's LHLO.
func (c *Command) IsHello() bool {
	return c != nil && (c.Verb == "EHLO" || c.Verb == "HELO" || c.Verb == "LHLO")
}

// EndsGroup reports whether RFC 2920 requires c to be the last command of a
// pipelined group, because its outcome changes what the client may send next.
// BDAT is not one of them, LAST or not: RFC 3030 lets chunks be pipelined,
// and whatever the final reply, a new MAIL or QUIT may follow (Exim sends
// its QUIT in the same write as the last chunk).
func (c *Command) EndsGroup() bool {
	if c == nil {
		return false
	}
	switch c.Verb {
	case "EHLO", "HELO", "LHLO", "DATA", "VRFY", "EXPN", "TURN", "QUIT", "NOOP", "AUTH", "STARTTLS", VerbAnonymousTLS:
		return true
	}
	return false
}

// Reply is one server reply, possibly of several lines.
type Reply struct {
	Code            int       // 0 when malformed
	Enhanced        string    // "5.7.1" when present on the first line
	Lines           []string  // text of each line after the code and separator (no line endings), each at most Options.MaxLineKeep
	Span            Span      // where the reply is in the server stream
	Order, EndOrder int64     // orders of the Writes that carried its first and last byte
	Time, EndTime   time.Time // times of its first and last byte
	Command         *Command  // the command it answers (for a Final reply to DATA content, the DATA command); nil for greeting / unmatched
	Final           bool      // answers an end of data (DATA terminator or BDAT LAST chunk)
	Problems        []string  // "malformed reply line", "inconsistent codes in multi-line reply", "bare LF line ending" ...
	Gap             bool      // part of the reply was not captured
	Forgotten       bool      // answers a request the parser had stopped waiting for (Command.Forgotten); Command is nil
}

// Transaction is one MAIL … RCPT … DATA/BDAT attempt.
type Transaction struct {
	Mail         *Command   // nil when the transaction was joined mid-way
	Rcpts        []*Command // RCPT commands, accepted or not
	Data         *Command   // the DATA command, nil for BDAT
	Chunks       []*Chunk   // BDAT chunks
	Body         *Body      // nil if no message content was sent
	FinalReply   *Reply     // reply to the end of data / BDAT LAST; nil if never seen (LMTP: the first recipient's)
	PerRecipient []*Reply   // LMTP: the final replies, one per recipient whose RCPT was accepted, in RCPT order
	Interrupt    *Reply     // a 4xx/5xx reply that came while the client was still sending the content (with no command waiting during DATA; in the middle of a BDAT chunk, where it is also that BDAT's Reply): the server gave up on the message before its end (a timeout, a refusal such as Sendmail's "421 4.5.0 Bare linefeed"); not a final reply
	Reset        *Command   // RSET/QUIT/EHLO/HELO/new MAIL that ended it early, if any

	accepted int // RCPT commands answered 2xx, stored or not (LMTP's count of final replies)
}

// Chunk is one BDAT command and the bytes it announced.
type Chunk struct {
	Command  *Command // the BDAT command
	Declared int64    // size from the command (-1 if unparsable)
	Last     bool     // the command said LAST
	Data     Span     // the chunk bytes actually received (may be shorter than Declared if the stream ended)
	// Refused: the server, which did not offer CHUNKING, did not know BDAT
	// (500 or 502) and read the chunk's bytes as command lines; so are
	// they read here (Data stays empty).
	Refused bool
}

// Body describes the message content of a transaction.
type Body struct {
	Span             Span        // raw content bytes in the client stream (after the DATA/BDAT line, before the terminator); for BDAT from the first chunk's start to the last chunk's end
	Size             int64       // message size after dot-unstuffing (for BDAT: sum of chunk bytes received)
	Kept             []byte      // first Options.MaxBodyKeep bytes after unstuffing
	Tail             []byte      // last bytes (up to 64) after unstuffing, kept whatever MaxBodyKeep is
	Terminator       *Span       // the strict <CRLF>.<CRLF> (the span of ".\r\n" after the final CRLF); nil if never seen (BDAT: nil)
	Lenient          []EndOfData // every NON-strict end-of-data sequence found inside the content, in order, capped at 100
	LenientTotal     int64       // number of non-strict sequences found, including those past the cap
	BareLF, BareCR   Count       // LF not preceded by CR; CR not followed by LF
	NUL, EightBit    Count       // NUL bytes; bytes >= 0x80
	LongLines        Count       // lines over 998 octets excl. CRLF (lines end at any LF)
	LongestLine      int64       // longest line in octets excl. CRLF
	TransferEncoding string      // value of the top-level Content-Transfer-Encoding header, lower-cased, "" if none
	BinaryPart       int64       // content offset (after unstuffing) of the header section of the first MIME part that says Content-Transfer-Encoding: binary, -1 if none
	MessageID        string      // Message-ID header value
	Complete         bool        // strict terminator seen (DATA) or LAST chunk fully received (BDAT)
	EndedLenient     bool        // the server answered after a non-standard end of data: it ended the message there
	Gap              bool        // some content bytes were not captured; statistics cover the captured bytes only
}

// Count counts occurrences of something in a stream.
type Count struct {
	N     int64 // how many
	First int64 // stream offset of the first, -1 if none
}

func (c *Count) add(off int64) {
	if c.N == 0 {
		c.First = off
	}
	c.N++
}

// EndOfData is a sequence inside message content where a receiver that does
// not insist on <CRLF>.<CRLF> would have ended the message.
type EndOfData struct {
	Seq           string // the exact bytes, e.g. "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r.\r"
	At            Span   // where Seq is in the client stream
	After         []byte // up to 64 bytes that follow it in the client stream
	CommandsAfter bool   // what follows parses as an SMTP command line (e.g. "MAIL FROM:"): the shape of SMTP smuggling
	ClientWaited  bool   // the sequence ended a client write (or only line endings followed it there) and the client sent nothing more for ClientWait or longer: it took the sequence for the end of its message and waited for a reply (what it sent then, QUIT say, is not in After)
}

// TLSStart records the switch to TLS after STARTTLS.
type TLSStart struct {
	Command *Command // the STARTTLS command
	Reply   *Reply   // its 2xx reply; nil when the capture lost it and the client's TLS hello tells that TLS began
	// ServerStart is where the server's TLS bytes begin: after the reply,
	// or where its bytes resume after the capture lost the reply.
	ServerStart int64
	// ClientStart is where the client's TLS bytes begin: after STARTTLS,
	// or after the command lines it sent in clear text behind STARTTLS
	// before the reply (which a server that kept them would read inside
	// TLS: the STARTTLS command injection of CVE-2011-0411).
	ClientStart  int64
	ClientBytes  int64   // client bytes seen after the switch
	ServerBytes  int64   // server bytes seen after the switch
	LooksLikeTLS bool    // client's first byte after the switch is 0x16 (TLS handshake record)
	Client       TLSSide // what the client's TLS records show
	Server       TLSSide // what the server's TLS records show
}

// RefusedTLS records a client that began TLS although the server refused
// STARTTLS (454 when the server's certificate or key is broken): the
// server, still in clear text, reads the client's hello as command lines
// and refuses them. Those lines stay in Dialogue.Commands, so that the
// server's replies pair with what it read; Hello and every command after
// it are TLS records, no commands the client meant.
type RefusedTLS struct {
	Command *Command // the STARTTLS command
	Reply   *Reply   // its refusal
	Hello   *Command // the first line read from the client's TLS hello
	Client  TLSSide  // what the client's records show, as far as the lines kept their bytes
}

// LooksLikeGreeting reports whether b, the first bytes a server sent, start
// like an SMTP greeting ("220 " or "220-").
func LooksLikeGreeting(b []byte) bool {
	return len(b) >= 4 && b[0] == '2' && b[1] == '2' && b[2] == '0' && (b[3] == ' ' || b[3] == '-')
}

// LooksLikeTLSRecord reports whether b, the first bytes a peer sent, start
// like a TLS record of a type sent first: a handshake (22: a hello) or,
// with handshake false, an alert (21), version 3.x. One byte is enough to
// tell, should the segment hold no more: no SMTP line begins with those
// control characters; a second byte must be 3.
func LooksLikeTLSRecord(b []byte, handshake bool) bool {
	if len(b) == 0 || b[0] != tlsHandshake && (handshake || b[0] != tlsAlert) {
		return false
	}
	return len(b) < 2 || b[1] == 3
}

// LooksLikeClientStart reports whether b, the first bytes a client sent,
// start with EHLO, HELO or LMTP's LHLO (any case) followed by a space or CRLF.
func LooksLikeClientStart(b []byte) bool {
	if len(b) < 5 {
		return false
	}
	if !equalFoldASCII(b[:4], "EHLO") && !equalFoldASCII(b[:4], "HELO") && !equalFoldASCII(b[:4], "LHLO") {
		return false
	}
	return b[4] == ' ' || (b[4] == '\r' && len(b) >= 6 && b[5] == '\n')
}

func equalFoldASCII(b []byte, upper string) bool {
	if len(b) != len(upper) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}
