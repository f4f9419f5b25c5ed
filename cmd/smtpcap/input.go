package main

import (
	"errors"
	"fmt"
	"github.com/smtpcap/smtpcap/internal/wording"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/split"
	"github.com/urfave/cli/v2"
)

// inputFlags are the flags every command that reads captures shares.
func inputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "read", Aliases: []string{"r"}, Usage: "capture `FILE` to read (repeatable; or give files as arguments; - is standard input)"},
		&cli.IntSliceFlag{Name: "port", Usage: "take only connections with one of these TCP `PORT`s (default: 25, 465, 587, 2525 and anything that looks like SMTP)"},
		&cli.BoolFlag{Name: "all", Usage: "take every TCP connection"},
	}
}

// assemblyFlags are the flags of commands that reassemble streams.
func assemblyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "max-buffer", Usage: "hold at most `BYTES` of out-of-order data, and one segment per 128 of them, per direction of a connection; past it the hole becomes a capture gap", Value: 4 << 20},
	}
}

// limits reads the reassembly limits from the flags.
func limits(c *cli.Context) reassembly.Limits {
	return reassembly.Limits{MaxOutOfOrder: c.Int("max-buffer")}
}

// inputNames returns the capture files named by -r and the arguments.
func inputNames(c *cli.Context) ([]string, error) {
	for _, arg := range c.Args().Slice() {
		// The flag parser stops at the first file: a flag after it would
		// be taken for a file name.
		if len(arg) > 1 && arg[0] == '-' {
			return nil, fmt.Errorf("%s: flags go before the capture files (smtpcap %s %s … FILE)", arg, c.Command.Name, arg)
		}
	}
	names := append(slices.Clone(c.StringSlice("read")), c.Args().Slice()...)
	if len(names) == 0 {
		return nil, errors.New("no capture given: smtpcap " + c.Command.Name + " FILE [FILE…]")
	}
	return names, nil
}

// oneOf checks that flag's value is one of allowed.
func oneOf(c *cli.Context, flag string, allowed ...string) (string, error) {
	v := c.String(flag)
	if slices.Contains(allowed, v) {
		return v, nil
	}
	return v, fmt.Errorf("--%s %q: want %s or %s", flag, v, strings.Join(allowed[:len(allowed)-1], ", "), allowed[len(allowed)-1])
}

// noSuchStream says that the stream asked for with --stream is not an SMTP
// connection of the capture.
func noSuchStream(want int, tracker *reassembly.Tracker) error {
	n := tracker.Count()
	if n == 0 {
		return fmt.Errorf("stream %d: the capture has no TCP connections", want)
	}
	return fmt.Errorf("stream %d: no such SMTP connection in the capture (it has %s, streams 0–%d; see smtpcap streams, or --all for non-SMTP ones)", want, wording.Plural(n, "TCP connection", "TCP connections"), n-1)
}

// inputs is what every capture-reading command starts from.
type inputs struct {
	names   []string
	sel     session.Selection
	capture *reassembly.Capture
}

// unreadable is openInputs' error when the flags were right but no capture
// could be opened: a command may still say so in its report.
type unreadable struct{ errs []error }

func (u *unreadable) Error() string { return errors.Join(u.errs...).Error() }

// openInputs reads the input flags and opens the capture; its error is
// already an exit-status-2 failure. When only the captures failed, it
// wraps an *unreadable and the returned inputs still hold the names and
// the selection.
func openInputs(c *cli.Context) (inputs, error) {
	names, err := inputNames(c)
	if err != nil {
		return inputs{}, inputFailure(err)
	}
	sel, err := newSelection(c)
	if err != nil {
		return inputs{}, inputFailure(err)
	}
	in := inputs{names: names, sel: sel}
	in.capture, err = reassembly.OpenFrom(c.App.Reader, names...)
	if err != nil {
		errs := []error{err}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			errs = joined.Unwrap()
		}
		return in, inputFailure(&unreadable{errs})
	}
	return in, nil
}

func newSelection(c *cli.Context) (session.Selection, error) {
	sel := session.Selection{All: c.Bool("all")}
	for _, p := range c.IntSlice("port") {
		if p < 1 || p > 65535 {
			return sel, fmt.Errorf("--port %d: not a TCP port", p)
		}
		sel.Ports = append(sel.Ports, uint16(p))
	}
	return sel, nil
}

// splitSelector adapts a session selection to the splitter's.
func splitSelector(sel session.Selection) split.Selector {
	return func(c *reassembly.Conn, final bool) split.Decision {
		switch sel.Decide(c, final) {
		case session.Take:
			return split.Take
		case session.Skip:
			return split.Skip
		}
		return split.Undecided
	}
}

// progress prints a status line on stderr while a long capture is read,
// but only when stderr is a terminal.
type progress struct {
	w     io.Writer
	on    bool
	last  time.Time
	shown bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, on: isTerminal(w)}
}

// isTerminal reports whether w is a terminal (for progress and colour).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) tick(packets, conns int) {
	if !p.on || packets&0x3fff != 0 {
		return
	}
	p.show(packets, conns)
}

// show prints the status line at most twice a second.
func (p *progress) show(packets, conns int) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 500*time.Millisecond {
		return
	}
	p.last, p.shown = now, true
	fmt.Fprintf(p.w, "\rread %d packets, %d connections   ", packets, conns)
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// inputProblems returns the faults met while reading, which make a command
// exit with status 2 and a split incomplete, and the warnings about what
// was read.
func inputProblems(capture *reassembly.Capture, st *reassembly.Stats) (errs, warnings []error) {
	errs, warnings = st.Problems(capture.Inputs)
	return append(slices.Clone(capture.Errors()), errs...), append(slices.Clone(capture.Warnings()), warnings...)
}

// reportProblems prints the input faults and decode warnings of a walk and
// returns the error that makes the command exit with status 2, if any.
func reportProblems(stderr io.Writer, capture *reassembly.Capture, st *reassembly.Stats) error {
	errs, warnings := inputProblems(capture, st)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "smtpcap: warning: %v\n", w)
	}
	if len(errs) == 0 {
		return nil
	}
	for _, e := range errs[:len(errs)-1] {
		fmt.Fprintf(stderr, "smtpcap: %v\n", e)
	}
	return inputFailure(errs[len(errs)-1])
}
