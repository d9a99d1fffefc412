package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

func TestTokenCreate(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runHQ(t, "token", "create", "--data", dir, "--store", "S001")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	storeTok := strings.TrimSpace(out)
	code, out, _ = runHQ(t, "token", "create", "--data", dir, "--admin")
	adminTok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(storeTok, "hqs_") || !strings.HasPrefix(adminTok, "hqa_") || storeTok == adminTok {
		t.Fatalf("tokens %q %q", storeTok, adminTok)
	}
	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.LookupToken(context.Background(), hq.HashToken(storeTok))
	if err != nil || p.StoreID != "S001" || p.Admin {
		t.Fatalf("store token: %+v %v", p, err)
	}
	if p, err := st.LookupToken(context.Background(), hq.HashToken(adminTok)); err != nil || !p.Admin {
		t.Fatalf("admin token: %+v %v", p, err)
	}
	if _, err := st.LookupToken(context.Background(), storeTok); err == nil {
		t.Fatal("raw token stored")
	}
}

func TestTokenCreateUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"token"},
		{"token", "list"},
		{"token", "create", "--data", dir},
		{"token", "create", "--data", dir, "--store", "S1", "--admin"},
		{"token", "create", "--store", "S1"},
		{"token", "create", "--data", dir, "--bogus"},
	} {
		if code, out, errs := runHQ(t, args...); code != 2 || out != "" || errs == "" {
			t.Errorf("%v: exit %d out %q err %q; want usage error 2", args, code, out, errs)
		}
	}
}
