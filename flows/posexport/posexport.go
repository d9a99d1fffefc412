// Package posexport reads a pharmacy POS export (CSV) into purchases: the one reader
// behind `kiosk import-purchases` and `hq import-purchases`.
//
// Format: a header row naming the columns (any order, case and surrounding spaces
// ignored, unknown columns ignored), then one sale line per row. A UTF-8 BOM (Excel)
// and CRLF line ends are accepted; blank lines are skipped.
//
//	sale_id                    required
//	store_id                   only with Options.StoreColumn; else every row is Options.Store
//	id_number_or_customer_key  required (also: id_number, customer_key)
//	date                       required (also: sold_at): YYYY-MM-DD (Asia/Shanghai) or RFC 3339
//	drug_code                  required
//	quantity                   required, a number > 0
//	days_supply                optional, whole days 0..3650 (empty = unknown)
//	ingredient, atc, name      optional, only with Options.DrugColumns
//
// Purchase id = STORE:SALE:CODE, plus :n for the n-th line (n ≥ 2) of the same drug in
// the same sale in this file, so re-importing a file (at the kiosk or HQ) yields the same
// ids; store, sale and drug code may therefore not contain ":". The customer cell is
// handed to Options.ResolveCustomer and never appears in an
// error this package makes.
//
// The package is pure: it knows nothing of ID-number validation or hashing, storage or
// flags; the caller supplies those.
package posexport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
)

// MaxDaysSupply is the largest days_supply a row may give (ten years).
const MaxDaysSupply = 3650

// ErrNoStore is wrapped by the errors for a missing store id: no store_id column or
// cell and no Options.Store.
var ErrNoStore = errors.New("no default store id")

// columns maps accepted header names to fields.
var columns = map[string]string{
	"sale_id": "sale_id", "store_id": "store_id",
	"id_number_or_customer_key": "customer", "id_number": "customer", "customer_key": "customer",
	"date": "date", "sold_at": "date",
	"drug_code": "drug_code", "quantity": "quantity", "days_supply": "days_supply",
	"ingredient": "ingredient", "atc": "atc", "name": "name",
}

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
	// ResolveCustomer turns a non-empty customer cell into a customer key. Its error
	// rejects the row (and is the row's error text, so it must not quote the cell),
	// unless it is marked with Fatal, which stops the read.
	ResolveCustomer func(cell string) (customerKey string, err error)
}

// RowError is a rejected row: the read goes on after it.
type RowError struct {
	Line int   // 1-based line of the file where the row starts
	Err  error // what is wrong; never quotes the customer cell
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the reason.
func (e *RowError) Unwrap() error { return e.Err }

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

// Reader yields the rows of one POS export. It is not safe for concurrent use.
type Reader struct {
	opt      Options
	cr       *csv.Reader
	col      map[string]int
	seen     map[string]int // store, sale and drug → lines so far
	lastLine int
	rows     int
}

// NewReader reads and checks the header row. Errors name the missing or repeated
// columns.
func NewReader(r io.Reader, opt Options) (*Reader, error) {
	if opt.ResolveCustomer == nil {
		return nil, errors.New("posexport: Options.ResolveCustomer is nil")
	}
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3) // UTF-8 BOM (Excel exports)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file: a header row is required")
		}
		return nil, fmt.Errorf("header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		name, ok := columns[strings.ToLower(strings.TrimSpace(h))]
		if !ok || (name == "store_id" && !opt.StoreColumn) ||
			(!opt.DrugColumns && (name == "ingredient" || name == "atc" || name == "name")) {
			continue
		}
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("header row: column %q given twice", h)
		}
		col[name] = i
	}
	var missing []string
	for _, c := range []string{"sale_id", "customer", "date", "drug_code", "quantity"} {
		if _, ok := col[c]; !ok {
			if c == "customer" {
				c = "id_number_or_customer_key"
			}
			missing = append(missing, c)
		}
	}
	var noStore error
	if _, ok := col["store_id"]; !ok && opt.Store == "" {
		missing = append(missing, "store_id")
		noStore = ErrNoStore
	}
	if len(missing) > 0 {
		want := "sale_id,id_number_or_customer_key,date,drug_code,quantity[,days_supply]"
		switch {
		case opt.StoreColumn && opt.DrugColumns:
			want = "sale_id,store_id,id_number_or_customer_key,date,drug_code,quantity[,days_supply,ingredient,atc,name]"
		case opt.StoreColumn:
			want = "sale_id,store_id,id_number_or_customer_key,date,drug_code,quantity[,days_supply]"
		case opt.DrugColumns:
			want = "sale_id,id_number_or_customer_key,date,drug_code,quantity[,days_supply,ingredient,atc,name]"
		}
		err := fmt.Errorf("header row lacks %s (want %s)", strings.Join(missing, ", "), want)
		if noStore != nil {
			err = fmt.Errorf("%w: %w", err, noStore)
		}
		return nil, err
	}
	return &Reader{opt: opt, cr: cr, col: col, seen: map[string]int{}}, nil
}

// Rows is how many data rows were read so far, rejected ones included (blank lines
// not); 0 for a nil Reader (NewReader failed).
func (r *Reader) Rows() int {
	if r == nil {
		return 0
	}
	return r.rows
}

// Next returns the next good row. A bad row gives a *RowError (call Next again);
// io.EOF ends the file; any other error (ctx done, unreadable input, a Fatal
// resolver error) ends the read.
func (r *Reader) Next(ctx context.Context) (flows.Purchase, error) {
	for {
		if err := ctx.Err(); err != nil {
			return flows.Purchase{}, err
		}
		rec, err := r.cr.Read()
		if errors.Is(err, io.EOF) {
			return flows.Purchase{}, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if pe.StartLine <= r.lastLine {
					return flows.Purchase{}, fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
				}
				r.lastLine = pe.StartLine
				r.rows++
				return flows.Purchase{}, &RowError{Line: pe.StartLine, Err: fmt.Errorf("not valid CSV: %w", pe.Err)}
			}
			return flows.Purchase{}, fmt.Errorf("read CSV: %w", err)
		}
		line, _ := r.cr.FieldPos(0)
		r.lastLine = line
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		r.rows++
		p, err := r.row(rec)
		if err != nil {
			var fe fatalError
			if errors.As(err, &fe) {
				return flows.Purchase{}, fe.err
			}
			return flows.Purchase{}, &RowError{Line: line, Err: err}
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

func (r *Reader) cell(rec []string, name string) string {
	i, ok := r.col[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// row turns one record into a purchase. Its errors never quote the customer cell.
func (r *Reader) row(rec []string) (flows.Purchase, error) {
	saleID := r.cell(rec, "sale_id")
	if saleID == "" {
		return flows.Purchase{}, errors.New("sale_id is empty")
	}
	if strings.Contains(saleID, ":") {
		// ':' separates the parts of a purchase id (STORE:SALE:CODE[:n]); allowing it here
		// would let two different lines get the same id and one be dropped as a duplicate.
		return flows.Purchase{}, fmt.Errorf("sale_id %q contains ':', which purchase ids reserve", saleID)
	}
	store := r.cell(rec, "store_id")
	if store == "" {
		store = r.opt.Store
	}
	if store == "" {
		return flows.Purchase{}, fmt.Errorf("store_id is empty: %w", ErrNoStore)
	}
	if strings.Contains(store, ":") {
		return flows.Purchase{}, fmt.Errorf("store_id %q contains ':', which purchase ids reserve", store)
	}
	c := r.cell(rec, "customer")
	if c == "" {
		return flows.Purchase{}, errors.New("id_number_or_customer_key is empty")
	}
	key, err := r.opt.ResolveCustomer(c)
	if err != nil {
		return flows.Purchase{}, err
	}
	if key == "" {
		return flows.Purchase{}, errors.New("id_number_or_customer_key gave no customer key")
	}
	soldAt, err := ParseSaleDate(r.cell(rec, "date"))
	if err != nil {
		return flows.Purchase{}, err
	}
	if soldAt.After(r.opt.Now.Add(24 * time.Hour)) {
		return flows.Purchase{}, fmt.Errorf("date %s is in the future", soldAt.Format(time.DateOnly))
	}
	code := r.cell(rec, "drug_code")
	if code == "" {
		return flows.Purchase{}, errors.New("drug_code is empty")
	}
	if strings.Contains(code, ":") {
		return flows.Purchase{}, fmt.Errorf("drug_code %q contains ':', which purchase ids reserve", code)
	}
	qs := r.cell(rec, "quantity")
	q, err := strconv.ParseFloat(qs, 64)
	if err != nil || !(q > 0) || math.IsInf(q, 0) {
		return flows.Purchase{}, fmt.Errorf("quantity %q: want a number > 0", qs)
	}
	days := 0
	if ds := r.cell(rec, "days_supply"); ds != "" {
		days, err = strconv.Atoi(ds)
		if err != nil || days < 0 || days > MaxDaysSupply {
			return flows.Purchase{}, fmt.Errorf("days_supply %q: want a whole number of days 0..%d (or empty)", ds, MaxDaysSupply)
		}
	}
	k := store + "\x00" + saleID + "\x00" + code
	r.seen[k]++
	id := store + ":" + saleID + ":" + code
	if n := r.seen[k]; n > 1 {
		id += ":" + strconv.Itoa(n)
	}
	return flows.Purchase{ID: id, CustomerKey: key, StoreID: store, SoldAt: soldAt, DrugCode: code, Quantity: q, DaysSupply: days,
		Ingredient: r.cell(rec, "ingredient"), ATC: r.cell(rec, "atc"), Name: r.cell(rec, "name")}, nil
}

// ParseSaleDate accepts YYYY-MM-DD (a local date, Asia/Shanghai) or RFC 3339.
func ParseSaleDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("date is empty")
	}
	if len(s) == len(time.DateOnly) {
		d, err := flows.ParseDay(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD or RFC 3339", s)
		}
		return d.Time(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}
