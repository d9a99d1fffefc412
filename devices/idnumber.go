package devices

import (
	"errors"
	"time"

	"github.com/pharmachain/counter/flows/customerkey"
)

// The chain secret and customer keys live in flows/customerkey (shared with HQ); these
// names keep the counter's callers unchanged.

// MinSecretLen is the shortest chain secret LoadSecret accepts, in bytes.
const MinSecretLen = customerkey.MinSecretLen

// ErrSecretTooShort is returned (wrapped) by LoadSecret for an empty or short secret file.
var ErrSecretTooShort = customerkey.ErrSecretTooShort

// LoadSecret reads the chain secret file (customerkey.LoadSecret).
func LoadSecret(path string) ([]byte, error) { return customerkey.LoadSecret(path) }

// CustomerKey returns the chain-wide customer key of a normalised ID number
// (customerkey.Hash).
func CustomerKey(secret []byte, normalisedID string) string {
	return customerkey.Hash(secret, normalisedID).String()
}

// MaskID returns the display form of an ID number (customerkey.Mask).
func MaskID(id string) string { return customerkey.Mask(id) }

// IDCheckChar returns the GB 11643 check character for the first 17 digits of an ID number.
func IDCheckChar(first17 string) (byte, error) { return customerkey.IDCheckChar(first17) }

// NormaliseIDNumber checks a resident ID number and returns its normalised form
// (customerkey.NormaliseIDNumber).
// Its errors are Problems with the codes of customerkey.IDError.
func NormaliseIDNumber(s string, today time.Time) (string, error) {
	id, err := customerkey.NormaliseIDNumber(s, today)
	var ie *customerkey.IDError
	if errors.As(err, &ie) {
		return "", &Problem{Code: ie.Code, Args: ie.Args, msg: ie.Error()}
	}
	return id, err
}

// DemoSecret returns the demo chain secret used by `make run` and by `kiosk scan-test` without
// --secret-file. It is public: customer keys made with it protect nothing and do not match a
// real chain's HQ. Never deploy it.
func DemoSecret() []byte {
	return []byte("DEMO-ONLY-pharmachain-chain-secret-not-for-production")
}
