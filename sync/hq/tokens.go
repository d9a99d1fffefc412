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
	ExpiresAt time.Time `json:"expires_at,omitzero"` // zero: never (CheckToken refuses it after)
}

// TokenInfo is one token as `hq token list` shows it: never the token, only its id.
type TokenInfo struct {
	ID string `json:"id"` // TokenID of its hash
	Principal
	LastUsed  time.Time `json:"last_used,omitzero"`
	LastAddr  string    `json:"last_addr,omitempty"` // the client address of that use
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// TokenUse is a request made with a token (NoteTokenUse).
type TokenUse struct {
	Hash string
	At   time.Time
	Addr string // the client's address (clientip)
}

// TokenStore keeps bearer tokens by the SHA-256 of their text (HashToken): the store
// never sees a token itself. Tokens have a life cycle while HQ runs: created, used
// (last use and the addresses store tokens sync from), expired, revoked.
type TokenStore interface {
	// PutToken stores (or replaces) the principal of a token hash (hex). An empty hash
	// is ErrInvalid.
	PutToken(ctx context.Context, hash string, p Principal) error
	// LookupToken finds a token by its hash; ErrNotFound if unknown or revoked.
	// (Expiry is the caller's: CheckToken.)
	LookupToken(ctx context.Context, hash string) (Principal, error)
	// Tokens lists every token, revoked ones too, oldest first (ties by id); never nil.
	Tokens(ctx context.Context) ([]TokenInfo, error)
	// RevokeToken revokes the token whose TokenID is id, in ONE commit with audit: from
	// then on LookupToken says ErrNotFound. It returns the token; ErrNotFound if no token
	// has that id. Revoking a revoked token changes nothing (its first RevokedAt stays).
	RevokeToken(ctx context.Context, id string, at time.Time, audit []AuditEntry) (TokenInfo, error)
	// NoteTokenUse records uses (in ONE commit, batched by the caller — it is not on a
	// request's path): a token's LastUsed and LastAddr become its latest use's (they
	// never move back), and a store token's address is remembered for its store with
	// the time last seen (StoreAddresses). Uses of unknown tokens are ignored.
	NoteTokenUse(ctx context.Context, uses []TokenUse) error
	// StoreAddresses returns the client addresses store storeID's tokens were used from
	// at or after since, sorted; never nil.
	StoreAddresses(ctx context.Context, storeID string, since time.Time) ([]string, error)
}

// TokenIDLen is the length of a token's public id.
const TokenIDLen = 12

// TokenID is a token's public id: the first TokenIDLen hex characters of its hash. It
// names the token in `hq token list|revoke` and the audit log; it reveals nothing of the
// token (which is 256 random bits).
func TokenID(hash string) string {
	if len(hash) < TokenIDLen {
		return hash
	}
	return hash[:TokenIDLen]
}

// ErrTokenExpired: CheckToken's answer for a token past its ExpiresAt (callers answer
// it like an unknown token).
const ErrTokenExpired = sentinel("token expired: not found")

// CheckToken resolves a bearer token at now: ErrNotFound (wrapped) for an unknown or
// revoked token, ErrTokenExpired for one past its expiry. Every path that accepts a
// token (the API, the dashboard's sign-in and its sessions) goes through here.
func CheckToken(ctx context.Context, st TokenStore, token string, now time.Time) (Principal, error) {
	if token == "" {
		return Principal{}, ErrNotFound
	}
	return CheckTokenHash(ctx, st, HashToken(token), now)
}

// CheckTokenHash is CheckToken for a token's hash (a dashboard session keeps the hash of
// the token it was opened with).
func CheckTokenHash(ctx context.Context, st TokenStore, hash string, now time.Time) (Principal, error) {
	p, err := st.LookupToken(ctx, hash)
	if err != nil {
		return Principal{}, err
	}
	if !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt) {
		return Principal{}, ErrTokenExpired
	}
	return p, nil
}

// RevokeAudit is the audit entry of a revocation.
func RevokeAudit(actor string, t TokenInfo, at time.Time) AuditEntry {
	who := "admin"
	if !t.Admin {
		who = "store=" + t.StoreID
	}
	return AuditEntry{At: at, Actor: actor, Action: "token.revoke", Detail: fmt.Sprintf("id=%s %s label=%q", t.ID, who, t.Label)}
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
