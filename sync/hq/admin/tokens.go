package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
)

// Token routes: the token life cycle while HQ runs (`hq token create|list|revoke --hq
// URL --token ADMIN`).
const (
	PathTokens = "/api/v1/admin/tokens"      // GET: list; POST TokenCreateRequest: create
	PathToken  = "/api/v1/admin/tokens/{id}" // DELETE: revoke
)

// TokenCreateRequest is POST /api/v1/admin/tokens: exactly one of a store id or admin.
type TokenCreateRequest struct {
	StoreID   string    `json:"store_id,omitempty"`
	Admin     bool      `json:"admin,omitempty"`
	Label     string    `json:"label,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// TokenCreateResponse carries the new token — shown once, HQ keeps only its hash.
type TokenCreateResponse struct {
	Token string `json:"token"`
	hq.TokenInfo
}

// TokensResponse is GET /api/v1/admin/tokens.
type TokensResponse struct {
	Tokens []hq.TokenInfo `json:"tokens"`
}

// CreateAudit is the audit entry of a token's creation.
func CreateAudit(actor string, t hq.TokenInfo, at time.Time) hq.AuditEntry {
	who := "admin"
	if !t.Admin {
		who = "store=" + t.StoreID
	}
	detail := fmt.Sprintf("id=%s %s label=%q", t.ID, who, t.Label)
	if !t.ExpiresAt.IsZero() {
		detail += " expires=" + t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return hq.AuditEntry{At: at, Actor: actor, Action: "token.create", Detail: detail}
}

// NewToken creates a token for p and audits it (actor: who asked); the one creation
// path of the API and of `hq token create --data|--db`.
func NewToken(ctx context.Context, st hq.Store, p hq.Principal, actor string) (string, hq.TokenInfo, error) {
	tok, err := hq.CreateToken(ctx, st, p)
	if err != nil {
		return "", hq.TokenInfo{}, err
	}
	info := hq.TokenInfo{ID: hq.TokenID(hq.HashToken(tok)), Principal: p}
	if err := st.Audit(ctx, CreateAudit(actor, info, p.CreatedAt)); err != nil {
		return "", hq.TokenInfo{}, fmt.Errorf("audit token creation: %w", err)
	}
	return tok, info, nil
}

func actorOf(p hq.Principal) string {
	if p.Label != "" {
		return "admin:" + p.Label
	}
	return "admin"
}

// TokenRoutes mounts the token routes (admin tokens only).
func TokenRoutes(mux *http.ServeMux, s *api.Server, st hq.Store, now func() time.Time, log *slog.Logger) {
	mux.Handle("GET "+PathTokens, s.RequireAuth(func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "listing tokens needs an admin token")
			return
		}
		ts, err := st.Tokens(r.Context())
		if err != nil {
			log.Error("list tokens", "err", err)
			api.WriteError(w, hq.FailStatus(w.Header(), err), "token list failed; see HQ log")
			return
		}
		api.WriteJSON(w, http.StatusOK, TokensResponse{Tokens: ts})
	}))
	mux.Handle("POST "+PathTokens, s.RequireAuth(func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "creating tokens needs an admin token")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
		var req TokenCreateRequest
		if err == nil {
			err = api.DecodeStrict(body, &req)
		}
		if err != nil {
			s.Fail(w, r, err)
			return
		}
		at := now()
		switch {
		case req.Admin == (req.StoreID != ""):
			api.WriteError(w, http.StatusBadRequest, "give exactly one of store_id or admin")
			return
		case !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(at):
			api.WriteError(w, http.StatusBadRequest, "expires_at: in the past")
			return
		}
		tok, info, err := NewToken(r.Context(), st, hq.Principal{StoreID: req.StoreID, Admin: req.Admin, Label: req.Label,
			CreatedAt: at, ExpiresAt: req.ExpiresAt}, actorOf(p))
		if errors.Is(err, hq.ErrInvalid) {
			api.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err != nil {
			log.Error("create token", "err", err)
			api.WriteError(w, hq.FailStatus(w.Header(), err), "token creation failed; see HQ log")
			return
		}
		api.WriteJSON(w, http.StatusOK, TokenCreateResponse{Token: tok, TokenInfo: info})
	}))
	mux.Handle("DELETE "+PathToken, s.RequireAuth(func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "revoking tokens needs an admin token")
			return
		}
		id := r.PathValue("id")
		at := now()
		info, err := Revoke(r.Context(), st, id, actorOf(p), at)
		switch {
		case errors.Is(err, hq.ErrNotFound):
			api.WriteError(w, http.StatusNotFound, "no token "+id)
		case err != nil:
			log.Error("revoke token", "err", err)
			api.WriteError(w, hq.FailStatus(w.Header(), err), "revoke failed; see HQ log")
		default:
			api.WriteJSON(w, http.StatusOK, info)
		}
	}))
}

// Revoke revokes token id (audited, in the revocation's commit): the API's and `hq token
// revoke --data|--db`'s one path.
func Revoke(ctx context.Context, st hq.TokenStore, id, actor string, at time.Time) (hq.TokenInfo, error) {
	var info hq.TokenInfo
	var audit []hq.AuditEntry
	// The audit entry names the token; it is built from what the store returns, so
	// look the token up first (the id is all the caller has).
	ts, err := st.Tokens(ctx)
	if err != nil {
		return info, err
	}
	for _, t := range ts {
		if t.ID == id {
			audit = []hq.AuditEntry{hq.RevokeAudit(actor, t, at)}
		}
	}
	if audit == nil {
		return info, fmt.Errorf("token %s: %w", id, hq.ErrNotFound)
	}
	return st.RevokeToken(ctx, id, at, audit)
}
