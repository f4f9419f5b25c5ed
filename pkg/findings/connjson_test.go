package findings

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestConnectionJSONIsEncodingJSONs: appendConnectionJSON writes byte for
// byte what encoding/json writes for the same Connection in the report's
// indentation, on random connections with every field set or empty and
// strings full of what JSON escapes (control characters, quotes,
// backslashes, invalid UTF-8, U+2028, <, > and &).
func TestConnectionJSONIsEncodingJSONs(t *testing.T) {
	pieces := []string{"", "a", "<x@example.org>", "&", "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f",
		"\xff", "\xe2\x80", "\u2028", "\u2029", "é", "例", "😀", "\ufffd", " ", "250 ok"}
	rng := rand.New(rand.NewPCG(7, 11))
	str := func() string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	zones := []*time.Location{time.UTC, time.FixedZone("x", 3600+30*60), time.FixedZone("y", -7*3600)}
	when := func() time.Time {
		return time.Unix(rng.Int64N(5e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])
	}
	num := func() int { return rng.IntN(3) * rng.IntN(100000) }
	for i := range 2000 {
		c := Connection{
			Stream: num(), Client: str(), Server: str(), First: when(), Last: when(), Packets: num(),
			End: str(), Handshake: rng.IntN(2) == 0, Helo: str(), Transactions: num(), Delivered: num(),
			EnvelopeOnly: num(), TLS: rng.IntN(2) == 0, Findings: num(), Worst: str(), Diagnosis: str(),
		}
		if same := num(); rng.IntN(2) == 0 {
			c.SameSessionAs = &same
		}
		var want bytes.Buffer
		if err := newJSONEncoder(&want, "    ").Encode(&c); err != nil {
			t.Fatal(err)
		}
		got, err := appendConnectionJSON(nil, &c)
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.TrimSuffix(want.String(), "\n"); string(got) != w {
			t.Fatalf("connection %d: %+v\ngot:\n%s\nencoding/json:\n%s", i, c, got, w)
		}
	}
	// A time encoding/json refuses is refused.
	c := Connection{First: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := appendConnectionJSON(nil, &c); err == nil {
		t.Error("year 10000 encoded; encoding/json refuses it")
	}
	for _, offset := range []int{24 * 3600, -24 * 3600, 100 * 3600} {
		c := Connection{First: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", offset))}
		if _, err := appendConnectionJSON(nil, &c); err == nil {
			t.Errorf("zone offset %d s encoded; encoding/json refuses it", offset)
		}
	}
}

// TestFindingJSONIsEncodingJSONs: appendFindingJSON writes what
// encoding/json writes of a finding in the report, for strings of every
// kind, nil, empty and full number lists, all severities and phases, with
// and without the fields that are left out when empty; and refuses the
// times encoding/json refuses.
func TestFindingJSONIsEncodingJSONs(t *testing.T) {
	pieces := []string{"", "a", "<x@example.org>", "&", "\"", "\\", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
		"\xff", "\xe2\x80", "\u2028", "\u2029", "é", "例", "😀", "┊[3|4]", " ", "550 no"}
	rng := rand.New(rand.NewPCG(8, 12))
	str := func() string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	ints := func() []int { return randomInts(rng, 5, 1_000_000) }
	zones := []*time.Location{time.UTC, time.FixedZone("x", 3600+30*60)}
	for i := range 2000 {
		f := Finding{
			ID: str(), Severity: Severity(rng.IntN(4)), Stream: rng.IntN(100000), Direction: str(), Phase: Phase(str()),
			Frames: ints(), Offset: rng.Int64N(1<<40) - 1, Summary: str(), Evidence: str(), Explanation: str(), Remedy: str(),
			Filter: str(), CaptureLoss: str(), Streams: ints(),
			Time: time.Unix(rng.Int64N(5e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))]),
		}
		switch rng.IntN(3) {
		case 0:
			f.FileFrames = []string{}
		case 1:
			f.FileFrames = []string{"a.pcap:1", str()}
		}
		var want bytes.Buffer
		if err := newJSONEncoder(&want, "    ").Encode(&f); err != nil {
			t.Fatal(err)
		}
		got, err := appendFindingJSON(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.TrimSuffix(want.String(), "\n"); string(got) != w {
			t.Fatalf("finding %d: %+v\ngot:\n%s\nencoding/json:\n%s", i, f, got, w)
		}
	}
	if _, err := appendFindingJSON(nil, &Finding{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("year 10000 encoded; encoding/json refuses it")
	}
}
