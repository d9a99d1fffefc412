package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
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
	"github.com/pharmachain/counter/kiosk/store"
)

// importBatch is how many rows go into one store transaction.
const importBatch = 5000

// errRowsRejected makes the exit status non-zero when some rows were skipped.
var errRowsRejected = errors.New("rows rejected")

// importColumns maps the accepted header names to the POS export's columns.
var importColumns = map[string]string{
	"sale_id":                   "sale_id",
	"id_number_or_customer_key": "customer",
	"id_number":                 "customer",
	"customer_key":              "customer",
	"date":                      "date",
	"drug_code":                 "drug_code",
	"quantity":                  "quantity",
	"days_supply":               "days_supply",
}

// runImportPurchases imports a POS export CSV into the local store:
// kiosk import-purchases --data DIR [--secret-file F] [--store ID] [--local-only] FILE.csv.
// Raw ID numbers are validated and turned into customer keys as they are read; they are
// never stored or printed. Bad rows are reported with their line number and skipped.
func runImportPurchases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import-purchases", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "kiosk data directory (holds kiosk.db)")
	secretFile := fs.String("secret-file", "", "chain secret file (default: the kiosk settings' secret_file)")
	storeID := fs.String("store", "", "store id of the sales (default: the kiosk settings' store_id)")
	localOnly := fs.Bool("local-only", false, "do not queue the new purchases for HQ")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kiosk import-purchases --data DIR [--secret-file F] [--store ID] [--local-only] FILE.csv")
		fmt.Fprintln(stderr, "CSV header: sale_id,id_number_or_customer_key,date,drug_code,quantity[,days_supply]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: import-purchases: %w", errUsage, err)
	}
	switch {
	case *dir == "":
		return fmt.Errorf("%w: import-purchases: --data DIR is required", errUsage)
	case fs.NArg() != 1:
		return fmt.Errorf("%w: import-purchases: want exactly one FILE.csv, got %d arguments", errUsage, fs.NArg())
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import-purchases: %w", err)
	}
	defer f.Close()

	s, err := store.Open(store.DefaultPath(*dir), store.Options{})
	if err != nil {
		return fmt.Errorf("import-purchases: %w", err)
	}
	defer s.Close()

	// Defaults from the kiosk settings saved by the app.
	var cfg struct {
		StoreID    string `json:"store_id"`
		SecretFile string `json:"secret_file"`
	}
	if err := s.LoadConfig(&cfg); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("import-purchases: %w", err)
	}
	if *storeID == "" {
		*storeID = cfg.StoreID
	}
	if *storeID == "" {
		if r, err := s.Roster(); err == nil {
			*storeID = r.StoreID
		}
	}
	if *storeID == "" {
		return fmt.Errorf("%w: import-purchases: --store ID is required (no store id in the kiosk settings)", errUsage)
	}
	if *secretFile == "" {
		*secretFile = cfg.SecretFile
	}
	cat, err := s.Catalog()
	if err != nil {
		return fmt.Errorf("import-purchases: %w", err)
	}

	imp := &importer{
		storeID: *storeID, cat: cat, now: time.Now(), stderr: stderr,
		secretFile: *secretFile, seen: map[string]int{},
	}
	put := s.QueuePurchases
	if *localOnly {
		put = s.PutPurchases
	}
	var added, dups int
	flush := func() error {
		if len(imp.batch) == 0 {
			return nil
		}
		a, d, err := put(ctx, imp.batch)
		if err != nil {
			return err
		}
		added, dups = added+a, dups+d
		imp.batch = imp.batch[:0]
		return nil
	}
	err = imp.read(ctx, f, func() error {
		if len(imp.batch) >= importBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	fmt.Fprintf(stdout, "%s: %d rows read, %d added, %d duplicates, %d rejected\n",
		filepath.Base(path), imp.rows, added, dups, imp.rejected)
	if err != nil {
		return fmt.Errorf("import-purchases: %w (rows before the failure were imported; re-running is safe: duplicates are skipped)", err)
	}
	if imp.rejected > 0 {
		return fmt.Errorf("import-purchases: %d %w (see the lines above), the rest imported", imp.rejected, errRowsRejected)
	}
	return nil
}

type importer struct {
	storeID    string
	cat        *flows.Catalog
	now        time.Time
	stderr     io.Writer
	secretFile string
	secret     []byte
	seen       map[string]int // sale id + drug code → occurrences in this file
	batch      []flows.Purchase
	rows       int
	rejected   int
}

func (im *importer) reject(line int, format string, a ...any) {
	im.rejected++
	fmt.Fprintf(im.stderr, "line %d: %s\n", line, fmt.Sprintf(format, a...))
}

// read parses the CSV and appends good rows to im.batch, calling flush after each row.
func (im *importer) read(ctx context.Context, r io.Reader, flush func() error) error {
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
			return fmt.Errorf("empty file: a header row is required")
		}
		return fmt.Errorf("header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		name, ok := importColumns[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			continue
		}
		if _, dup := col[name]; dup {
			return fmt.Errorf("header row: column %q given twice", h)
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
	if len(missing) > 0 {
		return fmt.Errorf("header row lacks %s (want sale_id,id_number_or_customer_key,date,drug_code,quantity[,days_supply])", strings.Join(missing, ", "))
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
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if pe.StartLine <= lastLine {
					return fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
				}
				lastLine = pe.StartLine
				im.rows++
				im.reject(pe.StartLine, "not valid CSV: %v", pe.Err)
				continue
			}
			return fmt.Errorf("read CSV: %w", err)
		}
		lastLine = line
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		im.rows++
		p, err := im.row(rec, col)
		if err != nil {
			if errors.Is(err, errSecret) {
				return err
			}
			im.reject(line, "%v", err)
			continue
		}
		im.batch = append(im.batch, p)
		if err := flush(); err != nil {
			return err
		}
	}
}

var errSecret = errors.New("chain secret")

func cell(rec []string, col map[string]int, name string) string {
	i, ok := col[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// row turns one CSV record into a purchase. Error texts never repeat the customer cell.
func (im *importer) row(rec []string, col map[string]int) (flows.Purchase, error) {
	saleID := cell(rec, col, "sale_id")
	if saleID == "" {
		return flows.Purchase{}, fmt.Errorf("sale_id is empty")
	}
	key, err := im.customerKey(cell(rec, col, "customer"))
	if err != nil {
		return flows.Purchase{}, err
	}
	soldAt, err := parseSaleDate(cell(rec, col, "date"))
	if err != nil {
		return flows.Purchase{}, err
	}
	if soldAt.After(im.now.Add(24 * time.Hour)) {
		return flows.Purchase{}, fmt.Errorf("date %s is in the future", soldAt.Format(time.DateOnly))
	}
	code := cell(rec, col, "drug_code")
	if code == "" {
		return flows.Purchase{}, fmt.Errorf("drug_code is empty")
	}
	qs := cell(rec, col, "quantity")
	q, err := strconv.ParseFloat(qs, 64)
	if err != nil || q <= 0 || math.IsInf(q, 0) || math.IsNaN(q) {
		return flows.Purchase{}, fmt.Errorf("quantity %q: want a number > 0", qs)
	}
	days := 0
	if ds := cell(rec, col, "days_supply"); ds != "" {
		days, err = strconv.Atoi(ds)
		if err != nil || days < 0 || days > 3650 {
			return flows.Purchase{}, fmt.Errorf("days_supply %q: want a whole number of days 0..3650 (or empty)", ds)
		}
	}
	// One id per sale line, stable across re-exports: store, sale, drug (and the
	// occurrence when a sale has the same drug on several lines).
	line := saleID + "\x00" + code
	im.seen[line]++
	id := im.storeID + ":" + saleID + ":" + code
	if n := im.seen[line]; n > 1 {
		id += ":" + strconv.Itoa(n)
	}
	p := flows.Purchase{ID: id, CustomerKey: key, StoreID: im.storeID, SoldAt: soldAt, DrugCode: code, Quantity: q, DaysSupply: days}
	if d, ok := im.cat.Lookup(code); ok {
		p.Name, p.Ingredient, p.ATC = d.Name, d.Ingredient, d.ATC
	}
	return p, nil
}

// customerKey accepts a 32-hex customer key as is, or validates a raw ID number and
// hashes it with the chain secret (loaded on first need).
func (im *importer) customerKey(c string) (string, error) {
	if c == "" {
		return "", fmt.Errorf("id_number_or_customer_key is empty")
	}
	if lc := strings.ToLower(c); store.ValidCustomerKey(lc) {
		return lc, nil
	}
	id, err := devices.NormaliseIDNumber(c, im.now.In(flows.Shanghai))
	if err != nil {
		return "", fmt.Errorf("not a customer key (32 hex characters) nor a valid ID number: %w", err)
	}
	if im.secret == nil {
		if im.secretFile == "" {
			return "", fmt.Errorf("%w: the file holds raw ID numbers: give the chain secret with --secret-file", errSecret)
		}
		sec, err := devices.LoadSecret(im.secretFile)
		if err != nil {
			return "", fmt.Errorf("%w: %w", errSecret, err)
		}
		im.secret = sec
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
