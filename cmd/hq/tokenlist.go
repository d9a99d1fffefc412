package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/admin"
)

// runTokenList: `hq token list [--json] (--hq URL --token ADMIN | --data DIR | --db URL)`
// prints one token a line: id, store=ID or admin, label, created, last used (and the
// address), then expires=… and revoked=… when set. Never a token: HQ does not have them.
func runTokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token list", stderr)
	target := addAdminTarget(fs)
	asJSON := fs.Bool("json", false, "print the list as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := target.check(); err != nil {
		return err
	}
	var ts []hq.TokenInfo
	if target.online() {
		out, err := target.callJSON(ctx, http.MethodGet, admin.PathTokens, 30*time.Second)
		if err != nil {
			return fmt.Errorf("token list: %w", err)
		}
		var resp admin.TokensResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return fmt.Errorf("token list: HQ's answer: %w", err)
		}
		ts = resp.Tokens
	} else {
		st, err := target.openExisting(ctx)
		if err != nil {
			return err
		}
		ts, err = st.Tokens(ctx)
		st.Close()
		if err != nil {
			return fmt.Errorf("token list: %w", err)
		}
	}
	if *asJSON {
		b, _ := json.MarshalIndent(admin.TokensResponse{Tokens: ts}, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	for _, t := range ts {
		fmt.Fprintln(stdout, tokenLine(t))
	}
	return nil
}

// tokenLine is one token of the list, tab-separated.
func tokenLine(t hq.TokenInfo) string {
	who := "admin"
	if !t.Admin {
		who = "store=" + t.StoreID
	}
	stamp := func(at time.Time) string { return at.In(flows.Shanghai()).Format("2006-01-02T15:04:05-07:00") }
	used := "never-used"
	if !t.LastUsed.IsZero() {
		used = "used=" + stamp(t.LastUsed)
		if t.LastAddr != "" {
			used += " from " + t.LastAddr
		}
	}
	line := fmt.Sprintf("%s\t%s\t%s\tcreated=%s\t%s", t.ID, who, strconv.Quote(t.Label), stamp(t.CreatedAt), used)
	if !t.ExpiresAt.IsZero() {
		line += "\texpires=" + stamp(t.ExpiresAt)
	}
	if !t.RevokedAt.IsZero() {
		line += "\trevoked=" + stamp(t.RevokedAt)
	}
	return line
}
