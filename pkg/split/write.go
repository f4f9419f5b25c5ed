package split

import (
	"encoding/binary"

	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// The records below are built by hand, not with pcapgo's writers, because a
// split output is gathered in memory and appended to its file in pieces,
// with the file closed in between when more connections are open than file
// descriptors may be; pcapgo's writers own their io.Writer for good.

const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
)

// appendPcapHeader appends a little-endian pcap file header.
func appendPcapHeader(b []byte, lt reassembly.LinkType, snaplen uint32, nano bool) []byte {
	var h [24]byte
	magic := uint32(pcapMagicMicro)
	if nano {
		magic = pcapMagicNano
	}
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], uint32(lt))
	return append(b, h[:]...)
}

// appendPcapRecordHeader appends the header of a pcap record with the
// packet's own timestamp; the packet's bytes follow it.
func appendPcapRecordHeader(b []byte, p *reassembly.Packet, nano bool) []byte {
	var h [16]byte
	sec := p.Timestamp.Unix()
	frac := uint32(p.Timestamp.Nanosecond())
	if !nano {
		frac /= 1000
	}
	binary.LittleEndian.PutUint32(h[0:], uint32(sec))
	binary.LittleEndian.PutUint32(h[4:], frac)
	binary.LittleEndian.PutUint32(h[8:], uint32(len(p.Data)))
	binary.LittleEndian.PutUint32(h[12:], uint32(p.Length))
	return append(b, h[:]...)
}

const (
	ngBlockSection   = 0x0a0d0d0a
	ngBlockInterface = 0x00000001
	ngBlockEnhanced  = 0x00000006
	ngByteOrderMagic = 0x1a2b3c4d
	ngOptTSResol     = 9
	ngOptComment     = 1
)

// appendNgSection appends a pcapng section header block, with comments
// as its opt_comment options.
func appendNgSection(out []byte, comments []string) []byte {
	var zeros [3]byte
	optLen := 0
	for _, c := range comments {
		optLen += 4 + (len(c)+3)&^3
	}
	if optLen > 0 {
		optLen += 4 // opt_endofopt
	}
	total := uint32(28 + optLen)
	var b [24]byte
	binary.LittleEndian.PutUint32(b[0:], ngBlockSection)
	binary.LittleEndian.PutUint32(b[4:], total)
	binary.LittleEndian.PutUint32(b[8:], ngByteOrderMagic)
	binary.LittleEndian.PutUint16(b[12:], 1)
	binary.LittleEndian.PutUint16(b[14:], 0)
	binary.LittleEndian.PutUint64(b[16:], ^uint64(0)) // section length unknown
	out = append(out, b[:]...)
	for _, c := range comments {
		out = binary.LittleEndian.AppendUint16(out, ngOptComment)
		out = binary.LittleEndian.AppendUint16(out, uint16(len(c)))
		out = append(append(out, c...), zeros[:(len(c)+3)&^3-len(c)]...)
	}
	if optLen > 0 {
		out = append(out, 0, 0, 0, 0) // opt_endofopt
	}
	return binary.LittleEndian.AppendUint32(out, total)
}

// appendNgInterface appends an interface description block whose
// timestamps are in nanoseconds, so that every input resolution is kept exactly.
func appendNgInterface(out []byte, lt reassembly.LinkType, snaplen uint32) []byte {
	var b [32]byte
	binary.LittleEndian.PutUint32(b[0:], ngBlockInterface)
	binary.LittleEndian.PutUint32(b[4:], 32)
	binary.LittleEndian.PutUint16(b[8:], uint16(lt))
	binary.LittleEndian.PutUint32(b[12:], snaplen)
	binary.LittleEndian.PutUint16(b[16:], ngOptTSResol)
	binary.LittleEndian.PutUint16(b[18:], 1)
	b[20] = 9 // 10^-9 s
	// b[24:28] is opt_endofopt
	binary.LittleEndian.PutUint32(b[28:], 32)
	return append(out, b[:]...)
}

// appendNgPacketHeader appends the head of an enhanced packet block; the
// packet's bytes and appendNgPacketTrailer follow it.
func appendNgPacketHeader(out []byte, iface uint32, p *reassembly.Packet) []byte {
	var h [28]byte
	ts := uint64(p.Timestamp.UnixNano())
	binary.LittleEndian.PutUint32(h[0:], ngBlockEnhanced)
	binary.LittleEndian.PutUint32(h[4:], uint32(ngPacketBlockLen(p)))
	binary.LittleEndian.PutUint32(h[8:], iface)
	binary.LittleEndian.PutUint32(h[12:], uint32(ts>>32))
	binary.LittleEndian.PutUint32(h[16:], uint32(ts))
	binary.LittleEndian.PutUint32(h[20:], uint32(len(p.Data)))
	binary.LittleEndian.PutUint32(h[24:], uint32(p.Length))
	return append(out, h[:]...)
}

// ngPacketBlockLen returns the length of p's enhanced packet block: its
// head, its bytes padded to 32 bits, its comments as options, if any, and
// the closing length.
func ngPacketBlockLen(p *reassembly.Packet) int {
	n := 32 + (len(p.Data)+3)&^3
	if len(p.Comments) > 0 {
		n += 4 // opt_endofopt
		for _, c := range p.Comments {
			n += 4 + (len(c)+3)&^3
		}
	}
	return n
}

// appendNgPacketTrailer appends the padding after the packet's bytes, its
// comments (opt_comment) and the block's closing length.
func appendNgPacketTrailer(out []byte, p *reassembly.Packet) []byte {
	var zeros [3]byte
	out = append(out, zeros[:(len(p.Data)+3)&^3-len(p.Data)]...)
	if len(p.Comments) > 0 {
		for _, c := range p.Comments {
			out = binary.LittleEndian.AppendUint16(out, ngOptComment)
			out = binary.LittleEndian.AppendUint16(out, uint16(len(c)))
			out = append(append(out, c...), zeros[:(len(c)+3)&^3-len(c)]...)
		}
		out = append(out, 0, 0, 0, 0) // opt_endofopt
	}
	return binary.LittleEndian.AppendUint32(out, uint32(ngPacketBlockLen(p)))
}
