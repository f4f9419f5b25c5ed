package findings

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendConnectionJSON appends c as encoding/json's Encoder writes it with
// prefix "    ", a two-space indent and no HTML escaping, without its
// trailing newline: an element of the report's connections array. A
// report holds one per SMTP connection, tens of thousands on a gateway's
// capture, and encoding/json's reflection took longer than writing them
// out field by field. TestConnectionJSONIsEncodingJSONs holds the two
// together, field by field.
func appendConnectionJSON(b []byte, c *Connection) ([]byte, error) {
	const in = "\n      "
	b = append(b, '{')
	b = append(b, in+`"stream": `...)
	b = strconv.AppendInt(b, int64(c.Stream), 10)
	b = append(b, ","+in+`"client": `...)
	b = appendJSONString(b, c.Client)
	b = append(b, ","+in+`"server": `...)
	b = appendJSONString(b, c.Server)
	var err error
	b = append(b, ","+in+`"first": `...)
	if b, err = appendJSONTime(b, c.First); err != nil {
		return b, err
	}
	b = append(b, ","+in+`"last": `...)
	if b, err = appendJSONTime(b, c.Last); err != nil {
		return b, err
	}
	b = append(b, ","+in+`"packets": `...)
	b = strconv.AppendInt(b, int64(c.Packets), 10)
	b = append(b, ","+in+`"end": `...)
	b = appendJSONString(b, c.End)
	b = append(b, ","+in+`"handshake": `...)
	b = strconv.AppendBool(b, c.Handshake)
	if c.Helo != "" {
		b = append(b, ","+in+`"helo": `...)
		b = appendJSONString(b, c.Helo)
	}
	b = append(b, ","+in+`"transactions": `...)
	b = strconv.AppendInt(b, int64(c.Transactions), 10)
	b = append(b, ","+in+`"delivered": `...)
	b = strconv.AppendInt(b, int64(c.Delivered), 10)
	if c.EnvelopeOnly != 0 {
		b = append(b, ","+in+`"envelope_only": `...)
		b = strconv.AppendInt(b, int64(c.EnvelopeOnly), 10)
	}
	b = append(b, ","+in+`"tls": `...)
	b = strconv.AppendBool(b, c.TLS)
	b = append(b, ","+in+`"findings": `...)
	b = strconv.AppendInt(b, int64(c.Findings), 10)
	if c.Worst != "" {
		b = append(b, ","+in+`"worst": `...)
		b = appendJSONString(b, c.Worst)
	}
	if c.Diagnosis != "" {
		b = append(b, ","+in+`"diagnosis": `...)
		b = appendJSONString(b, c.Diagnosis)
	}
	if c.SameSessionAs != nil {
		b = append(b, ","+in+`"same_session_as": `...)
		b = strconv.AppendInt(b, int64(*c.SameSessionAs), 10)
	}
	return append(b, "\n    }"...), nil
}

// appendFindingJSON appends f as encoding/json's Encoder writes it with
// prefix "    ", a two-space indent and no HTML escaping, without its
// trailing newline: an element of the report's findings array. A
// spam-heavy gateway's capture gives one for nearly every connection.
// TestFindingJSONIsEncodingJSONs holds the two together.
func appendFindingJSON(b []byte, f *Finding) ([]byte, error) {
	const in = "\n      "
	b = append(b, '{')
	b = append(b, in+`"id": `...)
	b = appendJSONString(b, f.ID)
	b = append(b, ","+in+`"severity": `...)
	b = appendJSONString(b, f.Severity.String())
	b = append(b, ","+in+`"stream": `...)
	b = strconv.AppendInt(b, int64(f.Stream), 10)
	if f.Direction != "" {
		b = append(b, ","+in+`"direction": `...)
		b = appendJSONString(b, f.Direction)
	}
	b = append(b, ","+in+`"phase": `...)
	b = appendJSONString(b, string(f.Phase))
	b = append(b, ","+in+`"frames": `...)
	if f.Frames == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONInts(b, f.Frames)
	}
	b = append(b, ","+in+`"offset": `...)
	b = strconv.AppendInt(b, f.Offset, 10)
	b = append(b, ","+in+`"time": `...)
	var err error
	if b, err = appendJSONTime(b, f.Time); err != nil {
		return b, err
	}
	b = append(b, ","+in+`"summary": `...)
	b = appendJSONString(b, f.Summary)
	if f.Evidence != "" {
		b = append(b, ","+in+`"evidence": `...)
		b = appendJSONString(b, f.Evidence)
	}
	b = append(b, ","+in+`"explanation": `...)
	b = appendJSONString(b, f.Explanation)
	b = append(b, ","+in+`"remedy": `...)
	b = appendJSONString(b, f.Remedy)
	b = append(b, ","+in+`"filter": `...)
	b = appendJSONString(b, f.Filter)
	if f.CaptureLoss != "" {
		b = append(b, ","+in+`"capture_loss": `...)
		b = appendJSONString(b, f.CaptureLoss)
	}
	if len(f.Streams) > 0 {
		b = append(b, ","+in+`"streams": `...)
		b = appendJSONInts(b, f.Streams)
	}
	if len(f.FileFrames) > 0 {
		b = append(b, ","+in+`"file_frames": [`...)
		for i, s := range f.FileFrames {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, in+"  "...)
			b = appendJSONString(b, s)
		}
		b = append(b, in+"]"...)
	}
	return append(b, "\n    }"...), nil
}

// appendJSONInts appends v as an array that is the value of a field of
// an element of a report's top-level array: [] when empty, else a number
// a line.
func appendJSONInts(b []byte, v []int) []byte {
	const in = "\n        "
	if len(v) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '[')
	for i, n := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, in...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, "\n      ]"...)
}

// appendJSONTime appends t as time.Time's MarshalJSON does, which refuses
// years outside 0–9999 and zone offsets of a day or more.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	_, offset := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || offset <= -24*3600 || offset >= 24*3600 {
		_, err := json.Marshal(t)
		return b, err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendJSONString appends s as a JSON string the way encoding/json does
// without HTML escaping: control characters, quotes and backslashes
// escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
