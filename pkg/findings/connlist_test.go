package findings

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestConnectionListIsItsConnections: a list reads back the connections it
// was made of, in JSON exactly as encoding/json writes a slice of them,
// and back again from that JSON; update changes the first connection of a
// stream, keeps what is not in JSON (tlsAgreed), and ignores a stream the
// list does not have; made out of order, a list puts its connections in
// stream order, those of one stream as given.
func TestConnectionListIsItsConnections(t *testing.T) {
	at := time.Date(2026, 12, 5, 13, 0, 0, 250_000_000, time.UTC)
	same := 2
	conns := []Connection{
		{Stream: 0, Client: "192.0.2.1:40000", Server: "198.51.100.25:25", First: at, Last: at.Add(time.Second), Packets: 12, End: "fin", Handshake: true, Helo: "client.example", Transactions: 1, Delivered: 1},
		{Stream: 2, Client: "192.0.2.1:40001", Server: "198.51.100.25:25", First: at, Last: at, End: "reset", tlsAgreed: true, Findings: 1, Worst: "warning", Diagnosis: "Reset."},
		{Stream: 2, Client: "192.0.2.9:5000", Server: "198.51.100.25:25", First: at, Last: at, End: "open", SameSessionAs: &same},
		{Stream: 7, Client: "[2001:db8::1]:25000", Server: "[2001:db8::25]:25", First: at, Last: at, End: "fin"},
	}
	l := NewConnectionList(conns...)
	if l.Len() != len(conns) || !reflect.DeepEqual(l.All(), conns) {
		t.Fatalf("the list reads back\n%+v\nwant\n%+v", l.All(), conns)
	}
	got, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(conns)
	if !bytes.Equal(got, want) {
		t.Errorf("JSON\n%s\nwant\n%s", got, want)
	}
	var back ConnectionList
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.Len() != len(conns) || back.At(3).Client != conns[3].Client || *back.At(2).SameSessionAs != 2 {
		t.Errorf("read back from JSON: %+v", back.All())
	}

	l.update(2, func(c *Connection) { c.Diagnosis += " Again." })
	l.update(5, func(c *Connection) { t.Errorf("update called for stream 5, which the list does not have: %+v", c) })
	if c := l.At(1); c.Diagnosis != "Reset. Again." || !c.tlsAgreed || c.Stream != 2 {
		t.Errorf("updated stream 2: %+v", c)
	}
	if c := l.At(2); c.Diagnosis != "" {
		t.Errorf("the second connection of stream 2 changed too: %+v", c)
	}
	if shuffled := NewConnectionList(conns[3], conns[1], conns[0], conns[2]); !reflect.DeepEqual(shuffled.All(), []Connection{conns[0], conns[1], conns[2], conns[3]}) {
		t.Errorf("a list made out of order reads back\n%+v", shuffled.All())
	}
	if empty, err := json.Marshal(NewConnectionList()); err != nil || string(empty) != "[]" {
		t.Errorf("an empty list's JSON: %s, %v", empty, err)
	}
}
