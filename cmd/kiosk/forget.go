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
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/kiosk/store"
)

// runForget serves a PIPL deletion request at this kiosk:
// kiosk forget --data DIR (--id-number N --secret-file F | --customer-key K) [--compact].
// The customer's purchases are deleted and the customer key is scrubbed from every visit
// (queued ones too). With --compact the store is rewritten without the freed pages, so
// the bytes are gone from the disk (run it with the app stopped). The ID number is only
// hashed, never printed or stored.
func runForget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("forget", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "kiosk data directory (holds kiosk.db)")
	idNumber := fs.String("id-number", "", "the customer's ID number (hashed with the chain secret, never stored)")
	secretFile := fs.String("secret-file", "", "chain secret file (with --id-number)")
	key := fs.String("customer-key", "", "the customer key (32 hex), instead of --id-number")
	compact := fs.Bool("compact", false, "rewrite kiosk.db without freed pages afterwards (app must be stopped)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	if (*idNumber == "") == (*key == "") {
		return fmt.Errorf("%w: give exactly one of --id-number (with --secret-file) or --customer-key", errUsage)
	}
	var ck customerkey.Key
	if *idNumber != "" {
		if *secretFile == "" {
			return fmt.Errorf("%w: --id-number needs --secret-file (the chain secret)", errUsage)
		}
		secret, err := customerkey.LoadSecret(*secretFile)
		if err != nil {
			return err
		}
		if ck, err = customerkey.FromIDNumber(secret, *idNumber, time.Now().In(flows.Shanghai())); err != nil {
			return fmt.Errorf("--id-number: %w", err)
		}
	} else {
		var err error
		if ck, err = customerkey.Parse(*key); err != nil {
			return fmt.Errorf("%w: --customer-key: want 32 lower-case hex characters", errUsage)
		}
	}
	s, err := openExistingStore(*dir, store.Options{})
	if err != nil {
		return err
	}
	path := s.Path()
	stats, err := s.DeleteCustomer(ctx, ck.String())
	if err == nil && *compact {
		tmp := path + ".compact"
		_ = os.Remove(tmp)
		if err = s.CompactTo(ctx, tmp); err == nil {
			if err = s.Close(); err == nil {
				err = os.Rename(tmp, path)
			}
		}
		if err != nil {
			_ = os.Remove(tmp)
		}
	}
	_ = s.Close()
	if err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	out := struct {
		CustomerKey customerkey.Key `json:"customer_key"`
		store.DeleteStats
		Compacted bool `json:"compacted"`
	}{ck, stats, *compact}
	b, _ := json.Marshal(out)
	fmt.Fprintln(stdout, string(b))
	fmt.Fprintln(stderr, "kiosk: deleted here; ask HQ to delete the same customer key there (hq forget), and expire old backups")
	return nil
}
