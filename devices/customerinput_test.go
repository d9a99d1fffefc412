package devices

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCustomerKeyFromInput(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	today := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	key := strings.Repeat("ab", 16)
	for in, want := range map[string]string{
		key:                    key,
		strings.ToUpper(key):   key,
		"11010519491231002x":   CustomerKey(secret, "11010519491231002X"),
		" 11010519491231002X ": CustomerKey(secret, "11010519491231002X"),
	} {
		if got, err := CustomerKeyFromInput(secret, in, today); err != nil || got != want {
			t.Errorf("%q → %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := CustomerKeyFromInput(nil, "11010519491231002X", today); !errors.Is(err, ErrNeedSecret) {
		t.Errorf("no secret: %v", err)
	}
	if k, err := CustomerKeyFromInput(nil, key, today); err != nil || k != key {
		t.Errorf("a key needs no secret: %q %v", k, err)
	}
	for _, bad := range []string{"", "110105194912310021", strings.Repeat("ab", 15) + "g1", "11010519491231002X0"} {
		_, err := CustomerKeyFromInput(secret, bad, today)
		if err == nil || errors.Is(err, ErrNeedSecret) {
			t.Errorf("%q accepted: %v", bad, err)
		} else if len(bad) > 8 && strings.Contains(err.Error(), bad[:8]) {
			t.Errorf("error quotes the input: %v", err)
		}
	}
}

func TestCustomerKeyForID(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "chain.secret")
	secret := "customer-key-for-id-secret-0123"
	if err := os.WriteFile(f, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	today := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	got, err := CustomerKeyForID(f, "11010519491231002x", today)
	if err != nil || got != CustomerKey([]byte(secret), "11010519491231002X") {
		t.Fatalf("got %q %v", got, err)
	}
	if _, err := CustomerKeyForID(f, "110105194912310021", today); err == nil || strings.Contains(err.Error(), "110105194912310021") {
		t.Fatalf("wrong check digit: %v (must fail without quoting the number)", err)
	}
	if _, err := CustomerKeyForID(filepath.Join(dir, "missing"), "11010519491231002X", today); err == nil {
		t.Fatal("a missing secret file must fail")
	}
}
