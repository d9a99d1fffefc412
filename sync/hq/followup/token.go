package followup

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// Token errors. Every one of them earns nothing and gets a plain page.
const (
	ErrTokenMalformed = sentinel("link token malformed")
	ErrTokenForged    = sentinel("link token signature invalid")
	ErrTokenExpired   = sentinel("link token expired")
)

const (
	tokenVersion = 1
	macLen       = 32 // full HMAC-SHA256
	maxIDLen     = 200
)

// Signer makes and checks tracked-link tokens: base64url(version ‖ BE expiry unix
// seconds ‖ follow-up id ‖ HMAC-SHA256(key, version ‖ expiry ‖ id)). The key is derived
// from the HQ secret, so the same secret used elsewhere never signs links directly.
type Signer struct {
	key []byte
}

// NewSigner derives the link-signing key from the HQ secret (at least 16 bytes).
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("followup: link secret too short (%d bytes, want ≥ 16)", len(secret))
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("pharmachain followup link v1"))
	return &Signer{key: m.Sum(nil)}, nil
}

func (s *Signer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)
}

// Token returns the signed token for a follow-up id valid until expiry.
func (s *Signer) Token(id string, expiry time.Time) (string, error) {
	if id == "" || len(id) > maxIDLen {
		return "", fmt.Errorf("follow-up id length %d: %w", len(id), hq.ErrInvalid)
	}
	body := make([]byte, 0, 9+len(id)+macLen)
	body = append(body, tokenVersion)
	body = binary.BigEndian.AppendUint64(body, uint64(expiry.Unix()))
	body = append(body, id...)
	body = append(body, s.mac(body)...)
	return base64.RawURLEncoding.EncodeToString(body), nil
}

// Verify checks a token and returns its follow-up id and expiry. A token whose signature
// is valid but whose expiry has passed returns the id with ErrTokenExpired.
func (s *Signer) Verify(token string, now time.Time) (id string, expiry time.Time, err error) {
	if len(token) > 2*(9+maxIDLen+macLen) {
		return "", time.Time{}, ErrTokenMalformed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %v", ErrTokenMalformed, err)
	}
	if len(raw) < 9+1+macLen || raw[0] != tokenVersion {
		return "", time.Time{}, ErrTokenMalformed
	}
	body, sig := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(sig, s.mac(body)) {
		return "", time.Time{}, ErrTokenForged
	}
	expiry = time.Unix(int64(binary.BigEndian.Uint64(body[1:9])), 0)
	id = string(body[9:])
	if !now.Before(expiry) {
		return id, expiry, ErrTokenExpired
	}
	return id, expiry, nil
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
