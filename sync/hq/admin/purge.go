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

// Cutoff is the first local day a purge with retention ret keeps at now.
func Cutoff(now time.Time, ret time.Duration) flows.Day { return flows.DayOf(now.Add(-ret)) }

// PurgeHandler serves POST /api/v1/admin/purge?retention=26280h for admins.
func PurgeHandler(st hq.MaintenanceStore, now func() time.Time, log *slog.Logger, audit Auditor) api.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "purging needs an admin token")
			return
		}
		ret := flows.DefaultRetention
		if s := r.URL.Query().Get("retention"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < flows.MinRetention {
				api.WriteError(w, http.StatusBadRequest, fmt.Sprintf("retention: want a duration of at least %.0fh (%d days), e.g. 26280h",
					flows.MinRetention.Hours(), flows.HistoryDays))
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
