package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestStreamsJSONIsTheEncodersWholeSlice: keeping the rows encoded and
// writing them one at a time gives the bytes a json.Encoder (two-space
// indent, no HTML escaping) gives for the whole slice, for no rows, one and
// several, with every field set, angle brackets, quotes, control bytes and
// non-ASCII text in them.
func TestStreamsJSONIsTheEncodersWholeSlice(t *testing.T) {
	row := func(i int) streamRow {
		return streamRow{
			Stream: i, Client: fmt.Sprintf("192.0.2.%d:4%04d", i, i), Server: "[2001:db8::25]:25",
			First: time.Unix(1_700_000_000+int64(i), 123456789).UTC(), Last: time.Unix(1_700_000_001+int64(i), int64(i)).UTC(),
			ServerPackets: i + 1, ServerBytes: int64(i) * 1000, ClientBy: "syn", FirstFrame: i + 1, LastFrame: 1 << 40,
			ClientPackets: i * 3, ClientBytes: int64(i) << 33, End: "fin", Handshake: i%2 == 0,
			Helo: "mx.example \"ü\"", MailFrom: "<a&b@example.org>", Rcpts: i, LastReply: "250 ok\x01 \u2028", TLS: i%3 == 0,
		}
	}
	for _, n := range []int{0, 1, 3} {
		rows := []streamRow{}
		var kept streamRows
		for i := range n {
			rows = append(rows, row(i))
			rows[i].Duration = rows[i].Last.Sub(rows[i].First).Seconds()
			kept.add(&rows[i])
		}
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rows); err != nil {
			t.Fatal(err)
		}
		if err := writeStreamsJSON(&got, &kept); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d rows:\n%s\nwant\n%s", n, got.String(), want.String())
		}
	}
}

// TestStreamsJSONSaysWhichRowCannotBeWritten: a time JSON cannot hold
// names the stream instead of failing without a word.
func TestStreamsJSONSaysWhichRowCannotBeWritten(t *testing.T) {
	var rows streamRows
	rows.add(&streamRow{Stream: 4, First: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	err := writeStreamsJSON(&bytes.Buffer{}, &rows)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("stream 4: ")) {
		t.Errorf("error %v, want one naming stream 4", err)
	}
}
