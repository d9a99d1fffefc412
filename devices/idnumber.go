package devices

import (
	"errors"
	"time"

	"github.com/pharmachain/counter/flows/customerkey"
)

// The chain secret, customer keys and masking live in flows/customerkey (shared with
// HQ); devices only turns its ID-number errors into Problems.

// NormaliseIDNumber checks a resident ID number and returns its normalised form
// (customerkey.NormaliseIDNumber). Its errors are Problems with the codes of
// customerkey.IDError, so the counter says them in its language.
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
