package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

func TestBackupWritesCheckedCopy(t *testing.T) {
	dir := reportStore(t)
	dst := filepath.Join(t.TempDir(), "kiosk-backup.db")
	var out, errb bytes.Buffer
	if err := runBackup(context.Background(), []string{"--data", dir, "--to", dst}, &out, &errb); err != nil {
		t.Fatalf("backup: %v %s", err, errb.String())
	}
	if !strings.Contains(out.String(), "checked") {
		t.Fatalf("output = %q", out.String())
	}
	if _, err := os.Stat(dst + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp file left behind: %v", err)
	}
	if err := store.Check(dst); err != nil {
		t.Fatal(err)
	}
	b, err := store.Open(dst, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := b.Visits(context.Background(), flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 12, 31))
	_ = b.Close()
	if err != nil || len(vs) != 5 {
		t.Fatalf("backup holds %d visits, %v", len(vs), err)
	}

	// Refuses to overwrite without --force; the old backup is untouched.
	before, _ := os.ReadFile(dst)
	if err := runBackup(context.Background(), []string{"--data", dir, "--to", dst}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite without --force: %v", err)
	}
	after, _ := os.ReadFile(dst)
	if !bytes.Equal(before, after) {
		t.Fatal("refused backup changed the file")
	}
	s, _ := store.Open(store.DefaultPath(dir), store.Options{})
	_ = s.SaveVisit(context.Background(), reportVisit("V9", "P03", time.Date(2026, 6, 3, 9, 0, 0, 0, flows.Shanghai()), 1, flows.OutcomeInProgress))
	_ = s.Close()
	if err := runBackup(context.Background(), []string{"--data", dir, "--to", dst, "--force"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	b, _ = store.Open(dst, store.Options{})
	defer b.Close()
	if _, err := b.Visit(context.Background(), "V9"); err != nil {
		t.Fatalf("--force backup is not the new state: %v", err)
	}
}

func TestBackupErrors(t *testing.T) {
	dir := reportStore(t)
	dst := filepath.Join(t.TempDir(), "b.db")
	for name, args := range map[string][]string{
		"no data":  {"--to", dst},
		"no to":    {"--data", dir},
		"extra":    {"--data", dir, "--to", dst, "x"},
		"self":     {"--data", dir, "--to", store.DefaultPath(dir), "--force"},
		"bad flag": {"--nope"},
	} {
		if err := runBackup(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, errUsage) {
			t.Errorf("%s: %v, want errUsage", name, err)
		}
	}
	if err := runBackup(context.Background(), []string{"--data", t.TempDir(), "--to", dst}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("missing store: %v", err)
	}
	// While the app holds the store, the verb says so instead of hanging.
	s, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	err = runBackup(context.Background(), []string{"--data", dir, "--to", dst}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, store.ErrInUse) || time.Since(start) > 10*time.Second {
		t.Fatalf("backup while in use: %v after %s", err, time.Since(start))
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("failed backup left a file")
	}
	// Unwritable destination directory.
	if err := runBackup(context.Background(), []string{"--data", t.TempDir(), "--to", "/proc/nope/b.db"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("backup to an impossible path succeeded")
	}
}
