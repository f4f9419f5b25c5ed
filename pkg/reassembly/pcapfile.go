package reassembly

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// This file reads the two capture formats record by record. It is our own
// rather than gopacket's pcapgo because pcapgo 1.1.19 stores link types in
// 8 bits (Linux SLL2, 276, comes out as 20), trusts pcapng block lengths (a
// corrupt length makes it allocate gigabytes), and cannot say at which byte
// offset a record starts — and a forensics tool must name that offset.
// Both readers reuse one buffer: no allocation per record.

// LinkType is a pcap/pcapng link-layer header type (LINKTYPE_* values).
type LinkType uint32

// The link types smtpcap decodes.
const (
	LinkTypeNull      LinkType = 0
	LinkTypeEthernet  LinkType = 1
	LinkTypeRawOld    LinkType = 12 // DLT_RAW on some BSDs
	LinkTypeRawOld2   LinkType = 14 // DLT_RAW on OpenBSD
	LinkTypeRaw       LinkType = 101
	LinkTypeLoop      LinkType = 108
	LinkTypeLinuxSLL  LinkType = 113
	LinkTypeIPv4      LinkType = 228
	LinkTypeIPv6      LinkType = 229
	LinkTypeLinuxSLL2 LinkType = 276
)

// String returns the LINKTYPE_ name without its prefix.
func (l LinkType) String() string {
	switch l {
	case LinkTypeNull:
		return "NULL"
	case LinkTypeEthernet:
		return "ETHERNET"
	case LinkTypeRawOld, LinkTypeRawOld2, LinkTypeRaw:
		return "RAW"
	case LinkTypeLoop:
		return "LOOP"
	case LinkTypeLinuxSLL:
		return "LINUX_SLL"
	case LinkTypeIPv4:
		return "IPV4"
	case LinkTypeIPv6:
		return "IPV6"
	case LinkTypeLinuxSLL2:
		return "LINUX_SLL2"
	case 105:
		return "IEEE802_11"
	case 127:
		return "IEEE802_11_RADIOTAP"
	}
	return fmt.Sprintf("LINKTYPE_%d", uint32(l))
}

// maxRecord bounds one record's captured length and one pcapng block.
// Real captures stay far below it (snaplens are at most 256 KiB); a larger
// length means a corrupt file, and refusing it keeps memory bounded.
const maxRecord = 16 << 20

// ErrCorrupt is returned (wrapped, with detail) for a record or block whose
// header fields are impossible.
var ErrCorrupt = errors.New("corrupt record")

// record is what a format reader returns for one packet.
type record struct {
	ts       time.Time
	badTime  bool // the sub-second field was out of range (pcap: ≥ 10^6 µs or 10^9 ns)
	length   int
	data     []byte
	linkType LinkType
	snaplen  uint32
	section  int
	iface    int
	offset   int64
	comments [][]byte // pcapng: the packet's opt_comment values, in the block's buffer
}

// posReader counts the bytes consumed from a buffered reader, so every
// record knows its offset in the file.
type posReader struct {
	r   *bufio.Reader
	pos int64
}

func (p *posReader) readFull(b []byte) error {
	n, err := io.ReadFull(p.r, b)
	p.pos += int64(n)
	return err
}

// readFault turns a failed read inside a record into the error to
// report: the file ended early (truncated), or the read itself failed (a
// gzip checksum, an I/O error), which is said as it is.
func readFault(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return withoutPath(err)
}

// recordFault is readFault for the first read of a record, of which n
// bytes arrived: with none, the end of the file is the end of the
// capture, and any other failure lies between records, before a frame
// that exists.
func recordFault(n int, err error) error {
	switch {
	case n > 0:
		return readFault(err)
	case errors.Is(err, io.EOF):
		return io.EOF
	}
	return faultBetweenRecords{readFault(err)}
}

// faultBetweenRecords marks a failure after the last whole record, which
// names no frame.
type faultBetweenRecords struct{ error }

func (f faultBetweenRecords) Unwrap() error { return f.error }

// --- pcap ---

type pcapReader struct {
	in       posReader
	peeked   int // bytes of the last record still in the bufio buffer, to discard
	order    binary.ByteOrder
	nano     bool
	snaplen  uint32
	linkType LinkType
	hdr      [16]byte
	buf      []byte
}

func newPcapReader(r *bufio.Reader) (*pcapReader, error) {
	p := &pcapReader{in: posReader{r: r}}
	var h [24]byte
	if err := p.in.readFull(h[:]); err != nil {
		return nil, fmt.Errorf("pcap file header: %w", ErrTruncated)
	}
	switch {
	case binary.LittleEndian.Uint32(h[:4]) == pcapMagicMicro:
		p.order = binary.LittleEndian
	case binary.LittleEndian.Uint32(h[:4]) == pcapMagicNano:
		p.order, p.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h[:4]) == pcapMagicMicro:
		p.order = binary.BigEndian
	default:
		p.order, p.nano = binary.BigEndian, true
	}
	if major := p.order.Uint16(h[4:6]); major != 2 {
		return nil, fmt.Errorf("%w: pcap version %d.%d", ErrCorrupt, major, p.order.Uint16(h[6:8]))
	}
	p.snaplen = p.order.Uint32(h[16:20])
	// The upper bits of the link-type field carry FCS information.
	p.linkType = LinkType(p.order.Uint32(h[20:24]) & 0x0fffffff)
	return p, nil
}

// fileHeaderAgain reports whether hdr, the 16 bytes where a record header
// should start, is the start of a pcap file header: a magic number,
// version 2.4, and zero time zone and accuracy fields, in either byte
// order. A record would read so only if stamped at one given second of
// 2055 or 2059, with one given sub-second value, and empty.
func fileHeaderAgain(hdr []byte) bool {
	if binary.LittleEndian.Uint64(hdr[8:16]) != 0 {
		return false // a record's lengths: the test of every record, made cheap
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		magic := order.Uint32(hdr[0:4])
		if (magic == pcapMagicMicro || magic == pcapMagicNano) && order.Uint16(hdr[4:6]) == 2 && order.Uint16(hdr[6:8]) == 4 &&
			order.Uint64(hdr[8:16]) == 0 {
			return true
		}
	}
	return false
}

func (p *pcapReader) next(rec *record) error {
	if p.peeked > 0 {
		p.in.r.Discard(p.peeked) // counted in pos already
		p.peeked = 0
	}
	rec.offset = p.in.pos
	n, err := io.ReadFull(p.in.r, p.hdr[:])
	p.in.pos += int64(n)
	if err != nil {
		return recordFault(n, err)
	}
	if fileHeaderAgain(p.hdr[:]) {
		return fmt.Errorf("%w: another pcap file header here: two captures joined end to end (cat a.pcap b.pcap?); give smtpcap the files themselves, or join them with mergecap", ErrCorrupt)
	}
	sec := p.order.Uint32(p.hdr[0:4])
	frac := p.order.Uint32(p.hdr[4:8])
	incl := p.order.Uint32(p.hdr[8:12])
	orig := p.order.Uint32(p.hdr[12:16])
	if incl > maxRecord {
		return fmt.Errorf("%w: captured length %d is larger than any real packet", ErrCorrupt, incl)
	}
	if int(incl) <= p.in.r.Size() {
		// Hand out the bytes where bufio holds them: no copy. They stay
		// valid until the next call, which discards them.
		data, err := p.in.r.Peek(int(incl))
		if err != nil {
			p.in.pos += int64(len(data))
			return readFault(err)
		}
		rec.data, p.peeked = data, int(incl)
		p.in.pos += int64(incl)
	} else {
		if uint32(cap(p.buf)) < incl {
			p.buf = make([]byte, max(incl, 65536))
		}
		rec.data = p.buf[:incl]
		if err := p.in.readFull(rec.data); err != nil {
			return readFault(err)
		}
	}
	nsec := int64(frac)
	if !p.nano {
		nsec *= 1000
	}
	rec.badTime = nsec >= 1e9
	rec.ts = time.Unix(int64(sec), nsec).UTC()
	rec.length = int(max(orig, incl))
	rec.linkType = p.linkType
	rec.snaplen = p.snaplen
	return nil
}

// --- pcapng ---

const (
	ngSectionHeader   = 0x0a0d0d0a
	ngInterface       = 0x00000001
	ngPacketObsolete  = 0x00000002
	ngSimplePacket    = 0x00000003
	ngEnhancedPacket  = 0x00000006
	ngByteOrderMagic  = 0x1a2b3c4d
	ngOptEnd          = 0
	ngOptComment      = 1
	ngOptTSResolution = 9
	ngOptTSOffset     = 14
)

type ngInterfaceInfo struct {
	linkType LinkType
	snaplen  uint32
	// Timestamps count units of 10^-exp seconds, or 2^-exp when pow2.
	exp    uint8
	pow2   bool
	offset int64 // if_tsoffset, seconds
}

type pcapngReader struct {
	in       posReader
	order    binary.ByteOrder
	section  int      // 0-based; -1 before the first section header
	comments []string // the first section header's comments (opt_comment)
	ifaces   []ngInterfaceInfo
	head     [12]byte
	buf      []byte
	blockAt  int64 // file offset of the block being read

	// Blocks whose options were malformed, so that comments after the
	// fault were not read: how many, and the first one's offset.
	badOptions      int
	firstBadOptions int64
}

// newPcapngReader reads the section header and the interface blocks after
// it. On failure it also returns the file offset of the block it could not
// read.
func newPcapngReader(r *bufio.Reader) (*pcapngReader, int64, error) {
	p := &pcapngReader{in: posReader{r: r}, section: -1}
	// The first block must be a section header: read it now so that a bad
	// file fails at open, with the file's own first interface known early.
	var rec record
	if err := p.readBlock(&rec, true); err != nil && !errors.Is(err, io.EOF) {
		return nil, p.blockAt, err
	}
	return p, 0, nil
}

// firstInterface returns the link type and snaplen of the first interface
// of the first section, peeking no further than the blocks already read.
func (p *pcapngReader) firstInterface() (LinkType, uint32) {
	if len(p.ifaces) == 0 {
		return 0, 0
	}
	return p.ifaces[0].linkType, p.ifaces[0].snaplen
}

func (p *pcapngReader) next(rec *record) error {
	for {
		err := p.readBlock(rec, false)
		if err != nil || rec.data != nil {
			return err
		}
	}
}

// readBlock reads one block. Packet blocks fill rec (rec.data non-nil);
// other blocks update the reader's state and leave rec.data nil. With
// headerOnly it stops after the section header and the interface blocks
// that directly follow it.
func (p *pcapngReader) readBlock(rec *record, headerOnly bool) error {
	for {
		rec.data = nil
		rec.offset, p.blockAt = p.in.pos, p.in.pos
		if headerOnly && p.section >= 0 {
			b, err := p.in.r.Peek(8)
			if err != nil || p.order.Uint32(b[:4]) != ngInterface {
				return nil
			}
		}
		n, err := io.ReadFull(p.in.r, p.head[:8])
		p.in.pos += int64(n)
		if err != nil {
			return recordFault(n, err)
		}
		typ := binary.LittleEndian.Uint32(p.head[:4])
		if typ == ngSectionHeader {
			if err := p.in.readFull(p.head[8:12]); err != nil {
				return readFault(err)
			}
			switch {
			case binary.LittleEndian.Uint32(p.head[8:12]) == ngByteOrderMagic:
				p.order = binary.LittleEndian
			case binary.BigEndian.Uint32(p.head[8:12]) == ngByteOrderMagic:
				p.order = binary.BigEndian
			default:
				return fmt.Errorf("%w: section header with a bad byte-order magic % x", ErrCorrupt, p.head[8:12])
			}
		} else if p.section < 0 {
			return fmt.Errorf("%w: pcapng file does not start with a section header", ErrCorrupt)
		} else {
			typ = p.order.Uint32(p.head[:4])
		}
		total := p.order.Uint32(p.head[4:8])
		consumed := uint32(8)
		if typ == ngSectionHeader {
			consumed = 12
		}
		if total < consumed+4 || total%4 != 0 || total > maxRecord {
			return fmt.Errorf("%w: pcapng block type %#x with impossible length %d", ErrCorrupt, typ, total)
		}
		body := int(total - consumed - 4)
		if cap(p.buf) < body+4 {
			p.buf = make([]byte, max(body+4, 65536))
		}
		b := p.buf[:body+4]
		if err := p.in.readFull(b); err != nil {
			return readFault(err)
		}
		if trailer := p.order.Uint32(b[body:]); trailer != total {
			return fmt.Errorf("%w: pcapng block type %#x: length %d at its start but %d at its end", ErrCorrupt, typ, total, trailer)
		}
		b = b[:body]
		switch typ {
		case ngSectionHeader:
			if len(b) < 12 {
				return fmt.Errorf("%w: section header too short", ErrCorrupt)
			}
			if major := p.order.Uint16(b[0:2]); major != 1 {
				return fmt.Errorf("%w: pcapng version %d", ErrCorrupt, major)
			}
			p.section++
			p.ifaces = p.ifaces[:0]
			if p.section == 0 {
				for _, c := range p.optComments(nil, b[12:], rec.offset) {
					p.comments = append(p.comments, string(c))
				}
			}
		case ngInterface:
			if err := p.addInterface(b); err != nil {
				return err
			}
		case ngEnhancedPacket, ngPacketObsolete:
			if len(b) < 20 {
				return fmt.Errorf("%w: packet block too short", ErrCorrupt)
			}
			var id int
			if typ == ngEnhancedPacket {
				id = int(p.order.Uint32(b[0:4]))
			} else {
				id = int(p.order.Uint16(b[0:2]))
			}
			if id >= len(p.ifaces) {
				return fmt.Errorf("%w: packet on interface %d, but the section describes %d", ErrCorrupt, id, len(p.ifaces))
			}
			ts := uint64(p.order.Uint32(b[4:8]))<<32 | uint64(p.order.Uint32(b[8:12]))
			capLen := p.order.Uint32(b[12:16])
			origLen := p.order.Uint32(b[16:20])
			if int(capLen) > len(b)-20 {
				return fmt.Errorf("%w: packet block says %d captured bytes but holds %d", ErrCorrupt, capLen, len(b)-20)
			}
			p.fill(rec, id, ts, b[20:20+capLen], int(max(origLen, capLen)))
			rec.comments = p.optComments(rec.comments[:0], b[min(len(b), 20+int((capLen+3)&^3)):], rec.offset)
			return nil
		case ngSimplePacket:
			if len(p.ifaces) == 0 {
				return fmt.Errorf("%w: simple packet block before any interface", ErrCorrupt)
			}
			if len(b) < 4 {
				return fmt.Errorf("%w: simple packet block too short", ErrCorrupt)
			}
			orig := int(p.order.Uint32(b[0:4]))
			capLen := min(orig, len(b)-4)
			if sl := int(p.ifaces[0].snaplen); sl > 0 {
				capLen = min(capLen, sl)
			}
			p.fill(rec, 0, 0, b[4:4+capLen], orig)
			rec.ts = time.Time{}
			return nil
		}
		if headerOnly && typ != ngSectionHeader && typ != ngInterface {
			return nil
		}
	}
}

// optComments appends to list the values of the opt_comment options among
// the options of the block at offset; a malformed option ends the list,
// and the block is counted for optionsWarning.
func (p *pcapngReader) optComments(list [][]byte, opts []byte, offset int64) [][]byte {
	for len(opts) > 0 {
		if len(opts) < 4 {
			p.noteBadOptions(offset)
			break
		}
		code, n := p.order.Uint16(opts[0:2]), int(p.order.Uint16(opts[2:4]))
		if code == ngOptEnd {
			break
		}
		if 4+n > len(opts) {
			p.noteBadOptions(offset)
			break
		}
		if code == ngOptComment {
			list = append(list, opts[4:4+n])
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	return list
}

func (p *pcapngReader) noteBadOptions(offset int64) {
	if p.badOptions == 0 {
		p.firstBadOptions = offset
	}
	p.badOptions++
}

// optionsWarning tells of the blocks whose options were malformed, or
// returns nil.
func (p *pcapngReader) optionsWarning(name string) error {
	if p.badOptions == 0 {
		return nil
	}
	more := ""
	if p.badOptions > 1 {
		more = fmt.Sprintf(" (and in %d later blocks)", p.badOptions-1)
	}
	return fmt.Errorf("%s: offset %#x: malformed pcapng block options%s: read up to the fault, what follows it (comments included) skipped; every packet was read", name, p.firstBadOptions, more)
}

func (p *pcapngReader) fill(rec *record, id int, ts uint64, data []byte, orig int) {
	rec.comments = rec.comments[:0]
	ifc := &p.ifaces[id]
	rec.data = data
	rec.length = orig
	rec.linkType = ifc.linkType
	rec.snaplen = ifc.snaplen
	rec.section = p.section
	rec.iface = id
	rec.ts = ifc.time(ts)
}

func (p *pcapngReader) addInterface(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: interface description block too short", ErrCorrupt)
	}
	ifc := ngInterfaceInfo{
		linkType: LinkType(p.order.Uint16(b[0:2])),
		snaplen:  p.order.Uint32(b[4:8]),
		exp:      6,
	}
	opts := b[8:]
	for len(opts) >= 4 {
		code := p.order.Uint16(opts[0:2])
		n := int(p.order.Uint16(opts[2:4]))
		if code == ngOptEnd {
			break
		}
		if 4+n > len(opts) {
			p.noteBadOptions(p.blockAt)
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == ngOptTSResolution && n >= 1:
			ifc.pow2 = v[0]&0x80 != 0
			ifc.exp = v[0] & 0x7f
			if (!ifc.pow2 && ifc.exp > 18) || (ifc.pow2 && ifc.exp > 63) {
				return fmt.Errorf("%w: interface timestamp resolution %#x", ErrCorrupt, v[0])
			}
		case code == ngOptTSOffset && n >= 8:
			ifc.offset = int64(p.order.Uint64(v))
		}
		opts = opts[4+(n+3)&^3:]
	}
	p.ifaces = append(p.ifaces, ifc)
	return nil
}

// time converts a pcapng timestamp in the interface's units to a time.
func (ifc *ngInterfaceInfo) time(ts uint64) time.Time {
	var sec, nsec uint64
	if ifc.pow2 {
		sec = ts >> ifc.exp
		frac := ts & (1<<ifc.exp - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		nsec, _ = bits.Div64(hi, lo, 1<<ifc.exp)
		if ifc.exp == 0 {
			nsec = 0
		}
	} else {
		unit := pow10(ifc.exp)
		sec = ts / unit
		frac := ts % unit
		if ifc.exp <= 9 {
			nsec = frac * pow10(9-ifc.exp)
		} else {
			nsec = frac / pow10(ifc.exp-9)
		}
	}
	return time.Unix(int64(sec)+ifc.offset, int64(nsec)).UTC()
}

func pow10(n uint8) uint64 {
	v := uint64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}
