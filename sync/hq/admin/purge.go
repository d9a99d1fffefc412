package admin

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
)

// DefaultRetention is how long HQ keeps purchases and visit details (three years, the
// same reasoning as the kiosk's: docs/storage.md).
const DefaultRetention = 3 * 365 * 24 * time.Hour

// MinRetention is what the continuity analysis needs: 90-day lookback + 180-day carry-in.
const MinRetention = 270 * 24 * time.Hour

// Cutoff is the first local day a purge with retention ret keeps at now.
func Cutoff(now time.Time, ret time.Duration) flows.Day { return flows.DayOf(now.Add(-ret)) }

// PurgeHandler serves POST /api/v1/admin/purge?retention=26280h for admins.
func PurgeHandler(st hq.MaintenanceStore, now func() time.Time, log *slog.Logger, audit Auditor) api.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "purging needs an admin token")
			return
		}
		ret := DefaultRetention
		if s := r.URL.Query().Get("retention"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < MinRetention {
				api.WriteError(w, http.StatusBadRequest, "retention: want a duration of at least 6480h (270 days), e.g. 26280h")
				return
			}
			ret = d
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		stats, err := st.PurgeBefore(r.Context(), Cutoff(now(), ret))
		if err != nil {
			log.Error("purge", "err", err)
			api.WriteError(w, hq.FailStatus(w.Header(), err), "purge failed; see HQ log")
			return
		}
		audit(r.Context(), p, "purge", fmt.Sprintf("cutoff=%s purchases=%d visits=%d", stats.Cutoff, stats.Purchases, stats.Visits))
		api.WriteJSON(w, http.StatusOK, stats)
	}
}
