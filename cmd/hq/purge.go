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
	"github.com/pharmachain/counter/sync/hq/admin"
)

// runPurge: `hq purge (--hq URL --token ADMIN | --data DIR) [--retention 26280h]` deletes
// purchases and visit details older than the retention period (rollups and points stay).
func runPurge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("purge", stderr)
	target := addAdminTarget(fs)
	retention := fs.Duration("retention", flows.DefaultRetention,
		fmt.Sprintf("keep purchases and visit details this long (at least %.0fh)", flows.MinRetention.Hours()))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := target.check(); err != nil {
		return err
	}
	if *retention < flows.MinRetention {
		return fmt.Errorf("%w: --retention %v is shorter than the %d days the continuity analysis needs", errUsage, *retention, flows.HistoryDays)
	}
	var out []byte
	if !target.online() {
		st, err := target.openExisting(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		stats, err := st.PurgeBefore(ctx, admin.Cutoff(time.Now(), *retention))
		if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		out, _ = json.Marshal(stats)
	} else {
		path := admin.PathPurge + "?" + url.Values{"retention": {retention.String()}}.Encode()
		var err error
		if out, err = target.callJSON(ctx, http.MethodPost, path, 30*time.Minute); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(out)))
	return nil
}
