package split

import (
	"encoding/binary"

	"github.com/smtpcap/smtpcap/internal/recstore"
)

// deltas is a list of ints kept as signed varints of the difference from
// the one before. A split keeps every connection's frame numbers to the end,
// for the index; a connection's packets are close together in the capture,
// so most take one byte, not eight (on a capture of 232 k short connections,
// 6.4 M frame numbers: 51 MB as ints).
type deltas struct {
	b    []byte
	prev int
	n    int
}

// add appends v.
func (d *deltas) add(v int) {
	d.b = binary.AppendVarint(d.b, int64(v-d.prev))
	d.prev = v
	d.n++
}

// len returns the number of values.
func (d *deltas) len() int { return d.n }

// ints returns the values, nil when there are none.
func (d *deltas) ints() []int {
	if d.n == 0 {
		return nil
	}
	out := make([]int, 0, d.n)
	v, b := 0, d.b
	for len(b) > 0 {
		delta, k := binary.Varint(b)
		v += int(delta)
		out = append(out, v)
		b = b[k:]
	}
	return out
}

// appendTo encodes d for a record of recstore.
func (d *deltas) appendTo(b []byte) []byte {
	b = recstore.AppendUint(b, uint64(d.n))
	b = recstore.AppendInt(b, int64(d.prev))
	return recstore.AppendBytes(b, d.b)
}

// readDeltas reads what appendTo wrote. The values are the record's own
// bytes: adding to them copies.
func readDeltas(r *recstore.Reader) deltas {
	n := int(r.Uint())
	prev := int(r.Int())
	return deltas{b: r.Bytes(), prev: prev, n: n}
}
