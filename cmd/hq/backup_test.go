package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// openCopy opens a backup file read-only through the store.
func openCopy(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(path, boltstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestBackupOffline(t *testing.T) {
	dir := t.TempDir()
	tcode, tok, terrs := runHQ(t, "token", "create", "--data", dir, "--store", "S001")
	if tcode != 0 {
		t.Fatal(terrs)
	}
	to := filepath.Join(t.TempDir(), "hq-backup.db")
	code, out, errs := runHQ(t, "backup", "--data", dir, "--to", to)
	if code != 0 || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %d %s %s", code, out, errs)
	}
	if p, err := openCopy(t, to).LookupToken(context.Background(), hq.HashToken(strings.TrimSpace(tok))); err != nil || p.StoreID != "S001" {
		t.Fatalf("the backup lacks the token: %+v %v", p, err)
	}
	if code, _, errs := runHQ(t, "backup", "--data", dir, "--to", to); code != 1 || !strings.Contains(errs, "--force") {
		t.Fatalf("overwrite without --force: %d %s", code, errs)
	}
	if code, _, _ := runHQ(t, "backup", "--data", dir, "--to", to, "--force"); code != 0 {
		t.Fatal("overwrite with --force failed")
	}
	if code, _, errs := runHQ(t, "backup", "--data", t.TempDir(), "--to", to+"2"); code != 1 || !strings.Contains(errs, "no HQ database") {
		t.Fatalf("empty dir: %d %s", code, errs)
	}
	if _, err := os.Stat(to + "2.tmp"); !os.IsNotExist(err) {
		t.Fatal("a failed backup left its .tmp file")
	}
	for _, args := range [][]string{{"backup", "--to", to}, {"backup", "--data", dir, "--hq", "http://x", "--to", to}, {"backup", "--hq", "http://x", "--to", to}, {"backup", "--data", dir}} {
		if code, _, _ := runHQ(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestBackupOnlineWhileServing(t *testing.T) {
	h := startDemoServe(t, t.TempDir(), time.Second)
	base := h.base
	to := filepath.Join(t.TempDir(), "hot.db")
	if code, _, errs := runHQ(t, "backup", "--hq", base, "--token", DemoStoreToken, "--to", to); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("backup with a store token: %d %s", code, errs)
	}
	code, o, errs := runHQ(t, "backup", "--hq", base, "--token", DemoAdminToken, "--to", to)
	if code != 0 {
		t.Fatalf("hot backup: %d %s %s", code, o, errs)
	}
	if r, err := openCopy(t, to).Roster(context.Background(), DemoStoreID); err != nil || len(r) != 3 {
		t.Fatalf("hot backup holds %d pharmacists (%v), want the 3 demo ones", len(r), err)
	}
	if code, b := get(t, base+"/api/v1/audit", DemoAdminToken); code != 200 || !strings.Contains(string(b), "backup") {
		t.Fatalf("backup not audited: %d %s", code, b)
	}
	h.stop(t)
}
