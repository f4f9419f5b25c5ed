// Package split writes each TCP connection of a capture to its own capture
// file in one pass, with a bounded number of files open at once.
//
// Every packet is written byte for byte with its original timestamp, in
// capture order; pcap input gives pcap output with the same link type and
// snaplen, pcapng input gives pcapng output. Files are written under a
// ".part" name and renamed only when the whole split succeeded, so a file
// with its final name is always complete.
package split

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smtpcap/smtpcap/pkg/reassembly"
)

// Decision says whether a connection's packets are written.
type Decision uint8

// The decisions a Selector makes.
const (
	Undecided Decision = iota // not yet known: buffer the packets
	Take                      // write the connection
	Skip                      // leave it out
)

// Selector decides whether a connection is written. final is true when no
// more packets will come to change its mind; Undecided then means Skip.
type Selector func(c *reassembly.Conn, final bool) Decision

// ErrExists is returned when an output file already exists and Force is off.
var ErrExists = errors.New("output file exists (use --force to overwrite)")

// Options configures a Splitter.
type Options struct {
	Dir        string              // output directory; "" is the current one
	Prefix     string              // file name prefix, normally the input's base name
	Format     reassembly.Format   // pcap or pcapng
	LinkType   reassembly.LinkType // pcap output: the link type of the input
	Snaplen    uint32              // pcap output: the snaplen of the input
	Nanosecond bool                // pcap output: nanosecond timestamps
	Force      bool                // overwrite existing outputs
	MaxOpen    int                 // files open at once; default 128
	MaxPending int                 // packets buffered per undecided connection; default 64
	Select     Selector            // nil takes every connection
	Inputs     []string            // input names, for the index
}

// File describes one written capture.
type File struct {
	Name        string    `json:"file"`
	Stream      int       `json:"stream"`
	Client      string    `json:"client"`
	Server      string    `json:"server"`
	Packets     int       `json:"packets"`
	Frames      []int     `json:"frames"`
	InputFrames []string  `json:"input_frames,omitempty"` // "input:frame" when several inputs were read
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
}

// Splitter writes connections to files. Use New, Add for every tracked
// packet, then Finish (or Abort).
type Splitter struct {
	opts     Options
	outs     []*output // by stream
	lru      *list.List
	open     int
	multi    bool
	finished bool
	spare    [][]byte // buffers of closed connections, for reuse
}

// flushAt is how many bytes an output gathers before they go to its file.
// Gathering in memory, rather than in a bufio.Writer on an open file, lets
// thousands of connections be open at once with only MaxOpen files open,
// without closing and reopening a file for every packet.
const flushAt = 32 << 10

type ifaceKey struct{ input, section, iface int }

// inputFrame is a packet's input file and frame number in it; formatted
// as "input:frame" only when the index is written, not per packet.
type inputFrame struct{ input, frame int32 }

func inputFrameNames(v []inputFrame) []string {
	if len(v) == 0 {
		return nil
	}
	out := make([]string, len(v))
	for i, f := range v {
		out[i] = fmt.Sprintf("%d:%d", f.input, f.frame)
	}
	return out
}

type pendingPacket struct {
	pkt  reassembly.Packet
	data []byte
}

type output struct {
	conn     *reassembly.Conn
	decision Decision
	pending  []pendingPacket
	part     string
	created  bool
	file     *os.File
	buf      []byte // records not yet written to the file
	elem     *list.Element
	ifaces   map[ifaceKey]uint32
	frames   []int
	inFrames []inputFrame // with several inputs: where each packet came from
	first    time.Time
	last     time.Time
}

// New checks the output directory and returns a Splitter. Unless Force is
// set, it refuses when files of an earlier split with the same prefix are
// there, before anything is written.
func New(opts Options) (*Splitter, error) {
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 1000
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 64
	}
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if !opts.Force {
		existing, err := filepath.Glob(filepath.Join(opts.Dir, globEscape(opts.Prefix)+".s*"))
		if err != nil {
			return nil, err
		}
		if idx := indexPath(opts); fileExists(idx) {
			existing = append(existing, idx)
		}
		for _, name := range existing {
			if !strings.HasSuffix(name, ".part") {
				return nil, fmt.Errorf("%s: %w", name, ErrExists)
			}
		}
	}
	return &Splitter{opts: opts, lru: list.New(), multi: len(opts.Inputs) > 1}, nil
}

// Add offers one packet of connection c.
func (s *Splitter) Add(c *reassembly.Conn, p *reassembly.Packet) error {
	for len(s.outs) <= c.Stream {
		s.outs = append(s.outs, nil)
	}
	o := s.outs[c.Stream]
	if o == nil {
		o = &output{conn: c}
		s.outs[c.Stream] = o
	}
	if o.decision == Undecided {
		o.decision = s.decide(c, false)
	}
	switch o.decision {
	case Skip:
		return nil
	case Undecided:
		if len(o.pending) < s.opts.MaxPending {
			o.pending = append(o.pending, pendingPacket{pkt: *p, data: append([]byte(nil), p.Data...)})
			return nil
		}
		o.decision = s.decide(c, true)
		if o.decision != Take {
			o.decision, o.pending = Skip, nil
			return nil
		}
	}
	if err := s.flushPending(o); err != nil {
		return err
	}
	return s.write(o, p)
}

func (s *Splitter) decide(c *reassembly.Conn, final bool) Decision {
	if s.opts.Select == nil {
		return Take
	}
	d := s.opts.Select(c, final)
	if final && d == Undecided {
		return Skip
	}
	return d
}

func (s *Splitter) flushPending(o *output) error {
	for i := range o.pending {
		pp := &o.pending[i]
		pp.pkt.Data = pp.data
		if err := s.write(o, &pp.pkt); err != nil {
			return err
		}
	}
	o.pending = nil
	return nil
}

func (s *Splitter) write(o *output, p *reassembly.Packet) error {
	if o.buf == nil {
		o.buf = s.buffer()
	}
	if !o.created {
		if err := s.create(o); err != nil {
			return err
		}
	}
	if len(o.frames) == 0 {
		o.first = p.Timestamp
	}
	o.last = p.Timestamp
	o.frames = append(o.frames, p.Frame)
	if s.multi {
		o.inFrames = append(o.inFrames, inputFrame{int32(p.Input), int32(p.FileFrame)})
	}
	switch s.opts.Format {
	case reassembly.FormatPcapNG:
		k := ifaceKey{p.Input, p.Section, p.Interface}
		id, ok := o.ifaces[k]
		if !ok {
			id = uint32(len(o.ifaces))
			o.buf = appendNgInterface(o.buf, p.LinkType, p.Snaplen)
			o.ifaces[k] = id
		}
		o.buf = appendNgPacket(o.buf, id, p)
	default:
		if p.LinkType != s.opts.LinkType {
			return fmt.Errorf("frame %d has link type %s but the pcap output %s has %s: split to pcapng instead",
				p.Frame, p.LinkType, o.part, s.opts.LinkType)
		}
		o.buf = appendPcapRecord(o.buf, p, s.opts.Nanosecond)
	}
	if len(o.buf) >= flushAt {
		return s.flush(o)
	}
	if o.conn.Closed() && o.conn.LastFrame == p.Frame {
		// Likely the connection's last packet: give its buffer back.
		return s.flush(o)
	}
	return nil
}

// flush writes o's gathered records to its file and, if the connection has
// closed, gives the buffer back for reuse.
func (s *Splitter) flush(o *output) error {
	if len(o.buf) > 0 {
		if err := s.ensureOpen(o); err != nil {
			return err
		}
		s.lru.MoveToFront(o.elem)
		if _, err := o.file.Write(o.buf); err != nil {
			return s.writeErr(o, err)
		}
		o.buf = o.buf[:0]
	}
	if o.conn.Closed() && o.buf != nil {
		if len(s.spare) < maxSpare {
			s.spare = append(s.spare, o.buf)
		}
		o.buf = nil
	}
	return nil
}

// maxSpare bounds the buffers kept for reuse.
const maxSpare = 256

// buffer returns an empty record buffer, reusing one of a closed connection.
func (s *Splitter) buffer() []byte {
	if n := len(s.spare); n > 0 {
		b := s.spare[n-1][:0]
		s.spare = s.spare[:n-1]
		return b
	}
	return make([]byte, 0, flushAt+2048)
}

func (s *Splitter) writeErr(o *output, err error) error {
	return fmt.Errorf("writing %s: %w", o.part, err)
}

// create makes o's file under its .part name, leaves it open, and gathers
// its header.
func (s *Splitter) create(o *output) error {
	o.part = filepath.Join(s.opts.Dir, s.fileName(o.conn, 0)+".part")
	if err := s.openFile(o, os.O_WRONLY|os.O_CREATE|os.O_TRUNC); err != nil {
		return err
	}
	o.created = true
	o.ifaces = make(map[ifaceKey]uint32)
	if s.opts.Format == reassembly.FormatPcapNG {
		o.buf = appendNgSection(o.buf)
	} else {
		o.buf = appendPcapHeader(o.buf, s.opts.LinkType, s.opts.Snaplen, s.opts.Nanosecond)
	}
	return nil
}

// ensureOpen opens o's file for appending, closing the least recently
// written file when MaxOpen files are open.
func (s *Splitter) ensureOpen(o *output) error {
	if o.file != nil {
		return nil
	}
	return s.openFile(o, os.O_WRONLY|os.O_APPEND)
}

func (s *Splitter) openFile(o *output, flags int) error {
	if s.open >= s.opts.MaxOpen {
		victim := s.lru.Back().Value.(*output)
		if err := s.closeOutput(victim); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(o.part, flags, 0o644)
	if err != nil {
		return err
	}
	o.file = f
	o.elem = s.lru.PushFront(o)
	s.open++
	return nil
}

func (s *Splitter) closeOutput(o *output) error {
	if o.file == nil {
		return nil
	}
	err := o.file.Close()
	s.lru.Remove(o.elem)
	o.file, o.elem = nil, nil
	s.open--
	if err != nil {
		return s.writeErr(o, err)
	}
	return nil
}

// fileName builds the name of a connection's output. The stream number is
// zero-padded to width so that names sort in stream order; IPv6 colons
// become underscores so the name is valid on every file system.
func (s *Splitter) fileName(c *reassembly.Conn, width int) string {
	ext := "pcap"
	if s.opts.Format == reassembly.FormatPcapNG {
		ext = "pcapng"
	}
	return fmt.Sprintf("%s.s%0*d.%s.%s.%s", s.opts.Prefix, width, c.Stream,
		endpointName(c.Client()), endpointName(c.Server()), ext)
}

func endpointName(ap netip.AddrPort) string {
	addr := strings.ReplaceAll(ap.Addr().WithZone("").Unmap().String(), ":", "_")
	return fmt.Sprintf("%s-%d", addr, ap.Port())
}

// Finish decides the connections still undecided, closes every file,
// renames them to their final names and writes the index. inputErrs are the
// faults met while reading; the index records them so nobody takes a split
// of a damaged capture for a complete one.
func (s *Splitter) Finish(inputErrs []error) ([]File, string, error) {
	s.finished = true
	for _, o := range s.outs {
		if o == nil || o.decision != Undecided {
			continue
		}
		o.decision = s.decide(o.conn, true)
		if o.decision == Take {
			if err := s.flushPending(o); err != nil {
				s.Abort()
				return nil, "", err
			}
		}
		o.pending = nil
	}
	for _, o := range s.outs {
		if o == nil || !o.created {
			continue
		}
		err := s.flush(o)
		if err == nil {
			err = s.closeOutput(o)
		}
		if err != nil {
			s.Abort()
			return nil, "", err
		}
	}
	maxStream := 0
	for _, o := range s.outs {
		if o != nil && o.created {
			maxStream = o.conn.Stream
		}
	}
	width := max(4, len(fmt.Sprint(maxStream)))
	var files []File
	for _, o := range s.outs {
		if o == nil || !o.created {
			continue
		}
		name := s.fileName(o.conn, width)
		final := filepath.Join(s.opts.Dir, name)
		if !s.opts.Force && fileExists(final) {
			s.Abort()
			return nil, "", fmt.Errorf("%s: %w", final, ErrExists)
		}
		files = append(files, File{
			Name: name, Stream: o.conn.Stream,
			Client: o.conn.Client().String(), Server: o.conn.Server().String(),
			Packets: len(o.frames), Frames: o.frames, InputFrames: inputFrameNames(o.inFrames),
			First: o.first, Last: o.last,
		})
	}
	for _, o := range s.outs {
		if o == nil || !o.created {
			continue
		}
		if err := os.Rename(o.part, filepath.Join(s.opts.Dir, s.fileName(o.conn, width))); err != nil {
			return nil, "", err
		}
	}
	idx := indexPath(s.opts)
	if err := writeIndex(idx, s.opts.Inputs, files, inputErrs); err != nil {
		return files, "", err
	}
	return files, idx, nil
}

// Abort closes and removes every partial file.
func (s *Splitter) Abort() {
	for _, o := range s.outs {
		if o == nil || !o.created {
			continue
		}
		if o.file != nil {
			o.file.Close()
			o.file = nil
		}
		os.Remove(o.part)
	}
}

func indexPath(opts Options) string {
	return filepath.Join(opts.Dir, opts.Prefix+".index.json")
}

// Index is the JSON document written beside the split files.
type Index struct {
	Schema   string   `json:"schema"`
	Inputs   []string `json:"inputs"`
	Complete bool     `json:"complete"`
	Errors   []string `json:"errors,omitempty"`
	Files    []File   `json:"files"`
}

// IndexSchema names the version of the index format.
const IndexSchema = "smtpcap-split/1"

func writeIndex(path string, inputs []string, files []File, inputErrs []error) error {
	idx := Index{Schema: IndexSchema, Inputs: inputs, Complete: len(inputErrs) == 0, Files: files}
	if idx.Files == nil {
		idx.Files = []File{}
	}
	for _, err := range inputErrs {
		idx.Errors = append(idx.Errors, err.Error())
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".part"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func fileExists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

// Prefix derives an output prefix from an input name: its base name without
// the capture and compression extensions ("dump.pcap.gz" gives "dump").
func Prefix(input string) string {
	if input == "-" || input == "" {
		return "stdin"
	}
	base := filepath.Base(input)
	for _, ext := range []string{".gz", ".pcapng", ".pcap", ".cap", ".dmp"} {
		base = strings.TrimSuffix(base, ext)
	}
	if base == "" {
		return "capture"
	}
	return base
}
