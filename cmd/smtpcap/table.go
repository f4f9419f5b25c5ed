package main

import (
	"bufio"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"
)

// newTable returns a terminal table with headers shown as written.
func newTable(w io.Writer, header ...string) *tablewriter.Table {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(anys(header)...)
	return t
}

// anys returns ss as the []any tablewriter takes.
func anys(ss []string) []any {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	return a
}

// plainTableFrom is how many rows a table must have to be drawn by
// drawTable instead of tablewriter, which takes about 45 µs a row: 2 s for
// the streams of a 1 GiB gateway capture, as long as reading it.
const plainTableFrom = 1000

// writeTable writes header and rows as newTable's table would, drawing
// large tables itself when it can draw them identically.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	if len(rows) >= plainTableFrom && narrowBorders() && plainCells(header, rows) {
		return drawTable(w, header, rows)
	}
	t := newTable(w, header...)
	for _, r := range rows {
		if err := t.Append(anys(r)...); err != nil {
			return err
		}
	}
	return t.Render()
}

// plainCells reports whether every row has a cell per column and every
// cell is one a plain table draws as tablewriter does: a single line, no
// space at either end (tablewriter trims them), nothing but printable
// characters (widths come from tablewriter's own measure).
func plainCells(header []string, rows [][]string) bool {
	plain := func(s string) bool {
		if s != strings.TrimSpace(s) {
			return false
		}
		for _, r := range s {
			if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\uFFFD' {
				return false
			}
		}
		return true
	}
	for _, h := range header {
		if h == "" || !plain(h) {
			return false
		}
	}
	for _, r := range rows {
		if len(r) != len(header) {
			return false
		}
		for _, c := range r {
			if !plain(c) {
				return false
			}
		}
	}
	return true
}

// narrowBorders reports whether tablewriter measures the box-drawing
// characters of its borders one column wide, as drawTable draws them. In
// twwidth's East Asian mode (a CJK locale or RUNEWIDTH_EASTASIAN=1) on a
// terminal it does not take for a modern one, they measure two, and
// tablewriter draws half as many.
func narrowBorders() bool {
	for _, r := range "─│┌┬┐├┼┤└┴┘" {
		if twwidth.Width(string(r)) != 1 {
			return false
		}
	}
	return true
}

// cellWidth returns the columns s takes on a terminal, as tablewriter
// measures it.
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return twwidth.Width(s)
		}
	}
	return len(s)
}

// drawTable draws a table the way newTable's does by default: box-drawing
// borders, one space of padding, headers centred (the odd space on the
// right), cells to the left.
func drawTable(w io.Writer, header []string, rows [][]string) error {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = cellWidth(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], cellWidth(c))
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	rule := func(left, mid, right string) {
		bw.WriteString(left)
		for i, n := range widths {
			if i > 0 {
				bw.WriteString(mid)
			}
			for range n + 2 {
				bw.WriteString("─")
			}
		}
		bw.WriteString(right)
		bw.WriteByte('\n')
	}
	spaces := func(n int) {
		for range n {
			bw.WriteByte(' ')
		}
	}
	rule("┌", "┬", "┐")
	bw.WriteString("│")
	for i, h := range header {
		free := widths[i] - cellWidth(h)
		spaces(1 + free/2)
		bw.WriteString(h)
		spaces(1 + free - free/2)
		bw.WriteString("│")
	}
	bw.WriteByte('\n')
	if len(rows) > 0 {
		rule("├", "┼", "┤")
	}
	for _, r := range rows {
		bw.WriteString("│")
		for i, c := range r {
			bw.WriteByte(' ')
			bw.WriteString(c)
			spaces(1 + widths[i] - cellWidth(c))
			bw.WriteString("│")
		}
		bw.WriteByte('\n')
	}
	rule("└", "┴", "┘")
	return bw.Flush()
}
