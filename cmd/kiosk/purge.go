package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

// runPurge applies the retention period (default three years; docs/storage.md):
// kiosk purge --data DIR [--retention 26280h]. Unsynced visits and outbox entries are
// kept whatever their age.
func runPurge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "kiosk data directory (holds kiosk.db)")
	retention := fs.Duration("retention", flows.DefaultRetention, "keep purchases and synced visits this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	if *retention < flows.MinRetention {
		return fmt.Errorf("%w: --retention %v is shorter than the %d-day lookback plus %d-day carry-in the counter needs (%d days minimum)",
			errUsage, *retention, flows.DefaultLookbackDays, flows.DefaultHorizonDays, flows.HistoryDays)
	}
	s, err := openExistingStore(*dir, store.Options{Retention: *retention})
	if err != nil {
		return err
	}
	defer s.Close()
	stats, err := s.Purge(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	b, _ := json.Marshal(stats)
	fmt.Fprintln(stdout, string(b))
	return nil
}

// openExistingStore opens DIR/kiosk.db for a maintenance verb; unlike the app it never
// creates an empty store where none is (a mistyped --data is an error, not a new file).
func openExistingStore(dir string, opts store.Options) (*store.Store, error) {
	path := store.DefaultPath(dir)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no kiosk store in %s: %w", dir, err)
	}
	return store.Open(path, opts)
}
