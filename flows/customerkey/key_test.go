package customerkey

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFromInput(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	today := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	key := strings.Repeat("ab", 16)
	for in, want := range map[string]string{
		key:                    key,
		strings.ToUpper(key):   key,
		"11010519491231002x":   hashKey(secret, "11010519491231002X"),
		" 11010519491231002X ": hashKey(secret, "11010519491231002X"),
	} {
		if got, err := FromInput(secret, in, today); err != nil || got.String() != want {
			t.Errorf("%q → %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := FromInput(nil, "11010519491231002X", today); !errors.Is(err, ErrNeedSecret) {
		t.Errorf("no secret: %v", err)
	}
	if k, err := FromInput(nil, key, today); err != nil || k.String() != key {
		t.Errorf("a key needs no secret: %q %v", k, err)
	}
	for _, bad := range []string{"", "110105194912310021", strings.Repeat("ab", 15) + "g1", "11010519491231002X0"} {
		_, err := FromInput(secret, bad, today)
		if err == nil || errors.Is(err, ErrNeedSecret) {
			t.Errorf("%q accepted: %v", bad, err)
		} else if len(bad) > 8 && strings.Contains(err.Error(), bad[:8]) {
			t.Errorf("error quotes the input: %v", err)
		}
	}
}

func TestParse(t *testing.T) {
	good := strings.Repeat("0a", 16)
	if k, err := Parse(good); err != nil || k.String() != good || !Valid(good) {
		t.Fatalf("Parse(%q) = %q, %v", good, k, err)
	}
	for _, bad := range []string{"", "11010519491231002X", strings.ToUpper(good), strings.Repeat("0a", 15) + "0g", good + "0", good[:31]} {
		_, err := Parse(bad)
		if !errors.Is(err, ErrMalformed) || Valid(bad) {
			t.Errorf("Parse(%q): %v, want ErrMalformed", bad, err)
		}
		if len(bad) >= 8 && strings.Contains(err.Error(), bad[:8]) {
			t.Errorf("error quotes the input: %v", err)
		}
	}
}

func TestFromIDNumber(t *testing.T) {
	secret := []byte("customer-key-for-id-secret-0123")
	today := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	got, err := FromIDNumber(secret, "11010519491231002x", today)
	if err != nil || got.String() != hashKey(secret, "11010519491231002X") {
		t.Fatalf("got %q %v", got, err)
	}
	if _, err := Parse(got.String()); err != nil {
		t.Fatalf("a key from an ID number does not parse: %v", err)
	}
	if _, err := FromIDNumber(secret, "110105194912310021", today); err == nil || strings.Contains(err.Error(), "110105194912310021") {
		t.Fatalf("wrong check digit: %v (must fail without quoting the number)", err)
	}
}

func TestValidMask(t *testing.T) {
	for s, want := range map[string]bool{
		Mask("11010519491231002X"): true,
		"1101**********002X":       true,
		"abcd*wxyz":                true,
		"****":                     true,
		"":                         false, // callers treat empty as "no mask"
		"11010519491231002X":       false, // an ID number in clear
		"110105**********31002X":   false, // more than 4 visible each side
		"1101002X":                 false, // no asterisk
		"1101****00 2":             false,
		"11é1******002X":           false,
		"1101**1***002X":           false,
	} {
		if got := ValidMask(s); got != want {
			t.Errorf("ValidMask(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestKeyForms(t *testing.T) {
	k := Hash([]byte("0123456789abcdef"), "11010519491231002X")
	b, err := k.MarshalBinary()
	if err != nil || len(b) != Size {
		t.Fatalf("MarshalBinary: %x, %v", b, err)
	}
	var back Key
	if err := back.UnmarshalBinary(b); err != nil || back != k {
		t.Fatalf("UnmarshalBinary: %q, %v", back, err)
	}
	if err := back.UnmarshalBinary(b[:15]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("15 bytes: %v", err)
	}
	for _, bad := range []Key{"", "11010519491231002X", Key(strings.ToUpper(string(k))), k + "0"} {
		if _, err := bad.MarshalBinary(); !errors.Is(err, ErrMalformed) {
			t.Errorf("MarshalBinary(%q): %v", bad, err)
		}
		if _, err := bad.MarshalText(); !errors.Is(err, ErrMalformed) {
			t.Errorf("MarshalText(%q): %v", bad, err)
		}
	}
	var s struct {
		K Key `json:"k"`
	}
	if err := json.Unmarshal([]byte(`{"k":"`+string(k)+`"}`), &s); err != nil || s.K != k {
		t.Fatalf("JSON: %q, %v", s.K, err)
	}
	if err := json.Unmarshal([]byte(`{"k":"11010519491231002X"}`), &s); !errors.Is(err, ErrMalformed) {
		t.Fatalf("JSON with an ID number: %v", err)
	}
}
