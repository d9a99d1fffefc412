package devices

import (
	"errors"
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
