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

// rowSource gives a table's rows one at a time, so that a table of
// hundreds of thousands of rows need not hold all their cells: row(i,
// cells) appends the cells of row i to cells.
type rowSource struct {
	n   int
	row func(i int, cells []string) []string
}

// rowsOf returns the rows of a table held whole.
func rowsOf(rows [][]string) rowSource {
	return rowSource{len(rows), func(i int, cells []string) []string { return append(cells, rows[i]...) }}
}

// writeTable writes header and rows as newTable's table would, drawing
// large tables itself when it can draw them identically: in two passes
// over the rows, one to measure and one to draw.
func writeTable(w io.Writer, header []string, rows rowSource) error {
	if rows.n >= plainTableFrom && narrowBorders() {
		if widths, ok := plainWidths(header, rows); ok {
			return drawTable(w, header, widths, rows)
		}
	}
	t := newTable(w, header...)
	var cells []string
	for i := range rows.n {
		cells = rows.row(i, cells[:0])
		if err := t.Append(anys(cells)...); err != nil {
			return err
		}
	}
	return t.Render()
}

// plainWidths returns the width of each column, and whether every row has
// a cell per column and every cell is one a plain table draws as
// tablewriter does: a single line, no space at either end (tablewriter
// trims them), nothing but printable characters (widths come from
// tablewriter's own measure).
func plainWidths(header []string, rows rowSource) ([]int, bool) {
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
	widths := make([]int, len(header))
	for i, h := range header {
		if h == "" || !plain(h) {
			return nil, false
		}
		widths[i] = cellWidth(h)
	}
	var cells []string
	for i := range rows.n {
		cells = rows.row(i, cells[:0])
		if len(cells) != len(header) {
			return nil, false
		}
		for j, c := range cells {
			if !plain(c) {
				return nil, false
			}
			widths[j] = max(widths[j], cellWidth(c))
		}
	}
	return widths, true
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
// right), cells to the left; each column as wide as widths says.
func drawTable(w io.Writer, header []string, widths []int, rows rowSource) error {
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
	if rows.n > 0 {
		rule("├", "┼", "┤")
	}
	var cells []string
	for k := range rows.n {
		cells = rows.row(k, cells[:0])
		bw.WriteString("│")
		for i, c := range cells {
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
