// Package recstore keeps many small encoded records, each under an integer
// key, in large byte blocks the garbage collector has no pointers to
// follow in, and gives them back in key order. A capture's report keeps a
// summary of every connection to its end; as Go values with their strings
// they took ten times the bytes, and the collector's time besides.
package recstore

import (
	"cmp"
	"encoding/binary"
	"slices"
	"time"
)

// blockSize is how many bytes a block holds; a larger record gets a block
// of its own.
const blockSize = 256 << 10

// Store holds records in the order added until SortByKey. The zero value
// is an empty store.
type Store struct {
	blocks [][]byte // each at most blockSize bytes long, but for a larger record alone
	refs   []ref    // where each record is
}

// ref locates one record, and tells its key.
type ref struct {
	block, start, end uint32
	key               int
}

// Len returns how many records the store holds.
func (s *Store) Len() int { return len(s.refs) }

// Add stores a copy of rec under key and returns its index.
func (s *Store) Add(key int, rec []byte) int {
	s.refs = append(s.refs, s.put(key, rec))
	return len(s.refs) - 1
}

// Replace puts a copy of rec in the place of record i, under the same key.
// The old record's bytes stay where they were: replacing is for the rare
// record that changes after it is added.
func (s *Store) Replace(i int, rec []byte) { s.refs[i] = s.put(s.refs[i].key, rec) }

// Record returns record i, which must be below Len, as bytes of the store
// that must not be changed.
func (s *Store) Record(i int) []byte {
	r := s.refs[i]
	return s.blocks[r.block][r.start:r.end:r.end]
}

// Key returns the key of record i.
func (s *Store) Key(i int) int { return s.refs[i].key }

// SortByKey puts the records in key order, those of one key in the order
// they were added. Only their references move.
func (s *Store) SortByKey() {
	slices.SortStableFunc(s.refs, func(x, y ref) int { return cmp.Compare(x.key, y.key) })
}

// Find returns the index of the first record with the given key in a
// store sorted by key, and whether there is one.
func (s *Store) Find(key int) (int, bool) {
	return slices.BinarySearchFunc(s.refs, key, func(r ref, k int) int { return cmp.Compare(r.key, k) })
}

// Keep keeps the records keep is true of, in their order, and drops the
// others: their indexes close up, their bytes stay where they were. keep
// is asked of every record, by its index before any is dropped.
func (s *Store) Keep(keep func(i int) bool) {
	n := 0
	for i, r := range s.refs {
		if keep(i) {
			s.refs[n] = r
			n++
		}
	}
	s.refs = s.refs[:n]
}

// put copies rec to the end of the last block, or of a new one when it
// does not fit: a block never grows past what it was made with, so its
// records never move.
func (s *Store) put(key int, rec []byte) ref {
	k := len(s.blocks) - 1
	if k < 0 || cap(s.blocks[k])-len(s.blocks[k]) < len(rec) {
		s.blocks = append(s.blocks, make([]byte, 0, max(blockSize, len(rec))))
		k++
	}
	start := len(s.blocks[k])
	s.blocks[k] = append(s.blocks[k], rec...)
	return ref{uint32(k), uint32(start), uint32(len(s.blocks[k])), key}
}

// AppendInt appends v to b as a varint.
func AppendInt(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// AppendUint appends v to b as an unsigned varint.
func AppendUint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendString appends s to b after its length.
func AppendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// AppendBits appends the yes-or-no values bits point to, the first as
// the lowest bit of an unsigned varint: a byte for up to seven, at most
// 64. Reader.Bits reads them back through the same list of pointers.
func AppendBits(b []byte, bits ...*bool) []byte {
	var v uint64
	for i, bit := range bits {
		if *bit {
			v |= 1 << i
		}
	}
	return AppendUint(b, v)
}

// AppendBytes appends p to b after its length.
func AppendBytes(b, p []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(p))), p...)
}

// AppendTime appends t as Unix seconds and nanoseconds.
func AppendTime(b []byte, t time.Time) []byte { return AppendTimeAfter(b, t, time.Unix(0, 0)) }

// AppendTimeAfter appends t as the Unix seconds since those of first
// (a byte or two for a time soon after it) and nanoseconds.
func AppendTimeAfter(b []byte, t, first time.Time) []byte {
	b = AppendInt(b, t.Unix()-first.Unix())
	return AppendUint(b, uint64(t.Nanosecond()))
}

// Reader reads back, in order, what the Append functions wrote into a
// record. The store's records are its own, so it does not check for
// records cut short: reading past the end panics.
type Reader struct {
	rec []byte
}

// NewReader returns a Reader of rec.
func NewReader(rec []byte) Reader { return Reader{rec} }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	b := r.rec[0]
	r.rec = r.rec[1:]
	return b
}

// Int reads what AppendInt wrote.
func (r *Reader) Int() int64 {
	v, n := binary.Varint(r.rec)
	r.rec = r.rec[n:]
	return v
}

// Uint reads what AppendUint wrote.
func (r *Reader) Uint() uint64 {
	v, n := binary.Uvarint(r.rec)
	r.rec = r.rec[n:]
	return v
}

// Time reads what AppendTime wrote, in UTC.
func (r *Reader) Time() time.Time { return r.TimeAfter(time.Unix(0, 0)) }

// TimeAfter reads what AppendTimeAfter wrote after first, in UTC.
func (r *Reader) TimeAfter(first time.Time) time.Time {
	sec := first.Unix() + r.Int()
	return time.Unix(sec, int64(r.Uint())).UTC()
}

// String reads what AppendString wrote.
func (r *Reader) String() string {
	n := int(r.Uint())
	s := string(r.rec[:n])
	r.rec = r.rec[n:]
	return s
}

// Bytes reads what AppendBytes (or AppendString) wrote: the record's own
// bytes, not a copy, with no room to append into.
func (r *Reader) Bytes() []byte {
	n := int(r.Uint())
	p := r.rec[:n:n]
	r.rec = r.rec[n:]
	return p
}

// Bits reads what AppendBits wrote into the values into points to, in
// the order they were written.
func (r *Reader) Bits(into ...*bool) {
	v := r.Uint()
	for i, bit := range into {
		*bit = v&(1<<i) != 0
	}
}
