// Package recstore keeps many small encoded records, each under an integer
// key, in large byte blocks the garbage collector has no pointers to
// follow in, and gives them back in key order. A capture's report keeps a
// summary of every connection to its end; as Go values with their strings
// they took ten times the bytes, and the collector's time besides. A store
// that grows large compresses the blocks it has filled.
package recstore

import (
	"bytes"
	"cmp"
	"compress/flate"
	"encoding/binary"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"
)

// blockSize is how many bytes a block holds; a larger record gets a block
// of its own.
const blockSize = 256 << 10

// compressFrom is how many bytes of records a store holds before it
// compresses each block it fills. Records are mostly text that repeats
// (a server's refusal, told in a summary, its evidence and a diagnosis, in
// each of a spam-heavy gateway's hundreds of thousands of connections):
// they take a fifth of the room or less. Below it, a store's records are
// read as they are, at no cost.
const compressFrom = 8 << 20

// Store holds records in the order added until SortByKey. The zero value
// is an empty store. Records may be read from several goroutines at once,
// but not while any is added or replaced.
type Store struct {
	blocks [][]byte // each at most blockSize bytes long, but for a larger record alone
	packed []bool   // which blocks are compressed
	refs   []ref    // where each record is
	size   int      // bytes of records put in blocks
	z      *packer  // compresses full blocks and reads them back; nil until the first
}

// ref locates one record, and tells its key and tag.
type ref struct {
	block, start, end uint32
	tag               uint32 // in what would be padding
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
func (s *Store) Replace(i int, rec []byte) {
	tag := s.refs[i].tag
	s.refs[i] = s.put(s.refs[i].key, rec)
	s.refs[i].tag = tag
}

// Tag returns record i's tag: a number its owner keeps with it, to read
// without reading the record (0 until SetTag). It moves with the record
// when the store is sorted and stays when the record is replaced.
func (s *Store) Tag(i int) uint32 { return s.refs[i].tag }

// SetTag sets record i's tag.
func (s *Store) SetTag(i int, tag uint32) { s.refs[i].tag = tag }

// Record returns record i, which must be below Len, as bytes that must
// not be changed: the store's own, or a copy of them from a compressed
// block.
func (s *Store) Record(i int) []byte {
	r := s.refs[i]
	if s.packed[r.block] {
		return s.z.record(s.blocks[r.block], int(r.block), r.start, r.end)
	}
	return s.blocks[r.block][r.start:r.end:r.end]
}

// View calls read with record i, which must be below Len, as bytes that
// read must neither change nor keep: what it needs of them it copies.
// Unlike Record it copies nothing from a compressed block, but other
// readers of compressed blocks wait while read runs.
func (s *Store) View(i int, read func(rec []byte)) {
	r := s.refs[i]
	if s.packed[r.block] {
		s.z.view(s.blocks[r.block], int(r.block), r.start, r.end, read)
		return
	}
	read(s.blocks[r.block][r.start:r.end:r.end])
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
		if k >= 0 && s.size >= compressFrom {
			s.pack(k)
		}
		s.blocks = append(s.blocks, make([]byte, 0, max(blockSize, len(rec))))
		s.packed = append(s.packed, false)
		k++
	}
	start := len(s.blocks[k])
	s.blocks[k] = append(s.blocks[k], rec...)
	s.size += len(rec)
	return ref{block: uint32(k), start: uint32(start), end: uint32(len(s.blocks[k])), key: key}
}

// pack compresses block k, which is full, when that makes it smaller.
func (s *Store) pack(k int) {
	if s.z == nil {
		s.z = newPacker()
	}
	if b, ok := s.z.compress(s.blocks[k]); ok {
		s.blocks[k], s.packed[k] = b, true
	}
}

// packer compresses a store's full blocks, and reads records back from
// them through a few blocks kept decompressed: records are read mostly in
// key order, and were added mostly in that order.
type packer struct {
	w   *flate.Writer
	out bytes.Buffer

	readers sync.Pool // of flate readers: blocks are decompressed outside the lock

	mu    sync.Mutex   // the rest: records are read from several goroutines
	cache []plainBlock // 16, or two for each goroutine that can run at once
	tick  uint64       // counts reads, to find the block read longest ago
}

// plainBlock is a compressed block decompressed.
type plainBlock struct {
	block int // -1: none yet
	data  []byte
	used  uint64 // packer.tick when last read
}

func newPacker() *packer {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // the level is valid
	z := &packer{w: w, cache: make([]plainBlock, max(16, 2*runtime.GOMAXPROCS(0)))}
	z.readers.New = func() any { return flate.NewReader(nil) }
	for i := range z.cache {
		z.cache[i].block = -1
	}
	return z
}

// compress returns b compressed, in a slice of its own, and whether that
// is smaller than b.
func (z *packer) compress(b []byte) ([]byte, bool) {
	z.out.Reset()
	z.w.Reset(&z.out)
	z.w.Write(b) // writes to a bytes.Buffer do not fail
	z.w.Close()
	if z.out.Len() >= len(b)-len(b)/8 {
		return nil, false
	}
	return bytes.Clone(z.out.Bytes()), true
}

// record returns a copy of bytes start to end of compressed block k,
// whose bytes are packed.
func (z *packer) record(packed []byte, k int, start, end uint32) []byte {
	var rec []byte
	z.view(packed, k, start, end, func(b []byte) { rec = bytes.Clone(b) })
	return rec
}

// view calls read with bytes start to end of compressed block k, whose
// bytes are packed, while no other reader can change the blocks kept
// decompressed. A block not kept is decompressed outside the lock, so
// that the goroutines writing a report do not wait on one another.
func (z *packer) view(packed []byte, k int, start, end uint32, read func([]byte)) {
	z.mu.Lock()
	if c := z.cached(k); c != nil {
		read(c.data[start:end:end])
		z.mu.Unlock()
		return
	}
	z.mu.Unlock()
	r := z.readers.Get().(io.ReadCloser)
	r.(flate.Resetter).Reset(bytes.NewReader(packed), nil) // flate's readers are Resetters
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r)
	z.readers.Put(r)
	if err != nil {
		// The store wrote these bytes itself: only memory going bad could do this.
		panic("recstore: a compressed block does not read back: " + err.Error())
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	c := z.cached(k) // another reader may have kept it meanwhile
	if c == nil {
		c = &z.cache[0]
		for i := range z.cache {
			if z.cache[i].used < c.used {
				c = &z.cache[i]
			}
		}
		c.block, c.data = k, buf.Bytes()
		z.tick++
		c.used = z.tick
	}
	read(c.data[start:end:end])
}

// cached returns the kept decompressed block k, marked as just read, or
// nil. z.mu must be held.
func (z *packer) cached(k int) *plainBlock {
	for i := range z.cache {
		if c := &z.cache[i]; c.block == k {
			z.tick++
			c.used = z.tick
			return c
		}
	}
	return nil
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
