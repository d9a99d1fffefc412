package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func bucketLen(t *testing.T, path, bucket string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	_ = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

func TestBackupOffline(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runHQ(t, "token", "create", "--data", dir, "--store", "S001"); code != 0 {
		t.Fatal(errs)
	}
	to := filepath.Join(t.TempDir(), "hq-backup.db")
	code, out, errs := runHQ(t, "backup", "--data", dir, "--to", to)
	if code != 0 || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %d %s %s", code, out, errs)
	}
	if n := bucketLen(t, to, "tokens"); n != 1 {
		t.Fatalf("backup holds %d tokens, want 1", n)
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
	if n := bucketLen(t, to, "roster"); n != 3 {
		t.Fatalf("hot backup holds %d pharmacists, want the 3 demo ones", n)
	}
	if code, b := get(t, base+"/api/v1/audit", DemoAdminToken); code != 200 || !strings.Contains(string(b), "backup") {
		t.Fatalf("backup not audited: %d %s", code, b)
	}
	h.stop(t)
}
