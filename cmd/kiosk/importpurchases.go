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

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/posexport"
	"github.com/pharmachain/counter/kiosk/store"
)

// importBatch is how many rows go into one store transaction.
const importBatch = 5000

// errRowsRejected makes the exit status non-zero when some rows were skipped.
var errRowsRejected = errors.New("rows rejected")

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
		fmt.Fprintln(stderr, "CSV header: sale_id,id_number_or_customer_key,date,drug_code,quantity[,days_supply] (see flows/posexport)")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
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

	now := time.Now()
	var secret []byte
	resolve := func(cell string) (string, error) {
		key, err := devices.CustomerKeyFromInput(secret, cell, now.In(flows.Shanghai))
		if !errors.Is(err, devices.ErrNeedSecret) {
			return key, err
		}
		// The first raw ID number: load the secret now; without it nothing more can be read.
		if *secretFile == "" {
			return "", posexport.Fatal(fmt.Errorf("%w: the file holds raw ID numbers: give the chain secret with --secret-file", errSecret))
		}
		if secret, err = devices.LoadSecret(*secretFile); err != nil {
			return "", posexport.Fatal(fmt.Errorf("%w: %w", errSecret, err))
		}
		return devices.CustomerKeyFromInput(secret, cell, now.In(flows.Shanghai))
	}
	put := s.QueuePurchases
	if *localOnly {
		put = s.PutPurchases
	}
	var batch []flows.Purchase
	var added, dups, rejected int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		a, d, err := put(ctx, batch)
		if err != nil {
			return err
		}
		added, dups = added+a, dups+d
		batch = batch[:0]
		return nil
	}
	rd, err := posexport.NewReader(f, posexport.Options{Store: *storeID, Now: now, ResolveCustomer: resolve})
	if err == nil {
		err = rd.Each(ctx, func(p flows.Purchase) error {
			// The kiosk's catalog names the drug (the file's drug columns are not read).
			if d, ok := cat.Lookup(p.DrugCode); ok {
				p.Name, p.Ingredient, p.ATC = d.Name, d.Ingredient, d.ATC
			}
			if batch = append(batch, p); len(batch) >= importBatch {
				return flush()
			}
			return nil
		}, func(bad *posexport.RowError) {
			rejected++
			fmt.Fprintln(stderr, bad)
		})
	}
	if err == nil {
		err = flush()
	}
	fmt.Fprintf(stdout, "%s: %d rows read, %d added, %d duplicates, %d rejected\n",
		filepath.Base(path), rd.Rows(), added, dups, rejected)
	if err != nil {
		return fmt.Errorf("import-purchases: %w (rows before the failure were imported; re-running is safe: duplicates are skipped)", err)
	}
	if rejected > 0 {
		return fmt.Errorf("import-purchases: %d %w (see the lines above), the rest imported", rejected, errRowsRejected)
	}
	return nil
}

// errSecret marks the errors that stop an import for want of the chain secret.
var errSecret = errors.New("chain secret")
