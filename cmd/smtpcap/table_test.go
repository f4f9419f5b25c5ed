package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/smtpcap/smtpcap/internal/capgen"
)

// tablewriterTable draws header and rows with tablewriter, as writeTable
// does for small tables.
func tablewriterTable(t *testing.T, header []string, rows [][]string) string {
	t.Helper()
	var buf bytes.Buffer
	tab := newTable(&buf, header...)
	for _, r := range rows {
		if err := tab.Append(anys(r)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := tab.Render(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestPlainTableDrawsWhatTablewriterDraws: for every table whose cells it
// accepts, drawTable draws byte for byte what tablewriter draws, on random
// tables of awkward cells (wide and combining characters, box-drawing
// characters inside cells, headers wider than their columns).
func TestPlainTableDrawsWhatTablewriterDraws(t *testing.T) {
	pieces := []string{"a", "Z", "0", "9", " ", "<", ">", "@", ".", "-", "→", "é", "e\u0301", "例", "日本", "😀", "│", "─", "ß", "Ω", "‐", "x y"}
	rng := rand.New(rand.NewPCG(5, 3))
	cell := func() string {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	drawn := 0
	for round := range 300 {
		cols := 1 + rng.IntN(6)
		header := make([]string, cols)
		for i := range header {
			header[i] = strings.TrimSpace(cell() + "H")
		}
		rows := make([][]string, rng.IntN(6))
		for i := range rows {
			rows[i] = make([]string, cols)
			for j := range rows[i] {
				rows[i][j] = cell()
			}
		}
		widths, ok := plainWidths(header, rowsOf(rows))
		if !ok {
			continue
		}
		drawn++
		var got bytes.Buffer
		if err := drawTable(&got, header, widths, rowsOf(rows)); err != nil {
			t.Fatal(err)
		}
		if want := tablewriterTable(t, header, rows); got.String() != want {
			t.Fatalf("round %d: header %q rows %q:\ndrawTable:\n%s\ntablewriter:\n%s", round, header, rows, got.String(), want)
		}
	}
	if drawn < 50 {
		t.Errorf("only %d of 300 random tables had plain cells: the test checks too little", drawn)
	}
}

// TestLargeStreamsTableIsTheSame: the streams table of a capture with more
// connections than plainTableFrom, drawn by drawTable, is the table
// tablewriter draws for the same rows.
func TestLargeStreamsTableIsTheSame(t *testing.T) {
	capture := manySessionsCapture(t, plainTableFrom+5)
	code, out, errOut := runCLI(t, nil, "streams", capture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != plainTableFrom+5+4 {
		t.Fatalf("%d lines, want %d rows and 4 of borders and header", len(lines), plainTableFrom+5)
	}
	header := splitTableLine(lines[1])
	var rows [][]string
	for _, l := range lines[3 : len(lines)-1] {
		rows = append(rows, splitTableLine(l))
	}
	if want := tablewriterTable(t, header, rows); out != want {
		t.Errorf("the streams table differs from tablewriter's for the same cells")
	}
}

// manySessionsCapture writes a capture of n SMTP sessions one after
// another, with senders of different lengths, and returns its path.
func manySessionsCapture(t *testing.T, n int) string {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewWriter(&buf, capgen.Format{}, capgen.LinkEthernet)
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	srv := netip.MustParseAddrPort("198.51.100.25:25")
	for i := range n {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%200)}), uint16(20000+i))
		s := capgen.NewSession(w, capgen.LinkEthernet, client, srv, now, uint32(i)*1000, 7)
		s.SMTP(fmt.Sprintf("s%d@example.org", i*i), "b@example.test", "hi\r\n")
		now = s.Now
	}
	path := filepath.Join(t.TempDir(), "many.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// splitTableLine returns the cells of one drawn table line.
func splitTableLine(l string) []string {
	parts := strings.Split(strings.Trim(l, "│"), "│")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// TestEastAsianBordersLeaveLargeTablesToTablewriter: where twwidth
// measures box-drawing characters as two columns (East Asian width on a
// terminal it does not take for a modern one, e.g. LANG=ja_JP.UTF-8 with
// TERM=linux), tablewriter draws its borders with half as many; a large
// table is then still drawn as tablewriter draws it.
func TestEastAsianBordersLeaveLargeTablesToTablewriter(t *testing.T) {
	was := twwidth.Options{EastAsianWidth: twwidth.IsEastAsian()}
	was.ForceNarrowBorders = was.EastAsianWidth && twwidth.Width("─") == 1
	twwidth.SetOptions(twwidth.Options{EastAsianWidth: true})
	t.Cleanup(func() { twwidth.SetOptions(was) })

	header := []string{"Stream", "C→S pkts"}
	rows := make([][]string, plainTableFrom)
	for i := range rows {
		rows[i] = []string{strconv.Itoa(i), strconv.Itoa(i * 7)}
	}
	var got bytes.Buffer
	if err := writeTable(&got, header, rowsOf(rows)); err != nil {
		t.Fatal(err)
	}
	if want := tablewriterTable(t, header, rows); got.String() != want {
		gotTop, _, _ := strings.Cut(got.String(), "\n")
		wantTop, _, _ := strings.Cut(want, "\n")
		t.Errorf("writeTable's top border %q, tablewriter's %q", gotTop, wantTop)
	}
}
