package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pharmachain/counter/sync/hq/boltstore"
)

func TestPharmacistAdd(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runHQIn(t, "1234\n", "pharmacist", "add", "--data", dir, "--store", "S001", "--id", "P01", "--name", "王芳", "--pin-file", "-", "--manager", "--badge", "B7")
	if code != 0 || !strings.Contains(out, "P01") {
		t.Fatalf("exit %d %s %s", code, out, errs)
	}
	if code, _, errs := runHQ(t, "pharmacist", "add", "--data", dir, "--store", "S001", "--id", "P02", "--name", "李娜"); code != 0 {
		t.Fatal(errs)
	}
	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.Roster(context.Background(), "S001")
	if err != nil || len(r) != 2 {
		t.Fatalf("roster %+v %v", r, err)
	}
	p := r[0]
	if p.ID != "P01" || p.Name != "王芳" || !p.Manager || p.Badge != "B7" || strings.Contains(p.PINHash, "1234") {
		t.Fatalf("pharmacist %+v", p)
	}
	if bcrypt.CompareHashAndPassword([]byte(p.PINHash), []byte("1234")) != nil || bcrypt.CompareHashAndPassword([]byte(p.PINHash), []byte("4321")) == nil {
		t.Fatal("PIN hash does not verify the PIN")
	}
	if r[1].PINHash != "" {
		t.Fatal("no --pin must leave no hash")
	}
}

func TestPharmacistAddBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"pharmacist"},
		{"pharmacist", "add", "--data", dir, "--id", "P01", "--name", "x"},
		{"pharmacist", "add", "--data", dir, "--store", "S1", "--name", "x"},
		{"pharmacist", "add", "--data", dir, "--store", "S1", "--id", "P1"},
		{"pharmacist", "add", "--data", dir, "--store", "S1", "--id", "P1", "--name", "x", "--pin", "12"},
		{"pharmacist", "add", "--data", dir, "--store", "S1", "--id", "P1", "--name", "x", "--pin", "abcd"},
	} {
		if code, _, errs := runHQ(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d %q; want 2", args, code, errs)
		}
	}
}
