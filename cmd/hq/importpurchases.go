package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// importBatch is how many rows go into one HQ transaction.
const importBatch = 5000

// errRowsRejected makes the exit status non-zero when some rows were skipped.
var errRowsRejected = errors.New("rows rejected")

// hqImportColumns maps accepted header names to fields. The format is the kiosk's
// (kiosk import-purchases) plus an optional store_id column and catalog overrides.
var hqImportColumns = map[string]string{
	"sale_id": "sale_id", "store_id": "store_id",
	"id_number_or_customer_key": "customer", "id_number": "customer", "customer_key": "customer",
	"date": "date", "sold_at": "date",
	"drug_code": "drug_code", "quantity": "quantity", "days_supply": "days_supply",
	"ingredient": "ingredient", "atc": "atc", "name": "name",
}

// runImportPurchases: `hq import-purchases --data DIR --secret-file F [--store ID]
// [--catalog FILE] FILE.csv`. Raw ID numbers are validated and hashed into customer keys
// as each row is read; they are never stored or printed. Bad rows are reported by line
// number (without their content) and skipped; re-running is safe (duplicates skipped).
func runImportPurchases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import-purchases", stderr)
	dir := fs.String("data", "", "HQ data directory")
	secretFile := fs.String("secret-file", "", "chain secret file (needed when the file holds raw ID numbers)")
	storeID := fs.String("store", "", "store id for rows without a store_id column")
	catalogFile := fs.String("catalog", "", "drug catalog JSON (default: the embedded catalog)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: hq import-purchases --data DIR --secret-file F [--store ID] FILE.csv", errUsage)
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import-purchases: %w", err)
	}
	defer f.Close()
	cat, err := loadCatalog(*catalogFile)
	if err != nil {
		return err
	}
	var secret []byte
	if *secretFile != "" {
		if secret, err = devices.LoadSecret(*secretFile); err != nil {
			return fmt.Errorf("import-purchases: %w", err)
		}
	}
	st, err := openStore(*dir, boltstore.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	im := &hqImporter{store: *storeID, secret: secret, cat: cat, now: time.Now(), stderr: stderr, seen: map[string]int{}}
	var added, dups, unknown int
	flush := func() error {
		if len(im.batch) == 0 {
			return nil
		}
		for i := range im.batch {
			if !hq.ResolvePurchase(cat, &im.batch[i]) {
				unknown++
			}
		}
		r, err := st.IngestPurchases(ctx, im.batch)
		if err != nil {
			return err
		}
		added, dups = added+r.Accepted, dups+r.Duplicates
		im.batch = im.batch[:0]
		return nil
	}
	err = im.read(ctx, f, func() error {
		if len(im.batch) >= importBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	fmt.Fprintf(stdout, "%s: %d rows read, %d added, %d duplicates, %d rejected, %d of unknown drugs\n",
		filepath.Base(path), im.rows, added, dups, im.rejected, unknown)
	if err != nil {
		return fmt.Errorf("import-purchases: %w (rows before the failure were imported; re-running is safe)", err)
	}
	if cerr := st.Close(); cerr != nil {
		return cerr
	}
	if im.rejected > 0 {
		return fmt.Errorf("import-purchases: %d %w (see the lines above), the rest imported", im.rejected, errRowsRejected)
	}
	return nil
}

type hqImporter struct {
	store    string
	secret   []byte
	cat      *flows.Catalog
	now      time.Time
	stderr   io.Writer
	seen     map[string]int
	batch    []flows.Purchase
	rows     int
	rejected int
}

func (im *hqImporter) reject(line int, format string, a ...any) {
	im.rejected++
	fmt.Fprintf(im.stderr, "line %d: %s\n", line, fmt.Sprintf(format, a...))
}

func (im *hqImporter) read(ctx context.Context, r io.Reader, each func() error) error {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3) // UTF-8 BOM
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("empty file: a header row is required")
	}
	if err != nil {
		return fmt.Errorf("header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		if name, ok := hqImportColumns[strings.ToLower(strings.TrimSpace(h))]; ok {
			if _, dup := col[name]; dup {
				return fmt.Errorf("header row: column %q given twice", h)
			}
			col[name] = i
		}
	}
	var missing []string
	for _, c := range []string{"sale_id", "customer", "date", "drug_code", "quantity"} {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if _, ok := col["store_id"]; !ok && im.store == "" {
		missing = append(missing, "store_id (or --store)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("header row lacks %s (want sale_id,store_id,id_number,date,drug_code,quantity[,days_supply,ingredient,atc,name])", strings.Join(missing, ", "))
	}
	lastLine := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.StartLine > lastLine {
				lastLine = pe.StartLine
				im.rows++
				im.reject(pe.StartLine, "not valid CSV: %v", pe.Err)
				continue
			}
			return fmt.Errorf("read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		im.rows++
		p, err := im.row(rec, col)
		if err != nil {
			im.reject(line, "%v", err)
			continue
		}
		im.batch = append(im.batch, p)
		if err := each(); err != nil {
			return err
		}
	}
}

func cellOf(rec []string, col map[string]int, name string) string {
	i, ok := col[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// row turns one CSV record into a purchase. Errors never quote the customer cell.
func (im *hqImporter) row(rec []string, col map[string]int) (flows.Purchase, error) {
	saleID := cellOf(rec, col, "sale_id")
	if saleID == "" {
		return flows.Purchase{}, fmt.Errorf("sale_id is empty")
	}
	store := cellOf(rec, col, "store_id")
	if store == "" {
		store = im.store
	}
	if store == "" {
		return flows.Purchase{}, fmt.Errorf("store_id is empty and no --store given")
	}
	key, err := im.customerKey(cellOf(rec, col, "customer"))
	if err != nil {
		return flows.Purchase{}, err
	}
	soldAt, err := parseSaleDate(cellOf(rec, col, "date"))
	if err != nil {
		return flows.Purchase{}, err
	}
	if soldAt.After(im.now.Add(24 * time.Hour)) {
		return flows.Purchase{}, fmt.Errorf("date %s is in the future", soldAt.Format(time.DateOnly))
	}
	code := cellOf(rec, col, "drug_code")
	if code == "" {
		return flows.Purchase{}, fmt.Errorf("drug_code is empty")
	}
	q, err := strconv.ParseFloat(cellOf(rec, col, "quantity"), 64)
	if err != nil || !(q > 0) || math.IsInf(q, 0) {
		return flows.Purchase{}, fmt.Errorf("quantity %q: want a positive number", cellOf(rec, col, "quantity"))
	}
	days := 0
	if s := cellOf(rec, col, "days_supply"); s != "" {
		if days, err = strconv.Atoi(s); err != nil || days < 0 || days > 3650 {
			return flows.Purchase{}, fmt.Errorf("days_supply %q: want a whole number of days", s)
		}
	}
	// Same id scheme as the kiosk's import, so a sale imported at both ends is one purchase.
	k := store + "\x00" + saleID + "\x00" + code
	im.seen[k]++
	id := store + ":" + saleID + ":" + code
	if n := im.seen[k]; n > 1 {
		id += ":" + strconv.Itoa(n)
	}
	return flows.Purchase{ID: id, CustomerKey: key, StoreID: store, SoldAt: soldAt, DrugCode: code, Quantity: q, DaysSupply: days,
		Ingredient: cellOf(rec, col, "ingredient"), ATC: cellOf(rec, col, "atc"), Name: cellOf(rec, col, "name")}, nil
}

// customerKey accepts a customer key as is, or hashes a valid ID number at once.
func (im *hqImporter) customerKey(c string) (string, error) {
	if len(c) == 32 && strings.Trim(c, "0123456789abcdef") == "" {
		return c, nil
	}
	if c == "" {
		return "", fmt.Errorf("id_number is empty")
	}
	id, err := devices.NormaliseIDNumber(c, im.now.In(flows.Shanghai))
	if err != nil {
		return "", errors.New("id_number is neither a customer key (32 hex characters) nor a valid ID number")
	}
	if im.secret == nil {
		return "", errors.New("the file holds raw ID numbers: give the chain secret with --secret-file")
	}
	return devices.CustomerKey(im.secret, id), nil
}

// parseSaleDate accepts YYYY-MM-DD (a local date, Asia/Shanghai) or RFC 3339.
func parseSaleDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("date is empty")
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
