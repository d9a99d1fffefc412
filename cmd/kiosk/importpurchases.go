package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/flows/posexport"
	"github.com/pharmachain/counter/kiosk/store"
)

// importBatch is how many rows go into one store transaction.
const importBatch = 5000

// errRowsRejected makes the exit status non-zero when some rows were skipped.
var errRowsRejected = errors.New("rows rejected")

// runImportPurchases imports a POS export (CSV/TSV in UTF-8, GBK or UTF-16, or .xlsx)
// into the local store:
// kiosk import-purchases --data DIR [--secret-file F] [--store ID] [--local-only]
// [--encoding E] [--columns FILE] [--sheet NAME] [--dry-run] FILE.
// Raw ID numbers are validated and turned into customer keys as they are read; they are
// never stored or printed. Bad rows are counted by column and the first ones listed with
// their line (or sheet row) number; the rest is imported.
func runImportPurchases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newImportFlags(stderr)
	if err := parseFlags(fs.FlagSet, args); err != nil {
		return err
	}
	switch {
	case *fs.dir == "":
		return fmt.Errorf("%w: import-purchases: --data DIR is required", errUsage)
	case fs.NArg() != 1:
		return fmt.Errorf("%w: import-purchases: want exactly one FILE, got %d arguments", errUsage, fs.NArg())
	}
	path := fs.Arg(0)
	opt, err := fs.readerOptions()
	if err != nil {
		return err
	}

	s, err := store.Open(store.DefaultPath(*fs.dir), store.Options{})
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
	storeID, secretFile := *fs.storeID, *fs.secretFile
	if storeID == "" {
		storeID = cfg.StoreID
	}
	if storeID == "" {
		if r, err := s.Roster(); err == nil {
			storeID = r.StoreID
		}
	}
	if storeID == "" {
		return fmt.Errorf("%w: import-purchases: --store ID is required (no store id in the kiosk settings)", errUsage)
	}
	if secretFile == "" {
		secretFile = cfg.SecretFile
	}
	cat, err := s.Catalog()
	if err != nil {
		return fmt.Errorf("import-purchases: %w", err)
	}

	now := time.Now()
	var secret []byte
	opt.Store, opt.Now = storeID, now
	opt.ResolveCustomer = func(cell string) (customerkey.Key, error) {
		key, err := customerkey.FromInput(secret, cell, now.In(flows.Shanghai()))
		if !errors.Is(err, customerkey.ErrNeedSecret) {
			return key, err
		}
		// The first raw ID number: load the secret now; without it nothing more can be read.
		if secretFile == "" {
			return "", posexport.Fatal(fmt.Errorf("%w: the file holds raw ID numbers: give the chain secret with --secret-file", errSecret))
		}
		if secret, err = customerkey.LoadSecret(secretFile); err != nil {
			return "", posexport.Fatal(fmt.Errorf("%w: %w", errSecret, err))
		}
		return customerkey.FromInput(secret, cell, now.In(flows.Shanghai()))
	}
	rep := &posexport.Report{File: filepath.Base(path), DryRun: *fs.dryRun}
	rd, err := posexport.Open(path, opt)
	if err != nil {
		return fmt.Errorf("import-purchases: %s: %w", filepath.Base(path), err)
	}
	defer rd.Close()

	put := s.QueuePurchases
	if *fs.localOnly {
		put = s.PutPurchases
	}
	var batch []flows.Purchase
	flush := func() error {
		if len(batch) == 0 || rep.DryRun {
			batch = batch[:0]
			return nil
		}
		a, d, err := put(ctx, batch)
		if err != nil {
			return err
		}
		rep.Imported, rep.Duplicates = rep.Imported+a, rep.Duplicates+d
		batch = batch[:0]
		return nil
	}
	progress := posexport.NewProgress(stderr, filepath.Base(path), rd)
	err = rd.Each(ctx, func(p flows.Purchase) error {
		progress.Update()
		rep.Valid++
		if !flows.ResolvePurchase(cat, &p) {
			rep.Unknown(p.DrugCode)
		}
		if batch = append(batch, p); len(batch) >= importBatch {
			return flush()
		}
		return nil
	}, func(bad *posexport.RowError) {
		progress.Update()
		rep.Reject(bad)
	})
	if err == nil {
		err = flush()
	}
	progress.Done()
	if err != nil {
		rep.Stopped = err.Error()
	}
	rep.FromReader(rd)
	if werr := rep.WriteText(stdout); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("import-purchases: %w (rows before the failure were imported; re-running is safe: duplicates are skipped)", err)
	}
	if rep.Rejected > 0 {
		return fmt.Errorf("import-purchases: %d %w (see the report above), the rest imported", rep.Rejected, errRowsRejected)
	}
	return nil
}

// errSecret marks the errors that stop an import for want of the chain secret.
var errSecret = errors.New("chain secret")

// importFlags are import-purchases' flags.
type importFlags struct {
	*flag.FlagSet
	dir, secretFile, storeID *string
	encoding, columns, sheet *string
	localOnly, dryRun        *bool
}

func newImportFlags(stderr io.Writer) importFlags {
	fs := flag.NewFlagSet("import-purchases", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := importFlags{FlagSet: fs}
	f.dir = fs.String("data", "", "kiosk data directory (holds kiosk.db)")
	f.secretFile = fs.String("secret-file", "", "chain secret file (default: the kiosk settings' secret_file)")
	f.storeID = fs.String("store", "", "store id of the sales (default: the kiosk settings' store_id)")
	f.localOnly = fs.Bool("local-only", false, "do not queue the new purchases for HQ")
	f.encoding = fs.String("encoding", "auto", "text encoding: auto (UTF-8, else GB18030; a byte-order mark decides), utf-8, gbk/gb18030, utf-16le, utf-16be")
	f.columns = fs.String("columns", "", `JSON file naming the file's header for our columns: {"sale_id": "单据号", "drug_code": "医保目录码"}`)
	f.sheet = fs.String("sheet", "", ".xlsx: the sheet to read (default: the first)")
	f.dryRun = fs.Bool("dry-run", false, "read and check the whole file and print the report; store nothing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kiosk import-purchases --data DIR [--secret-file F] [--store ID] [--local-only]")
		fmt.Fprintln(stderr, "         [--encoding E] [--columns FILE] [--sheet NAME] [--dry-run] FILE.csv|FILE.txt|FILE.xlsx")
		fmt.Fprintln(stderr, "columns: 销售单号/sale_id, 身份证号|医保卡号/id_number_or_customer_key, 销售日期/date, 商品编码|国家医保编码/drug_code,")
		fmt.Fprintln(stderr, "  数量/quantity, optional 用药天数/days_supply, 金额/amount (yuan), 金额(分)/amount_fen, 小票号/receipt_id, 类别/kind")
		fmt.Fprintln(stderr, "  (every alias: docs/hq.md \"POS import\")")
		fs.PrintDefaults()
	}
	return f
}

// readerOptions turns --encoding, --columns and --sheet into reader options.
func (f importFlags) readerOptions() (posexport.Options, error) {
	var opt posexport.Options
	enc, err := posexport.ParseEncoding(*f.encoding)
	if err != nil {
		return opt, fmt.Errorf("%w: import-purchases: --encoding: %v", errUsage, err)
	}
	opt.Encoding, opt.Sheet = enc, *f.sheet
	if *f.columns != "" {
		cf, err := os.Open(*f.columns)
		if err != nil {
			return opt, fmt.Errorf("import-purchases: --columns: %w", err)
		}
		defer cf.Close()
		if opt.Columns, err = posexport.ParseColumns(cf); err != nil {
			return opt, fmt.Errorf("import-purchases: --columns %s: %w", filepath.Base(*f.columns), err)
		}
	}
	return opt, nil
}
