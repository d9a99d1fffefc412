package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
)

// AuditResponse is the body of GET /api/v1/audit.
type AuditResponse struct {
	Entries []hq.AuditEntry `json:"entries"`
}

// AuditHandler serves GET /api/v1/audit?from=&to=&actor=&limit= (from/to RFC 3339 or
// YYYY-MM-DD, Asia/Shanghai). The HQ server must let only admins reach it (its auth
// middleware runs first); the handler itself checks nothing about the caller. Viewing
// the audit log is itself audited with the given actor function (may be nil).
func AuditHandler(st hq.AuditStore, actorOf func(*http.Request) string, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		q := r.URL.Query()
		from, err := parseTimeParam(q.Get("from"), false)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "from: "+err.Error())
			return
		}
		to, err := parseTimeParam(q.Get("to"), true)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "to: "+err.Error())
			return
		}
		limit := 100
		if s := q.Get("limit"); s != "" {
			limit, err = strconv.Atoi(s)
			if err != nil || limit < 1 || limit > 10000 {
				writeJSONError(w, http.StatusBadRequest, "limit: want an integer 1..10000")
				return
			}
		}
		entries, err := st.AuditEntries(r.Context(), hq.AuditQuery{From: from, To: to, Actor: q.Get("actor"), Limit: limit})
		if err != nil {
			writeJSONError(w, hq.FailStatus(w.Header(), err), "audit log unavailable")
			return
		}
		if entries == nil {
			entries = []hq.AuditEntry{}
		}
		actor := "admin"
		if actorOf != nil {
			actor = actorOf(r)
		}
		_ = st.Audit(r.Context(), hq.AuditEntry{At: now(), Actor: actor, Action: "audit.read", Detail: fmt.Sprintf("entries=%d", len(entries))})
		writeJSON(w, http.StatusOK, AuditResponse{Entries: entries})
	})
}

// parseTimeParam accepts RFC 3339 or YYYY-MM-DD (Asia/Shanghai midnight; with end, the
// following midnight so the day is included).
func parseTimeParam(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, flows.Shanghai())
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 or YYYY-MM-DD, got %q", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func writeJSONError(w http.ResponseWriter, code int, msg string) { api.WriteError(w, code, msg) }

func writeJSON(w http.ResponseWriter, code int, v any) { api.WriteJSON(w, code, v) }
