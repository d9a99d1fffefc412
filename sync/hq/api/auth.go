package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/pharmachain/counter/sync/hq"
)

// ErrUnauthorized is returned by Authenticate for a missing, unknown, revoked or expired
// token.
const ErrUnauthorized = sentinel("missing or unknown bearer token")

// Authenticate resolves the request's "Authorization: Bearer TOKEN".
func (s *Server) Authenticate(r *http.Request) (hq.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return hq.Principal{}, ErrUnauthorized
	}
	tok = strings.TrimSpace(tok)
	now := s.opts.Now()
	p, err := hq.CheckToken(r.Context(), s.st, tok, now)
	if errors.Is(err, hq.ErrNotFound) { // unknown, revoked or expired
		return hq.Principal{}, ErrUnauthorized
	}
	if err != nil {
		return hq.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	s.uses.note(hq.HashToken(tok), s.opts.Clients.Addr(r), now)
	return p, nil
}

// AuthedHandler is a handler that runs with the caller's principal.
type AuthedHandler func(w http.ResponseWriter, r *http.Request, p hq.Principal)

// RequireAuth answers 401 unless the request carries a known bearer token.
func (s *Server) RequireAuth(h AuthedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Authenticate(r)
		if errors.Is(err, ErrUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hq"`)
			WriteError(w, http.StatusUnauthorized, err.Error())
			return
		}
		if errors.Is(err, hq.ErrUnavailable) {
			s.log.Warn("authenticate: storage unavailable", "err", err)
			WriteUnavailable(w)
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

// WriteUnavailable answers 503 with Retry-After: HQ's storage cannot be reached right
// now (hq.ErrUnavailable); the client retries (kiosks keep their outbox meanwhile).
func WriteUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(hq.RetryAfterSeconds))
	WriteError(w, http.StatusServiceUnavailable, "HQ's database is unavailable; retry later")
}

// WriteError writes {"error": msg} with the status code.
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, map[string]string{"error": msg})
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
