package reassembly

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// The decoder is written by hand rather than with gopacket's layers because
// it must (1) allocate nothing per packet, (2) keep going when snaplen cut
// the packet inside its payload, telling how many payload bytes are missing,
// (3) take payload lengths from the IP header, never from the frame (Ethernet
// pads short frames), and (4) know Linux SLL2, which gopacket 1.1.19 lacks.

// TCP flag bits as they appear in the TCP header.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
	FlagURG = 0x20
	FlagECE = 0x40
	FlagCWR = 0x80
)

// Sentinel decode errors; callers count them rather than stop.
var (
	// ErrNotTCP: an IP packet of another protocol, or a non-IP frame.
	ErrNotTCP = errors.New("not TCP")
	// ErrFragment: a fragment of an IP datagram carrying TCP; Decode fills
	// its Fragment, and Walk reassembles the datagram.
	ErrFragment = errors.New("IP fragment")
	// ErrShort: the frame ends before the TCP header does (snaplen or a malformed packet).
	ErrShort = errors.New("frame ends inside the link, IP or TCP header")
	// ErrMalformed: a header field is impossible (bad IP version, header length).
	ErrMalformed = errors.New("malformed IP or TCP header")
	// ErrLinkType: the link type is not one smtpcap decodes.
	ErrLinkType = errors.New("unsupported link type")
)

// Segment is what the decoder extracts from one TCP packet.
type Segment struct {
	Src, Dst   netip.AddrPort
	Seq, Ack   uint32
	Flags      uint8
	Window     uint16
	Checksum   uint16 // the TCP checksum field as captured (not verified)
	LinkLen    int    // bytes of the frame before its IP header (link header, VLAN tags …)
	TTL        uint8  // IPv4 TTL or IPv6 hop limit
	IPID       uint16 // IPv4 identification; 0 for IPv6
	IPv6       bool
	Payload    []byte // captured payload bytes (may be shorter than PayloadLen)
	PayloadLen int    // payload length according to the IP header
	MSS        uint16 // from the SYN's options, 0 if absent
	WScale     int8   // window scale from the SYN's options, -1 if absent
	// Options are the TCP options as captured (a view into the frame) and
	// FlowLabel the IPv6 flow label: a sender's own resending differs in
	// them (a new timestamp, a new label) where a copy of the packet does
	// not.
	Options   []byte
	FlowLabel uint32
}

// Fragment is one fragment of an IP datagram that carries TCP.
type Fragment struct {
	Src, Dst netip.Addr
	ID       uint32 // IPv4 identification or IPv6 fragment identification
	Offset   int    // where Data goes in the datagram's payload, in bytes
	More     bool   // more fragments follow (MF)
	Data     []byte // the fragment's captured payload bytes (may be shorter than Len)
	Len      int    // the fragment's payload length according to the IP header
	TTL      uint8
	IPv6     bool
}

// Missing returns how many payload bytes snaplen cut off.
func (s *Segment) Missing() int { return s.PayloadLen - len(s.Payload) }

// Has reports whether every bit of flags is set.
func (s *Segment) Has(flags uint8) bool { return s.Flags&flags == flags }

// Supported reports whether the decoder knows the link type.
func Supported(lt LinkType) bool {
	switch lt {
	case LinkTypeEthernet, LinkTypeNull, LinkTypeLoop,
		LinkTypeRaw, LinkTypeIPv4, LinkTypeIPv6, LinkTypeRawOld, LinkTypeRawOld2,
		LinkTypeLinuxSLL, LinkTypeLinuxSLL2:
		return true
	}
	return false
}

const (
	etherTypeIPv4          = 0x0800
	etherTypeIPv6          = 0x86dd
	etherTypePPPoE         = 0x8864 // PPPoE session stage
	etherTypeMPLS          = 0x8847
	etherTypeMPLSMulticast = 0x8848
	pppIPv4                = 0x0021
	pppIPv6                = 0x0057
	etherTypeVLAN          = 0x8100
	etherTypeQinQ          = 0x88a8
	etherTypeQinQ2         = 0x9100
)

// Decode fills s from one captured frame of the given link type. It returns
// one of the sentinel errors, wrapped with detail, when the frame is not a
// decodable TCP segment; for ErrFragment it fills f instead, which must
// not be nil (f apart from the Segment, which is copied for every packet,
// keeps the Segment small). It keeps references into data.
func Decode(lt LinkType, data []byte, s *Segment, f *Fragment) error {
	var (
		ethertype uint16
		ip        []byte
	)
	switch lt {
	case LinkTypeEthernet:
		if len(data) < 14 {
			return ErrShort
		}
		ethertype = binary.BigEndian.Uint16(data[12:14])
		ip = data[14:]
	case LinkTypeNull, LinkTypeLoop:
		if len(data) < 4 {
			return ErrShort
		}
		// DLT_NULL's family is in the capturing host's byte order; try both.
		family := binary.LittleEndian.Uint32(data[:4])
		if lt == LinkTypeLoop || family > 0xffff {
			family = binary.BigEndian.Uint32(data[:4])
		}
		switch family {
		case 2:
			ethertype = etherTypeIPv4
		case 10, 24, 28, 30:
			ethertype = etherTypeIPv6
		default:
			return ErrNotTCP
		}
		ip = data[4:]
	case LinkTypeRaw, LinkTypeIPv4, LinkTypeIPv6, LinkTypeRawOld, LinkTypeRawOld2:
		if len(data) < 1 {
			return ErrShort
		}
		switch data[0] >> 4 {
		case 4:
			ethertype = etherTypeIPv4
		case 6:
			ethertype = etherTypeIPv6
		default:
			return ErrMalformed
		}
		ip = data
	case LinkTypeLinuxSLL:
		if len(data) < 16 {
			return ErrShort
		}
		ethertype = binary.BigEndian.Uint16(data[14:16])
		ip = data[16:]
	case LinkTypeLinuxSLL2:
		if len(data) < 20 {
			return ErrShort
		}
		ethertype = binary.BigEndian.Uint16(data[0:2])
		ip = data[20:]
	default:
		return ErrLinkType // Walk tallies it by link type; no text per frame
	}
	ethertype, ip, err := unwrap(ethertype, ip)
	if err != nil {
		return err
	}
	s.LinkLen = len(data) - len(ip)
	switch ethertype {
	case etherTypeIPv4:
		return decodeIPv4(ip, s, f)
	case etherTypeIPv6:
		return decodeIPv6(ip, s, f)
	}
	return ErrNotTCP
}

// unwrap takes off what a link may put between its header and IP: 802.1Q
// and QinQ tags, a PPPoE session header (DSL links), an MPLS label stack
// (carrier links). It returns the ethertype of what is inside.
func unwrap(ethertype uint16, b []byte) (uint16, []byte, error) {
	for {
		switch ethertype {
		case etherTypeVLAN, etherTypeQinQ, etherTypeQinQ2:
			if len(b) < 4 {
				return 0, nil, ErrShort
			}
			ethertype, b = binary.BigEndian.Uint16(b[2:4]), b[4:]
		case etherTypePPPoE:
			// version/type, code, session id, length; then the PPP protocol.
			if len(b) < 8 {
				return 0, nil, ErrShort
			}
			switch binary.BigEndian.Uint16(b[6:8]) {
			case pppIPv4:
				return etherTypeIPv4, b[8:], nil
			case pppIPv6:
				return etherTypeIPv6, b[8:], nil
			}
			return 0, nil, ErrNotTCP
		case etherTypeMPLS, etherTypeMPLSMulticast:
			for {
				if len(b) < 4 {
					return 0, nil, ErrShort
				}
				bottom := b[2]&1 != 0
				b = b[4:]
				if bottom {
					break
				}
			}
			// MPLS does not say what it carries: IP says so itself.
			if len(b) == 0 {
				return 0, nil, ErrShort
			}
			switch b[0] >> 4 {
			case 4:
				return etherTypeIPv4, b, nil
			case 6:
				return etherTypeIPv6, b, nil
			}
			return 0, nil, ErrNotTCP
		default:
			return ethertype, b, nil
		}
	}
}

func decodeIPv4(b []byte, s *Segment, f *Fragment) error {
	if len(b) < 20 {
		return ErrShort
	}
	if b[0]>>4 != 4 {
		return ErrMalformed
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return ErrMalformed
	}
	if len(b) < ihl {
		return ErrShort
	}
	if b[9] != 6 {
		return ErrNotTCP
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	fragment := binary.BigEndian.Uint16(b[6:8])
	if total == 0 && fragment&0x3fff == 0 {
		// Captured before TCP segmentation offload filled it in.
		total = len(b)
	}
	if total < ihl {
		return ErrMalformed
	}
	if fragment&0x3fff != 0 { // MF set or a non-zero offset
		end := min(len(b), total)
		*f = Fragment{
			Src: netip.AddrFrom4([4]byte(b[12:16])), Dst: netip.AddrFrom4([4]byte(b[16:20])),
			ID: uint32(binary.BigEndian.Uint16(b[4:6])), Offset: int(fragment&0x1fff) * 8,
			More: fragment&0x2000 != 0, Data: b[ihl:end], Len: total - ihl, TTL: b[8],
		}
		return ErrFragment
	}
	s.IPv6 = false
	s.TTL = b[8]
	s.IPID = binary.BigEndian.Uint16(b[4:6])
	s.FlowLabel = 0
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	return decodeTCP(b[ihl:], total-ihl, src, dst, s)
}

func decodeIPv6(b []byte, s *Segment, f *Fragment) error {
	if len(b) < 40 {
		return ErrShort
	}
	if b[0]>>4 != 6 {
		return ErrMalformed
	}
	length := int(binary.BigEndian.Uint16(b[4:6]))
	next := b[6]
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	s.IPv6 = true
	s.TTL = b[7]
	s.IPID = 0
	s.FlowLabel = uint32(b[1]&0x0f)<<16 | uint32(b[2])<<8 | uint32(b[3])
	rest := b[40:]
	if length == 0 {
		length = len(rest) // jumbogram or offload: trust the capture
	}
	// Walk extension headers, at most a handful; anything else is not TCP.
	for i := 0; i < 8; i++ {
		switch next {
		case 6:
			return decodeTCP(rest, length, src, dst, s)
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(rest) < 8 {
				return ErrShort
			}
			n := (int(rest[1]) + 1) * 8
			if len(rest) < n || length < n {
				return ErrShort
			}
			next = rest[0]
			rest, length = rest[n:], length-n
		case 44:
			if len(rest) < 8 || length < 8 {
				return ErrShort
			}
			field := binary.BigEndian.Uint16(rest[2:4])
			if field&^6 == 0 {
				// An atomic fragment (offset 0, M clear) is a whole
				// datagram, never merged with fragments that share its
				// identification (RFC 6946, section 4).
				next = rest[0]
				rest, length = rest[8:], length-8
				continue
			}
			if rest[0] != 6 {
				return ErrNotTCP
			}
			data := rest[8:]
			if len(data) > length-8 {
				data = data[:length-8]
			}
			*f = Fragment{
				Src: src, Dst: dst, ID: binary.BigEndian.Uint32(rest[4:8]),
				Offset: int(field &^ 7), More: field&1 != 0, Data: data, Len: length - 8,
				TTL: b[7], IPv6: true,
			}
			return ErrFragment
		case 51: // authentication header
			if len(rest) < 8 {
				return ErrShort
			}
			n := (int(rest[1]) + 2) * 4
			if len(rest) < n || length < n {
				return ErrShort
			}
			next = rest[0]
			rest, length = rest[n:], length-n
		default:
			return ErrNotTCP
		}
	}
	return ErrMalformed
}

func decodeTCP(b []byte, length int, src, dst netip.Addr, s *Segment) error {
	if len(b) < 20 {
		return ErrShort
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > length {
		return ErrMalformed
	}
	s.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(b[0:2]))
	s.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:4]))
	s.Seq = binary.BigEndian.Uint32(b[4:8])
	s.Ack = binary.BigEndian.Uint32(b[8:12])
	s.Flags = b[13]
	s.Window = binary.BigEndian.Uint16(b[14:16])
	s.Checksum = binary.BigEndian.Uint16(b[16:18])
	s.MSS, s.WScale = 0, -1
	s.PayloadLen = length - off
	s.Options = b[20:min(off, len(b))]
	if len(b) < off {
		// Snaplen cut the options: the payload is entirely missing.
		s.Payload = b[len(b):]
		return nil
	}
	if s.Flags&FlagSYN != 0 {
		parseSYNOptions(b[20:off], s)
	}
	end := len(b)
	if end > length {
		end = length // drop link-layer padding
	}
	s.Payload = b[off:end]
	return nil
}

func parseSYNOptions(opts []byte, s *Segment) {
	for len(opts) > 0 {
		kind := opts[0]
		if kind == 0 {
			return
		}
		if kind == 1 {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
			return
		}
		n := int(opts[1])
		switch {
		case kind == 2 && n == 4:
			s.MSS = binary.BigEndian.Uint16(opts[2:4])
		case kind == 3 && n == 3:
			s.WScale = int8(opts[2])
		}
		opts = opts[n:]
	}
}
