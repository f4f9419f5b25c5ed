package findings

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvelopesGiveBackRetriedOnesInFull(t *testing.T) {
	es := newEnvelopes()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 123456789, time.UTC)
	at := func(stream int, ok bool) attempt {
		a := attempt{stream: stream, time: t0.Add(time.Duration(stream) * time.Minute), ok: ok}
		if !ok {
			a.frames, a.end, a.ended = []int{stream * 10}, a.time.Add(time.Second), fmt.Sprintf("with 451 try %d", stream)
		}
		return a
	}
	es.add("b → c", "", false, at(1, false))
	es.add("once → x", "", false, at(2, true)) // delivered once: never given back
	es.add("a → b <id>", "", true, at(3, false))
	es.add("b → c", "", false, at(4, true))
	es.add("one failure → y", "", false, at(5, false))
	es.add("a → b <id>", "", false, at(6, false))
	es.add("b → c", "", false, at(7, false))
	var got []string
	es.eachRetried(func(key string, byMessage bool, list []attempt) {
		var parts []string
		for _, a := range list {
			if !a.time.Equal(t0.Add(time.Duration(a.stream) * time.Minute)) {
				t.Errorf("%s: stream %d's time %v", key, a.stream, a.time)
			}
			p := fmt.Sprintf("%d:%v", a.stream, a.ok)
			if !a.ok {
				p += fmt.Sprintf(":%v:%s:%s:%v", a.frames, a.ended, a.envelope, a.end.Sub(a.time))
			}
			parts = append(parts, p)
		}
		got = append(got, fmt.Sprintf("%s %v [%s]", key, byMessage, strings.Join(parts, " ")))
	})
	want := []string{
		"b → c false [1:false:[10]:with 451 try 1:b → c:1s 4:true 7:false:[70]:with 451 try 7:b → c:1s]",
		"a → b <id> true [3:false:[30]:with 451 try 3:a → b <id>:1s 6:false:[60]:with 451 try 6:a → b <id>:1s]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("retried envelopes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDeliveredWithAMessageIDEndsALoopWithout: attempts deferred at RCPT
// never show their Message-ID; the one that delivered does. It is given
// back with them whether it was added before or after them (sessions come
// in the order their workers finish them).
func TestDeliveredWithAMessageIDEndsALoopWithout(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	at := func(stream int, ok bool) attempt {
		return attempt{stream: stream, time: t0.Add(time.Duration(stream) * time.Minute), ok: ok, ended: "with 451 greylisted"}
	}
	for _, deliveredFirst := range []bool{false, true} {
		es := newEnvelopes()
		es.add("a → b", "", false, at(0, true)) // delivered once before: the envelope's first try keeps no text
		delivered := func() { es.add("a → b <id@x>", "a → b", true, at(3, true)) }
		if deliveredFirst {
			delivered()
		}
		es.add("a → b", "", false, at(1, false))
		es.add("a → b", "", false, at(2, false))
		es.add("c → d <other@x>", "c → d", true, at(4, true)) // another envelope's message
		if !deliveredFirst {
			delivered()
		}
		var got []string
		es.eachRetried(func(key string, _ bool, list []attempt) {
			for _, a := range list {
				got = append(got, fmt.Sprintf("%s %d:%v", key, a.stream, a.ok))
			}
		})
		if want := "a → b 0:true|a → b 1:false|a → b 2:false|a → b 3:true"; strings.Join(got, "|") != want {
			t.Errorf("delivered first %v: %q, want %q", deliveredFirst, strings.Join(got, "|"), want)
		}
	}
}

// TestFailedAttemptsComeBackAsTheyWere: a failed attempt is kept encoded,
// and reads back equal, whatever its fields hold: zero and far-apart
// times, nil, empty and unsorted frame lists, IPv4, IPv6 with a zone and
// no address at all, any flags.
func TestFailedAttemptsComeBackAsTheyWere(t *testing.T) {
	start := time.Date(2026, 12, 6, 4, 30, 0, 123456789, time.UTC)
	addrs := []netip.Addr{{}, netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("2001:db8::25")}
	var want []attempt
	for i := range 64 {
		at := attempt{stream: i * 1000, time: start.Add(time.Duration(i) * time.Hour), ok: i&1 != 0, unsent: i&2 != 0, partial: i&4 != 0, byBare: i&8 != 0,
			envelope: "<a@example.org> → <b@example.net>", ended: fmt.Sprintf("with 550 5.7.1 refused (%d)", i), code: 550 - i,
			message: uint64(i) << 60, host: uint64(i) * 0x9e3779b97f4a7c15, client: addrs[i%4], server: addrs[(i/4)%4]}
		switch i % 3 {
		case 0:
			at.frames = []int{}
		case 1:
			at.frames = []int{90, 3, 1 << 40}
		}
		if i%5 == 0 {
			at.end = at.time.Add(-time.Minute) // before the start: a clock that went back
		}
		if i == 7 {
			at.time, at.end = time.Time{}, start
		}
		want = append(want, at)
	}
	es := newEnvelopes()
	for i := range want {
		at := want[i]
		at.ok = false // only failures are kept in full
		want[i].ok = false
		want[i].envelope = fmt.Sprintf("key %d", i) // add keeps the key it is given as the text
		es.add(want[i].envelope, "", false, at)
	}
	for i, w := range want {
		if got := es.failure(i); !reflect.DeepEqual(got, w) {
			t.Errorf("attempt %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
}
