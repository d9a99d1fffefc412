package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pharmachain/counter/kiosk/store"
)

// runBackup writes a hot backup of the local store: kiosk backup --data DIR --to FILE
// [--force]. The copy goes to FILE.tmp, is fsynced and checked, then renamed to FILE.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "kiosk data directory (holds kiosk.db)")
	to := fs.String("to", "", "backup file to write")
	force := fs.Bool("force", false, "overwrite FILE if it exists")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kiosk backup --data DIR --to FILE [--force]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: backup: unexpected argument %q", errUsage, fs.Arg(0))
	case *dir == "":
		return fmt.Errorf("%w: backup: --data DIR is required", errUsage)
	case *to == "":
		return fmt.Errorf("%w: backup: --to FILE is required", errUsage)
	}
	src := store.DefaultPath(*dir)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: no store at %s: %w", src, err)
	}
	if abs, err := filepath.Abs(*to); err == nil {
		if absSrc, err := filepath.Abs(src); err == nil && abs == absSrc {
			return fmt.Errorf("%w: backup: --to is the store file itself", errUsage)
		}
	}
	if _, err := os.Stat(*to); err == nil && !*force {
		return fmt.Errorf("backup: %s exists (use --force to overwrite)", *to)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}

	s, err := store.Open(src, store.Options{})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer s.Close()

	tmp := *to + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	n, err := s.Backup(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = store.Check(tmp)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, *to); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if d, err := os.Open(filepath.Dir(*to)); err == nil { // make the rename durable
		_ = d.Sync()
		_ = d.Close()
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes, checked)\n", src, *to, n)
	return nil
}
