package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
)

// BackupHandler streams a consistent copy of the store to an admin (hot backup, writes
// go on meanwhile). A backend backed up with its own tools answers 501 saying which.
func BackupHandler(st hq.MaintenanceStore, audit Auditor) api.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "backup needs an admin token")
			return
		}
		// A large database takes longer than the server's write timeout.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		started := false
		_, err := st.Backup(r.Context(), w, func(size int64) {
			started = true
			w.Header().Set("Content-Type", "application/octet-stream")
			if size >= 0 {
				w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			}
			w.Header().Set("Content-Disposition", `attachment; filename="hq-backup.db"`)
		})
		if errors.Is(err, hq.ErrUnsupported) && !started {
			api.WriteError(w, http.StatusNotImplemented, err.Error())
			return
		}
		detail := "ok"
		if err != nil {
			detail = "failed: " + err.Error()
		}
		audit(r.Context(), p, "backup", detail)
	}
}
