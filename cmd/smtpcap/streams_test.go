package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smtpcap/smtpcap/internal/capgen"
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

// TestStreamsCountsALongConnectionWhole: a relay's connection of 17,000
// messages, more commands and replies than the parser keeps, is listed
// with all its recipients and its real last reply (the server's 221), not
// those of the part the parser kept.
func TestStreamsCountsALongConnectionWhole(t *testing.T) {
	const messages = 17000
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	s := capgen.NewSession(w, capgen.LinkEthernet, netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.7:25"),
		time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), 1000, 5000)
	s.Step = 100 * time.Microsecond
	s.Handshake()
	s.Server("220 mx.example.test ESMTP\r\n")
	s.Client("EHLO relay.example.org\r\n")
	s.Server("250-mx.example.test\r\n250 PIPELINING\r\n")
	s.RelayMessages(messages)
	s.Client("QUIT\r\n")
	s.Server("221 2.0.0 Bye\r\n")
	s.Close()
	path := filepath.Join(t.TempDir(), "relay.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "streams", "--format", "json", path)
	var rows []streamRow
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, errOut)
	}
	if len(rows) != 1 || rows[0].Rcpts != messages || rows[0].LastReply != "221 2.0.0 Bye" {
		t.Errorf("rows %+v; want one, with %d recipients and the 221 last", rows, messages)
	}
}
