package hq

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

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
func CreateToken(ctx context.Context, st Store, p Principal) (string, error) {
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

// ErrUnauthorized is returned by Authenticate for a missing or unknown token.
var ErrUnauthorized = errors.New("missing or unknown bearer token")

// Authenticate resolves the request's "Authorization: Bearer TOKEN".
func (s *Server) Authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return Principal{}, ErrUnauthorized
	}
	p, err := s.st.LookupToken(r.Context(), HashToken(strings.TrimSpace(tok)))
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrUnauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return p, nil
}

// AuthedHandler is a handler that runs with the caller's principal.
type AuthedHandler func(w http.ResponseWriter, r *http.Request, p Principal)

// RequireAuth answers 401 unless the request carries a known bearer token.
func (s *Server) RequireAuth(h AuthedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Authenticate(r)
		if errors.Is(err, ErrUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hq"`)
			WriteError(w, http.StatusUnauthorized, err.Error())
			return
		}
		if err != nil {
			s.log.Error("authenticate", "err", err)
			WriteError(w, http.StatusInternalServerError, "token lookup failed")
			return
		}
		h(w, r, p)
	})
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

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// WriteError writes {"error": msg} with the status code.
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, map[string]string{"error": msg})
}
