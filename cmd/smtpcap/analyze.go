package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smtpcap/smtpcap/pkg/findings"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/urfave/cli/v2"
)

func analyzeCommand() *cli.Command {
	var ids []string
	for _, e := range findings.Catalog() {
		ids = append(ids, e.ID)
	}
	return &cli.Command{
		Name:      "analyze",
		Usage:     "find what went wrong in the SMTP connections of a capture",
		ArgsUsage: "FILE [FILE…]",
		Description: `analyze reassembles every SMTP connection, parses its dialogue and runs the detectors: firewall
fixups that mask or split commands, bare-LF message endings that stall a strict server, binary
MIME sent with DATA, pipelining errors, middleboxes that ACK for the server, lost connections and
retried envelopes. Each finding names its stream, frames and byte offsets, with a Wireshark filter.

   smtpcap analyze dump.pcap
   smtpcap analyze --format markdown -o ticket.md dump.pcap
   smtpcap analyze --format json --min-severity warning dump.pcap | jq '.findings[].id'

Exit status: 0 when nothing at or above --fail-on was found, 1 when something was, 2 for usage
or input errors (the report of what could be read is still written).

Finding IDs: ` + strings.Join(ids, ", "),
		Flags: append(append(inputFlags(), assemblyFlags()...),
			&cli.StringFlag{Name: "format", Usage: "`FORMAT`: table, json or markdown", Value: "table"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of standard output"},
			&cli.IntFlag{Name: "stream", Aliases: []string{"s"}, Usage: "analyse only stream `N`", Value: -1, DefaultText: "all"},
			&cli.StringFlag{Name: "min-severity", Usage: "report findings at or above `LEVEL` (info, warning, error)", Value: "info"},
			&cli.StringSliceFlag{Name: "ignore", Usage: "leave out finding `ID` (repeatable)"},
			&cli.DurationFlag{Name: "stall-threshold", Usage: "a silence longer than `DURATION` is a stall", Value: 10 * time.Second},
			&cli.StringFlag{Name: "fail-on", Usage: "exit 1 when a finding at or above `LEVEL` is reported (info, warning, error, never)", Value: "error"},
		),
		Action: runAnalyze,
	}
}

func runAnalyze(c *cli.Context) error {
	format, err := oneOf(c, "format", "table", "json", "markdown")
	if err != nil {
		return inputFailure(err)
	}
	minSev, err := findings.ParseSeverity(c.String("min-severity"))
	if err != nil {
		return inputFailure(fmt.Errorf("--min-severity: %w", err))
	}
	if n := c.Int("stream"); c.IsSet("stream") && n < 0 {
		return inputFailure(fmt.Errorf("--stream %d: stream numbers start at 0 (without --stream, every stream is analysed)", n))
	}
	failOnName, err := oneOf(c, "fail-on", "info", "warning", "error", "never")
	if err != nil {
		return inputFailure(err)
	}
	failOn, never := findings.Error, failOnName == "never"
	if !never {
		failOn, _ = findings.ParseSeverity(failOnName)
	}
	known := map[string]bool{}
	for _, e := range findings.Catalog() {
		known[e.ID] = true
	}
	for _, id := range c.StringSlice("ignore") {
		if !known[id] {
			return inputFailure(fmt.Errorf("--ignore %q: no such finding (see smtpcap analyze --help)", id))
		}
	}
	in, openErr := openInputs(c)
	var none *unreadable
	if openErr != nil && !errors.As(openErr, &none) {
		return openErr
	}
	names, sel, capture := in.names, in.sel, in.capture
	if capture != nil {
		defer capture.Close()
	}
	out := c.App.Writer
	if path := c.String("output"); path != "" && path != "-" {
		for _, name := range names {
			if sameFile(name, path) || (name == "-" && stdinIs(c.App.Reader, path)) {
				return inputFailure(fmt.Errorf("-o %s: that is an input capture; refusing to overwrite it", path))
			}
		}
		f, err := os.Create(path)
		if err != nil {
			return inputFailure(err)
		}
		defer f.Close()
		out = f
	}
	if none != nil {
		// Nothing could be read: the report still says so, so that a
		// script reading it learns why it is empty.
		report := findings.NewAnalyzer(findings.Options{}).Report(names)
		report.Version, report.Command = version, commandLine(c)
		for _, e := range none.errs {
			report.Warnings = append(report.Warnings, e.Error())
		}
		if err := writeReport(out, report, format, out == c.App.Writer && isTerminal(out)); err != nil {
			return err
		}
		return openErr
	}
	opts := findings.Options{StallThreshold: c.Duration("stall-threshold")}
	// The report lists the files read, whose frames it counts: a file
	// that could not be opened, or was given twice, is in its warnings.
	var read []string
	for _, in := range capture.Inputs {
		read = append(read, in.Name)
	}
	if len(read) > 1 {
		opts.Locate = func(frame int) (string, bool) {
			in, fileFrame, ok := capture.Locate(frame)
			if !ok {
				return "", false
			}
			return fmt.Sprintf("%s:%d", capture.Inputs[in].Name, fileFrame), true
		}
	}
	an := findings.NewAnalyzer(opts)
	prog := newProgress(c.App.ErrWriter)
	sessions := 0
	res, err := session.Read(capture, session.Options{
		Selection: sel, Stream: c.Int("stream"), Limits: limits(c), Progress: prog.show, Recycle: true,
		Prepare: func(s *session.Session) any { return an.Detect(s) },
	}, func(s *session.Session) error {
		an.Add(s)
		sessions++
		return nil
	})
	prog.done()
	if err != nil {
		return inputFailure(err)
	}
	if want := c.Int("stream"); want >= 0 && sessions == 0 {
		// A mistyped stream number must not read as a clean bill.
		if perr := reportProblems(c.App.ErrWriter, capture, &res.Stats); perr != nil {
			return perr
		}
		return inputFailure(noSuchStream(want, res.Tracker))
	}
	report := an.Report(read)
	report.Version, report.Command = version, commandLine(c)
	errs, warnings := inputProblems(capture, &res.Stats)
	for _, e := range errs {
		report.Warnings = append(report.Warnings, e.Error())
	}
	for _, w := range warnings {
		report.Warnings = append(report.Warnings, w.Error())
	}
	report.Filter(minSev, c.StringSlice("ignore"))
	if err := writeReport(out, report, format, out == c.App.Writer && isTerminal(out)); err != nil {
		return err
	}
	if perr := reportProblems(c.App.ErrWriter, capture, &res.Stats); perr != nil {
		return perr
	}
	if worst, any := report.Worst(); any && !never && worst >= failOn {
		return &exitError{code: exitFindings}
	}
	return nil
}

// commandLine is the command as the user typed it, for the report.
func commandLine(c *cli.Context) string {
	args, _ := c.App.Metadata["args"].([]string)
	return strings.Join(args, " ")
}

func writeReport(w io.Writer, r *findings.Report, format string, color bool) error {
	switch format {
	case "json":
		return findings.WriteJSON(w, r)
	case "markdown":
		return findings.WriteMarkdown(w, r)
	}
	return findings.WriteTable(w, r, color)
}

// stdinIs reports whether standard input (r) is the file at path, as with
// "smtpcap analyze -o d.pcap - < d.pcap". A pipe cannot be told apart.
func stdinIs(r io.Reader, path string) bool {
	f, ok := r.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	fp, err := os.Stat(path)
	return err == nil && os.SameFile(fi, fp)
}

// sameFile reports whether two paths name the same existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
