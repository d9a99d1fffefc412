package devices

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNeedSecret is returned by CustomerKeyFromInput for a valid ID number when no chain
// secret was given to hash it with.
var ErrNeedSecret = errors.New("a chain secret is needed to hash an ID number")

// IsCustomerKey reports whether s is a customer key: 32 lower-case hex characters.
func IsCustomerKey(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CustomerKeyFromInput turns what a file or an operator gives for a customer into the
// customer key: a customer key (32 hex characters, either case) is returned in lower
// case; otherwise idOrKey must be a valid ID number (NormaliseIDNumber with today),
// which is hashed with secret (ErrNeedSecret when secret is nil). Errors never quote
// idOrKey.
func CustomerKeyFromInput(secret []byte, idOrKey string, today time.Time) (string, error) {
	if lc := strings.ToLower(idOrKey); IsCustomerKey(lc) {
		return lc, nil
	}
	id, err := NormaliseIDNumber(idOrKey, today)
	if err != nil {
		return "", fmt.Errorf("not a customer key (32 hex characters) nor a valid ID number: %w", err)
	}
	if secret == nil {
		return "", ErrNeedSecret
	}
	return CustomerKey(secret, id), nil
}

// CustomerKeyForID hashes an operator-typed ID number with the chain secret read from
// secretFile (the forget commands). Errors never quote the number.
func CustomerKeyForID(secretFile, idNumber string, today time.Time) (string, error) {
	secret, err := LoadSecret(secretFile)
	if err != nil {
		return "", err
	}
	id, err := NormaliseIDNumber(idNumber, today)
	if err != nil {
		return "", fmt.Errorf("--id-number: %w", err)
	}
	return CustomerKey(secret, id), nil
}
