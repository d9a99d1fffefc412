package followup

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/wecom"
	bolt "go.etcd.io/bbolt"
)

// Overdue reasons.
const (
	OverdueNotSent   = "not_sent"   // not confirmed sent within SendWithin of its due time
	OverdueNotOpened = "not_opened" // sent, but the link not opened within OpenWithin
)

// OverdueRule is the 闭环校验 rule.
type OverdueRule struct {
	SendWithin time.Duration // default 2 h after due
	OpenWithin time.Duration // default 72 h after the send
}

func (r OverdueRule) withDefaults() OverdueRule {
	if r.SendWithin <= 0 {
		r.SendWithin = 2 * time.Hour
	}
	if r.OpenWithin <= 0 {
		r.OpenWithin = 72 * time.Hour
	}
	return r
}

// Check applies the rule to an item at now: the reason and since when it is overdue.
func (r OverdueRule) Check(it Item, now time.Time) (reason string, since time.Time, overdue bool) {
	r = r.withDefaults()
	if !it.OpenedAt.IsZero() {
		return "", time.Time{}, false
	}
	if it.SentAt.IsZero() {
		since = it.FollowUp.DueAt.Add(r.SendWithin)
		return OverdueNotSent, since, !now.Before(since)
	}
	since = it.SentAt.Add(r.OpenWithin)
	return OverdueNotOpened, since, !now.Before(since)
}

// OverdueRow is one overdue follow-up. It carries no customer identity.
type OverdueRow struct {
	FollowUpID   string    `json:"followup_id"`
	VisitID      string    `json:"visit_id"`
	StoreID      string    `json:"store_id"`
	PharmacistID string    `json:"pharmacist_id"`
	Channel      string    `json:"channel"`
	Status       string    `json:"status"`
	Reason       string    `json:"reason"`         // not_sent | not_opened
	Code         string    `json:"code,omitempty"` // the last send failure's reason code
	Detail       string    `json:"detail,omitempty"`
	DueAt        time.Time `json:"due_at"`
	SentAt       time.Time `json:"sent_at,omitzero"`
	OverdueSince time.Time `json:"overdue_since"`
}

// Overdue lists the overdue follow-ups of a store (empty: all stores) at now under the
// default rule, oldest first.
func (s *Store) Overdue(ctx context.Context, storeID string, now time.Time) ([]OverdueRow, error) {
	return s.OverdueWith(ctx, OverdueRule{}, storeID, now)
}

// OverdueWith is Overdue under a given rule. Only follow-ups not yet opened are looked
// at (the fu_open index), so opened ones cost nothing.
func (s *Store) OverdueWith(ctx context.Context, rule OverdueRule, storeID string, now time.Time) ([]OverdueRow, error) {
	var rows []OverdueRow
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOpen).Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if storeID != "" && string(v) != storeID {
				continue
			}
			it, ok, err := getItem(tx, string(k))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			reason, since, over := rule.Check(it, now)
			if !over {
				continue
			}
			rows = append(rows, OverdueRow{
				FollowUpID: it.FollowUp.ID, VisitID: it.FollowUp.VisitID, StoreID: it.FollowUp.StoreID,
				PharmacistID: it.FollowUp.PharmacistID, Channel: it.FollowUp.Channel, Status: it.Status,
				Reason: reason, Code: it.LastCode, Detail: it.LastReason, DueAt: it.FollowUp.DueAt, SentAt: it.SentAt, OverdueSince: since,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("overdue follow-ups: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].OverdueSince.Equal(rows[j].OverdueSince) {
			return rows[i].OverdueSince.Before(rows[j].OverdueSince)
		}
		return rows[i].FollowUpID < rows[j].FollowUpID
	})
	return rows, nil
}

// Caller is who the HQ server's auth middleware says made a request.
type Caller struct {
	Admin   bool
	StoreID string // the store of a store token
}

// FollowupsResponse is the body of GET /api/v1/followups.
type FollowupsResponse struct {
	Status string       `json:"status"`
	Rows   []OverdueRow `json:"rows"`
}

// FollowupsHandler serves GET /api/v1/followups?status=overdue&store_id=. callerOf
// returns the authenticated caller (ok false: 401). Admins see any store (store_id
// empty: all stores); a store token sees only its own store (store_id empty: its own;
// another store: 403).
func FollowupsHandler(st *Store, callerOf func(*http.Request) (Caller, bool), now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		c, ok := callerOf(r)
		if !ok {
			writeJSONError(w, http.StatusUnauthorized, "missing or unknown token")
			return
		}
		q := r.URL.Query()
		if s := q.Get("status"); s != "overdue" {
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("status: only \"overdue\" is supported, got %q", s))
			return
		}
		store := q.Get("store_id")
		if !c.Admin {
			if store == "" {
				store = c.StoreID
			}
			if store != c.StoreID {
				writeJSONError(w, http.StatusForbidden, "store_id: a store token reads only its own store")
				return
			}
		}
		rows, err := st.Overdue(r.Context(), store, now())
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, "overdue report unavailable")
			return
		}
		if rows == nil {
			rows = []OverdueRow{}
		}
		writeJSON(w, http.StatusOK, FollowupsResponse{Status: "overdue", Rows: rows})
	})
}

// StaffNotifier posts a markdown notice to a store's staff (its WeCom group robot).
type StaffNotifier interface {
	Notify(ctx context.Context, storeID, markdown string) error
}

// RobotNotifier posts to each store's WeCom group robot. Stores without a key are
// skipped (logged).
type RobotNotifier struct {
	Robot  *wecom.Robot
	Keys   map[string]string // store id → webhook key
	Logger *slog.Logger
}

// Notify implements StaffNotifier.
func (n *RobotNotifier) Notify(ctx context.Context, storeID, markdown string) error {
	key, ok := n.Keys[storeID]
	if !ok {
		if n.Logger != nil {
			n.Logger.Warn("no group robot configured for store; notice dropped", "store", storeID)
		}
		return nil
	}
	return n.Robot.Markdown(ctx, key, markdown)
}

// LogNotifier logs notices (demo).
type LogNotifier struct{ Logger *slog.Logger }

// Notify implements StaffNotifier.
func (n LogNotifier) Notify(ctx context.Context, storeID, markdown string) error {
	lg := n.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.InfoContext(ctx, "store notice", "store", storeID, "text", markdown)
	return nil
}

// escalate posts each newly overdue follow-up to its store once.
func (d *Dispatcher) escalate(ctx context.Context) error {
	now := d.cfg.Now()
	rows, err := d.st.OverdueWith(ctx, d.cfg.Overdue, "", now)
	if err != nil {
		return err
	}
	byStore := map[string][]OverdueRow{}
	for _, r := range rows {
		var fresh bool
		err := d.st.db.View(func(tx *bolt.Tx) error {
			it, ok, err := getItem(tx, r.FollowUpID)
			fresh = ok && it.EscalatedAt.IsZero()
			return err
		})
		if err != nil {
			return err
		}
		if fresh {
			byStore[r.StoreID] = append(byStore[r.StoreID], r)
		}
	}
	for store, rs := range byStore {
		var b strings.Builder
		fmt.Fprintf(&b, "**随访逾期提醒**（门店 %s，%d 条）\n", store, len(rs))
		for _, r := range rs {
			fmt.Fprintf(&b, "> 随访 %s 药师 %s：%s\n", r.FollowUpID, r.PharmacistID, reasonZh(r.Reason))
		}
		if err := d.cfg.Notifier.Notify(ctx, store, b.String()); err != nil {
			return fmt.Errorf("escalate store %s: %w", store, err)
		}
		err := d.st.db.Update(func(tx *bolt.Tx) error {
			for _, r := range rs {
				it, ok, err := getItem(tx, r.FollowUpID)
				if err != nil || !ok {
					return err
				}
				it.EscalatedAt = now
				if err := putItem(tx, it); err != nil {
					return err
				}
			}
			return d.st.AuditTx(tx, "hq", "followup.escalate", fmt.Sprintf("store=%s count=%d", store, len(rs)), now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func reasonZh(r string) string {
	switch r {
	case OverdueNotSent:
		return "到期 2 小时内未确认发送"
	case OverdueNotOpened:
		return "发送后 72 小时内未打开"
	}
	return r
}

// DayStats counts one store's follow-ups due on a local day.
type DayStats struct {
	Due, Sent, Opened, Booked, Failed, Unknown int
}

// dayStats counts, per store, the follow-ups due on day (one scan of all follow-ups).
func (s *Store) dayStats(ctx context.Context, day flows.Day) (map[string]*DayStats, error) {
	out := map[string]*DayStats{}
	err := s.db.View(func(tx *bolt.Tx) error {
		n := 0
		return tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			var it Item
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("decode follow-up %s: %w", k, err)
			}
			st := out[it.FollowUp.StoreID]
			if st == nil {
				st = &DayStats{}
				out[it.FollowUp.StoreID] = st
			}
			if flows.DayOf(it.FollowUp.DueAt) != day {
				return nil
			}
			st.Due++
			if !it.SentAt.IsZero() {
				st.Sent++
			}
			if !it.OpenedAt.IsZero() {
				st.Opened++
			}
			if !it.BookedAt.IsZero() {
				st.Booked++
			}
			switch it.Status {
			case StatusFailed:
				st.Failed++
			case StatusUnknown:
				st.Unknown++
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("daily summary: %w", err)
	}
	return out, nil
}

func summaryText(storeID string, day flows.Day, st DayStats, rows []OverdueRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**门店 %s 随访日报 %s**\n", storeID, day)
	fmt.Fprintf(&b, "> 今日到期 %d，已发送 %d，已打开 %d，已预约复诊 %d，失败 %d，待核实 %d\n",
		st.Due, st.Sent, st.Opened, st.Booked, st.Failed, st.Unknown)
	fmt.Fprintf(&b, "逾期随访 %d 条\n", len(rows))
	for _, r := range rows {
		fmt.Fprintf(&b, "> %s 药师 %s：%s\n", r.FollowUpID, r.PharmacistID, reasonZh(r.Reason))
	}
	return b.String()
}

// DailySummary composes a store's daily WeCom summary (markdown) for the local day of
// now: follow-ups due that day, sent, opened, booked, and every overdue follow-up.
func (s *Store) DailySummary(ctx context.Context, rule OverdueRule, storeID string, now time.Time) (string, error) {
	day := flows.DayOf(now)
	stats, err := s.dayStats(ctx, day)
	if err != nil {
		return "", err
	}
	rows, err := s.OverdueWith(ctx, rule, storeID, now)
	if err != nil {
		return "", err
	}
	var st DayStats
	if p := stats[storeID]; p != nil {
		st = *p
	}
	return summaryText(storeID, day, st, rows), nil
}

// summaries posts each store's daily summary once a day after SummaryAt. One scan of
// the follow-ups and one of the open ones serve all stores.
func (d *Dispatcher) summaries(ctx context.Context) error {
	now := d.cfg.Now()
	day := flows.DayOf(now)
	if now.Sub(day.Time()) < d.cfg.SummaryAt {
		return nil
	}
	stats, err := d.st.dayStats(ctx, day)
	if err != nil {
		return err
	}
	var todo []string
	_ = d.st.db.View(func(tx *bolt.Tx) error {
		for store := range stats {
			if tx.Bucket(bucketSummary).Get(pairKey(store, day.String())) == nil {
				todo = append(todo, store)
			}
		}
		return nil
	})
	if len(todo) == 0 {
		return nil
	}
	sort.Strings(todo)
	rows, err := d.st.OverdueWith(ctx, d.cfg.Overdue, "", now)
	if err != nil {
		return err
	}
	byStore := map[string][]OverdueRow{}
	for _, r := range rows {
		byStore[r.StoreID] = append(byStore[r.StoreID], r)
	}
	for _, store := range todo {
		if err := d.cfg.Notifier.Notify(ctx, store, summaryText(store, day, *stats[store], byStore[store])); err != nil {
			return fmt.Errorf("daily summary store %s: %w", store, err)
		}
		err := d.st.db.Update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketSummary).Put(pairKey(store, day.String()), []byte{1}); err != nil {
				return err
			}
			return d.st.AuditTx(tx, "hq", "summary.post", "store="+store+" day="+day.String(), now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
