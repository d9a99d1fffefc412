package followup

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "admin", "store:S001", "hq", "customer-link", …
	Action string    `json:"action"` // "ingest", "followup.send", "link.click", "token.create", "export", …
	Detail string    `json:"detail,omitempty"`
}

// Audit appends one entry in its own transaction.
func (s *Store) Audit(ctx context.Context, actor, action, detail string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return s.AuditTx(tx, actor, action, detail, at) })
}

// AuditTx appends one entry inside the caller's write transaction, so the entry and the
// change it describes commit together. Entries are never changed or removed.
func (s *Store) AuditTx(tx *bolt.Tx, actor, action, detail string, at time.Time) error {
	b := tx.Bucket(bucketAudit)
	if b == nil {
		return fmt.Errorf("audit: bucket missing (NewStore not called on this database)")
	}
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("audit: next sequence: %w", err)
	}
	e := AuditEntry{Seq: seq, At: at.UTC(), Actor: actor, Action: action, Detail: detail}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	if err := putJSON(b, k[:], e); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditEntries returns entries with from ≤ At < to (zero bounds are open), of actor
// (empty: everyone), newest first, at most limit (≤ 0: 100, capped at 10 000).
func (s *Store) AuditEntries(ctx context.Context, from, to time.Time, actor string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		n := 0
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit: decode entry %x: %w", k, err)
			}
			if !to.IsZero() && !e.At.Before(to) {
				continue
			}
			if !from.IsZero() && e.At.Before(from) {
				continue // entries are appended roughly, not strictly, in time order
			}
			if actor != "" && e.Actor != actor {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	return out, nil
}

// AuditResponse is the body of GET /api/v1/audit.
type AuditResponse struct {
	Entries []AuditEntry `json:"entries"`
}

// AuditHandler serves GET /api/v1/audit?from=&to=&actor=&limit= (from/to RFC 3339 or
// YYYY-MM-DD, Asia/Shanghai). The HQ server must let only admins reach it (its auth
// middleware runs first); the handler itself checks nothing about the caller. Viewing
// the audit log is itself audited with the given actor function (may be nil).
func AuditHandler(st *Store, actorOf func(*http.Request) string) http.Handler {
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
		entries, err := st.AuditEntries(r.Context(), from, to, q.Get("actor"), limit)
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, "audit log unavailable")
			return
		}
		if entries == nil {
			entries = []AuditEntry{}
		}
		actor := "admin"
		if actorOf != nil {
			actor = actorOf(r)
		}
		_ = st.Audit(r.Context(), actor, "audit.read", fmt.Sprintf("entries=%d", len(entries)), time.Now())
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
	t, err := time.ParseInLocation("2006-01-02", s, shanghai)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 or YYYY-MM-DD, got %q", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
