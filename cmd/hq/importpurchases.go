package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/flows/posexport"
	"github.com/pharmachain/counter/sync/hq"
)

// importBatch is how many rows go into one HQ transaction.
const importBatch = 5000

// errRowsRejected makes the exit status non-zero when some rows were skipped.
var errRowsRejected = errors.New("rows rejected")

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
	data, err := domainData(*catalogFile, "")
	if err != nil {
		return err
	}
	cat := data.Catalog
	var secret []byte
	if *secretFile != "" {
		if secret, err = customerkey.LoadSecret(*secretFile); err != nil {
			return fmt.Errorf("import-purchases: %w", err)
		}
	}
	st, err := openStore(ctx, *dir)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	resolve := func(cell string) (string, error) {
		key, err := customerkey.FromInput(secret, cell, now.In(flows.Shanghai))
		if errors.Is(err, customerkey.ErrNeedSecret) {
			// Rejects the row only: rows with customer keys are still imported.
			return "", errors.New("the file holds raw ID numbers: give the chain secret with --secret-file")
		}
		return key.String(), err
	}
	var batch []flows.Purchase
	var added, dups, rejected, unknown int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		for i := range batch {
			if !hq.ResolvePurchase(cat, &batch[i]) {
				unknown++
			}
		}
		r, err := st.IngestPurchases(ctx, batch)
		if err != nil {
			return err
		}
		added, dups = added+r.Accepted, dups+r.Duplicates
		batch = batch[:0]
		return nil
	}
	rd, err := posexport.NewReader(f, posexport.Options{
		Store: *storeID, StoreColumn: true, DrugColumns: true, Now: now, ResolveCustomer: resolve,
	})
	if errors.Is(err, posexport.ErrNoStore) {
		err = fmt.Errorf("%w (or give --store ID)", err)
	}
	if err == nil {
		err = rd.Each(ctx, func(p flows.Purchase) error {
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
	fmt.Fprintf(stdout, "%s: %d rows read, %d added, %d duplicates, %d rejected, %d of unknown drugs\n",
		filepath.Base(path), rd.Rows(), added, dups, rejected, unknown)
	if err != nil {
		return fmt.Errorf("import-purchases: %w (rows before the failure were imported; re-running is safe)", err)
	}
	if cerr := st.Close(); cerr != nil {
		return cerr
	}
	if rejected > 0 {
		return fmt.Errorf("import-purchases: %d %w (see the lines above), the rest imported", rejected, errRowsRejected)
	}
	return nil
}
