package smtpparse

import (
	"bytes"
	"encoding/binary"
	"time"
)

// lineReader assembles one line (command or reply) from pieces. It keeps at
// most max bytes of it, so a peer sending an endless line costs nothing but
// a counter, and notes the irregularities a report will want to show.
type lineReader struct {
	max int // bytes kept in buf

	open            bool
	start           int64 // stream offset of the first byte
	n               int64 // bytes seen so far, line ending included
	order, endOrder int64
	at, endAt       time.Time
	buf             []byte

	lastCR bool // the last byte seen was CR
	ended  bool // the line ended with LF
	crlf   bool // ... and the LF followed a CR
	bareCR bool // a CR not followed by LF inside the line
	high   bool // a byte >= 0x80
	ctl    bool // a control byte other than TAB, CR, LF
}

// feed consumes b up to and including the first LF. It reports how many
// bytes it consumed and whether the line is now complete.
func (l *lineReader) feed(b []byte, off, order int64, at time.Time) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if !l.open {
		l.open = true
		l.start, l.n = off, 0
		l.order, l.at = order, at
		l.buf = l.buf[:0]
		l.lastCR, l.ended, l.crlf = false, false, false
		l.bareCR, l.high, l.ctl = false, false, false
	}
	seg := b
	j := bytes.IndexByte(b, '\n')
	if j >= 0 {
		seg = b[:j+1]
	}
	if !l.lastCR && l.plain(seg, j >= 0) {
		// Most lines are printable ASCII: the flags stay as they are.
	} else {
		l.scanFlags(seg)
	}
	if room := l.max - len(l.buf); room > 0 {
		l.buf = append(l.buf, seg[:min(room, len(seg))]...)
	}
	l.n += int64(len(seg))
	l.endOrder, l.endAt = order, at
	l.ended = j >= 0
	return len(seg), l.ended
}

// plain handles seg when it is printable ASCII followed by at most its
// line ending (CRLF, LF, or a CR that may start one): it sets crlf and
// lastCR as scanFlags would, and reports true. Otherwise it changes
// nothing and reports false.
func (l *lineReader) plain(seg []byte, ended bool) bool {
	body, cr := seg, false
	if ended {
		body = body[:len(body)-1]
	}
	if n := len(body); n > 0 && body[n-1] == '\r' {
		body, cr = body[:n-1], true
	}
	if !printableASCII(body) {
		return false
	}
	if ended {
		l.crlf, l.lastCR = cr, false
	} else {
		l.lastCR = cr
	}
	return true
}

// printableASCII reports whether every byte of b is in 0x20..0x7e,
// eight bytes at a time.
func printableASCII(b []byte) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	var acc uint64
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// A top bit is set exactly when some byte is below 0x20 (first
		// term), is 0x7f (second), or is 8-bit (third).
		acc |= (w-0x20*ones)&^w | (w + ones) | w
		b = b[8:]
	}
	if acc&high != 0 {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// scanFlags follows seg byte by byte, noting line endings and
// irregular bytes.
func (l *lineReader) scanFlags(seg []byte) {
	for _, c := range seg {
		switch {
		case c == '\n':
			l.crlf = l.lastCR
		case c == '\r':
			if l.lastCR {
				l.bareCR = true
			}
		default:
			if l.lastCR {
				l.bareCR = true
			}
			if c >= 0x80 {
				l.high = true
			} else if (c < 0x20 && c != '\t') || c == 0x7f {
				l.ctl = true
			}
		}
		l.lastCR = c == '\r'
	}
}

// truncated reports whether buf lacks part of the line.
func (l *lineReader) truncated() bool { return int64(len(l.buf)) < l.n }

// content returns the kept bytes without the line ending.
func (l *lineReader) content() []byte {
	b := l.buf
	if l.truncated() {
		return b
	}
	switch {
	case l.ended && l.crlf && len(b) >= 2:
		b = b[:len(b)-2]
	case l.ended && len(b) >= 1:
		b = b[:len(b)-1]
	case !l.ended && l.lastCR && len(b) >= 1:
		b = b[:len(b)-1]
	}
	return b
}

func (l *lineReader) ending() LineEnding {
	switch {
	case l.ended && l.crlf:
		return LineEndingCRLF
	case l.ended:
		return LineEndingLF
	case l.lastCR:
		return LineEndingCR
	}
	return LineEndingNone
}

func (l *lineReader) reset() { l.open = false }
