package smtpparse

import (
	"bytes"
	"mime"
	"strings"
)

// maxBoundaries bounds how many multipart boundaries (the message's and
// those of nested multiparts) a message's parts are searched for.
const maxBoundaries = 8

// multipartBoundary returns the boundary parameter of a multipart
// Content-Type value, "" if the value is no multipart type or has none.
func multipartBoundary(value []byte) string {
	mediaType, params, err := mime.ParseMediaType(string(bytes.TrimSpace(value)))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		return ""
	}
	// RFC 2046 allows 70 characters; a longer one is no boundary a
	// conforming message uses, and would only cost searching.
	if b := params["boundary"]; len(b) <= 200 {
		return b
	}
	return ""
}

// partState says where mimeParts is in a multipart message's content.
type partState uint8

const (
	partsOff    partState = iota // not a multipart message
	partsSearch                  // looking for the next delimiter line
	partsDelim                   // in the rest of a delimiter line: "--" there makes it the close delimiter
	partsHeader                  // in a part's header section
)

// mimeParts finds the parts of a multipart message in its unstuffed
// content and reads each part's header section, to tell a part sent with
// Content-Transfer-Encoding: binary (RFC 3030 wants such content sent with
// BDAT, whatever its nesting). Delimiters are found by searching for the
// boundaries the message and its nested multiparts declared, so content
// that is no multipart costs nothing.
type mimeParts struct {
	state   partState
	delims  [][]byte // "--" + boundary, for each multipart seen, outermost first
	longest int      // the longest delimiter's length
	// carry holds the last bytes fed (one more than the longest delimiter),
	// for a delimiter that straddles two writes; joint is
	// where carry and the next bytes are put together to search.
	carry, joint []byte
	which        int   // in partsDelim: the index in delims of the delimiter found
	dashes       int   // in partsDelim: how many of the line's first bytes were '-' (up to 2)
	lineBytes    int   // in partsDelim: how many bytes of the line's rest were seen
	at           int64 // content offset of the next byte fed
	partAt       int64 // content offset of the header section being read
	header       headerParser
	scratch      Body // what header writes of the part's fields
}

// begin starts the search for delimiters of boundary in content that
// continues at content offset at, right after the message's header
// section (whose empty line ended with the LF a first delimiter follows).
func (m *mimeParts) begin(boundary string, at int64) {
	*m = mimeParts{state: partsSearch, at: at}
	m.add(boundary)
	m.carry = append(m.carry, '\n')
}

func (m *mimeParts) active() bool { return m.state != partsOff }

// add makes boundary one the delimiters are searched for.
func (m *mimeParts) add(boundary string) {
	if len(m.delims) >= maxBoundaries {
		return
	}
	d := []byte("--" + boundary)
	for _, old := range m.delims {
		if bytes.Equal(old, d) {
			return
		}
	}
	m.delims = append(m.delims, d)
	m.longest = max(m.longest, len(d))
}

// feed reads the next content bytes b and notes in body the first part
// whose header section says Content-Transfer-Encoding: binary.
func (m *mimeParts) feed(b []byte, body *Body) {
	for len(b) > 0 {
		switch m.state {
		case partsSearch:
			end, which := m.find(b)
			if end < 0 {
				m.keepCarry(b)
				m.at += int64(len(b))
				return
			}
			m.at += int64(end)
			b = b[end:]
			m.carry = m.carry[:0]
			m.state, m.dashes, m.lineBytes, m.which = partsDelim, 0, 0, which
		case partsDelim:
			lf := bytes.IndexByte(b, '\n')
			line := b
			if lf >= 0 {
				line = b[:lf]
			}
			for _, c := range line {
				if m.lineBytes == m.dashes && m.dashes < 2 && c == '-' {
					m.dashes++
				}
				m.lineBytes++
			}
			if lf < 0 {
				m.at += int64(len(b))
				return
			}
			m.at += int64(lf + 1)
			b = b[lf+1:]
			if m.dashes == 2 {
				// The close delimiter: its multipart, and those nested in
				// it, end; what follows is the rest of the enclosing one,
				// or the message's epilogue, which holds no parts.
				m.delims = m.delims[:m.which]
				if len(m.delims) == 0 {
					m.state = partsOff
					return
				}
				m.state = partsSearch
				m.carry = append(m.carry[:0], '\n')
				continue
			}
			m.state, m.partAt = partsHeader, m.at
			m.header, m.scratch = headerParser{line: m.header.line[:0], value: m.header.value[:0]}, Body{}
		case partsHeader:
			n := m.header.feed(b, &m.scratch)
			m.at += int64(n)
			b = b[n:]
			if m.header.state != headerDone {
				return
			}
			m.endHeader(body)
		}
	}
}

// endHeader applies a part's header section once read: a binary part is
// noted, a nested multipart's boundary searched for too.
func (m *mimeParts) endHeader(body *Body) {
	if m.scratch.TransferEncoding == "binary" && body.BinaryPart < 0 {
		body.BinaryPart = m.partAt
	}
	if m.header.boundary != "" {
		m.add(m.header.boundary)
	}
	m.state = partsSearch
	m.carry = append(m.carry[:0], '\n') // the empty line's LF
}

// finish ends the content: a part's header section cut short by its end
// still counts.
func (m *mimeParts) finish(body *Body) {
	if m.state == partsHeader {
		m.header.finish(&m.scratch)
		m.endHeader(body)
	}
	m.state = partsOff
}

// find returns the offset in b just past the delimiter that begins first,
// counting one begun in the bytes carried from before b, and which of
// delims it is; -1 if none ends in b. A delimiter begins a line, and its
// boundary must be followed by "--", white space or the line's end (RFC
// 2046): "--b2" is no delimiter of boundary "b", and one whose next byte
// has not come yet is left to the next call (keepCarry keeps it).
func (m *mimeParts) find(b []byte) (end, which int) {
	start, end := 0, -1
	better := func(s, e, k int) {
		if end < 0 || s < start {
			start, end, which = s, e, k
		}
	}
	if n := len(m.carry); n > 0 && (m.carry[n-1] == '\n' || bytes.IndexByte(m.carry, '-') >= 0) {
		// A delimiter may begin in carry, or at b[0] after carry's LF.
		m.joint = append(append(m.joint[:0], m.carry...), b[:min(len(b), m.longest+1)]...)
		for k, d := range m.delims {
			// Only a delimiter that begins in carry or at b[0], after
			// carry's LF: one further in b is found below, and begins
			// later.
			if i := delimiterAt(m.joint, d); i >= 0 && i <= len(m.carry) {
				better(i-len(m.carry), i+len(d)-len(m.carry), k)
			}
		}
		if end >= 0 {
			return end, which
		}
	}
	for k, d := range m.delims {
		if i := delimiterAt(b, d); i >= 1 {
			better(i, i+len(d), k)
		}
	}
	return end, which
}

// delimiterAt returns where in b the first delimiter d begins that
// follows an LF in b and is followed by a byte a delimiter line may go on
// with; -1 if none. d begins with "--": base64, the bulk of most
// multipart messages, has no '-' for the search to stop at.
func delimiterAt(b, d []byte) int {
	for from := 1; from < len(b); {
		i := bytes.Index(b[from:], d)
		if i < 0 {
			return -1
		}
		i += from
		if next := i + len(d); b[i-1] == '\n' && next < len(b) {
			switch b[next] {
			case '-', ' ', '\t', '\r', '\n':
				return i
			}
		}
		from = i + 1
	}
	return -1
}

// keepCarry keeps the last bytes of what was searched, one more than the
// longest delimiter, so that a delimiter that straddles the next write, or
// whose next byte is in it, is found, with the LF before it.
func (m *mimeParts) keepCarry(b []byte) {
	keep := m.longest + 1
	if len(b) >= keep {
		m.carry = append(m.carry[:0], b[len(b)-keep:]...)
		return
	}
	m.carry = append(m.carry, b...)
	if over := len(m.carry) - keep; over > 0 {
		m.carry = m.carry[:copy(m.carry, m.carry[over:])]
	}
}
