package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/smtpcap/smtpcap/pkg/reassembly"
	"github.com/smtpcap/smtpcap/pkg/session"
	"github.com/smtpcap/smtpcap/pkg/split"
	"github.com/urfave/cli/v2"
)

func splitCommand() *cli.Command {
	return &cli.Command{
		Name:      "split",
		Usage:     "write each SMTP connection to its own capture file",
		ArgsUsage: "FILE [FILE…]",
		Description: `split reads the capture once and writes every selected TCP connection to its own file,
each packet byte for byte with its original timestamp, plus an index (PREFIX.index.json)
that maps every file to its stream number and original frame numbers.

Files are named PREFIX.sNNNN.CLIENT-PORT.SERVER-PORT.pcap (or .pcapng for pcapng input),
where NNNN is the stream number (tshark's tcp.stream) and IPv6 colons are written as '_':

   smtpcap split -o out/ dump.pcap
   out/dump.s0007.192.0.2.10-50555.198.51.100.25-25.pcap

A port reused by a later connection gets a file of its own. Existing files are never
overwritten unless --force is given; files are written as NAME.part and renamed when
the split is complete.`,
		Flags: append(inputFlags(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the files into `DIR` (created if needed)", Value: "."},
			&cli.BoolFlag{Name: "force", Usage: "overwrite files of an earlier split"},
			&cli.StringFlag{Name: "prefix", Usage: "file name `PREFIX` (default: the first input's name without extensions)"},
			&cli.IntFlag{Name: "max-open", Usage: "at most `N` output files open at once", Value: 1000},
		),
		Action: runSplit,
	}
}

func runSplit(c *cli.Context) error {
	in, err := openInputs(c)
	if err != nil {
		return err
	}
	defer in.capture.Close()
	sel, capture := in.sel, in.capture

	opts := split.Options{
		Dir:     c.String("output"),
		Prefix:  c.String("prefix"),
		Force:   c.Bool("force"),
		MaxOpen: c.Int("max-open"),
		Select:  splitSelector(sel),
	}
	// The index lists the inputs read, which its "input:frame" numbers
	// count: not a file that could not be opened (its error is listed).
	for _, in := range capture.Inputs {
		opts.Inputs = append(opts.Inputs, in.Name)
	}
	if opts.Prefix == "" {
		opts.Prefix = split.Prefix(capture.Inputs[0].Name) // the first file read
	}
	first := capture.Inputs[0]
	opts.Format, opts.LinkType, opts.Snaplen = reassembly.FormatPcap, first.LinkType, first.Snaplen
	// The capture file's comments (Wireshark keeps them in the section
	// header) go into each file written, of the first input that has any.
	for _, in := range capture.Inputs {
		if len(in.Comments) > 0 {
			opts.Comments = in.Comments
			break
		}
	}
	for _, in := range capture.Inputs {
		if in.Format == reassembly.FormatPcapNG || in.LinkType != first.LinkType {
			opts.Format = reassembly.FormatPcapNG
		}
		opts.Nanosecond = opts.Nanosecond || in.Nanosecond
		opts.Snaplen = max(opts.Snaplen, in.Snaplen)
	}
	splitter, err := split.New(opts)
	if err != nil {
		return inputFailure(err)
	}
	tracker := splitter.Tracker(reassembly.TrackerOptions{Sniff: session.Sniff, CountCopies: true})
	prog := newProgress(c.App.ErrWriter)
	st, err := reassembly.Walk(capture, tracker, func(conn *reassembly.Conn, _ *reassembly.Segment, p *reassembly.Packet) error {
		prog.tick(p.Frame, conn.Stream+1)
		return splitter.Add(conn, p)
	})
	prog.done()
	if err != nil {
		splitter.Abort()
		return inputFailure(err)
	}
	errs, _ := inputProblems(capture, &st)
	files, index, err := splitter.Finish(errs)
	if err != nil {
		return inputFailure(err)
	}
	printSplitSummary(c, files, index, opts.Dir)
	return reportProblems(c.App.ErrWriter, capture, &st)
}

// summaryRows caps the summary table; the index lists everything.
const summaryRows = 200

func printSplitSummary(c *cli.Context, files []split.File, index, dir string) {
	w := c.App.Writer
	if len(files) > 0 {
		t := newTable(w, "Stream", "Client", "Server", "Packets", "File")
		for i, f := range files {
			if i == summaryRows {
				break
			}
			t.Append(strconv.Itoa(f.Stream), f.Client, f.Server, strconv.Itoa(f.Packets), f.Name)
		}
		t.Render()
		if len(files) > summaryRows {
			fmt.Fprintf(w, "… and %d more connections; see the index.\n", len(files)-summaryRows)
		}
	}
	what := "connections"
	if len(files) == 1 {
		what = "connection"
	}
	fmt.Fprintf(w, "%d %s written to %s; index: %s\n", len(files), what, filepath.Clean(dir), index)
}
