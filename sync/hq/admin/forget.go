package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
)

// ForgetHandler serves DELETE /api/v1/customers/{customer_key} for admins: the
// customer's PIPL deletion (hq.MaintenanceStore.ForgetCustomer), answered with what it
// changed.
func ForgetHandler(st hq.MaintenanceStore, now func() time.Time, log *slog.Logger) api.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "deleting a customer needs an admin token")
			return
		}
		key, err := customerkey.Parse(r.PathValue("customer_key"))
		if err != nil {
			api.WriteError(w, http.StatusBadRequest, "customer_key: "+err.Error())
			return
		}
		stats, err := st.ForgetCustomer(r.Context(), key.String(), now())
		switch {
		case errors.Is(err, hq.ErrInvalid):
			api.WriteError(w, http.StatusBadRequest, err.Error())
		case err != nil:
			log.Error("forget customer", "err", err)
			api.WriteError(w, hq.FailStatus(w.Header(), err), "delete failed; see HQ log")
		default:
			api.WriteJSON(w, http.StatusOK, stats)
		}
	}
}
