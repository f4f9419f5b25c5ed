package findings

import (
	"encoding/json"
	"fmt"
	"slices"
)

// FindingList is a report's findings in stream order. Each stays encoded
// until it is read: a mail gateway's capture of mostly refused senders
// gives a finding for nearly every connection, and a report that decoded
// them all at once needed 800 bytes for each, more than the rest of the
// report, only to write them out one after another.
type FindingList struct {
	store findStore // its references sorted by stream
}

// NewFindingList returns a list of the given findings in stream order,
// those of one stream in the order given.
func NewFindingList(found ...Finding) FindingList {
	l := FindingList{store: findStore{catalog: catalogByID()}}
	for i := range found {
		l.store.add(&found[i])
	}
	l.store.recs.SortByKey()
	l.store.scratch = nil
	return l
}

// Len returns how many findings the list holds.
func (l FindingList) Len() int { return l.store.len() }

// At returns the i'th finding, which must be below Len.
func (l FindingList) At(i int) Finding { return l.store.get(i) }

// All returns every finding of the list, decoded: for small reports and
// tests; a writer of a large one reads them with At, one at a time.
func (l FindingList) All() []Finding {
	out := make([]Finding, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

// String returns the list's findings as fmt prints a slice of them: for
// tests and debugging.
func (l FindingList) String() string { return fmt.Sprintf("%+v", l.All()) }

// head returns the ID, severity and stream of the i'th finding without
// decoding the rest of it.
func (l FindingList) head(i int) (id string, sev Severity, stream int) { return l.store.head(i) }

// set puts f, read with At(i) and changed but for its stream, in the
// place of the i'th finding.
func (l *FindingList) set(i int, f *Finding) { l.store.set(i, f) }

// keep keeps the findings keep is true of, in their order; keep is asked
// of each by its index before any is dropped.
func (l *FindingList) keep(keep func(i int) bool) { l.store.recs.Keep(keep) }

// MarshalJSON encodes the list as a JSON array of findings, with <, >
// and & as they are, as the report's own encoder leaves them. The
// findings are written as the report writes them; an encoder that
// marshals the list compacts or indents them again.
func (l FindingList) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i := range l.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		f := l.At(i)
		var err error
		if b, err = appendFindingJSON(b, &f); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// UnmarshalJSON decodes a JSON array of findings into the list, in stream
// order.
func (l *FindingList) UnmarshalJSON(b []byte) error {
	var found []Finding
	if err := json.Unmarshal(b, &found); err != nil {
		return err
	}
	*l = NewFindingList(found...)
	return nil
}

// byStream indexes the list's findings by each stream they concern, a
// finding about several connections (a retry loop) under each of them, in
// list order. Most concern their own stream alone, and the list is in
// stream order: only the others are indexed, in extra; own gives the
// findings of one stream's own from the list itself.
type byStream struct {
	list  *FindingList
	extra map[int][]int // stream → the findings of other streams that name it
}

// indexByStream returns the list's index by stream.
func indexByStream(l *FindingList) byStream {
	by := byStream{list: l, extra: map[int][]int{}}
	for i := range l.Len() {
		f := l.At(i)
		for _, s := range f.Streams {
			if s == f.Stream {
				continue
			}
			if list := by.extra[s]; len(list) == 0 || list[len(list)-1] != i {
				by.extra[s] = append(list, i)
			}
		}
	}
	return by
}

// of returns the indexes of the findings that concern stream, in list
// order.
func (by byStream) of(stream int) []int {
	var own []int
	for i, _ := by.list.store.recs.Find(stream); i < by.list.Len() && by.list.store.recs.Key(i) == stream; i++ {
		own = append(own, i)
	}
	extra := by.extra[stream]
	if len(extra) == 0 {
		return own
	}
	all := append(own, extra...)
	slices.Sort(all)
	return slices.Compact(all)
}
