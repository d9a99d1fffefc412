package devices

import (
	"fmt"
	"time"

	"github.com/pharmachain/counter/flows/customerkey"
)

// ErrNeedSecret is returned by CustomerKeyFromInput for a valid ID number when no chain
// secret was given to hash it with.
var ErrNeedSecret = customerkey.ErrNeedSecret

// IsCustomerKey reports whether s is a customer key: 32 lower-case hex characters.
func IsCustomerKey(s string) bool { return customerkey.Valid(s) }

// CustomerKeyFromInput turns a customer key or an ID number into the customer key
// (customerkey.FromInput).
func CustomerKeyFromInput(secret []byte, idOrKey string, today time.Time) (string, error) {
	k, err := customerkey.FromInput(secret, idOrKey, today)
	return k.String(), err
}

// CustomerKeyForID hashes an operator-typed ID number with the chain secret read from
// secretFile (the forget commands). Errors never quote the number.
func CustomerKeyForID(secretFile, idNumber string, today time.Time) (string, error) {
	secret, err := customerkey.LoadSecret(secretFile)
	if err != nil {
		return "", err
	}
	k, err := customerkey.FromIDNumber(secret, idNumber, today)
	if err != nil {
		return "", fmt.Errorf("--id-number: %w", err)
	}
	return k.String(), nil
}
