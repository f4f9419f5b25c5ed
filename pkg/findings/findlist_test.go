package findings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestFindingListReadsBackInStreamOrder: a list gives its findings back
// in stream order (those of one stream as given), with their heads read
// without decoding; indexes each under every stream it names; writes the
// JSON a slice of them gives, with < and > as they are; reads it back;
// and keeps what it is told to.
func TestFindingListReadsBackInStreamOrder(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	given := []Finding{
		{ID: "stall", Severity: Warning, Stream: 3, Frames: []int{7}, Time: at, Summary: "first of 3"},
		{ID: "retry-loop", Severity: Error, Stream: 1, Frames: []int{2}, Time: at, Summary: "loop", Streams: []int{1, 3, 5}},
		{ID: "command-rejected", Severity: Info, Stream: 3, Frames: []int{9}, Time: at, Summary: "RCPT TO:<a@example.test> was rejected", Filter: "tcp.stream eq 3"},
		{ID: "not-in-the-catalog", Severity: Info, Stream: 2, Frames: nil, Time: at, Summary: "x"},
	}
	given[2].Explanation = catalogByID()["command-rejected"].Explanation // kept as the catalog's
	l := NewFindingList(given...)
	want := []Finding{given[1], given[3], given[0], given[2]}
	got := l.All()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("All:\n got %+v\nwant %+v", got, want)
	}
	for i, f := range want {
		if id, sev, stream := l.head(i); id != f.ID || sev != f.Severity || stream != f.Stream {
			t.Errorf("head(%d) = %q %v %d, want %q %v %d", i, id, sev, stream, f.ID, f.Severity, f.Stream)
		}
	}
	if printed, w := fmt.Sprint(l), fmt.Sprintf("%+v", want); printed != w {
		t.Errorf("printed as %s, want %s", printed, w)
	}
	by := indexByStream(&l)
	for stream, wantIdx := range map[int][]int{1: {0}, 2: {1}, 3: {0, 2, 3}, 5: {0}, 4: nil} {
		if got := by.of(stream); !slices.Equal(got, wantIdx) {
			t.Errorf("findings of stream %d: %v, want %v", stream, got, wantIdx)
		}
	}

	b, err := l.MarshalJSON() // json.Marshal would escape them again: the report's encoder does not
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(want); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer // written as the report writes it: indented
	if err := json.Compact(&compact, b); err != nil {
		t.Fatalf("JSON of the list: %v\n%s", err, b)
	}
	if !bytes.Equal(compact.Bytes(), bytes.TrimSuffix(plain.Bytes(), []byte("\n"))) {
		t.Errorf("JSON of the list:\n%s\nof the slice:\n%s", compact.Bytes(), plain.Bytes())
	}
	if !bytes.Contains(b, []byte("<a@example.test>")) {
		t.Errorf("JSON of the list escapes angle brackets: %s", b)
	}
	var back FindingList
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.All(), want) {
		t.Errorf("read back:\n got %+v\nwant %+v", back.All(), want)
	}

	l.keep(func(i int) bool { _, sev, _ := l.head(i); return sev > Info })
	if got := l.All(); !reflect.DeepEqual(got, []Finding{want[0], want[2]}) {
		t.Errorf("kept %+v, want the error and the warning", got)
	}
	if empty, _ := (FindingList{}).MarshalJSON(); string(empty) != "[]" {
		t.Errorf("an empty list's JSON is %s", empty)
	}
}
