package hq

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// Principal is who a bearer token speaks for: one store, or the chain (admin).
type Principal struct {
	StoreID   string    `json:"store_id,omitempty"` // empty for an admin token
	Admin     bool      `json:"admin,omitempty"`
	Label     string    `json:"label,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// TokenStore keeps bearer tokens by the SHA-256 of their text (HashToken): the store
// never sees a token itself.
type TokenStore interface {
	// PutToken stores (or replaces) the principal of a token hash (hex). An empty hash
	// is ErrInvalid.
	PutToken(ctx context.Context, hash string, p Principal) error
	// LookupToken finds a token by its hash; ErrNotFound if unknown.
	LookupToken(ctx context.Context, hash string) (Principal, error)
}

// Token prefixes make a leaked token recognisable (store or admin).
const (
	storeTokenPrefix = "hqs_"
	adminTokenPrefix = "hqa_"
)

// HashToken is what HQ stores for a bearer token: hex SHA-256 of the token text.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// CreateToken makes a new random bearer token for p, stores only its hash, and returns
// the token (shown once; HQ cannot show it again).
func CreateToken(ctx context.Context, st TokenStore, p Principal) (string, error) {
	if p.Admin == (p.StoreID != "") {
		return "", fmt.Errorf("create token: need exactly one of a store id or admin: %w", ErrInvalid)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	prefix := storeTokenPrefix
	if p.Admin {
		prefix = adminTokenPrefix
	}
	tok := prefix + base64.RawURLEncoding.EncodeToString(b[:])
	if err := st.PutToken(ctx, HashToken(tok), p); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return tok, nil
}

// CanAccessStore reports whether p may read or write storeID's data.
func (p Principal) CanAccessStore(storeID string) bool {
	return p.Admin || (p.StoreID != "" && p.StoreID == storeID)
}

// ScopeStore resolves a store_id query for p: an admin gets what was asked (empty: all
// stores); a store token gets its own store, and a 403 error for any other.
func (p Principal) ScopeStore(asked string) (string, error) {
	if p.Admin {
		return asked, nil
	}
	if asked == "" || asked == p.StoreID {
		return p.StoreID, nil
	}
	return "", fmt.Errorf("store token of %s may not read store %s", p.StoreID, asked)
}
