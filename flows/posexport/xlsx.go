package posexport

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxSource streams the rows of one sheet. excelize unzips a large sheet (and a large
// shared-string table) to a temporary file and reads it as a stream, so a workbook of a
// million rows is not held in memory.
type xlsxSource struct {
	f    *excelize.File
	rows *excelize.Rows
	n    int // rows so far (Next counts empty rows too: n is the sheet's row number)
}

// openXLSX opens a workbook at path and its sheet (opt.Sheet or the first).
func openXLSX(path string, opt Options) (rd *Reader, err error) {
	if err := checkOptions(&opt); err != nil {
		return nil, err
	}
	defer func() {
		// A damaged workbook must give an error, never take the importer down.
		if p := recover(); p != nil {
			rd, err = nil, fmt.Errorf("not a readable .xlsx workbook (damaged?): %v", p)
		}
	}()
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("not a readable .xlsx workbook (truncated or damaged?): %w", err)
	}
	sheets := f.GetSheetList()
	sheet := opt.Sheet
	switch {
	case len(sheets) == 0:
		f.Close()
		return nil, errors.New("the workbook has no sheet")
	case sheet == "":
		sheet = sheets[0]
	default:
		found := false
		for _, s := range sheets {
			if s == sheet {
				found = true
			}
		}
		if !found {
			f.Close()
			return nil, fmt.Errorf("no sheet %q in the workbook (sheets: %s)", sheet, strings.Join(sheets, ", "))
		}
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sheet %q: %w", sheet, err)
	}
	rd = &Reader{opt: opt, src: &xlsxSource{f: f, rows: rows}, sheet: true, format: "xlsx, sheet " + sheet}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		rd.date1904 = *props.Date1904
	}
	if err := rd.findHeader(); err != nil {
		rd.Close()
		return nil, err
	}
	return rd, nil
}

func (s *xlsxSource) next() (rec []string, line int, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, line, err = nil, 0, fmt.Errorf("row %d: damaged workbook: %v", s.n+1, p)
		}
	}()
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return nil, 0, fmt.Errorf("row %d: %w", s.n+1, err)
		}
		return nil, 0, io.EOF
	}
	s.n++
	cols, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, 0, fmt.Errorf("row %d: %w", s.n, err)
	}
	return cols, s.n, nil
}

func (s *xlsxSource) close() error {
	err := s.rows.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
