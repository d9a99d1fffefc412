// Package posexport reads a pharmacy POS export into purchases: the one reader behind
// `kiosk import-purchases` and `hq import-purchases`.
//
// # Files
//
// A text export (CSV, or tab- or semicolon-separated: the separator is the one the first
// lines use most) in UTF-8 with or without a byte-order mark, GB18030/GBK (what Excel
// saves on a Chinese Windows PC; detected: text that is not valid UTF-8 is GB18030), or
// UTF-16 with a byte-order mark (Excel's "Unicode text", tab-separated); Options.Encoding
// overrides the detection. Or an .xlsx workbook (Open, by content: a zip), first sheet
// or Options.Sheet. Both are read as a stream: memory does not grow with the file but
// for one small entry per sale line (the :n numbering below).
//
// # Columns
//
// A header row names the columns: any order, case, width (全角) and spaces ignored,
// unknown columns ignored; title lines above it are skipped (the header row is the
// first of the first 30 rows with two or more known headers). Every column has
// built-in aliases (ColumnAliases: 销售单号, 门店编码, 身份证号 / 医保卡号, 销售日期,
// 商品编码 / 国家医保编码, 数量, 金额, 小票号, 类别 …); Options.Columns (a --columns
// mapping file, ParseColumns) names others. When a file has several headers of one
// column (身份证号 and 医保卡号), a row's value is the first non-empty one in alias order.
//
//	sale_id                    required
//	store_id                   only with Options.StoreColumn; else every row is Options.Store
//	id_number_or_customer_key  required: an ID number (hashed by Options.ResolveCustomer) or a customer key
//	date                       required: YYYY-MM-DD[ HH:MM[:SS]] (Asia/Shanghai), 2026/6/1, 2026年6月1日,
//	                           20260601, RFC 3339, or a workbook date
//	drug_code                  required
//	quantity                   required, a number > 0
//	days_supply                optional, whole days 0..3650 (empty = unknown)
//	amount                     optional, the line total in yuan (元): at most 2 decimals, converted to fen exactly
//	amount_fen                 optional, the line total in fen (分), a whole number; wins over amount
//	receipt_id                 optional, the receipt (小票) the line is on
//	kind                       optional, rx | otc | nondrug (处方药, 非处方药/OTC/甲类/乙类, 非药品/器械/保健品 …);
//	                           a value not known keeps the catalog's kind (UnknownKinds counts it)
//	ingredient, atc, name      optional, only with Options.DrugColumns
//
// Blank rows and total rows (合计/总计) are skipped.
//
// # Ids and privacy
//
// Purchase id = STORE:SALE:CODE, plus :n for the n-th line (n ≥ 2) of the same drug in
// the same sale in this file, so re-importing a file (at the kiosk or HQ) yields the same
// ids; store, sale and drug code may therefore not contain ":". The customer cell is
// handed to Options.ResolveCustomer and never appears in an error this package makes;
// other cells are quoted with every run of 15 or more digits masked (1101**********002X),
// and a row whose other text cells hold an ID number (columns mixed up) is rejected, so
// a raw ID reaches neither a report nor storage.
//
// The package knows nothing of ID-number hashing, storage or flags; the caller supplies
// those.
package posexport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
)

// MaxDaysSupply is the largest days_supply a row may give (ten years).
const MaxDaysSupply = 3650

// headerSearchRows is how many rows may stand above the header row (report titles).
const headerSearchRows = 30

var errEmpty = errors.New("empty")

// ErrNoStore is wrapped by the errors for a missing store id: no store_id column or
// cell and no Options.Store.
const ErrNoStore = sentinel("no default store id")

// Options configure a Reader.
type Options struct {
	// Store is the store id of rows without a store_id cell (with StoreColumn) or of
	// every row (without).
	Store string
	// StoreColumn accepts a store_id column (HQ imports several stores' sales). When
	// false the column is ignored like any unknown one.
	StoreColumn bool
	// DrugColumns accepts ingredient, atc and name columns (catalog overrides). When
	// false they are ignored and the Purchase's drug facts are left empty.
	DrugColumns bool
	// Now is the time a sale may not be more than a day after.
	Now time.Time
	// ResolveCustomer turns a non-empty customer cell into a customer key (usually
	// customerkey.FromInput). Its error rejects the row (and is the row's error text, so
	// it must not quote the cell), unless it is marked with Fatal, which stops the read;
	// an invalid key rejects the row too.
	ResolveCustomer func(cell string) (customerkey.Key, error)
	// Encoding of a text export: EncAuto (detect) or EncUTF8, EncGB18030, EncUTF16LE,
	// EncUTF16BE (ParseEncoding reads the --encoding flag). A byte-order mark of
	// another encoding still wins, except that UTF-8 and GB18030 never read one.
	Encoding string
	// Columns maps our column names to the file's headers (best first), ahead of the
	// built-in aliases: a --columns file read with ParseColumns.
	Columns map[string][]string
	// Sheet is the workbook sheet to read (default: the first).
	Sheet string
}

// RowError is a rejected row: the read goes on after it.
type RowError struct {
	Line   int    // 1-based line of a text file, or row of a sheet, where the row starts
	Field  string // our column at fault ("" when the row as a whole is)
	Column string // the file's header of that column
	Err    error  // what is wrong; never quotes the customer cell, masks ID-like numbers
	sheet  bool   // a workbook row
}

func (e *RowError) Error() string {
	unit := "line"
	if e.sheet {
		unit = "row"
	}
	switch {
	case e.Field == "":
		return fmt.Sprintf("%s %d: %v", unit, e.Line, e.Err)
	case e.Column == "" || normHeader(e.Column) == normHeader(e.Field):
		return fmt.Sprintf("%s %d: %s: %v", unit, e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("%s %d: %s (%s): %v", unit, e.Line, safeText(e.Column), e.Field, e.Err)
}

// Unwrap returns the reason.
func (e *RowError) Unwrap() error { return e.Err }

// Where names the column at fault for grouping a report: `数量 (quantity)`, or "(row)".
func (e *RowError) Where() string {
	switch {
	case e.Field == "":
		return "(row)"
	case e.Column == "" || normHeader(e.Column) == normHeader(e.Field):
		return e.Field
	}
	return safeText(e.Column) + " (" + e.Field + ")"
}

type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// Fatal marks an error from ResolveCustomer as ending the whole read (e.g. the chain
// secret is missing) instead of rejecting one row. Next returns err itself.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return fatalError{err}
}

// source yields the records of a file: io.EOF at the end, a *RowError for a record it
// cannot split (the read goes on), any other error ends the read.
type source interface {
	next() (rec []string, line int, err error)
	close() error
}

// Reader yields the rows of one POS export. It is not safe for concurrent use.
type Reader struct {
	opt      Options
	src      source
	lay      layout
	sheet    bool // workbook: rows, lenient amounts, date serials
	date1904 bool
	format   string   // "CSV", "TSV", "xlsx sheet NAME"
	dec      *decoded // text: the encoding in use
	counter  *countingReader
	size     int64
	closer   io.Closer
	seen     lineCounter // hash of store, sale and drug → lines so far
	rows     int
	skipped  int
	kinds    map[string]int // kind values not known → rows
	kindMore int            // rows with unknown kinds beyond the first 20 values
}

// Open opens an export file: an .xlsx workbook (a zip) or a text export. Close it.
func Open(path string, opt Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		f.Close()
		return openXLSX(path, opt)
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		f.Close()
		return nil, errors.New("an .xls (Excel 97-2003) or encrypted workbook: save it as .xlsx or CSV")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	cr := &countingReader{r: f}
	rd, err := newTextReader(cr, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	rd.counter, rd.size, rd.closer = cr, fi.Size(), f
	return rd, nil
}

// NewReader reads a text export (CSV/TSV in any encoding above) from r and checks its
// header row. Errors name the missing or repeated columns.
func NewReader(r io.Reader, opt Options) (*Reader, error) {
	cr := &countingReader{r: r}
	rd, err := newTextReader(cr, opt)
	if err != nil {
		return nil, err
	}
	rd.counter = cr
	return rd, nil
}

func newTextReader(r io.Reader, opt Options) (*Reader, error) {
	if err := checkOptions(&opt); err != nil {
		return nil, err
	}
	dec, err := decode(r, opt.Encoding)
	if err != nil {
		return nil, err
	}
	src, comma, err := newCSVSource(dec.r)
	if err != nil {
		return nil, err
	}
	rd := &Reader{opt: opt, src: src, dec: dec, format: "CSV"}
	switch comma {
	case '\t':
		rd.format = "TSV"
	case ';':
		rd.format = "CSV (;)"
	}
	if err := rd.findHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

func checkOptions(opt *Options) error {
	if opt.ResolveCustomer == nil {
		return errors.New("posexport: Options.ResolveCustomer is nil")
	}
	enc, err := ParseEncoding(opt.Encoding)
	if err != nil {
		return err
	}
	opt.Encoding = enc
	for k := range opt.Columns {
		if _, ok := ourColumn(k); !ok {
			return fmt.Errorf("column mapping: unknown column %q", k)
		}
	}
	return nil
}

// findHeader reads rows until the header row and binds its columns.
func (r *Reader) findHeader() error {
	var first []string
	for n := 0; n < headerSearchRows; {
		rec, _, err := r.src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			n++
			continue
		}
		if err != nil {
			return fmt.Errorf("header row: %w", err)
		}
		if blank(rec) {
			continue
		}
		n++
		if first == nil {
			first = slices.Clone(rec)
		}
		lay, known, err := bindHeader(rec, &r.opt)
		if err != nil {
			return err
		}
		if known < 2 && (n < headerSearchRows) {
			if len(r.opt.Columns) == 0 || known == 0 {
				continue
			}
		}
		if err := mappedButAbsent(lay, &r.opt); err != nil {
			return err
		}
		if err := missingError(lay, &r.opt, r.encodingNote(rec)); err != nil {
			return err
		}
		r.lay = lay
		// A large line index lives outside the Go heap: freed by Close, or when the
		// Reader is dropped without it.
		r.seen.mem = &mapping{}
		runtime.AddCleanup(r, (*mapping).free, r.seen.mem)
		return nil
	}
	if first == nil {
		return errors.New("empty file: a header row is required")
	}
	lay, _, _ := bindHeader(first, &r.opt)
	if err := mappedButAbsent(lay, &r.opt); err != nil {
		return err
	}
	if err := missingError(lay, &r.opt, r.encodingNote(first)); err != nil {
		return err
	}
	return errors.New("header row not found")
}

// encodingNote is the hint a header error gets about the encoding it was read in.
func (r *Reader) encodingNote(header []string) string {
	if r.dec == nil {
		return ""
	}
	garbled := strings.Contains(strings.Join(header, ""), "\ufffd")
	switch {
	case r.dec.forced && garbled:
		return fmt.Sprintf("read as %s (--encoding) but the headers hold bytes that are not %s: drop --encoding to detect it", r.dec.encoding(), r.dec.encoding())
	case r.dec.forced:
		return fmt.Sprintf("read as %s (--encoding): if the headers above look garbled, the file is in another encoding", r.dec.encoding())
	case garbled:
		return fmt.Sprintf("read as %s (detected) but the headers hold undecodable bytes: give --encoding", r.dec.encoding())
	case r.dec.encoding() == EncGB18030:
		return "read as GB18030 (detected: not UTF-8): if the headers above look garbled, give --encoding"
	}
	return ""
}

// Rows is how many data rows were read so far, rejected ones included (blank and total
// rows not); 0 for a nil Reader (NewReader failed).
func (r *Reader) Rows() int {
	if r == nil {
		return 0
	}
	return r.rows
}

// Skipped is how many total rows (合计/总计) were skipped.
func (r *Reader) Skipped() int {
	if r == nil {
		return 0
	}
	return r.skipped
}

// Format describes the file: "CSV, GB18030", "TSV, UTF-16LE", "xlsx, sheet 销售明细".
func (r *Reader) Format() string {
	if r == nil {
		return ""
	}
	if r.dec != nil {
		return r.format + ", " + r.dec.encoding()
	}
	return r.format
}

// Progress is how far the read is: bytes of the file read and its size (0 when not
// known: a stream, or a workbook).
func (r *Reader) Progress() (done, total int64) {
	if r == nil || r.counter == nil {
		return 0, 0
	}
	return r.counter.n.Load(), r.size
}

// Mapping lists which of the file's headers feed which of our columns: "sale_id ←
// 销售单号", in our column order.
func (r *Reader) Mapping() []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, c := range columnTable {
		if b, ok := r.lay.cols[c.name]; ok {
			var hs []string
			for _, h := range b.headers {
				hs = append(hs, safeText(h))
			}
			out = append(out, c.name+" ← "+strings.Join(hs, " | "))
		}
	}
	return out
}

// UnknownKinds is how many rows had each kind value that is not known (they keep the
// catalog's kind), at most 20 values; other counts rows beyond those.
func (r *Reader) UnknownKinds() (values map[string]int, other int) {
	if r == nil {
		return nil, 0
	}
	return r.kinds, r.kindMore
}

// Close releases the file (Open); a no-op for NewReader.
func (r *Reader) Close() error {
	if r == nil {
		return nil
	}
	var err error
	r.seen.free()
	if r.src != nil {
		err = r.src.close()
		r.src = nil
	}
	if r.closer != nil {
		if cerr := r.closer.Close(); err == nil {
			err = cerr
		}
		r.closer = nil
	}
	return err
}

// Next returns the next good row. A bad row gives a *RowError (call Next again);
// io.EOF ends the file; any other error (ctx done, unreadable input, a Fatal
// resolver error) ends the read.
func (r *Reader) Next(ctx context.Context) (flows.Purchase, error) {
	if r.src == nil {
		return flows.Purchase{}, errors.New("posexport: read after Close")
	}
	for {
		if err := ctx.Err(); err != nil {
			return flows.Purchase{}, err
		}
		rec, line, err := r.src.next()
		if errors.Is(err, io.EOF) {
			return flows.Purchase{}, io.EOF
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			r.rows++
			rowErr.sheet = r.sheet
			return flows.Purchase{}, rowErr
		}
		if err != nil {
			return flows.Purchase{}, err
		}
		if blank(rec) {
			continue
		}
		if r.totalRow(rec) {
			r.skipped++
			continue
		}
		r.rows++
		p, err := r.row(rec)
		if err != nil {
			var fe fatalError
			if errors.As(err, &fe) {
				return flows.Purchase{}, fe.err
			}
			var re *RowError
			if !errors.As(err, &re) {
				re = &RowError{Err: err}
			}
			re.Line, re.sheet = line, r.sheet
			return flows.Purchase{}, re
		}
		return p, nil
	}
}

// Each reads the rest of the file: reject gets every bad row, row every good one.
// It returns nil at the end of the file, or the first other error from Next or row.
func (r *Reader) Each(ctx context.Context, row func(flows.Purchase) error, reject func(*RowError)) error {
	for {
		p, err := r.Next(ctx)
		var rowErr *RowError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &rowErr):
			reject(rowErr)
		case err != nil:
			return err
		default:
			if err := row(p); err != nil {
				return err
			}
		}
	}
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// totalRow reports a summary row: no sale id, and a cell saying 合计 or 总计.
func (r *Reader) totalRow(rec []string) bool {
	if v, _ := r.cell(rec, ColSale); v != "" && !isTotal(v) {
		return false
	}
	for _, c := range rec {
		if isTotal(c) {
			return true
		}
	}
	return false
}

func isTotal(s string) bool {
	if !strings.ContainsAny(s, "合总TtＴｔ") {
		return false
	}
	s = strings.TrimRight(normHeader(s), ":：")
	return s == "合计" || s == "总计" || s == "total"
}

// cell returns a column's value in a row: the first non-empty of its cells, and that
// cell's header (the first header when all are empty).
func (r *Reader) cell(rec []string, col string) (string, string) {
	b, ok := r.lay.cols[col]
	if !ok {
		return "", ""
	}
	for i, idx := range b.idx {
		if idx < len(rec) {
			if v := strings.TrimSpace(rec[idx]); v != "" {
				return v, b.headers[i]
			}
		}
	}
	return "", b.headers[0]
}

// short reports whether the row ends before a cell of a bound column: a cut line.
func (r *Reader) short(rec []string, col string) bool {
	b, ok := r.lay.cols[col]
	return ok && len(rec) < r.lay.ncells && b.idx[0] >= len(rec)
}

func fieldErr(col, header string, err error) *RowError {
	return &RowError{Field: col, Column: header, Err: err}
}

// text reads a column that becomes part of what is stored (ids, codes, names): cells
// with undecodable bytes, a number Excel rounded, or an ID number are refused.
func (r *Reader) text(rec []string, col string) (string, error) {
	v, h := r.cell(rec, col)
	switch {
	case v == "":
		return "", nil
	case strings.ContainsRune(v, '\ufffd'):
		return "", fieldErr(col, h, r.undecodable())
	case strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f }):
		return "", fieldErr(col, h, errors.New("holds control characters"))
	case looksLikeIDNumber(v):
		return "", fieldErr(col, h, errors.New("holds what looks like an ID number (not shown): check which header is which column (--columns)"))
	case (col == ColSale || col == ColDrug || col == ColReceipt || col == ColStore) && excelRounded(v):
		return "", fieldErr(col, h, fmt.Errorf("%s is a number Excel rounded: format the column as text in the export", show(v)))
	}
	return v, nil
}

func (r *Reader) undecodable() error {
	if r.dec == nil {
		return errors.New("holds characters that could not be read")
	}
	return fmt.Errorf("holds bytes that are not %s text (a damaged file, or give --encoding)", r.dec.encoding())
}

// row turns one record into a purchase. Its errors never quote the customer cell.
func (r *Reader) row(rec []string) (flows.Purchase, error) {
	for _, col := range []string{ColSale, ColCustomer, ColDate, ColDrug, ColQuantity} {
		if r.short(rec, col) {
			return flows.Purchase{}, fmt.Errorf("the row ends after %d of the header's %d columns (a cut line, or the file is truncated)", len(rec), r.lay.ncells)
		}
	}
	saleID, err := r.text(rec, ColSale)
	if err != nil {
		return flows.Purchase{}, err
	}
	_, saleHdr := r.cell(rec, ColSale)
	if saleID == "" {
		return flows.Purchase{}, fieldErr(ColSale, saleHdr, errEmpty)
	}
	if strings.Contains(saleID, ":") {
		// ':' separates the parts of a purchase id (STORE:SALE:CODE[:n]); allowing it here
		// would let two different lines get the same id and one be dropped as a duplicate.
		return flows.Purchase{}, fieldErr(ColSale, saleHdr, fmt.Errorf("%s contains ':', which purchase ids reserve", show(saleID)))
	}
	store, err := r.text(rec, ColStore)
	if err != nil {
		return flows.Purchase{}, err
	}
	_, storeHdr := r.cell(rec, ColStore)
	if store == "" {
		store = r.opt.Store
	}
	if store == "" {
		return flows.Purchase{}, fieldErr(ColStore, storeHdr, fmt.Errorf("empty, and no default store: %w", ErrNoStore))
	}
	if strings.Contains(store, ":") {
		return flows.Purchase{}, fieldErr(ColStore, storeHdr, fmt.Errorf("%s contains ':', which purchase ids reserve", show(store)))
	}
	c, custHdr := r.cell(rec, ColCustomer)
	switch {
	case c == "":
		return flows.Purchase{}, fieldErr(ColCustomer, custHdr, errEmpty)
	case strings.ContainsRune(c, '\ufffd'):
		return flows.Purchase{}, fieldErr(ColCustomer, custHdr, r.undecodable())
	case excelRounded(c):
		return flows.Purchase{}, fieldErr(ColCustomer, custHdr, errors.New("is a number Excel rounded (E+17; the last digits are lost): format the column as text in the export"))
	}
	key, err := r.opt.ResolveCustomer(c)
	if err != nil {
		var fe fatalError
		if errors.As(err, &fe) {
			return flows.Purchase{}, err
		}
		return flows.Purchase{}, fieldErr(ColCustomer, custHdr, err)
	}
	if !customerkey.Valid(string(key)) {
		return flows.Purchase{}, fieldErr(ColCustomer, custHdr, errors.New("gave no customer key"))
	}
	ds, dateHdr := r.cell(rec, ColDate)
	soldAt, err := parseDate(ds, r.sheet, r.date1904)
	if err != nil {
		if ds != "" {
			err = fmt.Errorf("%s %w", show(ds), err)
		}
		return flows.Purchase{}, fieldErr(ColDate, dateHdr, err)
	}
	if soldAt.After(r.opt.Now.Add(24 * time.Hour)) {
		return flows.Purchase{}, fieldErr(ColDate, dateHdr, fmt.Errorf("%s is in the future", soldAt.In(flows.Shanghai()).Format(time.DateOnly)))
	}
	code, err := r.text(rec, ColDrug)
	if err != nil {
		return flows.Purchase{}, err
	}
	_, codeHdr := r.cell(rec, ColDrug)
	if code == "" {
		return flows.Purchase{}, fieldErr(ColDrug, codeHdr, errEmpty)
	}
	if strings.Contains(code, ":") {
		return flows.Purchase{}, fieldErr(ColDrug, codeHdr, fmt.Errorf("%s contains ':', which purchase ids reserve", show(code)))
	}
	qs, qHdr := r.cell(rec, ColQuantity)
	q, err := parseQuantity(qs)
	if err != nil {
		return flows.Purchase{}, fieldErr(ColQuantity, qHdr, fmt.Errorf("%s %w", show(qs), err))
	}
	days := 0
	if ds, dHdr := r.cell(rec, ColDaysSupply); ds != "" {
		if days, err = parseDays(ds); err != nil {
			return flows.Purchase{}, fieldErr(ColDaysSupply, dHdr, fmt.Errorf("%s %w", show(ds), err))
		}
	}
	p := flows.Purchase{CustomerKey: key.String(), StoreID: store, SoldAt: soldAt, DrugCode: code, Quantity: q, DaysSupply: days}
	if as, aHdr := r.cell(rec, ColAmountFen); as != "" {
		fen, err := parseFen(as)
		if err != nil {
			return flows.Purchase{}, fieldErr(ColAmountFen, aHdr, fmt.Errorf("%s %w", show(as), err))
		}
		p.AmountFen = &fen
	} else if as, aHdr := r.cell(rec, ColAmount); as != "" {
		fen, err := parseYuan(as, r.sheet)
		if err != nil {
			return flows.Purchase{}, fieldErr(ColAmount, aHdr, fmt.Errorf("%s %w", show(as), err))
		}
		p.AmountFen = &fen
	}
	if p.ReceiptID, err = r.text(rec, ColReceipt); err != nil {
		return flows.Purchase{}, err
	}
	if ks, _ := r.cell(rec, ColKind); ks != "" {
		k, ok := parseKind(ks)
		if !ok {
			r.unknownKind(ks)
		}
		p.Kind = k
	}
	for _, f := range []struct {
		col string
		to  *string
	}{{ColIngredient, &p.Ingredient}, {ColATC, &p.ATC}, {ColName, &p.Name}} {
		if *f.to, err = r.text(rec, f.col); err != nil {
			return flows.Purchase{}, err
		}
	}
	p.ID = r.purchaseID(store, saleID, code)
	return p, nil
}

// purchaseID is STORE:SALE:CODE, with :n for the n-th line of that drug in that sale.
// The count is kept per 64-bit hash (lineCounter, not the strings): two keys sharing a
// hash only shift each other's suffix, ids stay unique, and the same file gives the
// same ids every time.
func (r *Reader) purchaseID(store, sale, code string) string {
	h := fnv.New64a()
	h.Write([]byte(store))
	h.Write([]byte{0})
	h.Write([]byte(sale))
	h.Write([]byte{0})
	h.Write([]byte(code))
	k := h.Sum64()
	id := store + ":" + sale + ":" + code
	if n := r.seen.add(k); n > 1 {
		id += ":" + strconv.FormatUint(uint64(n), 10)
	}
	return id
}

func (r *Reader) unknownKind(v string) {
	v = safeText(v)
	if r.kinds == nil {
		r.kinds = map[string]int{}
	}
	if _, ok := r.kinds[v]; ok || len(r.kinds) < 20 {
		r.kinds[v]++
		return
	}
	r.kindMore++
}

// csvSource splits a decoded text export.
type csvSource struct {
	cr       *csv.Reader
	lastLine int
}

// newCSVSource picks the separator the start of the text uses most (',', tab, ';').
func newCSVSource(r io.Reader) (*csvSource, rune, error) {
	br := bufio.NewReaderSize(r, 16<<10)
	head, err := br.Peek(8 << 10)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("read: %w", err)
	}
	counts := map[rune]int{',': bytes.Count(head, []byte(",")), '\t': bytes.Count(head, []byte("\t")), ';': bytes.Count(head, []byte(";"))}
	seps := []rune{',', '\t', ';'}
	sort.SliceStable(seps, func(i, j int) bool { return counts[seps[i]] > counts[seps[j]] })
	comma := seps[0]
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = comma != '\t'
	cr.ReuseRecord = true
	cr.LazyQuotes = comma == '\t' // tab-separated text often has bare quotes in names
	return &csvSource{cr: cr}, comma, nil
}

func (s *csvSource) next() ([]string, int, error) {
	rec, err := s.cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if pe.StartLine <= s.lastLine {
				return nil, 0, fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
			}
			s.lastLine = pe.StartLine
			return nil, pe.StartLine, &RowError{Line: pe.StartLine, Err: fmt.Errorf("not valid CSV: %w", pe.Err)}
		}
		return nil, 0, fmt.Errorf("read: %w", err)
	}
	line, _ := s.cr.FieldPos(0)
	s.lastLine = line
	return rec, line, nil
}

func (s *csvSource) close() error { return nil }

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
