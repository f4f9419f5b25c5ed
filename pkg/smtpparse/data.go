package smtpparse

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// maxLenient caps Body.Lenient: a hostile body full of "\n.\n" must not
// grow the dialogue, and a hundred examples make the point.
const maxLenient = 100

// maxLineOctets is RFC 5321's line limit excluding CRLF.
const maxLineOctets = 998

// dataState is where the scanner stands relative to line breaks and dots.
type dataState uint8

const (
	dataLineStart  dataState = iota // after CRLF or at the start of content: a '.' is stuffing or the terminator
	dataText                        // inside a line
	dataCR                          // after a CR whose successor is not known yet
	dataBareLF                      // after a bare LF: a '.' here is a lenient end-of-data candidate
	dataDot                         // after a line-start '.'
	dataDotCR                       // after a line-start '.' and CR: LF makes the strict terminator
	dataLooseDot                    // after a '.' that follows a bare LF or bare CR
	dataLooseDotCR                  // after such a '.' and a CR
	dataAfterGap                    // right after bytes the capture lacks: an LF here may end a line whose CR was lost
)

// dataScanner reads message content: DATA content up to the strict
// terminator, or BDAT chunks (chunked, where dots mean nothing). It undoes
// dot-stuffing, keeps the first bytes, gathers statistics and records every
// lenient end-of-data sequence, without ever looking at a byte twice.
type dataScanner struct {
	body    *Body
	budget  *budget
	keepMax int
	chunked bool
	state   dataState

	start     int64 // offset where the content began: it counts as after CRLF
	end       int64 // offset after the last byte scanned
	lineStart int64 // offset of the current line's first byte, shifted past BDAT command lines
	lineFirst int64 // real offset of the current line's first byte
	crOff     int64 // the CR whose successor decides its meaning
	dotOff    int64 // the '.' under consideration
	brkOff    int64 // the bare LF or CR before a loose dot
	brk       string
	cr        [1]byte // a CR held back from the content until we know it is not the terminator's

	header headerParser
	parts  mimeParts
}

func (s *dataScanner) reset(body *Body, b *budget, keepMax int, chunked bool, start int64) {
	*s = dataScanner{body: body, budget: b, keepMax: keepMax, chunked: chunked,
		start: start, end: start, lineStart: start, lineFirst: start}
	s.cr[0] = '\r'
}

func newBody(start int64) *Body {
	return &Body{
		Span:   Span{ClientToServer, start, start},
		BareLF: Count{First: -1}, BareCR: Count{First: -1},
		NUL: Count{First: -1}, EightBit: Count{First: -1},
		LongLines: Count{First: -1}, BinaryPart: -1,
	}
}

// scan consumes content from b (at stream offset off) and reports how many
// bytes it used and whether it found the strict terminator, which it
// consumes too.
func (s *dataScanner) scan(b []byte, off int64) (int, bool) {
	if off != s.end {
		// Bytes of BDAT command lines lie between chunks; they are not
		// part of any content line.
		s.lineStart += off - s.end
	}
	i, run := 0, 0 // run: start of content not yet emitted
	nextLF, nextCR := -1, -1
	for i < len(b) {
		pos := off + int64(i)
		c := b[i]
		switch s.state {
		case dataText:
			// Hottest path: a line of plain text (no NUL, 8-bit or CR
			// before its CRLF) is checked in one pass and ended here.
			if lf := indexFrom(b, i, '\n'); lf < len(b) {
				crlf := lf > i && b[lf-1] == '\r'
				end := lf
				if crlf {
					end--
				}
				if plainText(b[i:end]) {
					if !crlf {
						s.bareLF(off + int64(lf))
						i = lf + 1
						continue
					}
					s.endLine(off+int64(lf), true)
					i = lf + 1
					// The next line goes on as text unless its first byte
					// is one the line-start state must see.
					if i == len(b) || b[i] == '.' || b[i] == '\r' || b[i] == '\n' {
						s.state = dataLineStart
					}
					continue
				}
			}
			// Hot path: everything up to the next CR or LF is plain text.
			if nextLF < i {
				nextLF = indexFrom(b, i, '\n')
			}
			if nextCR < i {
				nextCR = indexFrom(b, i, '\r')
			}
			j := min(nextLF, nextCR)
			s.countText(b[i:j], pos)
			i = j
			if i == len(b) {
				continue
			}
			pos = off + int64(i)
			if b[i] == '\n' {
				s.bareLF(pos)
			} else {
				s.crOff = pos
				s.state = dataCR
			}
			i++
		case dataLineStart, dataBareLF:
			switch {
			case c == '.' && !s.chunked && s.state == dataLineStart:
				s.emit(b[run:i])
				run = i + 1
				s.dotOff = pos
				s.state = dataDot
				i++
			case c == '.' && !s.chunked:
				s.brk, s.dotOff = "\n", pos
				s.state = dataLooseDot
				i++
			case c == '\n':
				s.bareLF(pos)
				i++
			case c == '\r':
				s.crOff = pos
				s.state = dataCR
				i++
			default:
				s.state = dataText
			}
		case dataCR:
			if c == '\n' {
				s.endLine(pos, true)
				s.state = dataLineStart
				i++
				break
			}
			s.body.BareCR.add(s.crOff)
			switch {
			case c == '.' && !s.chunked:
				s.brk, s.brkOff, s.dotOff = "\r", s.crOff, pos
				s.state = dataLooseDot
				i++
			case c == '\r':
				s.crOff = pos
				i++
			default:
				s.state = dataText
			}
		case dataDot:
			switch c {
			case '\r':
				// Hold the CR back: with an LF it is the terminator's.
				s.emit(b[run:i])
				run = i + 1
				s.crOff = pos
				s.state = dataDotCR
				i++
			case '\n':
				s.lenientAtDot(".\n", pos+1)
				s.bareLF(pos)
				i++
			default:
				// A stuffed dot: already left out of the content.
				s.state = dataText
			}
		case dataDotCR:
			if c == '\n' {
				s.body.Terminator = &Span{ClientToServer, s.dotOff, pos + 1}
				s.body.Span.End = s.dotOff
				s.end = pos + 1
				return i + 1, true
			}
			s.lenientAtDot(".\r", s.crOff+1)
			s.emit(s.cr[:])
			run = i
			s.state = dataCR // decides what the CR was, with c
		case dataLooseDot:
			switch c {
			case '\n':
				s.lenient(s.brk, ".\n", s.brkOff, pos+1)
				s.bareLF(pos)
				i++
			case '\r':
				s.crOff = pos
				s.state = dataLooseDotCR
				i++
			default:
				s.state = dataText
			}
		case dataAfterGap:
			// The byte before is not in the capture (a snaplen cut the
			// packet before its CR, say): an LF here ends a line, no bare
			// LF can be told.
			s.state = dataText
			if c == '\n' {
				s.endLine(pos, false)
				s.state = dataLineStart
				i++
			}
		case dataLooseDotCR:
			if c == '\n' {
				s.lenient(s.brk, ".\r\n", s.brkOff, pos+1)
				s.endLine(pos, true)
				s.state = dataLineStart
				i++
				break
			}
			s.lenient(s.brk, ".\r", s.brkOff, s.crOff+1)
			s.state = dataCR
		}
	}
	s.emit(b[run:])
	s.end = off + int64(len(b))
	s.body.Span.End = s.end
	return len(b), false
}

func indexFrom(b []byte, i int, c byte) int {
	j := bytes.IndexByte(b[i:], c)
	if j < 0 {
		return len(b)
	}
	return i + j
}

// bareLF handles an LF that did not follow a CR: it ends a line for
// receivers that split on LF, and a '.' after it is a lenient candidate.
func (s *dataScanner) bareLF(pos int64) {
	s.body.BareLF.add(pos)
	s.endLine(pos, false)
	s.brkOff = pos
	s.state = dataBareLF
}

// endLine accounts for the line ending with the LF at lfOff.
func (s *dataScanner) endLine(lfOff int64, crlf bool) {
	n := lfOff - s.lineStart
	if crlf {
		n--
	}
	s.lineLength(n)
	s.lineStart, s.lineFirst = lfOff+1, lfOff+1
}

func (s *dataScanner) lineLength(n int64) {
	if n > s.body.LongestLine {
		s.body.LongestLine = n
	}
	if n > maxLineOctets {
		s.body.LongLines.add(s.lineFirst)
	}
}

// plainText reports whether b holds no NUL, CR or 8-bit byte. It is
// exact, and checks eight bytes at a time without a branch: most lines of
// most messages are plain text.
func plainText(b []byte) bool {
	const ones, high, crs = 0x0101010101010101, 0x8080808080808080, 0x0d0d0d0d0d0d0d0d
	// (v-ones)&^v has a top bit set exactly when v has a zero byte; w's
	// own top bits are the 8-bit bytes. Two words a round, accumulated
	// without a branch, and b shrinks rather than being indexed, so the
	// loop has no bounds checks.
	var acc0, acc1 uint64
	for len(b) >= 16 {
		w0 := binary.LittleEndian.Uint64(b)
		w1 := binary.LittleEndian.Uint64(b[8:16])
		x0, x1 := w0^crs, w1^crs
		acc0 |= w0 | (w0-ones)&^w0 | (x0-ones)&^x0
		acc1 |= w1 | (w1-ones)&^w1 | (x1-ones)&^x1
		b = b[16:]
	}
	if len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		x := w ^ crs
		acc0 |= w | (w-ones)&^w | (x-ones)&^x
		b = b[8:]
	}
	if (acc0|acc1)&high != 0 {
		return false
	}
	for _, c := range b {
		if c == 0 || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}

// countText counts NUL and 8-bit bytes, eight at a time: this runs over
// every byte of every message.
func (s *dataScanner) countText(b []byte, off int64) {
	const high, low7 = 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		hi := w & high
		// A byte's top bit in zero is set exactly when the byte is 0:
		// the masked add cannot carry into the next byte.
		zero := ^(((w & low7) + low7) | w) & high
		if hi|zero == 0 {
			continue
		}
		at := off + int64(i)
		if hi != 0 {
			if s.body.EightBit.N == 0 {
				s.body.EightBit.First = at + int64(bits.TrailingZeros64(hi)/8)
			}
			s.body.EightBit.N += int64(bits.OnesCount64(hi))
		}
		if zero != 0 {
			if s.body.NUL.N == 0 {
				s.body.NUL.First = at + int64(bits.TrailingZeros64(zero)/8)
			}
			s.body.NUL.N += int64(bits.OnesCount64(zero))
		}
	}
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c >= 0x80:
			s.body.EightBit.add(off + int64(i))
		case c == 0:
			s.body.NUL.add(off + int64(i))
		}
	}
}

// emit takes unstuffed content.
func (s *dataScanner) emit(b []byte) {
	if len(b) == 0 {
		return
	}
	body := s.body
	body.Size += int64(len(b))
	if room := s.keepMax - len(body.Kept); room > 0 {
		n := s.budget.take(min(room, len(b)))
		body.Kept = append(body.Kept, b[:n]...)
	}
	if s.header.state != headerDone {
		n := s.header.feed(b, body)
		if s.header.state == headerDone && s.header.boundary != "" {
			// A multipart message: its parts' header sections follow.
			s.parts.begin(s.header.boundary, body.Size-int64(len(b)-n))
			s.parts.feed(b[n:], body)
		}
	} else if s.parts.active() {
		s.parts.feed(b, body)
	}
	keepTail(body, b)
}

// tailLen is how many of the content's last bytes Body.Tail keeps.
const tailLen = 64

// keepTail keeps the last tailLen bytes of the content in body.Tail.
func keepTail(body *Body, b []byte) {
	if body.Tail == nil {
		body.Tail = make([]byte, 0, tailLen)
	}
	if len(b) >= tailLen {
		body.Tail = append(body.Tail[:0], b[len(b)-tailLen:]...)
		return
	}
	if over := len(body.Tail) + len(b) - tailLen; over > 0 {
		body.Tail = body.Tail[:copy(body.Tail, body.Tail[over:])]
	}
	body.Tail = append(body.Tail, b...)
}

// lenientAtDot records a lenient sequence whose dot started a line, so the
// break before it was CRLF, or the start of the content.
func (s *dataScanner) lenientAtDot(tail string, end int64) {
	if s.dotOff-2 >= s.start {
		s.lenient("\r\n", tail, s.dotOff-2, end)
		return
	}
	s.lenient("", tail, s.dotOff, end)
}

func (s *dataScanner) lenient(brk, tail string, start, end int64) {
	s.body.LenientTotal++
	if len(s.body.Lenient) >= maxLenient {
		return
	}
	s.body.Lenient = append(s.body.Lenient, EndOfData{Seq: brk + tail, At: Span{ClientToServer, start, end}})
}

// gap notes that n content bytes at off were lost: nothing can be said about
// line structure across them, so scanning resumes as inside a line, where
// an LF right after the gap ends the line (its CR may be among the lost
// bytes) and is no bare LF.
func (s *dataScanner) gap(off, n int64) {
	if s.state == dataDotCR {
		s.emit(s.cr[:])
	}
	if off > s.lineStart {
		s.lineLength(off - s.lineStart)
	}
	s.end = off + n
	s.lineStart, s.lineFirst = s.end, s.end
	s.state = dataAfterGap
	s.body.Span.End = s.end
}

// finish ends content that stopped without a strict terminator: the stream
// ended, a BDAT LAST chunk was complete, or the terminator was lost.
func (s *dataScanner) finish() {
	switch s.state {
	case dataCR, dataLooseDotCR:
		s.body.BareCR.add(s.crOff)
	case dataDotCR:
		s.body.BareCR.add(s.crOff)
		s.emit(s.cr[:])
	}
	if s.end > s.lineStart {
		s.lineLength(s.end - s.lineStart)
	}
	s.lineStart = s.end
	s.state = dataText
	s.endContent()
}

// endContent ends the reading of header sections, the message's and a
// MIME part's, however far they got.
func (s *dataScanner) endContent() {
	s.header.finish(s.body)
	s.parts.finish(s.body)
}

// headerState says where the header parser is in the header section.
type headerState uint8

const (
	headerReading headerState = iota
	headerDone
)

type headerField uint8

const (
	fieldOther headerField = iota
	fieldCTE
	fieldMessageID
	fieldContentType
)

// maxHeaderBytes bounds how much content is read as header section.
const maxHeaderBytes = 64 << 10

// maxHeaderLine bounds the bytes kept of one header line or field value.
const maxHeaderLine = 1024

// headerParser finds Content-Transfer-Encoding, Message-ID and a multipart
// Content-Type's boundary in the header section of unstuffed content (a
// message's or a MIME part's), unfolding continuation lines.
type headerParser struct {
	state    headerState
	seen     int
	line     []byte
	field    headerField
	value    []byte
	cteSet   bool
	idSet    bool
	typeSet  bool
	boundary string // the boundary of a multipart Content-Type, "" if none
}

// feed reads b and returns how many of its bytes belong to the header
// section: all of them, or those up to the empty line that ends it (or up
// to maxHeaderBytes).
func (h *headerParser) feed(b []byte, body *Body) int {
	used := 0
	for len(b) > 0 && h.state == headerReading {
		if room := maxHeaderBytes - h.seen; len(b) > room {
			b = b[:room]
		}
		j := bytes.IndexByte(b, '\n')
		seg := b
		if j >= 0 {
			seg = b[:j]
		}
		if room := maxHeaderLine - len(h.line); room > 0 {
			h.line = append(h.line, seg[:min(room, len(seg))]...)
		}
		adv := len(seg)
		if j >= 0 {
			adv++
		}
		h.seen += adv
		used += adv
		b = b[adv:]
		if j >= 0 {
			h.endLine(body)
		}
		if h.seen >= maxHeaderBytes {
			h.finish(body)
		}
	}
	return used
}

func (h *headerParser) endLine(body *Body) {
	line := h.line
	h.line = h.line[:0]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	switch {
	case len(line) == 0:
		h.commit(body)
		h.state = headerDone
	case line[0] == ' ' || line[0] == '\t':
		if room := maxHeaderLine - len(h.value); h.field != fieldOther && room > 0 {
			h.value = append(h.value, line[:min(len(line), room)]...)
		}
	default:
		h.commit(body)
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return
		}
		name = bytes.TrimRight(name, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Transfer-Encoding")):
			h.field = fieldCTE
		case bytes.EqualFold(name, []byte("Message-ID")):
			h.field = fieldMessageID
		case bytes.EqualFold(name, []byte("Content-Type")):
			h.field = fieldContentType
		default:
			return
		}
		h.value = append(h.value[:0], value...)
	}
}

// commit stores the field just read; the first occurrence wins, as the
// top-level one is the first.
func (h *headerParser) commit(body *Body) {
	switch h.field {
	case fieldCTE:
		if !h.cteSet {
			h.cteSet = true
			body.TransferEncoding = string(bytes.ToLower(bytes.TrimSpace(h.value)))
		}
	case fieldMessageID:
		if !h.idSet {
			h.idSet = true
			body.MessageID = string(bytes.TrimSpace(h.value))
		}
	case fieldContentType:
		if !h.typeSet {
			h.typeSet = true
			h.boundary = multipartBoundary(h.value)
		}
	}
	h.field = fieldOther
}

func (h *headerParser) finish(body *Body) {
	if h.state == headerDone {
		return
	}
	if len(h.line) > 0 {
		h.endLine(body)
	}
	h.commit(body)
	h.state = headerDone
}

// budget is the byte allowance for everything a Parser keeps (lines,
// content, bytes after lenient ends of data), so one connection cannot
// exhaust memory however many elements it produces.
type budget struct {
	left    int64
	limited bool
}

func (b *budget) take(n int) int {
	if n <= 0 {
		return 0
	}
	if int64(n) > b.left {
		n = int(max(b.left, 0))
		b.limited = true
	}
	b.left -= int64(n)
	return n
}
