package findings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// WriteJSON writes the report as indented JSON (schema smtpcap/1).
func WriteJSON(w io.Writer, r *Report) error {
	return writeJSON(w, r, parallelJSONFrom)
}

// parallelJSONFrom is how many connections and findings a report must hold
// before they are encoded on several goroutines. The report is written
// after the capture has been read, with every core idle but one.
const parallelJSONFrom = 2048

// writeJSON writes exactly what encoding/json's Encoder with a two-space
// indent writes. From parallelFrom elements on, the connections and
// findings are encoded element by element on several goroutines and set
// into the encoding of the rest of the report.
func writeJSON(w io.Writer, r *Report, parallelFrom int) error {
	if len(r.Connections)+len(r.Findings) < parallelFrom {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	conns, err := indentedArray(r.Connections)
	if err != nil {
		return err
	}
	found, err := indentedArray(r.Findings)
	if err != nil {
		return err
	}
	shell := *r
	shell.Connections, shell.Findings = []Connection{}, []Finding{}
	b, err := json.MarshalIndent(&shell, "", "  ")
	if err != nil {
		return err
	}
	// In the shell these keys can only be the report's own: a quote inside
	// a string value is escaped. Connections come before findings.
	const connKey, findKey = `"connections": `, `"findings": `
	c := bytes.Index(b, []byte(connKey+"[]"))
	f := bytes.Index(b, []byte(findKey+"[]"))
	if c < 0 || f < c {
		return fmt.Errorf("report JSON: connections and findings not where expected")
	}
	var out bytes.Buffer
	out.Grow(len(b) + len(conns) + len(found) + 1)
	out.Write(b[:c+len(connKey)])
	out.Write(conns)
	out.Write(b[c+len(connKey)+2 : f+len(findKey)])
	out.Write(found)
	out.Write(b[f+len(findKey)+2:])
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// indentedArray encodes items as the elements of a top-level field of an
// indented report, on as many goroutines as there are cores.
func indentedArray[T any](items []T) ([]byte, error) {
	if len(items) == 0 {
		return []byte("[]"), nil
	}
	const sep = ",\n    "
	parts := make([][]byte, runtime.GOMAXPROCS(0))
	errs := make([]error, len(parts))
	per := (len(items) + len(parts) - 1) / len(parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := min(p*per, len(items)), min((p+1)*per, len(items))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for i := lo; i < hi; i++ {
				b, err := json.MarshalIndent(&items[i], "    ", "  ")
				if err != nil {
					errs[p] = err
					return
				}
				if i > lo {
					buf.WriteString(sep)
				}
				buf.Write(b)
			}
			parts[p] = buf.Bytes()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("[\n    ")
	first := true
	for _, part := range parts {
		if len(part) == 0 {
			continue
		}
		if !first {
			out.WriteString(sep)
		}
		out.Write(part)
		first = false
	}
	out.WriteString("\n  ]")
	return out.Bytes(), nil
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
	fmt.Fprintf(w, "%d SMTP connections analysed, %d findings", len(r.Connections), len(r.Findings))
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
	if len(r.Connections) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "Stream", "Client", "Server", "Mail", "End", "Findings", "Diagnosis")
	for _, c := range r.Connections {
		worst := "-"
		if c.Findings > 0 {
			sev, _ := ParseSeverity(c.Worst)
			worst = colour(sev, fmt.Sprintf("%d (%s)", c.Findings, c.Worst), color)
		}
		mail := fmt.Sprintf("%d/%d delivered", c.Delivered, c.Transactions)
		if c.TLS {
			mail = "TLS"
		}
		t.Append(strconv.Itoa(c.Stream), c.Client, c.Server, mail, c.End, worst, c.Diagnosis)
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(r.Findings) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	ft := newTable(w, "Severity", "Finding", "Stream", "Frames", "Summary")
	for _, f := range r.Findings {
		ft.Append(colour(f.Severity, f.Severity.String(), color), f.ID, streamText(f), framesText(f.Frames, 8), f.Summary)
	}
	return ft.Render()
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
// the Wireshark filter that shows it, and how the report was made.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# SMTP capture analysis\n\n")
	fmt.Fprintf(b, "Capture: %s  \n", strings.Join(quoteAll(r.Files), ", "))
	fmt.Fprintf(b, "Connections analysed: %d; findings: %d\n\n", len(r.Connections), len(r.Findings))
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
	for _, c := range r.Connections {
		var fs []Finding
		for _, f := range r.Findings {
			if f.Stream == c.Stream || containsInt(f.Streams, c.Stream) {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(b, "## Stream %d: %s → %s\n\n", c.Stream, c.Client, c.Server)
		fmt.Fprintf(b, "%s to %s, %d packets, ended: %s; %d of %d transactions delivered.\n\n",
			c.First.UTC().Format("2006-01-02 15:04:05.000 UTC"), c.Last.UTC().Format("15:04:05.000"), c.Packets, c.End, c.Delivered, c.Transactions)
		if c.Diagnosis != "" {
			fmt.Fprintf(b, "**Diagnosis:** %s\n\n", c.Diagnosis)
		}
		for _, f := range fs {
			fmt.Fprintf(b, "### %s `%s` (%s)\n\n", f.Severity, f.ID, f.Phase)
			fmt.Fprintf(b, "%s\n\n", upperFirst(f.Summary))
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
	_, err := io.WriteString(w, b.String())
	return err
}

func quoteAll(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = "`" + s + "`"
	}
	return out
}

func containsInt(v []int, x int) bool {
	for _, n := range v {
		if n == x {
			return true
		}
	}
	return false
}
