package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// runToken: `hq token create (--data DIR | --db URL) (--store ID | --admin) [--label TEXT]` prints a
// new bearer token on stdout. HQ keeps only its SHA-256; the token cannot be shown again.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%w: hq token create (--data DIR | --db URL) (--store ID | --admin)", errUsage)
	}
	fs := newFlags("token create", stderr)
	target := addStoreFlags(fs, "HQ data directory")
	store := fs.String("store", "", "store id the token speaks for")
	admin := fs.Bool("admin", false, "chain-wide admin token (reports of every store, dashboard)")
	label := fs.String("label", "", "a note kept with the token (e.g. the kiosk's name)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *admin == (*store != "") {
		return fmt.Errorf("%w: give exactly one of --store ID or --admin", errUsage)
	}
	st, err := target.open(ctx, false)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, err := hq.CreateToken(ctx, st, hq.Principal{StoreID: *store, Admin: *admin, Label: *label, CreatedAt: time.Now()})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return st.Close()
}
