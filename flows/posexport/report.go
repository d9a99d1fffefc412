package posexport

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// MaxReportErrors is how many rejected rows a report lists one by one (all are counted).
const MaxReportErrors = 20

// maxUnknownCodes is how many distinct unknown drug codes a report names.
const maxUnknownCodes = 20

// Report is what an import did with one file: the same for a real import and a dry
// run, at the kiosk and at HQ. Nothing in it quotes a customer cell, and every run of
// 15 or more digits in it is masked, so it never holds a raw ID number.
type Report struct {
	File    string   // the file's base name
	Format  string   // Reader.Format
	Mapping []string // Reader.Mapping
	DryRun  bool

	Rows       int // data rows read, rejected ones included
	Valid      int // good rows
	Imported   int // new purchases stored (0 on a dry run)
	Duplicates int // good rows already stored (not checked on a dry run)
	Rejected   int
	Skipped    int // total rows (合计)
	// Resumed is how many good rows an earlier, interrupted run of the same file had
	// stored already: read again (to number the lines alike), not sent again.
	Resumed int
	// CodesUnchecked says that no catalog was at hand to check drug codes (a dry run
	// against a running HQ without --catalog).
	CodesUnchecked bool
	// UnknownCodes is how many good rows have a drug code the catalog does not know
	// (imported all the same: the catalog may learn it later).
	UnknownCodes int

	byColumn     map[string]int
	errors       []string
	unknownCodes map[string]int
	codesMore    int
	unknownKinds map[string]int
	kindsMore    int
	// Stopped says what ended the import before the end of the file ("" when none).
	Stopped string
}

// Reject counts a rejected row (and lists it among the first MaxReportErrors).
func (r *Report) Reject(e *RowError) {
	r.Rejected++
	if r.byColumn == nil {
		r.byColumn = map[string]int{}
	}
	r.byColumn[e.Where()]++
	if len(r.errors) < MaxReportErrors {
		r.errors = append(r.errors, maskIDs(e.Error()))
	}
}

// Unknown counts a good row whose drug code the catalog does not know.
func (r *Report) Unknown(code string) {
	r.UnknownCodes++
	code = safeText(code)
	if r.unknownCodes == nil {
		r.unknownCodes = map[string]int{}
	}
	if _, ok := r.unknownCodes[code]; ok || len(r.unknownCodes) < maxUnknownCodes {
		r.unknownCodes[code]++
		return
	}
	r.codesMore++
}

// ByColumn is how many rows were rejected for each column (`数量 (quantity)`, or
// "(row)" for a row as a whole).
func (r *Report) ByColumn() map[string]int { return r.byColumn }

// Errors are the first MaxReportErrors rejections, as "line N: column: reason".
func (r *Report) Errors() []string { return r.errors }

// FromReader copies what the reader knows (format, mapping, rows, skipped, unknown
// kind values); call it when the read is over.
func (r *Report) FromReader(rd *Reader) {
	if rd == nil {
		return
	}
	r.Format, r.Mapping, r.Rows, r.Skipped = rd.Format(), rd.Mapping(), rd.Rows(), rd.Skipped()
	r.unknownKinds, r.kindsMore = rd.UnknownKinds()
}

// Summary is the report in one line.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d rows read, ", safeText(r.File), r.Rows)
	if r.DryRun {
		fmt.Fprintf(&b, "%d valid (dry run: nothing stored), ", r.Valid)
	} else {
		fmt.Fprintf(&b, "%d added, %d duplicates, ", r.Imported, r.Duplicates)
	}
	if r.Resumed > 0 {
		fmt.Fprintf(&b, "%d already imported by an interrupted run (resumed), ", r.Resumed)
	}
	if r.CodesUnchecked {
		fmt.Fprintf(&b, "%d rejected, drug codes not checked", r.Rejected)
	} else {
		fmt.Fprintf(&b, "%d rejected, %d of unknown drugs", r.Rejected, r.UnknownCodes)
	}
	if r.Skipped > 0 {
		fmt.Fprintf(&b, ", %d total rows skipped", r.Skipped)
	}
	return b.String()
}

// WriteText writes the whole report: the summary, the file's format and columns,
// rejections by column, the first errors, unknown codes and kind values, and what
// stopped the import early.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.Summary() + "\n")
	if r.Format != "" {
		fmt.Fprintf(&b, "format: %s\n", r.Format)
	}
	if len(r.Mapping) > 0 {
		fmt.Fprintf(&b, "columns: %s\n", strings.Join(r.Mapping, "; "))
	}
	if r.Stopped != "" {
		fmt.Fprintf(&b, "STOPPED: %s\n", maskIDs(r.Stopped))
	}
	if len(r.byColumn) > 0 {
		b.WriteString("rejected rows by column:\n")
		for _, kv := range sortedCounts(r.byColumn) {
			fmt.Fprintf(&b, "  %s: %d\n", kv.k, kv.n)
		}
	}
	if len(r.errors) > 0 {
		if r.Rejected > len(r.errors) {
			fmt.Fprintf(&b, "first %d of %d rejected rows:\n", len(r.errors), r.Rejected)
		} else {
			b.WriteString("rejected rows:\n")
		}
		for _, e := range r.errors {
			b.WriteString("  " + e + "\n")
		}
	}
	if len(r.unknownCodes) > 0 {
		b.WriteString("drug codes the catalog does not know (rows):")
		for _, kv := range sortedCounts(r.unknownCodes) {
			fmt.Fprintf(&b, " %s (%d)", kv.k, kv.n)
		}
		if r.codesMore > 0 {
			fmt.Fprintf(&b, " and %d rows of other codes", r.codesMore)
		}
		b.WriteString("\n")
	}
	if len(r.unknownKinds) > 0 {
		b.WriteString("kind values not known, the catalog's kind used (rows):")
		for _, kv := range sortedCounts(r.unknownKinds) {
			fmt.Fprintf(&b, " %q (%d)", kv.k, kv.n)
		}
		if r.kindsMore > 0 {
			fmt.Fprintf(&b, " and %d rows of other values", r.kindsMore)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, maskIDs(b.String()))
	return err
}

type countKV struct {
	k string
	n int
}

// sortedCounts orders by count, most first, then by name.
func sortedCounts(m map[string]int) []countKV {
	out := make([]countKV, 0, len(m))
	for k, n := range m {
		out = append(out, countKV{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].k < out[j].k
	})
	return out
}

// IsTerminal reports whether w is a terminal (a character device), where a progress
// line makes sense.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Progress prints a progress line ("\r12,345 rows, 38% of 120.0 MB") for a big file on
// a terminal, at most every Every.
type Progress struct {
	w     io.Writer
	rd    *Reader
	name  string
	every time.Duration
	last  time.Time
	wrote bool
}

// NewProgress returns a progress line for rd on w, or nil (whose methods do nothing)
// when w is not a terminal.
func NewProgress(w io.Writer, name string, rd *Reader) *Progress {
	if !IsTerminal(w) {
		return nil
	}
	return &Progress{w: w, rd: rd, name: safeText(name), every: 250 * time.Millisecond, last: time.Now()}
}

// Update shows the progress when Every has passed since it last did.
func (p *Progress) Update() {
	if p == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	p.wrote = true
	done, total := p.rd.Progress()
	line := fmt.Sprintf("%s: %d rows", p.name, p.rd.Rows())
	if total > 0 {
		line += fmt.Sprintf(", %d%% of %.1f MB", done*100/total, float64(total)/1e6)
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
}

// Done clears the progress line.
func (p *Progress) Done() {
	if p == nil || !p.wrote {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
}
