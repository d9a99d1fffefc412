package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/admin"
)

// runTokenCreate: `hq token create (--store ID | --admin) [--label L] [--expires 90d]
// (--hq URL --token ADMIN | --data DIR | --db URL)` prints a new bearer token on stdout
// and its id on stderr. HQ keeps only its SHA-256; the token cannot be shown again. With
// --hq it works while HQ runs (adding a store no longer means stopping HQ); --data
// creates the data directory if needed (before the first start).
func runTokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token create", stderr)
	target := addAdminTarget(fs)
	store := fs.String("store", "", "store id the token speaks for")
	isAdmin := fs.Bool("admin", false, "chain-wide admin token (reports of every store, dashboard)")
	label := fs.String("label", "", "a note kept with the token (e.g. the kiosk's name)")
	expires := fs.String("expires", "", "lifetime: whole days (90d) or a duration (36h); default never")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *isAdmin == (*store != "") {
		return fmt.Errorf("%w: give exactly one of --store ID or --admin", errUsage)
	}
	if err := target.check(); err != nil {
		return err
	}
	now := time.Now()
	p := hq.Principal{StoreID: *store, Admin: *isAdmin, Label: *label, CreatedAt: now}
	if *expires != "" {
		d, err := parseLifetime(*expires)
		if err != nil {
			return err
		}
		p.ExpiresAt = now.Add(d)
	}
	var tok string
	var info hq.TokenInfo
	if target.online() {
		body, _ := json.Marshal(admin.TokenCreateRequest{StoreID: p.StoreID, Admin: p.Admin, Label: p.Label, ExpiresAt: p.ExpiresAt})
		out, err := target.callJSONBody(ctx, http.MethodPost, admin.PathTokens, body, 30*time.Second)
		if err != nil {
			return fmt.Errorf("token create: %w", err)
		}
		var resp admin.TokenCreateResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.Token == "" {
			return fmt.Errorf("token create: HQ's answer %q is not a token", out)
		}
		tok, info = resp.Token, resp.TokenInfo
	} else {
		st, err := target.open(ctx, false)
		if err != nil {
			return err
		}
		defer st.Close()
		if tok, info, err = admin.NewToken(ctx, st, p, "admin:cli"); err != nil {
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "hq: token %s created (revoke with `hq token revoke %s`)\n", info.ID, info.ID)
	return nil
}
