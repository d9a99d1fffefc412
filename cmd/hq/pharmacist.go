package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/internal/secretin"
)

// runPharmacist: `hq pharmacist add (--data DIR | --db URL) --store ID --id P01 --name NAME [--pin-file FILE|- | --pin-prompt]
// [--manager] [--badge B]` adds or replaces a roster entry. The PIN is stored as a
// bcrypt hash only; kiosks pull the roster (GET /api/v1/roster) for offline sign-in.
func runPharmacist(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: hq pharmacist add (--data DIR | --db URL) --store ID --id P01 --name NAME [--pin-file FILE|- | --pin-prompt] [--manager] [--badge B]", errUsage)
	}
	fs := newFlags("pharmacist add", stderr)
	target := addStoreFlags(fs, "HQ data directory")
	store := fs.String("store", "", "store id")
	id := fs.String("id", "", "pharmacist id, e.g. P01")
	name := fs.String("name", "", "display name")
	pin := fs.String("pin", "", "refused: a PIN on the command line shows in ps and the shell history (use --pin-file or --pin-prompt)")
	var pinSrc secretin.Source
	fs.StringVar(&pinSrc.File, "pin-file", "", "read the sign-in PIN (4–12 digits; stored as a bcrypt hash) from this file's first line; - = standard input")
	fs.BoolVar(&pinSrc.Prompt, "pin-prompt", false, "ask for the sign-in PIN at the terminal (not echoed)")
	manager := fs.Bool("manager", false, "store manager (reviews reports)")
	badge := fs.String("badge", "", "staff badge id (scanned as STAFF-<badge>)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *pin != "" {
		return fmt.Errorf("%w: --pin: the PIN %v; give --pin-file - (standard input), --pin-file FILE or --pin-prompt", errUsage, secretin.ErrOnCommandLine)
	}
	secret := ""
	if pinSrc.Given() {
		var err error
		if secret, err = secretin.Read("PIN", pinSrc, stdinOf(ctx), stderr); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	p, err := newPharmacist(*store, *id, *name, secret, *badge, *manager)
	if err != nil {
		return err
	}
	st, err := target.open(ctx, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.PutPharmacist(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pharmacist %s (%s) of store %s saved\n", p.ID, p.Name, p.StoreID)
	return st.Close()
}

func newPharmacist(store, id, name, pin, badge string, manager bool) (flows.Pharmacist, error) {
	store, id, name = strings.TrimSpace(store), strings.TrimSpace(id), strings.TrimSpace(name)
	switch {
	case store == "":
		return flows.Pharmacist{}, fmt.Errorf("%w: --store is required", errUsage)
	case id == "":
		return flows.Pharmacist{}, fmt.Errorf("%w: --id is required", errUsage)
	case name == "":
		return flows.Pharmacist{}, fmt.Errorf("%w: --name is required", errUsage)
	}
	p := flows.Pharmacist{ID: id, StoreID: store, Name: name, Manager: manager, Badge: strings.TrimSpace(badge)}
	if pin != "" {
		if len(pin) < 4 || len(pin) > 12 || strings.Trim(pin, "0123456789") != "" {
			return flows.Pharmacist{}, fmt.Errorf("%w: the PIN must be 4–12 digits", errUsage)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pin), bcrypt.DefaultCost)
		if err != nil {
			return flows.Pharmacist{}, fmt.Errorf("hash PIN: %w", err)
		}
		p.PINHash = string(h)
	}
	return p, nil
}
