package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/admin"
)

// runTokenRevoke: `hq token revoke ID (--hq URL --token ADMIN | --data DIR | --db URL)`:
// the token (its id from `hq token list`) answers 401 from the next request on, and the
// dashboard sessions opened with it end. Audited.
func runTokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token revoke", stderr)
	target := addAdminTarget(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: hq token revoke ID (the id from `hq token list`)", errUsage)
	}
	id := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil { // flags after the id, too
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if len(id) != hq.TokenIDLen {
		return fmt.Errorf("%w: %q is not a token id (%d hex characters, from `hq token list`)", errUsage, id, hq.TokenIDLen)
	}
	if err := target.check(); err != nil {
		return err
	}
	var info hq.TokenInfo
	if target.online() {
		out, err := target.callJSON(ctx, http.MethodDelete, admin.PathTokens+"/"+id, 30*time.Second)
		if err != nil {
			return fmt.Errorf("token revoke: %w", err)
		}
		if err := json.Unmarshal(out, &info); err != nil {
			return fmt.Errorf("token revoke: HQ's answer: %w", err)
		}
	} else {
		st, err := target.openExisting(ctx)
		if err != nil {
			return err
		}
		info, err = admin.Revoke(ctx, st, id, "admin:cli", time.Now())
		st.Close()
		if errors.Is(err, hq.ErrNotFound) {
			return fmt.Errorf("token revoke: no token %s", id)
		}
		if err != nil {
			return fmt.Errorf("token revoke: %w", err)
		}
	}
	fmt.Fprintln(stdout, tokenLine(info))
	return nil
}
