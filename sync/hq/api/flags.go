package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// PathFlags lists what HQ flagged: records of pharmacists not on the roster (未在花名册),
// link credits that look farmed (opened within a minute of the send, or from the store's
// own sync address), credits withheld by the daily cap.
const PathFlags = "/api/v1/flags"

// FlagRow is one flag as the API shows it: hq.Flag with its label.
type FlagRow struct {
	hq.Flag
	Label string `json:"label"`
}

// FlagsResponse is the body of GET /api/v1/flags.
type FlagsResponse struct {
	Rows []FlagRow `json:"rows"`
}

// handleFlags serves GET /api/v1/flags?store_id=&kind=&since=&limit= (a store token
// reads its own store's).
func (s *Server) handleFlags(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	q := r.URL.Query()
	if err := checkQuery(q, "store_id", "kind", "since", "limit"); err != nil {
		s.fail(w, r, err)
		return
	}
	store, err := p.ScopeStore(q.Get("store_id"))
	if err != nil {
		s.fail(w, r, forbiddenf("store_id: %v", err))
		return
	}
	fq := hq.FlagQuery{StoreID: store, Kind: q.Get("kind")}
	switch fq.Kind {
	case "", hq.FlagNotOnRoster, hq.FlagFastOpen, hq.FlagKioskAddress, hq.FlagDailyCap:
	default:
		s.fail(w, r, badf("kind: %q is not one of %s, %s, %s, %s", fq.Kind, hq.FlagNotOnRoster, hq.FlagFastOpen, hq.FlagKioskAddress, hq.FlagDailyCap))
		return
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.fail(w, r, badf("since: %q: want RFC 3339", v))
			return
		}
		fq.From = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			s.fail(w, r, badf("limit: %q is not in 1..10000", v))
			return
		}
		fq.Limit = n
	}
	fs, err := s.st.Flags(r.Context(), fq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := FlagsResponse{Rows: make([]FlagRow, len(fs))}
	for i, f := range fs {
		out.Rows[i] = FlagRow{Flag: f, Label: hq.FlagLabel(f.Kind)}
	}
	WriteJSON(w, http.StatusOK, out)
}
