package findings

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/smtpcap/smtpcap/internal/wording"
)

// WriteJSON writes the report as indented JSON (schema smtpcap/1).
func WriteJSON(w io.Writer, r *Report) error {
	return writeJSON(w, r, parallelJSONFrom, jsonChunk)
}

// parallelJSONFrom is how many connections and findings a report must hold
// before they are encoded on several goroutines. The report is written
// after the capture has been read, with every core idle but one.
const parallelJSONFrom = 2048

// writeJSON writes exactly what encoding/json's Encoder with a two-space
// indent and no HTML escaping writes. From parallelFrom elements on, the connections and
// findings are encoded in chunks on several goroutines and written, in
// order, between the pieces of the encoding of the rest of the report;
// chunk elements at a time.
func writeJSON(w io.Writer, r *Report, parallelFrom, chunk int) error {
	if r.Connections.Len()+r.Findings.Len() < parallelFrom {
		return newJSONEncoder(w, "").Encode(r)
	}
	shell := *r
	shell.Connections, shell.Findings = ConnectionList{}, FindingList{}
	var sb bytes.Buffer
	if err := newJSONEncoder(&sb, "").Encode(&shell); err != nil {
		return err
	}
	b := bytes.TrimSuffix(sb.Bytes(), []byte("\n"))
	// In the shell these keys can only be the report's own: a quote inside
	// a string value is escaped. Connections come before findings.
	const connKey, findKey = `"connections": `, `"findings": `
	c := bytes.Index(b, []byte(connKey+"[]"))
	f := bytes.Index(b, []byte(findKey+"[]"))
	if c < 0 || f < c {
		return fmt.Errorf("report JSON: connections and findings not where expected")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(b[:c+len(connKey)])
	conns := r.Connections
	if err := writeIndentedArray(bw, conns.Len(), chunk, func(buf *bytes.Buffer, lo, hi int) error {
		return encodeConnections(buf, conns, lo, hi)
	}); err != nil {
		return err
	}
	bw.Write(b[c+len(connKey)+2 : f+len(findKey)])
	found := r.Findings
	if err := writeIndentedArray(bw, found.Len(), chunk, func(buf *bytes.Buffer, lo, hi int) error {
		return encodeFindings(buf, found, lo, hi)
	}); err != nil {
		return err
	}
	bw.Write(b[f+len(findKey)+2:])
	bw.WriteByte('\n')
	return bw.Flush()
}

// jsonChunk is how many elements of an array one goroutine encodes at a
// time in WriteJSON. The chunks' buffers are reused from round to round, so the
// encoding needs memory for a few chunks, not for the whole report.
const jsonChunk = 256

// writeIndentedArray writes n items as the elements of a top-level field
// of an indented report, as json.MarshalIndent would, encoding the chunks
// of each round of chunks on their own goroutines: encode writes the
// items from lo up to hi, each after a separator but for the first of
// all.
func writeIndentedArray(w io.Writer, n, chunk int, encode func(buf *bytes.Buffer, lo, hi int) error) error {
	if n == 0 {
		_, err := io.WriteString(w, "[]")
		return err
	}
	bufs := make([]bytes.Buffer, runtime.GOMAXPROCS(0))
	errs := make([]error, len(bufs))
	if _, err := io.WriteString(w, "[\n    "); err != nil {
		return err
	}
	for round := 0; round < n; round += chunk * len(bufs) {
		var wg sync.WaitGroup
		for p := range bufs {
			lo, hi := min(round+p*chunk, n), min(round+(p+1)*chunk, n)
			bufs[p].Reset()
			if lo == hi {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[p] = encode(&bufs[p], lo, hi)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for p := range bufs {
			if _, err := w.Write(bufs[p].Bytes()); err != nil {
				return err
			}
		}
	}
	_, err := io.WriteString(w, "\n  ]")
	return err
}

// newJSONEncoder returns an encoder that indents by two spaces after
// prefix and leaves <, > and & as they are: mail addresses come in angle
// brackets, and a report must be readable and greppable as it is.
func newJSONEncoder(w io.Writer, prefix string) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	return enc
}

// encodeFindings appends found's findings from lo up to hi to buf as
// indented array elements, each after a separator unless it is the
// array's first, decoding one at a time.
func encodeFindings(buf *bytes.Buffer, found FindingList, lo, hi int) error {
	b := buf.AvailableBuffer()
	for i := lo; i < hi; i++ {
		if i > 0 {
			b = append(b, elementSep...)
		}
		f := found.At(i)
		var err error
		if b, err = appendFindingJSON(b, &f); err != nil {
			return err
		}
	}
	buf.Write(b)
	return nil
}

// elementSep goes between the elements of a top-level array of a report.
const elementSep = ",\n    "

// encodeConnections writes conns' connections from lo up to hi, as
// encodeElements would, decoding one at a time.
func encodeConnections(buf *bytes.Buffer, conns ConnectionList, lo, hi int) error {
	b := buf.AvailableBuffer()
	for i := lo; i < hi; i++ {
		if i > 0 {
			b = append(b, elementSep...)
		}
		c := conns.At(i)
		var err error
		if b, err = appendConnectionJSON(b, &c); err != nil {
			return err
		}
	}
	buf.Write(b)
	return nil
}

// tableAllConnections is how many connections the terminal table lists
// all of; beyond it, only those with a warning or an error.
const tableAllConnections = 100

// tableMaxRows is how many rows each terminal table lists at most.
const tableMaxRows = 200

// mostSevere returns items when it has at most n, else the n most severe,
// the earlier first among equals, in their order in items.
func mostSevere[T any](items []T, n int, severity func(*T) Severity) []T {
	if len(items) <= n {
		return items
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return severity(&items[order[a]]) > severity(&items[order[b]]) })
	order = order[:n]
	slices.Sort(order)
	kept := make([]T, n)
	for i, k := range order {
		kept[i] = items[k]
	}
	return kept
}

func newTable(w io.Writer, header ...any) *tablewriter.Table {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNormal), tablewriter.WithMaxWidth(200))
	t.Header(header...)
	return t
}

// colour wraps s in an ANSI colour for its severity.
func colour(sev Severity, s string, on bool) string {
	if !on {
		return s
	}
	switch sev {
	case Error:
		return "\033[31m" + s + "\033[0m"
	case Warning:
		return "\033[33m" + s + "\033[0m"
	}
	return s
}

// WriteTable writes the report for a terminal: the connections with their
// diagnoses, then the findings. color adds ANSI colours (for a TTY only).
func WriteTable(w io.Writer, r *Report, color bool) error {
	fmt.Fprintf(w, "%s analysed, %s", wording.Plural(int64(r.Connections.Len()), "SMTP connection", "SMTP connections"), wording.Plural(int64(r.Findings.Len()), "finding", "findings"))
	if len(r.Counts) > 0 {
		var parts []string
		for _, c := range r.Counts {
			parts = append(parts, fmt.Sprintf("%s ×%d", colour(c.Severity, c.ID, color), c.N))
		}
		fmt.Fprintf(w, ": %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "input: %s\n", warn)
	}
	if r.FrameNote != "" {
		fmt.Fprintf(w, "note: %s\n", r.FrameNote)
	}
	if r.Connections.Len() == 0 {
		return nil
	}
	fmt.Fprintln(w)
	// A gateway's capture holds thousands of connections, most of them
	// fine: past tableAllConnections the tables keep the connections and
	// findings with something above info to say, and say what they left
	// out.
	var conns []Connection
	var found []int // indexes in r.Findings
	filtered := r.Connections.Len() > tableAllConnections
	if !filtered {
		conns = r.Connections.All()
	} else {
		for i := range r.Connections.Len() {
			c := r.Connections.At(i)
			if sev, err := ParseSeverity(c.Worst); err == nil && sev > Info {
				conns = append(conns, c)
			}
		}
	}
	for i := range r.Findings.Len() {
		if _, sev, _ := r.Findings.head(i); !filtered || sev > Info {
			found = append(found, i)
		}
	}
	// Nobody reads thousands of rows in a terminal, and the table renderer
	// takes a third of a millisecond or more a row: past tableMaxRows each
	// table keeps its most severe rows, in stream order.
	troubledConns, troubledFound := len(conns), len(found)
	conns = mostSevere(conns, tableMaxRows, func(c *Connection) Severity { sev, _ := ParseSeverity(c.Worst); return sev })
	found = mostSevere(found, tableMaxRows, func(i *int) Severity { _, sev, _ := r.Findings.head(*i); return sev })
	capped := len(conns) < troubledConns || len(found) < troubledFound
	switch {
	case filtered && troubledConns == 0:
		fmt.Fprintf(w, "none of the %d connections has a finding with a warning or an error; --format json or markdown lists them all\n",
			r.Connections.Len())
	case filtered && capped:
		fmt.Fprintf(w, "listed: %d of the %d connections and %d of the %d findings with a warning or an error (%d connections and %d findings in all), errors chosen first; --format json or markdown gives them all\n\n",
			len(conns), troubledConns, len(found), troubledFound, r.Connections.Len(), r.Findings.Len())
	case filtered:
		fmt.Fprintf(w, "listed: the %d of %d connections and %d of %d findings with a warning or an error; --format json or markdown gives them all\n\n",
			len(conns), r.Connections.Len(), len(found), r.Findings.Len())
	case capped:
		fmt.Fprintf(w, "listed: the %d most severe of %d findings; --format json or markdown gives them all\n\n", len(found), r.Findings.Len())
	}
	if len(conns) > 0 {
		if err := connectionTable(w, conns, color); err != nil {
			return err
		}
	}
	if len(found) == 0 {
		return nil
	}
	if len(conns) > 0 {
		fmt.Fprintln(w)
	}
	ft := newTable(w, "Severity", "Finding", "Stream", "Frames", "Summary")
	for _, i := range found {
		f := r.Findings.At(i)
		ft.Append(colour(f.Severity, f.Severity.String(), color), f.ID, streamText(f), framesText(f.Frames, 8), f.Summary)
	}
	return ft.Render()
}

// connectionTable writes one row per connection with its diagnosis.
func connectionTable(w io.Writer, conns []Connection, color bool) error {
	t := newTable(w, "Stream", "Client", "Server", "Mail", "End", "Findings", "Diagnosis")
	for _, c := range conns {
		worst := "-"
		if c.Findings > 0 {
			sev, _ := ParseSeverity(c.Worst)
			worst = colour(sev, fmt.Sprintf("%d (%s)", c.Findings, c.Worst), color)
		}
		mail := fmt.Sprintf("%d/%d delivered", c.Delivered, c.Transactions-c.EnvelopeOnly)
		if c.EnvelopeOnly > 0 {
			mail += fmt.Sprintf(" (+%s)", wording.Plural(int64(c.EnvelopeOnly), "probe", "probes"))
		}
		if c.TLS {
			mail = "TLS"
		}
		if c.SameSessionAs != nil {
			mail = fmt.Sprintf("as stream %d", *c.SameSessionAs)
		}
		t.Append(strconv.Itoa(c.Stream), c.Client, c.Server, mail, c.End, worst, c.Diagnosis)
	}
	return t.Render()
}

func streamText(f Finding) string {
	if len(f.Streams) > 1 {
		return joinInts(f.Streams, ",")
	}
	return strconv.Itoa(f.Stream)
}

func framesText(frames []int, n int) string {
	if len(frames) > n {
		return joinInts(frames[:n], ",") + ",…"
	}
	return joinInts(frames, ",")
}

// WriteMarkdown writes a report to paste into a support ticket: a capture
// summary, each connection's diagnosis, the evidence of every finding with
// the Wireshark filter that shows it, and how the report was made. It is
// written as it is formatted: a gateway's capture gives tens of megabytes.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(b, "# SMTP capture analysis\n\n")
	fmt.Fprintf(b, "Capture: %s  \n", strings.Join(quoteAll(r.Files), ", "))
	fmt.Fprintf(b, "Connections analysed: %d; findings: %d\n\n", r.Connections.Len(), r.Findings.Len())
	for _, warn := range r.Warnings {
		fmt.Fprintf(b, "> Input problem: %s\n\n", warn)
	}
	if r.FrameNote != "" {
		fmt.Fprintf(b, "> Note: %s\n\n", r.FrameNote)
	}
	if len(r.Counts) > 0 {
		fmt.Fprintf(b, "| Finding | Severity | Count | Streams |\n|---|---|---|---|\n")
		for _, c := range r.Counts {
			fmt.Fprintf(b, "| `%s` | %s | %d | %s |\n", c.ID, c.Severity, c.N, joinInts(c.Streams, ", "))
		}
		b.WriteString("\n")
	}
	byStream := indexByStream(&r.Findings)
	for i := range r.Connections.Len() {
		fs := byStream.of(r.Connections.store.stream(i))
		if len(fs) == 0 {
			continue
		}
		c := r.Connections.At(i)
		fmt.Fprintf(b, "## Stream %d: %s → %s\n\n", c.Stream, c.Client, c.Server)
		probes := ""
		if c.EnvelopeOnly > 0 {
			probes = fmt.Sprintf(", and %s (an envelope the server accepted, dropped by the client without a message)",
				wording.Plural(int64(c.EnvelopeOnly), "address probe", "address probes"))
		}
		mail := fmt.Sprintf("%d of %d transactions delivered%s", c.Delivered, c.Transactions-c.EnvelopeOnly, probes)
		if c.SameSessionAs != nil {
			mail = fmt.Sprintf("another view of stream %d's session, whose mail it is", *c.SameSessionAs)
		}
		fmt.Fprintf(b, "%s to %s, %d packets, ended: %s; %s.\n\n",
			c.First.UTC().Format("2006-01-02 15:04:05.000 UTC"), c.Last.UTC().Format("15:04:05.000"), c.Packets, c.End, mail)
		if c.Diagnosis != "" {
			fmt.Fprintf(b, "**Diagnosis:** %s\n\n", c.Diagnosis)
		}
		for _, i := range fs {
			found := r.Findings.At(i)
			f := &found
			fmt.Fprintf(b, "### %s `%s` (%s)\n\n", f.Severity, f.ID, f.Phase)
			fmt.Fprintf(b, "%s\n\n", f.sentence())
			if f.Evidence != "" {
				fmt.Fprintf(b, "```\n%s\n```\n\n", f.Evidence)
			}
			if f.CaptureLoss != "" {
				fmt.Fprintf(b, "> Capture loss: %s\n\n", f.CaptureLoss)
			}
			fmt.Fprintf(b, "- Frames: %s\n", framesText(f.Frames, 40))
			if len(f.FileFrames) > 0 {
				fmt.Fprintf(b, "- In the input files: %s\n", strings.Join(f.FileFrames, ", "))
			}
			fmt.Fprintf(b, "- Wireshark filter: `%s`\n- Why it matters: %s\n- What to do: %s\n\n", f.Filter, f.Explanation, f.Remedy)
		}
	}
	fmt.Fprintf(b, "---\nProduced by smtpcap %s: `%s`\n", r.Version, r.Command)
	return b.Flush()
}

func quoteAll(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = "`" + s + "`"
	}
	return out
}
