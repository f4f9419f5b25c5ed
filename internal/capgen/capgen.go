// Package capgen crafts captures: TCP connections with exactly the
// segmentation, ordering, retransmissions and damage a test needs, written
// as pcap or pcapng with any byte order, resolution and link type.
//
// Real captures of real mail software are preferred for fixtures; capgen is
// for what real software will not do on demand (a command split at a chosen
// byte, a retransmission with different bytes, a big-endian file), and for
// the large captures the benchmarks read. Every crafted fixture in
// testdata/pcaps is rebuilt by cmd/capgen from code in this package.
package capgen

import (
	"encoding/binary"
	"io"
	"net/netip"
	"time"
)

// Link types capgen can frame packets in (LINKTYPE_* values).
const (
	LinkNull      = 0
	LinkEthernet  = 1
	LinkRaw       = 101
	LinkLoop      = 108
	LinkLinuxSLL  = 113
	LinkLinuxSLL2 = 276
)

// Format says how a capture file is written.
type Format struct {
	PcapNG    bool
	Nano      bool   // pcap: nanosecond timestamps (pcapng always writes microseconds unless Nano)
	BigEndian bool   // write multi-byte header fields big-endian
	Snaplen   uint32 // 0 means 262144; packets longer than Snaplen are cut
}

// Writer writes frames to a capture file. For pcapng, each link type used
// gets its own interface description block.
type Writer struct {
	w       io.Writer
	f       Format
	order   binary.ByteOrder
	link    uint32
	ifaces  map[uint32]uint32
	started bool
	err     error
}

// NewWriter returns a writer whose pcap header (for pcap) carries link type
// link; pcapng files describe interfaces as packets need them.
func NewWriter(w io.Writer, f Format, link uint32) *Writer {
	if f.Snaplen == 0 {
		f.Snaplen = 262144
	}
	var order binary.ByteOrder = binary.LittleEndian
	if f.BigEndian {
		order = binary.BigEndian
	}
	return &Writer{w: w, f: f, order: order, link: link, ifaces: map[uint32]uint32{}}
}

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

func (w *Writer) put(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func (w *Writer) start() {
	if w.started {
		return
	}
	w.started = true
	if w.f.PcapNG {
		w.NewSection()
		return
	}
	h := make([]byte, 24)
	magic := uint32(0xa1b2c3d4)
	if w.f.Nano {
		magic = 0xa1b23c4d
	}
	w.order.PutUint32(h[0:], magic)
	w.order.PutUint16(h[4:], 2)
	w.order.PutUint16(h[6:], 4)
	w.order.PutUint32(h[16:], w.f.Snaplen)
	w.order.PutUint32(h[20:], w.link)
	w.put(h)
}

// NewSection starts a new pcapng section (interfaces must be described again).
func (w *Writer) NewSection() {
	w.started = true
	b := make([]byte, 28)
	w.order.PutUint32(b[0:], 0x0a0d0d0a)
	w.order.PutUint32(b[4:], 28)
	w.order.PutUint32(b[8:], 0x1a2b3c4d)
	w.order.PutUint16(b[12:], 1)
	w.order.PutUint64(b[16:], ^uint64(0))
	w.order.PutUint32(b[24:], 28)
	w.put(b)
	w.ifaces = map[uint32]uint32{}
}

func (w *Writer) iface(link uint32) uint32 {
	if id, ok := w.ifaces[link]; ok {
		return id
	}
	id := uint32(len(w.ifaces))
	w.ifaces[link] = id
	n := 20
	if w.f.Nano {
		n = 28
	}
	b := make([]byte, n)
	w.order.PutUint32(b[0:], 1)
	w.order.PutUint32(b[4:], uint32(n))
	w.order.PutUint16(b[8:], uint16(link))
	w.order.PutUint32(b[12:], w.f.Snaplen)
	if w.f.Nano {
		w.order.PutUint16(b[16:], 9) // if_tsresol
		w.order.PutUint16(b[18:], 1)
		b[20] = 9
	}
	w.order.PutUint32(b[n-4:], uint32(n))
	w.put(b)
	return id
}

// WriteFrame writes one frame captured at ts on an interface of the
// given link type (pcap files have one link type: link is ignored there).
func (w *Writer) WriteFrame(ts time.Time, link uint32, frame []byte) {
	w.start()
	orig := len(frame)
	if uint32(len(frame)) > w.f.Snaplen {
		frame = frame[:w.f.Snaplen]
	}
	if !w.f.PcapNG {
		h := make([]byte, 16)
		w.order.PutUint32(h[0:], uint32(ts.Unix()))
		frac := uint32(ts.Nanosecond())
		if !w.f.Nano {
			frac /= 1000
		}
		w.order.PutUint32(h[4:], frac)
		w.order.PutUint32(h[8:], uint32(len(frame)))
		w.order.PutUint32(h[12:], uint32(orig))
		w.put(h)
		w.put(frame)
		return
	}
	id := w.iface(link)
	units := uint64(ts.UnixMicro())
	if w.f.Nano {
		units = uint64(ts.UnixNano())
	}
	padded := (len(frame) + 3) &^ 3
	total := 32 + padded
	b := make([]byte, total)
	w.order.PutUint32(b[0:], 6)
	w.order.PutUint32(b[4:], uint32(total))
	w.order.PutUint32(b[8:], id)
	w.order.PutUint32(b[12:], uint32(units>>32))
	w.order.PutUint32(b[16:], uint32(units))
	w.order.PutUint32(b[20:], uint32(len(frame)))
	w.order.PutUint32(b[24:], uint32(orig))
	copy(b[28:], frame)
	w.order.PutUint32(b[total-4:], uint32(total))
	w.put(b)
}

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// Packet describes one TCP segment to frame.
type Packet struct {
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    uint8
	Window   uint16 // 0 means 65535; see Closed
	Closed   bool   // advertise a zero window (Window is ignored)
	TTL      uint8
	IPID     uint16
	Payload  []byte
	VLANs    []uint16 // 802.1Q tags (outermost first); QinQ when two or more
	MSS      uint16   // SYN option when non-zero
}

// Frame builds the bytes of p in the given link type, with correct IPv4
// and TCP checksums.
func Frame(link uint32, p *Packet) []byte {
	ip := ipPacket(p)
	v6 := p.Src.Addr().Is6() && !p.Src.Addr().Is4In6()
	ethertype := uint16(0x0800)
	if v6 {
		ethertype = 0x86dd
	}
	var hdr []byte
	switch link {
	case LinkEthernet:
		hdr = make([]byte, 12, 14+4*len(p.VLANs))
		copy(hdr[0:6], []byte{0x02, 0, 0, 0, 0, 0x02})
		copy(hdr[6:12], []byte{0x02, 0, 0, 0, 0, 0x01})
		for i, vid := range p.VLANs {
			tpid := uint16(0x8100)
			if i == 0 && len(p.VLANs) > 1 {
				tpid = 0x88a8
			}
			hdr = binary.BigEndian.AppendUint16(hdr, tpid)
			hdr = binary.BigEndian.AppendUint16(hdr, vid&0x0fff)
		}
		hdr = binary.BigEndian.AppendUint16(hdr, ethertype)
	case LinkNull:
		family := uint32(2)
		if v6 {
			family = 30
		}
		hdr = binary.LittleEndian.AppendUint32(nil, family)
	case LinkLoop:
		family := uint32(2)
		if v6 {
			family = 30
		}
		hdr = binary.BigEndian.AppendUint32(nil, family)
	case LinkLinuxSLL:
		hdr = make([]byte, 16)
		binary.BigEndian.PutUint16(hdr[2:], 772) // ARPHRD_LOOPBACK
		binary.BigEndian.PutUint16(hdr[4:], 6)
		binary.BigEndian.PutUint16(hdr[14:], ethertype)
	case LinkLinuxSLL2:
		hdr = make([]byte, 20)
		binary.BigEndian.PutUint16(hdr[0:], ethertype)
		binary.BigEndian.PutUint32(hdr[4:], 1) // interface index
		binary.BigEndian.PutUint16(hdr[8:], 772)
		hdr[11] = 6
	case LinkRaw:
	}
	return append(hdr, ip...)
}

func ipPacket(p *Packet) []byte {
	tcp := tcpSegment(p)
	src, dst := p.Src.Addr(), p.Dst.Addr()
	ttl := p.TTL
	if ttl == 0 {
		ttl = 64
	}
	if src.Is4() {
		h := make([]byte, 20, 20+len(tcp))
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(tcp)))
		binary.BigEndian.PutUint16(h[4:], p.IPID)
		h[6] = 0x40 // don't fragment
		h[8] = ttl
		h[9] = 6
		s4, d4 := src.As4(), dst.As4()
		copy(h[12:16], s4[:])
		copy(h[16:20], d4[:])
		binary.BigEndian.PutUint16(h[10:], checksum(h, 0))
		pseudo := sum(s4[:]) + sum(d4[:]) + 6 + uint32(len(tcp))
		binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, pseudo))
		return append(h, tcp...)
	}
	h := make([]byte, 40, 40+len(tcp))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(tcp)))
	h[6] = 6
	h[7] = ttl
	s16, d16 := src.As16(), dst.As16()
	copy(h[8:24], s16[:])
	copy(h[24:40], d16[:])
	pseudo := sum(s16[:]) + sum(d16[:]) + 6 + uint32(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, pseudo))
	return append(h, tcp...)
}

func tcpSegment(p *Packet) []byte {
	hl := 20
	if p.MSS != 0 {
		hl = 24
	}
	b := make([]byte, hl, hl+len(p.Payload))
	binary.BigEndian.PutUint16(b[0:], p.Src.Port())
	binary.BigEndian.PutUint16(b[2:], p.Dst.Port())
	binary.BigEndian.PutUint32(b[4:], p.Seq)
	binary.BigEndian.PutUint32(b[8:], p.Ack)
	b[12] = byte(hl/4) << 4
	b[13] = p.Flags
	win := p.Window
	switch {
	case p.Closed:
		win = 0
	case win == 0:
		win = 65535
	}
	binary.BigEndian.PutUint16(b[14:], win)
	if p.MSS != 0 {
		b[20], b[21] = 2, 4
		binary.BigEndian.PutUint16(b[22:], p.MSS)
	}
	return append(b, p.Payload...)
}

func sum(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func checksum(b []byte, initial uint32) uint16 {
	s := initial + sum(b)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// FragmentIP splits a raw IPv4 or IPv6 packet, as ipPacket builds it (no
// IPv4 options, no IPv6 extension headers), into fragments carrying at
// most size bytes of its payload each (rounded down to a multiple of 8), as
// a router does: IPv4 fragments clear DF and set MF and the offset, IPv6
// ones carry a fragment header with identification id.
func FragmentIP(ip []byte, size int, id uint32) [][]byte {
	size &^= 7
	v6 := ip[0]>>4 == 6
	hl := 20
	if v6 {
		hl = 40
	}
	payload := ip[hl:]
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		more := end < len(payload)
		var f []byte
		if v6 {
			f = append([]byte(nil), ip[:40]...)
			next := f[6]
			f[6] = 44
			field := uint16(off)
			if more {
				field |= 1
			}
			frag := []byte{next, 0, 0, 0, 0, 0, 0, 0}
			binary.BigEndian.PutUint16(frag[2:], field)
			binary.BigEndian.PutUint32(frag[4:], id)
			f = append(f, frag...)
			binary.BigEndian.PutUint16(f[4:], uint16(8+end-off))
		} else {
			f = append([]byte(nil), ip[:20]...)
			binary.BigEndian.PutUint16(f[2:], uint16(20+end-off))
			binary.BigEndian.PutUint16(f[4:], uint16(id))
			field := uint16(off / 8)
			if more {
				field |= 0x2000
			}
			binary.BigEndian.PutUint16(f[6:], field)
			f[10], f[11] = 0, 0
			binary.BigEndian.PutUint16(f[10:], checksum(f[:20], 0))
		}
		out = append(out, append(f, payload[off:end]...))
	}
	return out
}
