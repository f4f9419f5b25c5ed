package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/smtpcap/smtpcap/internal/testcaps"
	"github.com/smtpcap/smtpcap/pkg/findings"
)

func TestAnalyzeExitStatus(t *testing.T) {
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"analyze", testcaps.Path("clean.pcap")}, 0},
		{[]string{"analyze", testcaps.Path("barelf.pcap")}, 1},
		{[]string{"analyze", "--fail-on", "never", testcaps.Path("barelf.pcap")}, 0},
		{[]string{"analyze", "--ignore", "data-terminator-not-at-line-start", "--ignore", "lost-mid-transaction", testcaps.Path("barelf.pcap")}, 0},
		{[]string{"analyze", "--fail-on", "info", testcaps.Path("split-command.pcap")}, 1},
		{[]string{"analyze", testcaps.Path("garbage.pcap")}, 2},
		{[]string{"analyze", testcaps.Path("truncated.pcap")}, 2},
		{[]string{"analyze", "--ignore", "no-such-finding", testcaps.Path("clean.pcap")}, 2},
		{[]string{"analyze", "--format", "yaml", testcaps.Path("clean.pcap")}, 2},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args[:len(tc.args)-1], " "), func(t *testing.T) {
			code, _, errOut := runCLI(t, nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
		})
	}
}

func TestAnalyzeJSONFollowsTheSchema(t *testing.T) {
	code, out, _ := runCLI(t, nil, "analyze", "--format", "json", testcaps.Path("barelf.pcap"))
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var r struct {
		Schema      string           `json:"schema"`
		Files       []string         `json:"files"`
		Connections []map[string]any `json:"connections"`
		Findings    []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Schema != findings.Schema || len(r.Files) != 1 || len(r.Connections) != 1 || len(r.Findings) != 3 {
		t.Fatalf("report %+v", r)
	}
	f := r.Findings[0]
	for _, key := range []string{"id", "severity", "stream", "direction", "phase", "frames", "offset", "time", "summary", "evidence", "remedy", "filter"} {
		if _, ok := f[key]; !ok {
			t.Errorf("finding lacks %q: %v", key, f)
		}
	}
	if f["id"] != "data-terminator-not-at-line-start" || f["offset"].(float64) != 204 || f["direction"] != "client" || f["phase"] != "data" {
		t.Errorf("first finding %v", f)
	}
}

// A capture given on standard input by redirection ("- < dump.pcap") is
// an input too: -o must not overwrite it.
func TestAnalyzeNeverOverwritesTheCaptureOnStandardInput(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "dump.pcap")
	orig, _ := os.ReadFile(testcaps.Path("barelf.pcap"))
	os.WriteFile(capture, orig, 0o644)
	stdin, err := os.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var out, errOut bytes.Buffer
	code := run([]string{"smtpcap", "analyze", "-o", capture, "-"}, stdin, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "that is an input capture; refusing to overwrite it") {
		t.Errorf("exit %d, %q", code, errOut.String())
	}
	if now, _ := os.ReadFile(capture); !bytes.Equal(now, orig) {
		t.Fatal("the capture was changed")
	}
}

func TestAnalyzeWritesMarkdownAndNeverOverwritesTheCapture(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "dump.pcap")
	orig, _ := os.ReadFile(testcaps.Path("barelf.pcap"))
	os.WriteFile(capture, orig, 0o644)
	code, _, errOut := runCLI(t, nil, "analyze", "--format", "markdown", "-o", capture, capture)
	if code != 2 || !strings.Contains(errOut, "that is an input capture; refusing to overwrite it") {
		t.Errorf("exit %d, %q", code, errOut)
	}
	if now, _ := os.ReadFile(capture); string(now) != string(orig) {
		t.Fatal("the capture was changed")
	}
	report := filepath.Join(dir, "ticket.md")
	code, _, _ = runCLI(t, nil, "analyze", "--format", "markdown", "-o", report, capture)
	md, _ := os.ReadFile(report)
	if code != 1 || !strings.Contains(string(md), "**Diagnosis:** The message body ended in a bare LF (frame 15)") ||
		!strings.Contains(string(md), "Wireshark filter: `tcp.stream eq 0 && frame.number == 15`") ||
		!strings.Contains(string(md), "Produced by smtpcap dev: `smtpcap analyze --format markdown -o "+report) {
		t.Errorf("exit %d; report:\n%s", code, md)
	}
}

func TestAnalyzeTableShowsDiagnosisAndFindings(t *testing.T) {
	_, out, _ := runCLI(t, nil, "analyze", "--min-severity", "warning", testcaps.Path("crafted/masked-pix.pcap"))
	for _, want := range []string{"1 SMTP connection analysed", "pix-masked-command", "A firewall SMTP", "10,12,14"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "command-rejected") {
		t.Errorf("--min-severity warning kept an info finding")
	}
}

func TestReadmeListsEveryFinding(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(testcaps.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range findings.Catalog() {
		if row := "| `" + e.ID + "` | " + e.Meaning + " |"; !strings.Contains(string(readme), row) {
			t.Errorf("README.md does not list %s as the catalog says it:\n%s", e.ID, row)
		}
	}
}

func TestAnalyzeOfSeveralFilesNamesEachFilesFrames(t *testing.T) {
	code, out, _ := runCLI(t, nil, "analyze", "--format", "json", testcaps.Path("clean.pcap"), testcaps.Path("barelf.pcap"))
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var r findings.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// clean.pcap holds 21 frames and comes first in time: barelf.pcap's frame 15 is merged frame 36.
	f := r.Findings.All()[0]
	if f.ID != "data-terminator-not-at-line-start" || f.Stream != 1 || len(f.Frames) != 1 || f.Frames[0] != 36 ||
		len(f.FileFrames) != 1 || f.FileFrames[0] != testcaps.Path("barelf.pcap")+":15" || r.FrameNote == "" {
		t.Errorf("finding %+v, note %q", f, r.FrameNote)
	}
}

// TestAnalyzeOfManyFilesLocatesEveryFrame reads every readable bundled
// capture as one merged capture, so that connections finish while later
// packets are still being read: every frame of every finding must still be
// named in its own file. (Under -race, as .ci/run runs this package, it
// also guards against locating frames while the capture's table of runs
// grows.)
func TestAnalyzeOfManyFilesLocatesEveryFrame(t *testing.T) {
	var inputs []string
	for _, p := range testcaps.Bundled() {
		if !testcaps.Broken(p) {
			inputs = append(inputs, p)
		}
	}
	_, out, _ := runCLI(t, nil, append([]string{"analyze", "--format", "json"}, inputs...)...)
	var r findings.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Findings.Len() < 20 {
		t.Fatalf("%d findings from %d captures", r.Findings.Len(), len(inputs))
	}
	for _, f := range r.Findings.All() {
		if len(f.FileFrames) != len(f.Frames) {
			t.Errorf("%s in stream %d: frames %v located as %v", f.ID, f.Stream, f.Frames, f.FileFrames)
			continue
		}
		for _, where := range f.FileFrames {
			file, frame, ok := strings.Cut(where, ":")
			if n, err := strconv.Atoi(frame); !ok || err != nil || n < 1 || !slices.Contains(inputs, file) {
				t.Errorf("%s: frame located as %q", f.ID, where)
			}
		}
	}
}

// TestAnalyzeReadsTheGoodFilesOfASet: an empty file among the inputs (the
// last file of a rotated tcpdump set often is) is reported and the command
// exits 2, but the other files are still analysed.
func TestAnalyzeReadsTheGoodFilesOfASet(t *testing.T) {
	empty := testcaps.Path("empty.pcap")
	code, out, errOut := runCLI(t, nil, "analyze", "--format", "json", testcaps.Path("barelf.pcap"), empty)
	if code != 2 || errOut != "smtpcap: "+empty+": empty file\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	var r findings.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Connections.Len() != 1 || r.Findings.Len() != 3 || !slices.Contains(r.Warnings, empty+": empty file") {
		t.Errorf("%d connections, %d findings, warnings %q", r.Connections.Len(), r.Findings.Len(), r.Warnings)
	}
}

// TestAFileGivenTwiceIsReadOnceAndACopyIsNamed: the same file given twice
// (by its name, or through a link, as a shell glob may) is read once, and
// the report is the one file's with a warning; a copy under another name
// cannot be read once without reading both, but the warning says what it is.
func TestAFileGivenTwiceIsReadOnceAndACopyIsNamed(t *testing.T) {
	capture := testcaps.Path("barelf.pcap")
	dir := t.TempDir()
	link, copied := filepath.Join(dir, "link.pcap"), filepath.Join(dir, "copy.pcap")
	if err := os.Symlink(capture, link); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copied, b, 0o644); err != nil {
		t.Fatal(err)
	}
	report := func(args ...string) (findings.Report, string) {
		t.Helper()
		code, out, errOut := runCLI(t, nil, append([]string{"analyze", "--format", "json"}, args...)...)
		if code != 1 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		var r findings.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r, errOut
	}
	once, _ := report(capture)
	for _, again := range []string{capture, link} {
		r, errOut := report(capture, again)
		warning := again + ": the same file as " + capture + ", given twice: read once"
		if !slices.Equal(r.Files, []string{capture}) || !slices.Equal(r.Warnings, []string{warning}) ||
			errOut != "smtpcap: warning: "+warning+"\n" || r.FrameNote != "" {
			t.Errorf("%s twice: files %q, warnings %q, stderr %q, note %q", again, r.Files, r.Warnings, errOut, r.FrameNote)
		}
		if fmt.Sprint(r.Connections.All(), r.Findings.All()) != fmt.Sprint(once.Connections.All(), once.Findings.All()) {
			t.Errorf("%s twice: the report differs from the file's own", again)
		}
	}
	// A copy is read, and each of its packets found to be a copy of the
	// other file's, analysed once.
	r, _ := report(capture, copied)
	warnings := []string{copied + ": begins with the same packet as " + capture + " (same time, same bytes): a copy of the same capture?",
		capture + ": frame 1: 17 packets are in another input file too (the same traffic captured twice, into several files at once): each analysed once"}
	if len(r.Files) != 2 || !slices.Equal(r.Warnings, warnings) {
		t.Errorf("a copy: files %q, warnings %q; want both files and %q", r.Files, r.Warnings, warnings)
	}
	ids := func(r findings.Report) string {
		var s []string
		for _, f := range r.Findings.All() {
			s = append(s, f.ID)
		}
		return fmt.Sprint(s)
	}
	if r.Connections.Len() != 1 || r.Connections.At(0).Packets != once.Connections.At(0).Packets || ids(r) != ids(once) {
		t.Errorf("a copy: %d connections, %d packets, findings %s; the file alone: %d packets, %s",
			r.Connections.Len(), r.Connections.At(0).Packets, ids(r), once.Connections.At(0).Packets, ids(once))
	}
	// Rotated files, each with packets of its own, are no copies.
	r, _ = report(testcaps.Path("clean.pcap"), capture)
	if len(r.Warnings) != 0 {
		t.Errorf("two different captures: warnings %q", r.Warnings)
	}
}

// TestAnalyzeReportsWhenNothingIsReadable: with no readable capture at
// all, the JSON report still comes, empty, with each file's fault among its
// input warnings, and stderr names every file on a line of its own.
func TestAnalyzeReportsWhenNothingIsReadable(t *testing.T) {
	garbage, missing := testcaps.Path("garbage.pcap"), filepath.Join(t.TempDir(), "missing.pcap")
	code, out, errOut := runCLI(t, nil, "analyze", "--format", "json", garbage, missing)
	garbageErr := garbage + " (offset 0x0): not a pcap or pcapng capture (starts with 12 93 70 db)"
	missingErr := missing + ": no such file or directory"
	if want := "smtpcap: " + garbageErr + "\nsmtpcap: " + missingErr + "\n"; code != 2 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", code, errOut, want)
	}
	var r findings.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if r.Connections.Len() != 0 || r.Findings.Len() != 0 || !slices.Equal(r.Warnings, []string{garbageErr, missingErr}) ||
		!slices.Equal(r.Files, []string{garbage, missing}) {
		t.Errorf("report: %d connections, %d findings, files %q, warnings %q", r.Connections.Len(), r.Findings.Len(), r.Files, r.Warnings)
	}
}

// TestUsageMistakesAreSaid: the slips a user makes on the command line get
// one line that says what to do, and exit status 2 — never a clean report.
func TestUsageMistakesAreSaid(t *testing.T) {
	clean, splitCmd := testcaps.Path("clean.pcap"), testcaps.Path("split-command.pcap")
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"analyze", "-s", "5", clean}, "smtpcap: stream 5: no such SMTP connection in the capture (it has 1 TCP connection, streams 0–0; see smtpcap streams, or --all for non-SMTP ones)\n"},
		{[]string{"follow", splitCmd, "--stream", "0"}, "smtpcap: --stream: flags go before the capture files (smtpcap follow --stream … FILE)\n"},
		{[]string{"follow", splitCmd}, "smtpcap: --stream N is required: the connection to show (smtpcap streams lists them)\n"},
		{[]string{"follow", "--stream", "0", splitCmd, "--full"}, "smtpcap: --full: flags go before the capture files (smtpcap follow --full … FILE)\n"},
		{[]string{"analyze", clean, "--format", "json"}, "smtpcap: --format: flags go before the capture files (smtpcap analyze --format … FILE)\n"},
		{[]string{"analyze", "--fail-on", "bogus", clean}, "smtpcap: --fail-on \"bogus\": want info, warning, error or never\n"},
		{[]string{"follow", "-s", "0", "--direction", "client", splitCmd}, "smtpcap: --direction client: only with --raw (the annotated dialogue always shows both)\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, tc.args...)
			if code != 2 || errOut != tc.stderr || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, out, errOut, tc.stderr)
			}
		})
	}
}

// TestCPUProfileIsWrittenAndNeverReplacesAFile: --cpuprofile writes a
// profile (gzip-compressed, as go tool pprof reads it) beside an unchanged
// report, and refuses a file that exists, before reading the capture.
func TestCPUProfileIsWrittenAndNeverReplacesAFile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	code, out, errOut := runCLI(t, nil, "--cpuprofile", prof, "analyze", testcaps.Path("clean.pcap"))
	_, plain, _ := runCLI(t, nil, "analyze", testcaps.Path("clean.pcap"))
	if code != 0 || out != plain {
		t.Fatalf("exit %d, stderr %q; report with a profile differs from one without: %v", code, errOut, out != plain)
	}
	b, err := os.ReadFile(prof)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile %s: %d bytes, err %v; want a gzip stream", prof, len(b), err)
	}
	code, out, errOut = runCLI(t, nil, "--cpuprofile", prof, "analyze", testcaps.Path("clean.pcap"))
	if code != 2 || out != "" || !strings.Contains(errOut, "--cpuprofile: open "+prof+": file exists") {
		t.Errorf("over an existing profile: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if after, _ := os.ReadFile(prof); !bytes.Equal(after, b) {
		t.Errorf("the existing profile was changed")
	}
}

// TestPacketsCapturedTwiceAreAnalysedOnce: testdata/pcaps/copies holds the
// same two sessions captured with tcpdump -i any on a bridge host (every
// packet twice, the copies next to each other) and once on the client.
// streams and analyze say the same of both, but for the warning that
// counts the copies; the frames a finding cites are the first copies, the
// single capture's frame f being frame 2f-1 there.
func TestPacketsCapturedTwiceAreAnalysedOnce(t *testing.T) {
	twice, once := testcaps.Path("copies/bridge-any.pcap"), testcaps.Path("copies/bridge-single.pcap")
	rows := func(path string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, nil, "streams", "--format", "json", path)
		if code != 0 {
			t.Fatalf("streams %s: exit %d, %s", path, code, errOut)
		}
		var list []map[string]any
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		for _, row := range list { // where each copy was captured, not what
			for _, k := range []string{"first", "last", "duration_seconds", "first_frame", "last_frame"} {
				delete(row, k)
			}
		}
		return fmt.Sprint(list), errOut
	}
	gotRows, warning := rows(twice)
	wantRows, quiet := rows(once)
	if gotRows != wantRows || quiet != "" ||
		warning != "smtpcap: warning: "+twice+": frame 2: 62 packets are the same IP packet as one captured just before (captured on more than one interface, as tcpdump -i any does on a host with a bridge, or duplicated by the network): each analysed once\n" {
		t.Errorf("streams:\n%s\n%s\nwarning %q, %q", gotRows, wantRows, warning, quiet)
	}

	report := func(path string) findings.Report {
		t.Helper()
		_, out, _ := runCLI(t, nil, "analyze", "--format", "json", path)
		var r findings.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	got, want := report(twice), report(once)
	if got.Findings.Len() != want.Findings.Len() || want.Findings.Len() == 0 {
		t.Fatalf("%d findings, %d in the single capture", got.Findings.Len(), want.Findings.Len())
	}
	for i, f := range got.Findings.All() {
		w := want.Findings.All()[i]
		firsts := make([]int, len(w.Frames))
		for j, fr := range w.Frames {
			firsts[j] = 2*fr - 1
		}
		if f.ID != w.ID || f.Severity != w.Severity || f.Stream != w.Stream || !slices.Equal(f.Frames, firsts) {
			t.Errorf("%s %s stream %d frames %v; the single capture's %s %s stream %d frames %v",
				f.ID, f.Severity, f.Stream, f.Frames, w.ID, w.Severity, w.Stream, w.Frames)
		}
	}
	for i, c := range got.Connections.All() {
		if w := want.Connections.At(i); c.Packets != w.Packets || c.Delivered != w.Delivered || c.Diagnosis == "" != (w.Diagnosis == "") {
			t.Errorf("stream %d: %d packets, %d delivered; the single capture's %d, %d", c.Stream, c.Packets, c.Delivered, w.Packets, w.Delivered)
		}
	}
}
