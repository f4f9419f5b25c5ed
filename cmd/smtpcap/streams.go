package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/smtpcap/smtpcap/internal/printable"
	"github.com/smtpcap/smtpcap/internal/recstore"
	"github.com/smtpcap/smtpcap/internal/wording"
	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/urfave/cli/v2"
)

func streamsCommand() *cli.Command {
	return &cli.Command{
		Name:      "streams",
		Usage:     "list the SMTP connections of a capture",
		ArgsUsage: "FILE [FILE…]",
		Description: `streams lists one row per connection: its stream number (tshark's tcp.stream, so
"tcp.stream eq N" finds it in Wireshark), client and server, first and last packet time,
packets and payload bytes each way, how it ended and whether the handshake was captured.

   smtpcap streams dump.pcap
   smtpcap streams --format json dump.pcap | jq '.[] | select(.end == "rst")'`,
		Flags: append(append(inputFlags(), assemblyFlags()...),
			&cli.StringFlag{Name: "format", Usage: "output `FORMAT`: table or json", Value: "table"},
		),
		Action: runStreams,
	}
}

// streamRow is one connection as streams prints it; its JSON form is the
// documented output of --format json.
type streamRow struct {
	Stream        int       `json:"stream"`
	Client        string    `json:"client"`
	Server        string    `json:"server"`
	First         time.Time `json:"first"`
	Last          time.Time `json:"last"`
	Duration      float64   `json:"duration_seconds"`
	ClientPackets int       `json:"client_packets"`
	ClientBytes   int64     `json:"client_bytes"`
	ServerPackets int       `json:"server_packets"`
	ServerBytes   int64     `json:"server_bytes"`
	End           string    `json:"end"`
	Handshake     bool      `json:"handshake"`
	ClientBy      string    `json:"client_decided_by"`
	FirstFrame    int       `json:"first_frame"`
	LastFrame     int       `json:"last_frame"`
	Helo          string    `json:"helo"`
	MailFrom      string    `json:"mail_from"`
	Rcpts         int       `json:"rcpts"`
	LastReply     string    `json:"last_reply"`
	TLS           bool      `json:"tls"`
}

func runStreams(c *cli.Context) error {
	format, err := oneOf(c, "format", "table", "json")
	if err != nil {
		return inputFailure(err)
	}
	in, err := openInputs(c)
	if err != nil {
		return err
	}
	defer in.capture.Close()
	sel, capture := in.sel, in.capture
	var rows streamRows
	prog := newProgress(c.App.ErrWriter)
	res, err := session.Read(capture, session.Options{Selection: sel, Stream: -1, Limits: limits(c), Progress: prog.show, Recycle: true}, func(s *session.Session) error {
		row := newStreamRow(s)
		rows.add(&row)
		return nil
	})
	prog.done()
	if err != nil {
		return inputFailure(err)
	}
	rows.recs.SortByKey()
	if format == "json" {
		if err := writeStreamsJSON(c.App.Writer, &rows); err != nil {
			return err
		}
	} else if rows.recs.Len() == 0 {
		fmt.Fprintln(c.App.Writer, noStreams(res.Tracker.Count(), sel.Ports))
	} else {
		header := []string{"Stream", "Client", "Server", "First (UTC)", "Duration", "C→S pkts", "C→S bytes", "S→C pkts", "S→C bytes", "End", "Handshake", "HELO", "MAIL FROM", "RCPTs", "Last reply", "TLS"}
		cells := rowSource{rows.recs.Len(), func(i int, cells []string) []string {
			r := rows.row(i)
			return append(cells, strconv.Itoa(r.Stream), r.Client, r.Server, r.First.UTC().Format("2006-01-02 15:04:05.000"),
				fmt.Sprintf("%.3fs", r.Duration), strconv.Itoa(r.ClientPackets), strconv.FormatInt(r.ClientBytes, 10),
				strconv.Itoa(r.ServerPackets), strconv.FormatInt(r.ServerBytes, 10), r.End, yesNo(r.Handshake),
				r.Helo, r.MailFrom, strconv.Itoa(r.Rcpts), r.LastReply, yesNo(r.TLS))
		}}
		if err := writeTable(c.App.Writer, header, cells); err != nil {
			return err
		}
	}
	return reportProblems(c.App.ErrWriter, capture, &res.Stats)
}

// streamRows keeps the rows of streams, each encoded in a few dozen bytes
// until it is written: a gateway's capture gives hundreds of thousands,
// and as Go values with their strings they took 80 MB for 232 k.
type streamRows struct {
	recs    recstore.Store // keyed by stream
	scratch []byte         // the encoding of the row being added, reused
}

// add keeps r.
func (rs *streamRows) add(r *streamRow) {
	b := recstore.AppendBits(rs.scratch[:0], &r.Handshake, &r.TLS)
	b = recstore.AppendTime(b, r.First)
	b = recstore.AppendTimeAfter(b, r.Last, r.First)
	for _, n := range []int64{int64(r.Stream), int64(r.ClientPackets), r.ClientBytes, int64(r.ServerPackets), r.ServerBytes,
		int64(r.FirstFrame), int64(r.LastFrame), int64(r.Rcpts)} {
		b = recstore.AppendInt(b, n)
	}
	for _, s := range []string{r.Client, r.Server, r.End, r.ClientBy, r.Helo, r.MailFrom, r.LastReply} {
		b = recstore.AppendString(b, s)
	}
	rs.scratch = b
	rs.recs.Add(r.Stream, b)
}

// row returns the row at index i of the store. Its times are in UTC, as
// the capture reader gives them, and its duration is theirs.
func (rs *streamRows) row(i int) streamRow {
	d := recstore.NewReader(rs.recs.Record(i))
	var r streamRow
	d.Bits(&r.Handshake, &r.TLS)
	r.First = d.Time()
	r.Last = d.TimeAfter(r.First)
	r.Duration = r.Last.Sub(r.First).Seconds()
	r.Stream, r.ClientPackets, r.ClientBytes = int(d.Int()), int(d.Int()), d.Int()
	r.ServerPackets, r.ServerBytes = int(d.Int()), d.Int()
	r.FirstFrame, r.LastFrame, r.Rcpts = int(d.Int()), int(d.Int()), int(d.Int())
	for _, s := range []*string{&r.Client, &r.Server, &r.End, &r.ClientBy, &r.Helo, &r.MailFrom, &r.LastReply} {
		*s = d.String()
	}
	return r
}

// writeStreamsJSON writes rows as a json.Encoder indenting by two spaces
// writes the whole slice, one row at a time: encoded at once, the rows of
// a capture of 200 k connections took over 100 MB of buffer, twice (once
// to encode, once to indent). MAIL FROM paths come in angle brackets, so
// HTML characters are not escaped.
func writeStreamsJSON(w io.Writer, rows *streamRows) error {
	if rows.recs.Len() == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var row bytes.Buffer
	enc := json.NewEncoder(&row)
	enc.SetIndent("  ", "  ")
	enc.SetEscapeHTML(false)
	bw.WriteString("[\n  ")
	for i := range rows.recs.Len() {
		if i > 0 {
			bw.WriteString(",\n  ")
		}
		row.Reset()
		r := rows.row(i)
		if err := enc.Encode(&r); err != nil {
			return fmt.Errorf("stream %d: %w", r.Stream, err)
		}
		bw.Write(bytes.TrimSuffix(row.Bytes(), []byte("\n")))
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}

// noStreams is what the streams table says when it has no row: whether
// there was TCP at all, and if so, what left it out and how to list it.
func noStreams(tcp int, ports []uint16) string {
	if tcp == 0 {
		return "no TCP connections in the capture"
	}
	them := "them"
	if tcp == 1 {
		them = "it"
	}
	if len(ports) > 0 {
		list := make([]string, len(ports))
		for i, p := range ports {
			list[i] = strconv.Itoa(int(p))
		}
		return fmt.Sprintf("no connection on port %s (the capture has %s; --all lists %s)", strings.Join(list, ", "), wording.Plural(tcp, "TCP connection", "TCP connections"), them)
	}
	return fmt.Sprintf("no SMTP connections in the capture (it has %s; --all lists %s)", wording.Plural(tcp, "TCP connection", "TCP connections"), them)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newStreamRow(s *session.Session) streamRow {
	conn, d := s.Conn, s.Dialogue
	r := streamRow{
		Stream:        conn.Stream,
		Client:        conn.Client().String(),
		Server:        conn.Server().String(),
		First:         conn.FirstTime,
		Last:          conn.LastTime,
		Duration:      conn.LastTime.Sub(conn.FirstTime).Seconds(),
		ClientPackets: conn.Packets(reassembly.ClientToServer),
		ClientBytes:   conn.Bytes(reassembly.ClientToServer),
		ServerPackets: conn.Packets(reassembly.ServerToClient),
		ServerBytes:   conn.Bytes(reassembly.ServerToClient),
		End:           conn.End().String(),
		Handshake:     conn.Handshake,
		ClientBy:      conn.Role.String(),
		FirstFrame:    conn.FirstFrame,
		LastFrame:     conn.LastFrame,
		TLS:           s.Encrypted(),
	}
	if d.Hello != nil {
		r.Helo = printable.String(d.Hello.Args, 40)
	}
	for _, tx := range d.Transactions {
		if tx.Mail != nil {
			r.MailFrom = "<" + printable.String(tx.Mail.Path, 60) + ">"
			break
		}
	}
	// Counted by the parser, so that a connection too long for it to keep
	// whole still shows all its recipients and its real last reply.
	r.Rcpts = int(d.RcptCommands)
	if last := d.LastReply; last != nil {
		r.LastReply = strconv.Itoa(last.Code)
		if len(last.Lines) > 0 {
			r.LastReply += " " + printable.String(last.Lines[0], 40)
		}
	}
	return r
}
