package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/pharmachain/counter/sync/hq/admin"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/pgstore"
)

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
	if *target.db != "" {
		// PostgreSQL is backed up with its own tools; say how instead of copying.
		fmt.Fprintln(stdout, pgstore.BackupAdvice)
		fmt.Fprintf(stdout, "  e.g. pg_dump --format=custom --file hq-$(date +%%F).dump '%s'\n", redactDB(*target.db))
		return fmt.Errorf("backup: hq backup copies the embedded store only (--data / --hq); back up the PostgreSQL database with pg_dump or point-in-time recovery as above")
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
			n, err = backupOffline(ctx, target, f)
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

func backupOffline(ctx context.Context, target adminTarget, w io.Writer) (int64, error) {
	st, err := target.openExisting(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w (is hq serve running? then use --hq URL --token ADMIN)", err)
	}
	defer st.Close()
	return st.Backup(ctx, w, nil)
}

func backupOnline(ctx context.Context, target adminTarget, timeout time.Duration, w io.Writer) (int64, error) {
	resp, err := target.call(ctx, http.MethodGet, admin.PathBackup, timeout)
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

// checkBackup opens the copy read-only and checks it is an HQ database.
func checkBackup(path string) error { return boltstore.CheckFile(path) }
