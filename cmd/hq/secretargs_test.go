package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// TestSecretsNotOnCommandLine: `hq pharmacist add --pin 1234` and `hq forget
// --id-number N` are refused — ps, /proc and the shell history keep arguments — and the
// secrets are read from a prompt or a file/standard input instead. It fails on the code
// before the fix (both took the secret as an argument).
func TestSecretsNotOnCommandLine(t *testing.T) {
	dir := t.TempDir()
	add := []string{"pharmacist", "add", "--data", dir, "--store", "S001", "--id", "P01", "--name", "王芳"}
	code, _, errs := runHQ(t, append(add, "--pin", "1234")...)
	if code != 2 || !strings.Contains(errs, "--pin-file") || !strings.Contains(errs, "ps and the shell history") {
		t.Fatalf("--pin 1234: exit %d %s, want a usage error pointing to --pin-file", code, errs)
	}
	code, out, errs := runHQIn(t, "5678\n", append(add, "--pin-prompt")...)
	if code != 0 || !strings.Contains(errs, "PIN: ") || strings.Contains(out+errs, "5678") {
		t.Fatalf("--pin-prompt: exit %d out %q err %q (prompted, the PIN never echoed)", code, out, errs)
	}
	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.Roster(context.Background(), "S001")
	st.Close()
	if err != nil || len(r) != 1 || bcrypt.CompareHashAndPassword([]byte(r[0].PINHash), []byte("5678")) != nil {
		t.Fatalf("roster %+v %v: want P01 with the prompted PIN's hash", r, err)
	}
	secret := filepath.Join(t.TempDir(), "chain.secret")
	if code, _, errs := runHQ(t, "forget", "--data", dir, "--id-number", "11010519491231002X", "--secret-file", secret); code != 2 || !strings.Contains(errs, "--id-number-file") {
		t.Fatalf("forget --id-number N: exit %d %s, want a usage error pointing to --id-number-file", code, errs)
	}
}
