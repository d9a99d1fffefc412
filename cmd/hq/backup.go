package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// PathBackup is the admin route that streams a consistent copy of hq.db.
const PathBackup = "/api/v1/admin/backup"

// runBackup: `hq backup --to FILE (--data DIR | --hq URL --token ADMIN_TOKEN) [--force]`.
// With --data it copies a stopped HQ's database; with --hq it asks a running HQ for a hot
// backup (one bbolt read transaction, so writes go on meanwhile). The copy is written to
// FILE.tmp, synced, checked by opening it, then renamed.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	target := addAdminTarget(fs) // with --hq: a hot backup through PathBackup
	to := fs.String("to", "", "backup file to write")
	force := fs.Bool("force", false, "overwrite an existing backup file")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long (with --hq)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return fmt.Errorf("%w: --to FILE is required", errUsage)
	}
	if err := target.check(); err != nil {
		return err
	}
	if _, err := os.Stat(*to); err == nil && !*force {
		return fmt.Errorf("%s exists: use --force to overwrite", *to)
	}
	tmp := *to + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	n, err := func() (int64, error) {
		defer f.Close()
		var n int64
		var err error
		if target.online() {
			n, err = backupOnline(ctx, target, *timeout, f)
		} else {
			n, err = backupOffline(target, f)
		}
		if err != nil {
			return n, err
		}
		return n, f.Sync()
	}()
	if err == nil {
		err = checkBackup(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, *to); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup written: %s (%d bytes)\n", *to, n)
	return nil
}

func backupOffline(target adminTarget, w io.Writer) (int64, error) {
	st, err := target.openExisting()
	if err != nil {
		return 0, fmt.Errorf("%w (is hq serve running? then use --hq URL --token ADMIN)", err)
	}
	defer st.Close()
	var n int64
	err = st.DB().View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

func backupOnline(ctx context.Context, target adminTarget, timeout time.Duration, w io.Writer) (int64, error) {
	resp, err := target.call(ctx, http.MethodGet, PathBackup, timeout)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("short backup: %d of %d bytes", n, resp.ContentLength)
	}
	return n, err
}

func checkBackup(path string) error { return boltstore.CheckFile(path) }

// backupHandler streams a consistent copy of the database to an admin (hot backup).
func backupHandler(st *boltstore.Store, audit func(ctx context.Context, actor, detail string)) api.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "backup needs an admin token")
			return
		}
		// A large database takes longer than the server's write timeout.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		err := st.DB().View(func(tx *bolt.Tx) error {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.FormatInt(tx.Size(), 10))
			w.Header().Set("Content-Disposition", `attachment; filename="hq-backup.db"`)
			_, err := tx.WriteTo(w)
			return err
		})
		detail := "ok"
		if err != nil {
			detail = "failed: " + err.Error()
		}
		audit(r.Context(), p.Label, detail)
	}
}
