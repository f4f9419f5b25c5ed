package findings

import (
	"github.com/smtpcap/smtpcap/internal/recstore"
)

// findStore keeps the analyzer's findings to the end of the capture, each
// encoded in a recstore keyed by stream: as Finding values they took 544
// bytes each before their strings, all of it scanned by the garbage
// collector at every cycle, and a capture of many short connections gives
// one or more for every four connections. The catalog's explanation and
// remedy, and the filter made of the stream and frames, are not stored
// but made again: they are what most findings carry.
//
// A record's key is its finding's stream, and its tag holds the ID (as
// its place in ids) and severity, which the report's last steps read of
// every finding: a store past a few megabytes is compressed, and reading
// them from the records took longer than writing the report. The record
// holds the rest.
type findStore struct {
	recs    recstore.Store
	catalog map[string]Entry
	ids     *idTable // the IDs the tags name; nil until the first finding
	scratch []byte   // the encoding of the finding being stored, reused
}

// idTable numbers the finding IDs a store has seen.
type idTable struct {
	names []string
	index map[string]uint32
}

// tag returns the tag of a record of f: its ID's number, then its
// severity in the lowest byte.
func (fs *findStore) tag(f *Finding) uint32 {
	if fs.ids == nil {
		fs.ids = &idTable{index: map[string]uint32{}}
	}
	n, ok := fs.ids.index[f.ID]
	if !ok {
		n = uint32(len(fs.ids.names))
		fs.ids.names = append(fs.ids.names, f.ID)
		fs.ids.index[f.ID] = n
	}
	return n<<8 | uint32(uint8(f.Severity))
}

// len returns how many findings the store holds.
func (fs *findStore) len() int { return fs.recs.Len() }

// add stores f and returns its index: the order of adding.
func (fs *findStore) add(f *Finding) int {
	fs.scratch = fs.encode(fs.scratch[:0], f)
	i := fs.recs.Add(f.Stream, fs.scratch)
	fs.recs.SetTag(i, fs.tag(f))
	return i
}

// get returns the finding at index i.
func (fs *findStore) get(i int) (f Finding) {
	fs.recs.View(i, func(rec []byte) { f = fs.decode(rec, fs.recs.Tag(i), fs.recs.Key(i)) })
	return f
}

// set replaces the finding at index i, whose stream f must keep.
func (fs *findStore) set(i int, f *Finding) {
	fs.scratch = fs.encode(fs.scratch[:0], f)
	fs.recs.Replace(i, fs.scratch)
	fs.recs.SetTag(i, fs.tag(f))
}

// takeSorted returns the findings, then extra, as a FindingList in
// stable order of stream (those of one stream as added, then extra's, in
// extra's order), and empties the store. None is decoded.
func (fs *findStore) takeSorted(extra []Finding) FindingList {
	for i := range extra {
		fs.add(&extra[i])
	}
	fs.recs.SortByKey()
	l := FindingList{store: findStore{recs: fs.recs, catalog: fs.catalog, ids: fs.ids}}
	*fs = findStore{catalog: fs.catalog}
	return l
}

// head returns what the report's last steps look at of every finding,
// read from its record's tag: its ID, severity and stream.
func (fs *findStore) head(i int) (id string, sev Severity, stream int) {
	id, sev = fs.untag(fs.recs.Tag(i))
	return id, sev, fs.recs.Key(i)
}

// untag returns the ID and severity a record's tag holds.
func (fs *findStore) untag(tag uint32) (id string, sev Severity) {
	return fs.ids.names[tag>>8], Severity(uint8(tag))
}

// marks are a finding's unexported yes-or-no fields, each as a bit of
// its encoding, all kept: cheap, and what tests read of a report.
func (f *Finding) marks() []*bool {
	return []*bool{&f.serverTook, &f.waitedOut, &f.asSent, &f.refusedMessage, &f.interrupted, &f.smuggled,
		&f.answersMessage, &f.tlsMismatch, &f.changedInPath, &f.contentAsCommands, &f.hungUp, &f.closedSession, &f.linked, &f.awaitedReply}
}

// encode appends f's encoding to b: what the report shows of it but its
// stream, ID and severity (the record's key and tag), what the report's
// last steps read (envelope, acceptedIn) and its marks. A
// finding's pointers into its session (tx, ofEvery, cmds) are dropped by
// Add before it is stored, and the rest of its unexported fields served
// the diagnosis, which is made by then.
func (fs *findStore) encode(b []byte, f *Finding) []byte {
	// What is made again when read rather than stored: the catalog's
	// explanation and remedy, and the filter of stream and frames.
	entry := fs.catalog[f.ID]
	catalogExplanation, catalogRemedy := f.Explanation == entry.Explanation, f.Remedy == entry.Remedy
	madeFilter := f.Filter == filterFor(f.Stream, f.Frames)
	b = recstore.AppendBits(b, &catalogExplanation, &catalogRemedy, &madeFilter)
	b = recstore.AppendBits(b, f.marks()...)
	b = recstore.AppendInt(b, f.Offset)
	b = recstore.AppendTime(b, f.Time)
	b = recstore.AppendUint(b, f.envelope)
	b = recstore.AppendInt(b, int64(f.acceptedIn))
	for _, ints := range [][]int{f.Frames, f.Streams} {
		// nil and empty differ in the JSON (null and []): 0 is nil, n+1
		// is n numbers, each after the one before it.
		if ints == nil {
			b = recstore.AppendUint(b, 0)
			continue
		}
		b = recstore.AppendUint(b, uint64(len(ints))+1)
		prev := 0
		for _, v := range ints {
			b = recstore.AppendInt(b, int64(v-prev))
			prev = v
		}
	}
	b = recstore.AppendUint(b, uint64(len(f.FileFrames)))
	for _, s := range f.FileFrames {
		b = recstore.AppendString(b, s)
	}
	for _, s := range []string{f.Direction, string(f.Phase), f.Summary, f.Evidence, f.CaptureLoss} {
		b = recstore.AppendString(b, s)
	}
	if !catalogExplanation {
		b = recstore.AppendString(b, f.Explanation)
	}
	if !catalogRemedy {
		b = recstore.AppendString(b, f.Remedy)
	}
	if !madeFilter {
		b = recstore.AppendString(b, f.Filter)
	}
	return b
}

// decode returns the Finding encode encoded in b, of the record whose tag
// and key (its stream) are given. Its time is in UTC, as the capture
// reader gives it.
func (fs *findStore) decode(b []byte, tag uint32, stream int) Finding {
	r := recstore.NewReader(b)
	var catalogExplanation, catalogRemedy, madeFilter bool
	r.Bits(&catalogExplanation, &catalogRemedy, &madeFilter)
	f := Finding{Stream: stream}
	f.ID, f.Severity = fs.untag(tag)
	r.Bits(f.marks()...)
	f.Offset = r.Int()
	f.Time = r.Time()
	f.envelope = r.Uint()
	f.acceptedIn = int(r.Int())
	for _, ints := range []*[]int{&f.Frames, &f.Streams} {
		n := int(r.Uint())
		if n == 0 {
			continue
		}
		*ints = make([]int, n-1)
		prev := 0
		for i := range *ints {
			prev += int(r.Int())
			(*ints)[i] = prev
		}
	}
	if n := int(r.Uint()); n > 0 {
		f.FileFrames = make([]string, n)
		for i := range f.FileFrames {
			f.FileFrames[i] = r.String()
		}
	}
	var phase string
	for _, s := range []*string{&f.Direction, &phase, &f.Summary, &f.Evidence, &f.CaptureLoss} {
		*s = r.String()
	}
	f.Phase = Phase(phase)
	entry := fs.catalog[f.ID]
	f.Explanation, f.Remedy = entry.Explanation, entry.Remedy
	if !catalogExplanation {
		f.Explanation = r.String()
	}
	if !catalogRemedy {
		f.Remedy = r.String()
	}
	if madeFilter {
		f.Filter = filterFor(f.Stream, f.Frames)
	} else {
		f.Filter = r.String()
	}
	return f
}
