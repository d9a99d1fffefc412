package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
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
func purgeHandler(st *boltstore.Store, audit func(ctx context.Context, actor, detail string)) api.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "purging needs an admin token")
			return
		}
		ret := DefaultHQRetention
		if s := r.URL.Query().Get("retention"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < minRetention {
				api.WriteError(w, http.StatusBadRequest, "retention: want a duration of at least 6480h (270 days), e.g. 26280h")
				return
			}
			ret = d
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		stats, err := st.PurgeBefore(r.Context(), flows.DayOf(time.Now().Add(-ret)))
		if err != nil {
			api.WriteError(w, http.StatusInternalServerError, "purge failed; see HQ log")
			return
		}
		audit(r.Context(), p.Label, fmt.Sprintf("cutoff=%s purchases=%d visits=%d", stats.Cutoff, stats.Purchases, stats.Visits))
		api.WriteJSON(w, http.StatusOK, stats)
	}
}

// runPurge: `hq purge (--hq URL --token ADMIN | --data DIR) [--retention 26280h]` deletes
// purchases and visit details older than the retention period (rollups and points stay).
func runPurge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("purge", stderr)
	target := addAdminTarget(fs)
	retention := fs.Duration("retention", DefaultHQRetention, "keep purchases and visit details this long (at least 6480h)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := target.check(); err != nil {
		return err
	}
	if *retention < minRetention {
		return fmt.Errorf("%w: --retention %v is shorter than the 270 days the continuity analysis needs", errUsage, *retention)
	}
	var out []byte
	if !target.online() {
		st, err := target.openExisting()
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
		path := PathPurge + "?" + url.Values{"retention": {retention.String()}}.Encode()
		var err error
		if out, err = target.callJSON(ctx, http.MethodPost, path, 30*time.Minute); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(out)))
	return nil
}
