package followup

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/wecom"
)

// Overdue reasons.
const (
	OverdueNotSent   = "not_sent"   // not confirmed sent within SendWithin of its due time
	OverdueNotOpened = "not_opened" // sent, but the link not opened within OpenWithin
)

// OverdueRule is the 闭环校验 rule.
type OverdueRule struct {
	SendWithin time.Duration // default flows.SendWithin (2 h) after due
	OpenWithin time.Duration // default flows.OverdueAfter (72 h) after the send
}

func (r OverdueRule) withDefaults() OverdueRule {
	if r.SendWithin <= 0 {
		r.SendWithin = flows.SendWithin
	}
	if r.OpenWithin <= 0 {
		r.OpenWithin = flows.OverdueAfter
	}
	return r
}

// Check applies the rule to an item at now: the reason and since when it is overdue.
func (r OverdueRule) Check(it hq.FollowUpItem, now time.Time) (reason string, since time.Time, overdue bool) {
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
	EscalatedAt  time.Time `json:"escalated_at,omitzero"` // posted to the store's staff
}

// Overdue lists the overdue follow-ups of a store (empty: all stores) at now under rule
// (zero: the default 2 h / 72 h), oldest first. Only follow-ups whose link was never
// opened are candidates (hq.FollowUpStore.Unopened), so opened ones cost nothing.
func Overdue(ctx context.Context, st hq.FollowUpStore, rule OverdueRule, storeID string, now time.Time) ([]OverdueRow, error) {
	rule = rule.withDefaults()
	its, err := st.Unopened(ctx, hq.UnopenedQuery{StoreID: storeID, DueBefore: now.Add(-rule.SendWithin), SentBefore: now.Add(-rule.OpenWithin)})
	if err != nil {
		return nil, fmt.Errorf("overdue follow-ups: %w", err)
	}
	var rows []OverdueRow
	for _, it := range its {
		reason, since, over := rule.Check(it, now)
		if !over || (storeID != "" && it.FollowUp.StoreID != storeID) {
			continue
		}
		rows = append(rows, OverdueRow{
			FollowUpID: it.FollowUp.ID, VisitID: it.FollowUp.VisitID, StoreID: it.FollowUp.StoreID,
			PharmacistID: it.FollowUp.PharmacistID, Channel: it.FollowUp.Channel, Status: it.Status,
			Reason: reason, Code: it.LastCode, Detail: it.LastReason, DueAt: it.FollowUp.DueAt, SentAt: it.SentAt,
			OverdueSince: since, EscalatedAt: it.EscalatedAt,
		})
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
func FollowupsHandler(st hq.FollowUpStore, callerOf func(*http.Request) (Caller, bool), now func() time.Time) http.Handler {
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
		rows, err := Overdue(r.Context(), st, OverdueRule{}, store, now())
		if err != nil {
			writeJSONError(w, hq.FailStatus(w.Header(), err), "overdue report unavailable")
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

// escalate posts each newly overdue follow-up to its store once, also with several HQ
// processes: each follow-up's escalation is a notice claimed once.
func (d *Dispatcher) escalate(ctx context.Context) error {
	now := d.cfg.Now()
	rows, err := Overdue(ctx, d.st, d.cfg.Overdue, "", now)
	if err != nil {
		return err
	}
	byStore := map[string][]OverdueRow{}
	for _, r := range rows {
		if !r.EscalatedAt.IsZero() {
			continue
		}
		ok, err := d.claimNotice(ctx, "escalate/"+r.FollowUpID, now)
		if err != nil {
			return err
		}
		if ok {
			byStore[r.StoreID] = append(byStore[r.StoreID], r)
		}
	}
	for _, store := range slices.Sorted(maps.Keys(byStore)) {
		rs := byStore[store]
		var b strings.Builder
		fmt.Fprintf(&b, "**随访逾期提醒**（门店 %s，%d 条）\n", store, len(rs))
		ids := make([]string, len(rs))
		for i, r := range rs {
			fmt.Fprintf(&b, "> 随访 %s 药师 %s：%s\n", r.FollowUpID, r.PharmacistID, reasonZh(r.Reason))
			ids[i] = r.FollowUpID
		}
		if err := d.cfg.Notifier.Notify(ctx, store, b.String()); err != nil {
			for _, id := range ids {
				d.releaseNotice(ctx, "escalate/"+id)
			}
			return fmt.Errorf("escalate store %s: %w", store, err)
		}
		audit := []hq.AuditEntry{{At: now, Actor: "hq", Action: "followup.escalate", Detail: fmt.Sprintf("store=%s count=%d", store, len(rs))}}
		if err := d.st.MarkEscalated(ctx, ids, now, audit); err != nil {
			return err
		}
	}
	return nil
}

// claimNotice claims a notice key for this dispatcher, remembering keys known taken.
func (d *Dispatcher) claimNotice(ctx context.Context, key string, now time.Time) (bool, error) {
	d.mu.Lock()
	known := d.noticed[key]
	d.mu.Unlock()
	if known {
		return false, nil
	}
	ok, err := d.st.ClaimNotice(ctx, key, d.cfg.Owner, now)
	if err != nil {
		return false, fmt.Errorf("claim notice %s: %w", key, err)
	}
	d.mu.Lock()
	d.noticed[key] = true
	if len(d.noticed) > 100000 { // bounded: a forgotten key only costs one more store call
		clear(d.noticed)
	}
	d.mu.Unlock()
	return ok, nil
}

// releaseNotice gives up this dispatcher's claim of key (posting failed).
func (d *Dispatcher) releaseNotice(ctx context.Context, key string) {
	d.mu.Lock()
	delete(d.noticed, key)
	d.mu.Unlock()
	if err := d.st.ReleaseNotice(context.WithoutCancel(ctx), key, d.cfg.Owner); err != nil {
		d.log.Error("release notice", "key", key, "err", err)
	}
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

func summaryText(storeID string, day flows.Day, st hq.FollowUpDayStats, rows []OverdueRow) string {
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
func DailySummary(ctx context.Context, st hq.FollowUpStore, rule OverdueRule, storeID string, now time.Time) (string, error) {
	day := flows.DayOf(now)
	stats, err := st.FollowUpDay(ctx, day)
	if err != nil {
		return "", fmt.Errorf("daily summary: %w", err)
	}
	rows, err := Overdue(ctx, st, rule, storeID, now)
	if err != nil {
		return "", err
	}
	return summaryText(storeID, day, stats[storeID], rows), nil
}

// summaries posts each store's daily summary once a day after SummaryAt, also with
// several HQ processes: each store-day's summary is a notice claimed once. One count
// of the day's follow-ups and one overdue scan serve all stores.
func (d *Dispatcher) summaries(ctx context.Context) error {
	now := d.cfg.Now()
	day := flows.DayOf(now)
	if now.Sub(day.Time()) < d.cfg.SummaryAt {
		return nil
	}
	stats, err := d.st.FollowUpDay(ctx, day)
	if err != nil {
		return fmt.Errorf("daily summary: %w", err)
	}
	var byStore map[string][]OverdueRow
	for _, store := range slices.Sorted(maps.Keys(stats)) {
		key := "summary/" + store + "/" + day.String()
		ok, err := d.claimNotice(ctx, key, now)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if byStore == nil {
			rows, err := Overdue(ctx, d.st, d.cfg.Overdue, "", now)
			if err != nil {
				d.releaseNotice(ctx, key)
				return err
			}
			byStore = map[string][]OverdueRow{}
			for _, r := range rows {
				byStore[r.StoreID] = append(byStore[r.StoreID], r)
			}
		}
		if err := d.cfg.Notifier.Notify(ctx, store, summaryText(store, day, stats[store], byStore[store])); err != nil {
			d.releaseNotice(ctx, key)
			return fmt.Errorf("daily summary store %s: %w", store, err)
		}
		if err := d.st.Audit(ctx, hq.AuditEntry{At: now, Actor: "hq", Action: "summary.post", Detail: "store=" + store + " day=" + day.String()}); err != nil {
			return err
		}
	}
	return nil
}
