package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/internal/secretin"
	"github.com/pharmachain/counter/kiosk/store"
)

// runForget serves a PIPL deletion request at this kiosk:
// kiosk forget --data DIR (--id-number-file F|- --secret-file F | --customer-key K) [--compact].
// The customer's purchases are deleted and the customer key is scrubbed from every visit
// (queued ones too). With --compact the store is rewritten without the freed pages, so
// the bytes are gone from the disk (run it with the app stopped). The ID number is only
// hashed, never printed or stored.
func runForget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("forget", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "kiosk data directory (holds kiosk.db)")
	idNumber := fs.String("id-number", "", "refused: an ID number on the command line shows in ps and the shell history (use --id-number-file or --id-number-prompt)")
	var idSrc secretin.Source
	fs.StringVar(&idSrc.File, "id-number-file", "", "the customer's ID number from this file's first line (- = standard input); hashed with the chain secret, never stored")
	fs.BoolVar(&idSrc.Prompt, "id-number-prompt", false, "ask for the customer's ID number at the terminal (not echoed)")
	secretFile := fs.String("secret-file", "", "chain secret file (with --id-number)")
	key := fs.String("customer-key", "", "the customer key (32 hex), instead of --id-number")
	compact := fs.Bool("compact", false, "rewrite kiosk.db without freed pages afterwards (app must be stopped)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	if *idNumber != "" {
		return fmt.Errorf("%w: --id-number: the ID number %v; give --id-number-file - (standard input), --id-number-file FILE or --id-number-prompt", errUsage, secretin.ErrOnCommandLine)
	}
	if idSrc.Given() == (*key != "") {
		return fmt.Errorf("%w: give exactly one of --id-number-file/--id-number-prompt (with --secret-file) or --customer-key", errUsage)
	}
	var ck customerkey.Key
	if idSrc.Given() {
		if *secretFile == "" {
			return fmt.Errorf("%w: an ID number needs --secret-file (the chain secret)", errUsage)
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

type stdinKey struct{}

// withStdin gives the verbs their standard input (an ID number read from it).
func withStdin(ctx context.Context, r io.Reader) context.Context {
	return context.WithValue(ctx, stdinKey{}, r)
}

// stdinOf is the verb's standard input (none: empty).
func stdinOf(ctx context.Context) io.Reader {
	if r, ok := ctx.Value(stdinKey{}).(io.Reader); ok {
		return r
	}
	return strings.NewReader("")
}
