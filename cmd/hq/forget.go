package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/internal/secretin"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// runForget: `hq forget (--customer-key K | (--id-number-file F|- | --id-number-prompt) --secret-file F)
// (--hq URL --token ADMIN | --data DIR)` deletes one customer's chain-wide data at HQ:
// through a running HQ's admin route, or directly in a stopped HQ's data directory.
// The ID number is only hashed, never sent or printed.
func runForget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forget", stderr)
	key := fs.String("customer-key", "", "the customer key (32 hex), as `kiosk forget` printed it")
	idNumber := fs.String("id-number", "", "refused: an ID number on the command line shows in ps and the shell history (use --id-number-file or --id-number-prompt)")
	var idSrc secretin.Source
	fs.StringVar(&idSrc.File, "id-number-file", "", "the customer's ID number instead of --customer-key, from this file's first line (- = standard input); hashed with --secret-file")
	fs.BoolVar(&idSrc.Prompt, "id-number-prompt", false, "ask for the customer's ID number at the terminal (not echoed)")
	secretFile := fs.String("secret-file", "", "chain secret file (with --id-number)")
	target := addAdminTarget(fs)
	compact := fs.Bool("compact", false, "with --data: rewrite hq.db without freed pages, so the deleted bytes leave the disk")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *idNumber != "" {
		return fmt.Errorf("%w: --id-number: the ID number %v; give --id-number-file - (standard input), --id-number-file FILE or --id-number-prompt", errUsage, secretin.ErrOnCommandLine)
	}
	if (*key == "") == !idSrc.Given() {
		return fmt.Errorf("%w: give exactly one of --customer-key or --id-number-file/--id-number-prompt", errUsage)
	}
	if err := target.check(); err != nil {
		return err
	}
	if *compact && *target.dir == "" {
		return fmt.Errorf("%w: --compact rewrites the embedded hq.db (--data); PostgreSQL reclaims the space with VACUUM", errUsage)
	}
	var ck customerkey.Key
	if idSrc.Given() {
		if *secretFile == "" {
			return fmt.Errorf("%w: an ID number needs --secret-file", errUsage)
		}
		secret, err := customerkey.LoadSecret(*secretFile)
		if err != nil {
			return err
		}
		number, err := secretin.Read("ID number", idSrc, stdinOf(ctx), stderr)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if ck, err = customerkey.FromIDNumber(secret, number, time.Now().In(flows.Shanghai())); err != nil {
			return fmt.Errorf("ID number: %w", err)
		}
	} else {
		var err error
		if ck, err = customerkey.Parse(*key); err != nil {
			return fmt.Errorf("%w: --customer-key: %v (as `kiosk forget` printed it)", errUsage, err)
		}
	}
	var out []byte
	if !target.online() {
		st, err := target.openExisting(ctx)
		if err != nil {
			return err
		}
		stats, err := st.ForgetCustomer(ctx, ck.String(), time.Now())
		st.Close()
		if err != nil {
			return fmt.Errorf("forget: %w", err)
		}
		if *compact {
			if err := boltstore.Compact(filepath.Join(*target.dir, DBFile)); err != nil {
				return fmt.Errorf("forget: compact: %w", err)
			}
		}
		out, _ = json.Marshal(stats)
	} else {
		var err error
		if out, err = target.callJSON(ctx, http.MethodDelete, "/api/v1/customers/"+ck.String(), 2*time.Minute); err != nil {
			return fmt.Errorf("forget: %w", err)
		}
	}
	fmt.Fprintf(stdout, "{\"customer_key\":%q,\"deleted\":%s}\n", ck, strings.TrimSpace(string(out)))
	switch {
	case *target.db != "":
		fmt.Fprintln(stderr, "hq: deleted at HQ; PostgreSQL overwrites the freed space after VACUUM (autovacuum); expire old dumps and WAL archives")
	case !*compact:
		fmt.Fprintln(stderr, "hq: deleted at HQ; to drop the freed pages from the disk, stop HQ and run `hq forget --data DIR --customer-key K --compact`; expire old backups")
	}
	return nil
}
