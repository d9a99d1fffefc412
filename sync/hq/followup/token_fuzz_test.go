package followup

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerifyToken: the tracked-link token parser never panics, and the only tokens it
// accepts are the ones the signer itself makes (no forgery, no alteration), unexpired.
func FuzzVerifyToken(f *testing.F) {
	s, err := NewSigner([]byte("fuzz-link-secret-0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	good, _ := s.Token("01JFUZZ0000000000000000001-f1", now.Add(time.Hour))
	f.Add(good)
	f.Add("")
	f.Add("AAAA")
	f.Add(strings.Repeat("A", 500))
	f.Add(good[:len(good)-1])
	f.Add(good + "A")
	f.Add("AQAAAABrEjGCMDFGT1JHRURMSU5LUzAwMDAwMDAwMDAwMS1mMSTnuehVn15ZPS0HpdTNp_TgyP4-ky7rJtRpLVTk0d4H")
	f.Fuzz(func(t *testing.T, tok string) {
		id, exp, err := s.Verify(tok, now)
		if err != nil {
			return
		}
		if !exp.After(now) {
			t.Fatalf("accepted an expired token (expiry %v)", exp)
		}
		again, err := s.Token(id, exp)
		if err != nil {
			t.Fatalf("accepted token's id %q cannot be re-signed: %v", id, err)
		}
		if again != tok {
			t.Fatalf("accepted %q, but the signer makes %q for the same id and expiry", tok, again)
		}
	})
}
