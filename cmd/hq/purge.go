package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// PathPurge is the admin route that applies HQ's retention period.
const PathPurge = "/api/v1/admin/purge"

// DefaultHQRetention is how long HQ keeps purchases and visit details (three years, the
// same reasoning as the kiosk's: docs/storage.md).
const DefaultHQRetention = 3 * 365 * 24 * time.Hour

// minRetention is what the continuity analysis needs: 90-day lookback + 180-day carry-in.
const minRetention = 270 * 24 * time.Hour

// purgeHandler serves POST /api/v1/admin/purge?retention=26280h for admins.
func purgeHandler(st *boltstore.Store, audit func(ctx context.Context, actor, detail string)) hq.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			hq.WriteError(w, http.StatusForbidden, "purging needs an admin token")
			return
		}
		ret := DefaultHQRetention
		if s := r.URL.Query().Get("retention"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < minRetention {
				hq.WriteError(w, http.StatusBadRequest, "retention: want a duration of at least 6480h (270 days), e.g. 26280h")
				return
			}
			ret = d
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		stats, err := st.PurgeBefore(r.Context(), flows.DayOf(time.Now().Add(-ret)))
		if err != nil {
			hq.WriteError(w, http.StatusInternalServerError, "purge failed; see HQ log")
			return
		}
		audit(r.Context(), p.Label, fmt.Sprintf("cutoff=%s purchases=%d visits=%d", stats.Cutoff, stats.Purchases, stats.Visits))
		hq.WriteJSON(w, http.StatusOK, stats)
	}
}

// runPurge: `hq purge (--hq URL --token ADMIN | --data DIR) [--retention 26280h]` deletes
// purchases and visit details older than the retention period (rollups and points stay).
func runPurge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("purge", stderr)
	dir := fs.String("data", "", "data directory of a STOPPED HQ")
	base := fs.String("hq", "", "URL of a RUNNING HQ")
	token := fs.String("token", "", "admin token (with --hq)")
	retention := fs.Duration("retention", DefaultHQRetention, "keep purchases and visit details this long (at least 6480h)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*dir == "") == (*base == "") {
		return fmt.Errorf("%w: give exactly one of --hq URL (running HQ) or --data DIR (stopped HQ)", errUsage)
	}
	if *base != "" && *token == "" {
		return fmt.Errorf("%w: --hq needs --token (an admin token)", errUsage)
	}
	if *retention < minRetention {
		return fmt.Errorf("%w: --retention %v is shorter than the 270 days the continuity analysis needs", errUsage, *retention)
	}
	var out []byte
	if *dir != "" {
		if _, err := os.Stat(filepath.Join(*dir, DBFile)); err != nil {
			return fmt.Errorf("no HQ database in %s: %w", *dir, err)
		}
		st, err := openStore(*dir, boltstore.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		stats, err := st.PurgeBefore(ctx, flows.DayOf(time.Now().Add(-*retention)))
		if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		out, _ = json.Marshal(stats)
	} else {
		u := strings.TrimRight(*base, "/") + PathPurge + "?" + url.Values{"retention": {retention.String()}}.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		resp, err := (&http.Client{Timeout: 30 * time.Minute}).Do(req)
		if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		defer resp.Body.Close()
		out, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("purge: HQ answered %s: %s", resp.Status, strings.TrimSpace(string(out)))
		}
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(out)))
	return nil
}
