// Package customerkey is how a customer is known chain-wide without their identity: the
// customer key, the first 128 bits of HMAC-SHA256(chain secret, normalised ID number) as
// 32 lower-case hex characters, and the masked display form of an ID number. The kiosk
// (reading ID cards, POS exports) and HQ (ingest, PIPL deletion, imports) use this one
// package, so a key means the same everywhere and a raw ID number is validated, hashed
// and dropped in one place. It depends on nothing of ours.
package customerkey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"
)

// Key is a customer key: 32 lower-case hex characters. Get one from Parse, FromIDNumber,
// FromInput or Hash; a Key made any other way may not be valid.
type Key string

// ErrMalformed is returned (wrapped) by Parse for text that is not a customer key.
const ErrMalformed = sentinel("not a customer key (32 lower-case hex characters)")

// Parse checks that s is a customer key: exactly 32 lower-case hex characters (an ID
// number, an upper-case key or anything else is refused). Errors never quote s.
func Parse(s string) (Key, error) {
	if len(s) != 32 {
		return "", fmt.Errorf("%d characters: %w", len(s), ErrMalformed)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", fmt.Errorf("character %d: %w", i+1, ErrMalformed)
		}
	}
	return Key(s), nil
}

// Valid reports whether s is a customer key (Parse would accept it).
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// String returns the key's text.
func (k Key) String() string { return string(k) }

// Size is the length of a key's binary form in bytes.
const Size = 16

// MarshalText returns the key's text; an invalid key is an error (never written).
func (k Key) MarshalText() ([]byte, error) {
	if _, err := Parse(string(k)); err != nil {
		return nil, err
	}
	return []byte(k), nil
}

// UnmarshalText accepts a customer key's text (Parse), so a Key field decoded from JSON
// is valid or the decoding fails.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// MarshalBinary is the key's binary form: the 16 bytes its text spells in hex (what the
// stores index by). An invalid key is an error.
func (k Key) MarshalBinary() ([]byte, error) { return k.AppendBinary(make([]byte, 0, Size)) }

// AppendBinary appends the key's binary form (MarshalBinary) to b.
func (k Key) AppendBinary(b []byte) ([]byte, error) {
	if _, err := Parse(string(k)); err != nil {
		return b, err
	}
	return hex.AppendDecode(b, []byte(k))
}

// UnmarshalBinary accepts a key's binary form (16 bytes).
func (k *Key) UnmarshalBinary(b []byte) error {
	if len(b) != Size {
		return fmt.Errorf("%d bytes, want %d: %w", len(b), Size, ErrMalformed)
	}
	*k = Key(hex.EncodeToString(b))
	return nil
}

// Hash is the key of an already normalised 18-character ID number (NormaliseIDNumber).
func Hash(secret []byte, normalisedID string) Key {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(normalisedID))
	var sum [sha256.Size]byte
	return Key(hex.EncodeToString(m.Sum(sum[:0]))[:32])
}

// FromIDNumber validates and normalises a resident ID number (NormaliseIDNumber, with
// today for the birth-date check) and returns its key under the chain secret. Errors say
// what is wrong without repeating the number.
func FromIDNumber(secret []byte, id string, today time.Time) (Key, error) {
	norm, err := NormaliseIDNumber(id, today)
	if err != nil {
		return "", err
	}
	return Hash(secret, norm), nil
}

// ErrNeedSecret is returned by FromInput for a valid ID number when no chain secret was
// given to hash it with.
const ErrNeedSecret = sentinel("a chain secret is needed to hash an ID number")

// FromInput turns what a file or an operator gives for a customer into the key: a
// customer key (32 hex characters, either case) is returned in lower case; otherwise
// idOrKey must be a valid ID number, which is hashed with secret (ErrNeedSecret when
// secret is nil). Errors never quote idOrKey.
func FromInput(secret []byte, idOrKey string, today time.Time) (Key, error) {
	if k, err := Parse(strings.ToLower(idOrKey)); err == nil {
		return k, nil
	}
	norm, err := NormaliseIDNumber(idOrKey, today)
	if err != nil {
		return "", fmt.Errorf("not a customer key (32 hex characters) nor a valid ID number: %w", err)
	}
	if secret == nil {
		return "", ErrNeedSecret
	}
	return Hash(secret, norm), nil
}

// Mask returns the display form of an ID number: the first 4 and last 4 characters with
// 10 asterisks between them (1101**********002X). Strings shorter than 8 characters are
// masked completely.
func Mask(id string) string {
	r := []rune(id)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + "**********" + string(r[len(r)-4:])
}

// ValidMask reports whether s has the shape of a masked ID (what Mask makes): 4 visible
// characters (letters or digits), 1–64 asterisks, 4 visible characters — or only
// asterisks (1–64; Mask of a short input). Anything else — an ID number in clear, a
// mask showing more than 8 characters — is refused, so a masked field cannot carry an
// identity.
func ValidMask(s string) bool {
	stars := strings.Trim(s, "*")
	if stars == "" {
		return len(s) >= 1 && len(s) <= 64
	}
	if len(s) < 9 || len(s) > 72 {
		return false
	}
	head, mid, tail := s[:4], s[4:len(s)-4], s[len(s)-4:]
	return visible(head) && visible(tail) && mid != "" && strings.Trim(mid, "*") == ""
}

// visible: only ASCII letters and digits.
func visible(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// MinSecretLen is the shortest chain secret LoadSecret accepts, in bytes.
const MinSecretLen = 16

// ErrSecretTooShort is returned (wrapped) by LoadSecret for an empty or short secret file.
const ErrSecretTooShort = sentinel("chain secret too short")

// LoadSecret reads the chain secret file. Surrounding white space (a trailing newline)
// is removed; what remains must be at least MinSecretLen bytes. The secret is identical
// on every kiosk and at HQ, so that customer keys match chain-wide.
func LoadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read chain secret file: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("chain secret file %s is empty: %w (need at least %d bytes, e.g. `head -c 32 /dev/urandom | base64 > %s`)",
			path, ErrSecretTooShort, MinSecretLen, path)
	}
	if len(b) < MinSecretLen {
		return nil, fmt.Errorf("chain secret file %s holds %d bytes: %w (need at least %d)",
			path, len(b), ErrSecretTooShort, MinSecretLen)
	}
	return b, nil
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
