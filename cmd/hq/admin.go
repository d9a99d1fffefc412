package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// adminTarget is where an administrative verb (backup, purge, forget) acts: the data
// directory of a stopped HQ (--data), the PostgreSQL database of HQ (--db, also while HQ
// runs), or a running HQ through its admin routes (--hq with an admin --token).
type adminTarget struct {
	storeFlags
	base, token *string
}

func addAdminTarget(fs *flag.FlagSet) adminTarget {
	return adminTarget{
		storeFlags: addStoreFlags(fs, "data directory of a STOPPED HQ (holds hq.db)"),
		base:       fs.String("hq", "", "URL of a RUNNING HQ"),
		token:      fs.String("token", "", "admin token (with --hq)"),
	}
}

// check reports a command-line mistake: exactly one of --data, --db and --hq, and --hq
// needs --token.
func (a adminTarget) check() error {
	if err := a.resolve(*a.base != ""); err != nil {
		return err
	}
	if a.given() == (*a.base != "") {
		return fmt.Errorf("%w: give exactly one of --hq URL (running HQ), --data DIR (stopped HQ) or --db URL (HQ's PostgreSQL database)", errUsage)
	}
	if *a.base != "" && *a.token == "" {
		return fmt.Errorf("%w: --hq needs --token (an admin token)", errUsage)
	}
	return nil
}

func (a adminTarget) online() bool { return *a.base != "" }

// openExisting opens the stopped HQ's store (or HQ's database); unlike a serve it never
// creates a data directory.
func (a adminTarget) openExisting(ctx context.Context) (hq.Store, error) {
	return a.open(ctx, true)
}

// call sends an admin request to the running HQ (path relative to its base URL). A
// non-200 answer becomes an error quoting HQ's status and message; on 200 the caller
// reads and closes the body.
func (a adminTarget) call(ctx context.Context, method, path string, timeout time.Duration) (*http.Response, error) {
	return a.callBody(ctx, method, path, nil, timeout)
}

// callBody is call with a JSON request body (nil: none).
func (a adminTarget) callBody(ctx context.Context, method, path string, body []byte, timeout time.Duration) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*a.base, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+*a.token)
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("HQ answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

// callJSONBody is callJSON with a JSON request body.
func (a adminTarget) callJSONBody(ctx context.Context, method, path string, body []byte, timeout time.Duration) ([]byte, error) {
	resp, err := a.callBody(ctx, method, path, body, timeout)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// callJSON is call for the admin routes that answer a small JSON document.
func (a adminTarget) callJSON(ctx context.Context, method, path string, timeout time.Duration) ([]byte, error) {
	resp, err := a.call(ctx, method, path, timeout)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<16))
}
