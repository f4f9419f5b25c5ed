package findings

import (
	"hash/maphash"
	"net/netip"
	"slices"

	"github.com/smtpcap/smtpcap/internal/recstore"
)

// envelopes remembers each envelope tried and the attempts at it, to find
// the ones tried again and again. A gateway's capture holds hundreds of
// thousands, nearly all tried once, and they are kept to the end of the
// capture, so what is kept of an attempt that delivered its message is a
// few words with no pointers in them (nothing for the garbage collector
// to trace, however many): an envelope is known by a 64-bit hash of its
// text (two envelopes sharing one would be taken for one: about once in
// 10^9 captures of a million envelopes), and its text, frames and ending
// are kept with its failed attempts only, the ones a report tells of,
// encoded: a spam-heavy gateway's capture has a failed attempt in nearly
// every connection, and as attempt values with their strings they took
// 360 bytes each.
type envelopes struct {
	index    map[uint64]int    // hash of an envelope's text → its place in list
	list     chunked[envelope] // in the order first seen
	tries    chunked[try]      // every attempt
	failures recstore.Store    // the failed attempts, in full (appendAttempt), in the order added
	scratch  []byte            // the encoding of the attempt being stored, reused
	seed     maphash.Seed
}

// envelope is one envelope's attempts: a list through try.next.
type envelope struct {
	first, last int    // in envelopes.tries
	failed      int    // how many attempts failed
	byMessage   bool   // its text carries a Message-ID: one message for sure
	bare        uint64 // with byMessage: the hash of its text without the Message-ID, which attempts that never reached DATA show
}

// try is one attempt: its stream and start, and where it is kept in full
// if it failed.
type try struct {
	stream  int
	host    uint64 // hash of the client's address (hostHash)
	start   stamp
	next    int // the envelope's next attempt in tries, -1 at the last
	failure int // in envelopes.failures, -1 if the message was delivered
}

// hostHash returns what an attempt keeps of its client's address.
func (es *envelopes) hostHash(a netip.Addr) uint64 { return maphash.Comparable(es.seed, a) }

// newEnvelopes returns an empty envelopes.
func newEnvelopes() envelopes {
	return envelopes{index: map[uint64]int{}, seed: maphash.MakeSeed()}
}

// add records an attempt at the envelope whose text is key. byMessage
// says the text carries the message's Message-ID, and bare is then the
// text without it.
func (es *envelopes) add(key, bare string, byMessage bool, at attempt) {
	h := maphash.String(es.seed, key)
	i, ok := es.index[h]
	if !ok {
		i = es.list.len()
		es.list.add(envelope{first: -1, last: -1})
		es.index[h] = i
	}
	e := es.list.at(i)
	e.byMessage = e.byMessage || byMessage
	if byMessage && bare != "" {
		e.bare = maphash.String(es.seed, bare)
	}
	t := try{stream: at.stream, host: at.host, start: stampOf(at.time), next: -1, failure: -1}
	if !at.ok {
		at.envelope = key
		es.scratch = appendAttempt(es.scratch[:0], &at)
		t.failure = es.failures.Add(at.stream, es.scratch)
		e.failed++
	}
	ti := es.tries.len()
	es.tries.add(t)
	if e.last >= 0 {
		es.tries.at(e.last).next = ti
	} else {
		e.first = ti
	}
	e.last = ti
}

// eachRetried calls f, in the order the envelopes were first seen, for
// each envelope with at least two failed attempts: its text, whether it
// names its message, and all its attempts in the order added (an attempt
// that delivered has only its stream, its time, its host and ok set).
// The attempts at an envelope without a Message-ID include those that
// delivered the same envelope with one: attempts deferred before DATA
// never showed theirs. That is worked out here, once, whatever order the
// attempts were added in.
func (es *envelopes) eachRetried(f func(key string, byMessage bool, attempts []attempt)) {
	failures := es.retriedFailures()
	retried := map[uint64]int{} // hash of a retried envelope's text → its place in list
	for i := range es.list.len() {
		e := es.list.at(i)
		if e.failed < 2 || e.byMessage {
			continue
		}
		for ti := e.first; ti >= 0; ti = es.tries.at(ti).next {
			if t := es.tries.at(ti); t.failure >= 0 { // only failures keep the text
				retried[maphash.String(es.seed, failures[t.failure].envelope)] = i
				break
			}
		}
	}
	delivered := map[int][]attempt{} // by the retried envelope's place in list
	if len(retried) > 0 {
		for i := range es.list.len() {
			e := es.list.at(i)
			j, ok := retried[e.bare]
			if !e.byMessage || !ok {
				continue
			}
			for ti := e.first; ti >= 0; ti = es.tries.at(ti).next {
				if t := es.tries.at(ti); t.failure < 0 {
					delivered[j] = append(delivered[j], attempt{stream: t.stream, time: t.start.time(), ok: true, host: t.host, byBare: true})
				}
			}
		}
	}
	for i := range es.list.len() {
		e := es.list.at(i)
		if e.failed < 2 {
			continue
		}
		var list []attempt
		key := ""
		for ti := e.first; ti >= 0; ti = es.tries.at(ti).next {
			t := es.tries.at(ti)
			if t.failure >= 0 {
				at := failures[t.failure]
				key = at.envelope
				list = append(list, at)
				continue
			}
			list = append(list, attempt{stream: t.stream, time: t.start.time(), ok: true, host: t.host})
		}
		f(key, e.byMessage, append(list, delivered[i]...))
	}
}

// retriedFailures returns the failed attempts of every envelope that
// failed at least twice, by their index in failures: decoded in the order
// they were stored, one pass over the store. Read envelope by envelope,
// each attempt was in a block of its own, and a compressed store
// decompressed a block for nearly every one.
func (es *envelopes) retriedFailures() map[int]attempt {
	var want []int
	for i := range es.list.len() {
		e := es.list.at(i)
		if e.failed < 2 {
			continue
		}
		for ti := e.first; ti >= 0; ti = es.tries.at(ti).next {
			if t := es.tries.at(ti); t.failure >= 0 {
				want = append(want, t.failure)
			}
		}
	}
	slices.Sort(want)
	out := make(map[int]attempt, len(want))
	for _, i := range want {
		out[i] = es.failure(i)
	}
	return out
}

// failure returns the failed attempt at index i of failures.
func (es *envelopes) failure(i int) (at attempt) {
	es.failures.View(i, func(rec []byte) { at = decodeAttempt(rec) })
	return at
}

// appendAttempt appends what a failed attempt keeps to b: all of it, its
// times in UTC, as the capture reader gives them.
func appendAttempt(b []byte, at *attempt) []byte {
	b = recstore.AppendBits(b, &at.ok, &at.unsent, &at.partial, &at.byBare)
	b = recstore.AppendInt(b, int64(at.stream))
	b = recstore.AppendTime(b, at.time)
	b = recstore.AppendTimeAfter(b, at.end, at.time)
	b = recstore.AppendString(b, at.envelope)
	b = recstore.AppendString(b, at.ended)
	b = recstore.AppendInt(b, int64(at.code))
	b = recstore.AppendUint(b, at.message)
	b = recstore.AppendUint(b, at.host)
	for _, a := range []netip.Addr{at.client, at.server} {
		ip, _ := a.MarshalBinary() // never fails
		b = recstore.AppendBytes(b, ip)
	}
	// nil and empty frame lists are told apart, as the rest of the
	// analyzer does not care to: 0 is nil, n+1 is n frames.
	if at.frames == nil {
		return recstore.AppendUint(b, 0)
	}
	b = recstore.AppendUint(b, uint64(len(at.frames))+1)
	prev := 0
	for _, fr := range at.frames {
		b = recstore.AppendInt(b, int64(fr-prev))
		prev = fr
	}
	return b
}

// decodeAttempt returns the attempt appendAttempt encoded in b.
func decodeAttempt(b []byte) attempt {
	r := recstore.NewReader(b)
	var at attempt
	r.Bits(&at.ok, &at.unsent, &at.partial, &at.byBare)
	at.stream = int(r.Int())
	at.time = r.Time()
	at.end = r.TimeAfter(at.time)
	at.envelope = r.String()
	at.ended = r.String()
	at.code = int(r.Int())
	at.message = r.Uint()
	at.host = r.Uint()
	for _, a := range []*netip.Addr{&at.client, &at.server} {
		a.UnmarshalBinary(r.Bytes()) // what MarshalBinary wrote
	}
	if n := int(r.Uint()); n > 0 {
		at.frames = make([]int, n-1)
		prev := 0
		for i := range at.frames {
			prev += int(r.Int())
			at.frames[i] = prev
		}
	}
	return at
}
