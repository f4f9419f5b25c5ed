package reassembly

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Format is the container format of a capture file.
type Format uint8

// The capture formats smtpcap reads and writes.
const (
	FormatPcap Format = iota + 1
	FormatPcapNG
)

// String returns "pcap" or "pcapng".
func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	}
	return "unknown"
}

// ErrNotCapture is returned (wrapped in an *InputError) when a file is
// neither pcap nor pcapng, compressed or not.
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// ErrEmpty is returned (wrapped in an *InputError) for a file with no bytes.
var ErrEmpty = errors.New("empty file")

// ErrTruncated is returned (wrapped in an *InputError) when a file ends
// inside a record.
var ErrTruncated = errors.New("file ends inside a record (truncated capture)")

// InputError is a fault in one input file. It names the file and, when the
// fault is inside a record, the frame and the byte offset of that record, so
// the user can look at the spot with a hex editor.
type InputError struct {
	File   string // the name the user gave
	Frame  int    // 1-based frame number in that file of the record at fault; 0 if before the first
	Offset int64  // byte offset in the (decompressed) file; -1 if unknown
	Gzip   bool   // the offset counts decompressed bytes
	Err    error
}

// Error says file, frame, offset and fault in one line.
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Frame > 0 {
		fmt.Fprintf(&b, ": frame %d", e.Frame)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " (offset %#x", e.Offset)
		if e.Gzip {
			b.WriteString(" in the decompressed data")
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the fault.
func (e *InputError) Unwrap() error { return e.Err }

// Input describes one capture file of a Capture.
type Input struct {
	Name       string   // as the user gave it; "-" is standard input
	Format     Format   // pcap or pcapng
	Gzip       bool     // the file was gzip-compressed
	LinkType   LinkType // pcap: the file's link type; pcapng: the first interface's
	Snaplen    uint32   // pcap: the file's snaplen; pcapng: the first interface's
	Nanosecond bool     // pcap: nanosecond timestamps
	BigEndian  bool     // pcap: the header was written big-endian
	Comments   []string // pcapng: the comments of the file's first section header (Wireshark's capture file comments)
	Packets    int      // records read so far
}

// Packet is one record of a capture. Data is owned by the Capture and is
// valid only until the next call to Next.
type Packet struct {
	Frame     int       // 1-based position in the merged capture; Wireshark's frame.number for a single file
	Input     int       // index of the file in Capture.Inputs
	FileFrame int       // 1-based position in its own file
	Offset    int64     // byte offset of the record in its (decompressed) file
	Timestamp time.Time // capture time
	Length    int       // original length on the wire
	LinkType  LinkType  // link type of the interface it was captured on
	Snaplen   uint32    // snaplen of that interface
	Section   int       // pcapng: 0-based section number
	Interface int       // pcapng: interface id within the section
	Data      []byte    // captured bytes; len(Data) < Length means snaplen cut it
	Truncated bool      // len(Data) < Length
	BadTime   bool      // the record's sub-second field was out of range; Timestamp carries it into the seconds
	WildTime  bool      // the record's time lay before 1970 or after 2106 (a corrupt record); Timestamp is the previous record's
	Comments  [][]byte  // pcapng: the packet's comments (opt_comment), owned and valid as Data is

	// Fragments are the other fragments of the IP datagram reassembled in
	// this frame, in frame order, each with its own copy of Data; nil for
	// a packet that is no fragment. Walk sets it; split writes them.
	Fragments []Packet
}

// Detach gives p its own copies of Data and Comments, which otherwise
// live only until the next call to Capture.Next.
func (p *Packet) Detach() {
	p.Data = append([]byte(nil), p.Data...)
	if len(p.Comments) > 0 {
		own := make([][]byte, len(p.Comments))
		for i, c := range p.Comments {
			own[i] = append([]byte(nil), c...)
		}
		p.Comments = own
	}
}

// Capture reads one or more capture files as one capture. With several
// files (a rotated tcpdump -C / -G set) packets come in timestamp order,
// ties to the file given last, as mergecap would write them: frame
// numbers are those of the file mergecap makes of the same list.
//
// A fault in one file ends the reading of that file only: Next goes on
// with the others and Errors reports every fault at the end, so whatever
// could be read is still analysed.
type Capture struct {
	Inputs []*Input
	files  []*fileReader
	frame  int
	errs   []error
	warns  []error    // see Warnings
	runs   []frameRun // where each input's packets sit in the merged order

	started bool        // every file has been asked for its first packet
	queue   fileQueue   // files with a packet to give, the next one on top
	taken   *fileReader // the file whose packet Next returned last
}

// frameRun is a run of consecutive merged frames from one input.
type frameRun struct {
	frame     int // first merged frame of the run
	input     int
	fileFrame int // its frame number in the input
}

// maxRuns bounds the frame map: inputs that interleave packet by packet
// would otherwise make it grow with the capture.
const maxRuns = 1 << 16

// Locate returns the input and the input's own frame number of a frame of
// the merged capture; ok is false when the map was not kept (a capture of
// several inputs interleaved too finely).
func (c *Capture) Locate(frame int) (input, fileFrame int, ok bool) {
	if len(c.Inputs) == 1 {
		return 0, frame, true
	}
	if len(c.runs) >= maxRuns || len(c.runs) == 0 || frame < 1 || frame > c.frame {
		return 0, 0, false
	}
	i := sort.Search(len(c.runs), func(i int) bool { return c.runs[i].frame > frame }) - 1
	r := c.runs[i]
	return r.input, r.fileFrame + frame - r.frame, true
}

// Open opens the named files ("-" is standard input) as one Capture.
// A file that cannot be opened or is not a capture is left out and its
// fault is in Errors, so the rest of a rotated set (whose last file is
// often empty) is still read; only when no file opens is it an error.
func Open(names ...string) (*Capture, error) { return OpenFrom(os.Stdin, names...) }

// OpenFrom is Open with stdin standing for the file named "-".
func OpenFrom(stdin io.Reader, names ...string) (*Capture, error) {
	c := &Capture{}
	var opened []os.FileInfo // of each input; nil for standard input
	for _, name := range names {
		var info os.FileInfo
		if name != "-" {
			info, _ = os.Stat(name) // a failure is openFile's to report
		}
		if info != nil {
			same := slices.IndexFunc(opened, func(o os.FileInfo) bool { return o != nil && os.SameFile(o, info) })
			if same >= 0 {
				c.warns = append(c.warns, fmt.Errorf("%s: the same file as %s, given twice: read once", name, c.Inputs[same].Name))
				continue
			}
		}
		fr, err := openFile(name, len(c.Inputs), stdin)
		if err != nil {
			c.errs = append(c.errs, err)
			continue
		}
		c.Inputs = append(c.Inputs, fr.input)
		c.files = append(c.files, fr)
		opened = append(opened, info)
	}
	if len(c.Inputs) == 0 {
		return nil, errors.Join(c.errs...)
	}
	return c, nil
}

// withoutPath drops the file name an *fs.PathError repeats: InputError
// names the file already.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// OpenReader reads one capture from r; name is what errors call it.
func OpenReader(name string, r io.Reader) (*Capture, error) {
	fr, err := openStream(name, 0, r, nil)
	if err != nil {
		return nil, err
	}
	return &Capture{Inputs: []*Input{fr.input}, files: []*fileReader{fr}}, nil
}

// Close releases the files.
func (c *Capture) Close() error {
	var first error
	for _, f := range c.files {
		if err := f.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Errors returns the faults met while reading, one per file at most.
func (c *Capture) Errors() []error { return c.errs }

// Warnings returns what a reader of the results should know about the
// inputs that lost no packet: a file given twice (read once), inputs
// that begin with the same packet (copies of one capture, whose packets
// Next gives twice), and pcapng blocks whose options were malformed
// (comments lost). The second is known once Next has been called, the
// third once the file is read to its end.
func (c *Capture) Warnings() []error { return c.warns }

// Next fills p with the next packet and returns nil, or returns io.EOF when
// every file is exhausted or has failed (see Errors).
func (c *Capture) Next(p *Packet) error {
	if !c.started {
		c.started = true
		for _, f := range c.files {
			if c.refill(f) {
				c.noteCopy(f)
				c.queue = append(c.queue, f)
			}
		}
		heap.Init(&c.queue)
	}
	// The packet handed out last is still in use until now: only now may
	// its file read on.
	if f := c.taken; f != nil {
		c.taken = nil
		if c.refill(f) {
			heap.Fix(&c.queue, 0)
		} else {
			heap.Pop(&c.queue)
		}
	}
	if len(c.queue) == 0 {
		return io.EOF
	}
	f := c.queue[0]
	c.taken = f
	c.frame++
	*p = f.pkt
	p.Frame = c.frame
	if n := len(c.runs); len(c.files) > 1 && n < maxRuns && (n == 0 || c.runs[n-1].input != f.index) {
		c.runs = append(c.runs, frameRun{frame: c.frame, input: f.index, fileFrame: p.FileFrame})
	}
	return nil
}

// noteCopy warns when f's first packet, just read, is one that a file
// already queued began with too: same time, same length, same bytes.
// Rotated files and captures taken elsewhere never share one.
func (c *Capture) noteCopy(f *fileReader) {
	for _, g := range c.queue {
		if g.pkt.Timestamp.Equal(f.pkt.Timestamp) && g.pkt.Length == f.pkt.Length && bytes.Equal(g.pkt.Data, f.pkt.Data) {
			c.warns = append(c.warns, fmt.Errorf("%s: begins with the same packet as %s (same time, same bytes): a copy of the same capture?",
				f.input.Name, g.input.Name))
			return
		}
	}
}

// refill reads f's next packet and reports whether there is one; a fault
// ends the file and is kept for Errors.
func (c *Capture) refill(f *fileReader) bool {
	err := f.advance()
	if err == nil {
		return true
	}
	if !errors.Is(err, io.EOF) {
		c.errs = append(c.errs, err)
	}
	if ng, ok := f.rr.(*pcapngReader); ok {
		if w := ng.optionsWarning(f.input.Name); w != nil {
			c.warns = append(c.warns, w)
		}
	}
	return false
}

// fileQueue holds the files that have a packet to give, the one whose
// packet comes first in the merged capture on top: the earliest
// timestamp, ties to the file given last, as mergecap (Wireshark 4.0)
// merges them (container/heap.Interface).
type fileQueue []*fileReader

func (q fileQueue) Len() int { return len(q) }
func (q fileQueue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if !a.pkt.Timestamp.Equal(b.pkt.Timestamp) {
		return a.pkt.Timestamp.Before(b.pkt.Timestamp)
	}
	return a.index > b.index
}
func (q fileQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

// Push adds a file (container/heap.Interface).
func (q *fileQueue) Push(x any) { *q = append(*q, x.(*fileReader)) }

// Pop removes the last file (container/heap.Interface).
func (q *fileQueue) Pop() any {
	old := *q
	f := old[len(old)-1]
	*q = old[:len(old)-1]
	return f
}

// recordReader is a capture format reader.
type recordReader interface {
	next(rec *record) error
}

// fileReader reads one file and holds its next packet for the merge.
type fileReader struct {
	input  *Input
	index  int
	closer io.Closer
	gz     *gzip.Reader
	rr     recordReader
	rec    record
	pkt    Packet
	last   time.Time // the previous record's timestamp
}

const (
	pcapMagicMicro    = 0xa1b2c3d4
	pcapMagicNano     = 0xa1b23c4d
	readerBufferBytes = 1 << 16
)

func openFile(name string, index int, stdin io.Reader) (*fileReader, error) {
	if name == "-" {
		return openStream(name, index, stdin, nil)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, &InputError{File: name, Offset: -1, Err: withoutPath(err)}
	}
	return openStream(name, index, f, f)
}

// openStream starts reading a capture from src; closer, if not nil, is
// closed with the reader.
func openStream(name string, index int, src io.Reader, closer io.Closer) (*fileReader, error) {
	fr := &fileReader{input: &Input{Name: name}, index: index, closer: closer}
	buf := bufio.NewReaderSize(src, readerBufferBytes)
	magic, err := buf.Peek(4)
	if len(magic) == 0 {
		fr.close()
		if err != nil && err != io.EOF {
			return nil, &InputError{File: name, Offset: -1, Err: withoutPath(err)} // a directory, say
		}
		return nil, &InputError{File: name, Offset: -1, Err: ErrEmpty}
	}
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(buf)
		if err != nil {
			fr.close()
			return nil, &InputError{File: name, Offset: 0, Err: fmt.Errorf("gzip: %w", err)}
		}
		fr.gz = gz
		fr.input.Gzip = true
		buf = bufio.NewReaderSize(gz, readerBufferBytes)
		magic, err = buf.Peek(4)
		if len(magic) < 4 && err != nil && err != io.EOF {
			// A cut or damaged gzip stream, not an empty capture.
			fr.close()
			return nil, &InputError{File: name, Offset: int64(len(magic)), Gzip: true, Err: fmt.Errorf("gzip: %w", err)}
		}
		if len(magic) == 0 {
			fr.close()
			return nil, &InputError{File: name, Offset: -1, Gzip: true, Err: ErrEmpty}
		}
	}
	if len(magic) < 4 {
		fr.close()
		return nil, &InputError{File: name, Offset: 0, Gzip: fr.input.Gzip,
			Err: fmt.Errorf("%w: only %d bytes", ErrNotCapture, len(magic))}
	}
	le := binary.LittleEndian.Uint32(magic)
	be := binary.BigEndian.Uint32(magic)
	switch {
	case le == ngSectionHeader:
		fr.input.Format = FormatPcapNG
		ng, at, err := newPcapngReader(buf)
		if err != nil {
			fr.close()
			return nil, &InputError{File: name, Offset: at, Gzip: fr.input.Gzip, Err: err}
		}
		fr.input.LinkType, fr.input.Snaplen = ng.firstInterface()
		fr.input.Comments = ng.comments
		fr.rr = ng
	case le == pcapMagicMicro || le == pcapMagicNano || be == pcapMagicMicro || be == pcapMagicNano:
		fr.input.Format = FormatPcap
		p, err := newPcapReader(buf)
		if err != nil {
			fr.close()
			return nil, &InputError{File: name, Offset: 0, Gzip: fr.input.Gzip, Err: err}
		}
		fr.input.Nanosecond = p.nano
		fr.input.BigEndian = p.order == binary.BigEndian
		fr.input.LinkType, fr.input.Snaplen = p.linkType, p.snaplen
		fr.rr = p
	default:
		fr.close()
		return nil, &InputError{File: name, Offset: 0, Gzip: fr.input.Gzip,
			Err: fmt.Errorf("%w (starts with % x)", ErrNotCapture, magic)}
	}
	return fr, nil
}

// advance reads the next record into f.pkt.
func (f *fileReader) advance() error {
	frame := f.input.Packets + 1
	rec := &f.rec
	if err := f.rr.next(rec); err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		var between faultBetweenRecords
		if errors.As(err, &between) {
			frame, err = 0, between.error
		}
		return &InputError{File: f.input.Name, Frame: frame, Offset: rec.offset, Gzip: f.input.Gzip, Err: err}
	}
	f.input.Packets++
	ts, wild := rec.ts, false
	if sec := ts.Unix(); sec < 0 || sec > math.MaxUint32 {
		// No capture is from then, and a pcap record cannot say it: keep
		// the packet where it lies in the file, at the time before it.
		ts, wild = f.last, true
		if ts.IsZero() {
			ts = time.Unix(0, 0).UTC()
		}
	}
	f.last = ts
	f.pkt = Packet{
		Input:     f.index,
		FileFrame: frame,
		Offset:    rec.offset,
		Timestamp: ts,
		WildTime:  wild,
		Length:    rec.length,
		LinkType:  rec.linkType,
		Snaplen:   rec.snaplen,
		Section:   rec.section,
		Interface: rec.iface,
		Data:      rec.data,
		Truncated: len(rec.data) < rec.length,
		BadTime:   rec.badTime,
		Comments:  rec.comments,
	}
	return nil
}

func (f *fileReader) close() error {
	var err error
	if f.gz != nil {
		f.gz.Close()
	}
	if f.closer != nil {
		err = f.closer.Close()
		f.closer = nil
	}
	return err
}
