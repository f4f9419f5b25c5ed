// Command smtpcap explains SMTP failures from packet captures: it splits a
// capture into its SMTP connections, shows each dialogue with the frames
// that carried it, and finds what broke.
//
// Exit status: 0 on success, 1 when analyze found something at or above
// --fail-on, 2 for usage errors and unreadable input.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// memoryLimit is the Go heap size past which the garbage collector works
// harder. Memory use follows the connections open at once, so a mail
// gateway's capture fits well under it; the limit keeps the collector from
// letting garbage double the heap first.
const memoryLimit = 192 << 20

func main() {
	debug.SetMemoryLimit(memoryLimit)
	if os.Getenv("GOGC") == "" {
		// The limit alone paces the collector: a collection each time the
		// heap doubles would run two or three times as often on a large
		// capture, for memory the limit lets us use anyway (analyze of the
		// 1 GiB, 43.6 k-connection capture: 6 % less time, peak RSS 190
		// -> 198 MB). GOGC in the environment still decides, as always.
		debug.SetGCPercent(-1)
	}
	go followLiveHeap(memoryLimit, 100*time.Millisecond)
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// followLiveHeap raises the memory limit when what the program really
// holds comes near it. A capture with hundreds of thousands of connections
// open at once (a SYN scan) can need more than the limit; under it, the
// collector would run back to back and take half the CPU for nothing.
func followLiveHeap(limit int64, every time.Duration) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for range time.Tick(every) {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if next := limitFor(limit, int64(sample[0].Value.Uint64())); next != limit {
			limit = next
			debug.SetMemoryLimit(limit)
		}
	}
}

// limitFor returns the memory limit for a live heap of live bytes: the
// limit now, or half again the live heap if that is more. It never lowers
// the limit. The headroom sets how often the collector runs once the live
// heap has outgrown the first limit, each time marking all of it: a
// quarter cost a capture of 232 k connections (where findings, retry keys
// and proxy legs are kept to the end) a third of its CPU in the collector
// and 17 s in all; half takes 12 s, with 60 MB more at the peak.
func limitFor(limit, live int64) int64 {
	return max(limit, live+live/2)
}

// Exit statuses.
const (
	exitOK       = 0
	exitFindings = 1
	exitInput    = 2
)

// exitError carries the exit status a command wants with its message; a
// nil err sets the status and prints nothing.
type exitError struct {
	code int
	err  error
}

// Error returns the message.
func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// Unwrap returns the error inside.
func (e *exitError) Unwrap() error { return e.err }

// inputFailure marks err as bad input or usage (exit status 2).
func inputFailure(err error) error { return &exitError{code: exitInput, err: err} }

// run is main without the process: it returns the exit status, so that
// tests can drive the whole CLI.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	app.Metadata = map[string]any{"args": args}
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(stderr, ee.err)
		}
		return ee.code
	}
	printError(stderr, err)
	return exitInput
}

// printError prints err on stderr, each line of a joined error (one per
// unreadable capture, say) as a message of its own.
func printError(stderr io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "smtpcap: %s\n", line)
	}
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "smtpcap",
		Usage:   "explain SMTP failures from packet captures",
		Version: version,
		Description: "smtpcap reads tcpdump/Wireshark captures (pcap, pcapng, gzip) and finds what broke in the\n" +
			"SMTP conversations they hold: firewall fixups, bare-LF bodies, pipelining errors, lost connections.",
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return inputFailure(err)
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cpuprofile", Hidden: true, Usage: "write a CPU profile (go tool pprof) to `FILE`, which must not exist"},
		},
		Before: startProfile,
		After:  stopProfile,
		Commands: []*cli.Command{
			splitCommand(),
			streamsCommand(),
			followCommand(),
			analyzeCommand(),
		},
	}
}

// startProfile starts the CPU profile --cpuprofile asks for. The file is
// created, never replaced.
func startProfile(c *cli.Context) error {
	path := c.String("cpuprofile")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return inputFailure(fmt.Errorf("--cpuprofile: %w", err))
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return inputFailure(fmt.Errorf("--cpuprofile %s: %w", path, err))
	}
	c.App.Metadata["profile"] = f
	return nil
}

// stopProfile ends the CPU profile, if one was started.
func stopProfile(c *cli.Context) error {
	f, ok := c.App.Metadata["profile"].(*os.File)
	if !ok {
		return nil
	}
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	return nil
}
