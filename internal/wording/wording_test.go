package wording

import "testing"

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 bytes"}, {1, "1 byte"}, {2, "2 bytes"}, {-1, "-1 bytes"}} {
		if got := Plural(tc.n, "byte", "bytes"); got != tc.want {
			t.Errorf("Plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := Plural(1, "packet is", "packets are"); got != "1 packet is" {
		t.Errorf("Plural(1) with an int = %q", got)
	}
}
