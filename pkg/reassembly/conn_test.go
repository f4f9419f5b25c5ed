package reassembly

import (
	"net/netip"
	"testing"
)

func TestFlowKeyNamesOneTupleEitherWay(t *testing.T) {
	ends := []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.1:25"),
		netip.MustParseAddrPort("192.0.2.1:2525"),
		netip.MustParseAddrPort("192.0.2.2:25"),
		netip.MustParseAddrPort("[::ffff:192.0.2.1]:25"), // the first, IPv4-mapped: another end
		netip.MustParseAddrPort("[2001:db8::1]:25"),
		netip.MustParseAddrPort("[2001:db8::1]:40000"),
		netip.MustParseAddrPort("[::c000:201]:25"), // the first's bytes in another place
	}
	keys := map[flowKey][2]int{}
	for i, a := range ends {
		for j, b := range ends {
			if j < i {
				continue
			}
			k := keyOf(a, b)
			if back := keyOf(b, a); back != k {
				t.Errorf("keyOf(%v, %v) = %+v, the other way %+v", a, b, k, back)
			}
			if k.isLo(a) == k.isLo(b) && a != b {
				t.Errorf("key of %v and %v: isLo %v for both", a, b, k.isLo(a))
			}
			if prev, dup := keys[k]; dup {
				t.Errorf("%v–%v has the key of %v–%v", a, b, ends[prev[0]], ends[prev[1]])
			}
			keys[k] = [2]int{i, j}
		}
	}
	// The lower end by address first, then by port, then by family.
	if k := keyOf(ends[2], ends[0]); !k.isLo(ends[0]) {
		t.Errorf("192.0.2.1:25 should come before 192.0.2.2:25")
	}
	if k := keyOf(ends[1], ends[0]); !k.isLo(ends[0]) {
		t.Errorf("port 25 should come before port 2525")
	}
}
