package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
)

// PathReads lists who read a customer's chain-wide history (admin only): GET
// /api/v1/admin/reads?customer_key=K[&store_id=S][&limit=N] — for a customer's PIPL
// request to know who looked at their data, and for audits of store tokens.
const PathReads = "/api/v1/admin/reads"

// ReadsResponse is the body of GET /api/v1/admin/reads.
type ReadsResponse struct {
	Reads []hq.HistoryRead `json:"reads"`
}

// ReadsHandler serves PathReads.
func ReadsHandler(st hq.ReadLogStore, log *slog.Logger) api.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "the read log is for admin tokens only")
			return
		}
		q := r.URL.Query()
		rq := hq.ReadQuery{CustomerKey: q.Get("customer_key"), StoreID: q.Get("store_id")}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 {
				api.WriteError(w, http.StatusBadRequest, "limit: want 1..10000")
				return
			}
			rq.Limit = n
		}
		rs, err := st.Reads(r.Context(), rq)
		switch {
		case errors.Is(err, hq.ErrInvalid):
			api.WriteError(w, http.StatusBadRequest, "customer_key: want 32 lower-case hex characters")
		case err != nil:
			log.Error("read log", "err", err)
			api.WriteError(w, hq.FailStatus(w.Header(), err), "read log unavailable; see HQ log")
		default:
			if rs == nil {
				rs = []hq.HistoryRead{}
			}
			api.WriteJSON(w, http.StatusOK, ReadsResponse{Reads: rs})
		}
	}
}
