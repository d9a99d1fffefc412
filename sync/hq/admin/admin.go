// Package admin is HQ's administrative HTTP routes, for admin tokens only, on hq.Store:
// a hot backup (GET /api/v1/admin/backup), the retention purge (POST
// /api/v1/admin/purge), a customer's PIPL deletion (DELETE /api/v1/customers/{key}) and
// the audit log (GET /api/v1/audit). `hq backup|purge|forget --hq URL --token ADMIN`
// call them; with --data the same operations run on a stopped HQ's store directly.
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/wire"
)

// Admin routes.
const (
	PathBackup   = "/api/v1/admin/backup"
	PathPurge    = "/api/v1/admin/purge"
	PathCustomer = "/api/v1/customers/{customer_key}"
)

// Routes mounts the admin routes on the HQ API's mux (use from api.Options.Mount).
func Routes(mux *http.ServeMux, s *api.Server, st hq.Store, now func() time.Time, log *slog.Logger) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	audit := func(ctx context.Context, p hq.Principal, action, detail string) {
		if err := st.Audit(ctx, hq.AuditEntry{At: now(), Actor: "admin:" + p.Label, Action: action, Detail: detail}); err != nil {
			log.Warn("audit "+action, "err", err)
		}
	}
	mux.Handle("GET "+PathBackup, s.RequireAuth(BackupHandler(st, audit)))
	TokenRoutes(mux, s, st, now, log)
	mux.Handle("GET "+PathReads, s.RequireAuth(ReadsHandler(st, log)))
	mux.Handle("POST "+PathPurge, s.RequireAuth(PurgeHandler(st, now, log, audit)))
	mux.Handle("DELETE "+PathCustomer, s.RequireAuth(ForgetHandler(st, now, log)))
	mux.Handle("GET "+wire.PathAudit, s.RequireAuth(func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "the audit log is for admin tokens only")
			return
		}
		AuditHandler(st, func(*http.Request) string { return "admin" }, now).ServeHTTP(w, r)
	}))
}

// Auditor records an admin operation (actor "admin:" + the token's label).
type Auditor func(ctx context.Context, p hq.Principal, action, detail string)
