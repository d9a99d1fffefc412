package hq

import (
	"context"
	"time"
)

// Flag kinds: what HQ marks for a person to look at (points that cannot be
// farmed with a store token).
const (
	// FlagNotOnRoster: a visit of a pharmacist who is not on the store's roster (or a
	// link or booking of such a visit's follow-up). The record is kept; it earns no
	// points. Shown as 未在花名册.
	FlagNotOnRoster = "not_on_roster"
	// FlagFastOpen: a tracked link opened within FastOpenWindow of its send — sooner than
	// a customer reads a WeCom message.
	FlagFastOpen = "fast_open"
	// FlagKioskAddress: a tracked link opened from an address the store's own token
	// syncs from (the counter PC, not the customer's phone).
	FlagKioskAddress = "kiosk_address"
	// FlagDailyCap: a link or booking credit withheld because the pharmacist reached the
	// day's cap of its kind (flows.PointsCaps).
	FlagDailyCap = "daily_cap"
)

// FastOpenWindow: a link opened sooner than this after its send is flagged FlagFastOpen.
const FastOpenWindow = 60 * time.Second

// Flag is one flagged record or credit. It never holds a customer key or a customer's
// address.
type Flag struct {
	Seq          uint64    `json:"seq"`
	At           time.Time `json:"at"`
	Kind         string    `json:"kind"`
	StoreID      string    `json:"store_id"`
	PharmacistID string    `json:"pharmacist_id"`
	Ref          string    `json:"ref"`              // the visit id (not_on_roster) or follow-up id
	Points       int       `json:"points"`           // points credited with it (0: withheld)
	Detail       string    `json:"detail,omitempty"` // e.g. "opened 12s after the send"
}

// FlagQuery selects flags.
type FlagQuery struct {
	StoreID  string    // empty: every store
	Kind     string    // empty: every kind
	From, To time.Time // From ≤ At < To; zero bounds are open
	Limit    int       // ≤ 0: 100; at most 10 000
}

// FlagStore keeps the flags. Flags are written as data by the calls whose records they
// mark (VisitIngest.Flags, LinkOpen.Flags, RevisitBooking.Flags), in their commit and
// only when those calls store something new.
type FlagStore interface {
	// Flags returns the flags matching q, newest (highest Seq) first, at most q.Limit.
	Flags(ctx context.Context, q FlagQuery) ([]Flag, error)
}

// FlagLimit is the effective limit of a query.
func (q FlagQuery) FlagLimit() int {
	switch {
	case q.Limit <= 0:
		return 100
	case q.Limit > 10000:
		return 10000
	}
	return q.Limit
}

// Match reports whether f is selected by q (Limit aside).
func (q FlagQuery) Match(f Flag) bool {
	return (q.StoreID == "" || f.StoreID == q.StoreID) && (q.Kind == "" || f.Kind == q.Kind) &&
		(q.From.IsZero() || !f.At.Before(q.From)) && (q.To.IsZero() || f.At.Before(q.To))
}

// FlagLabel is a flag kind's label on the dashboard and in the API.
func FlagLabel(kind string) string {
	switch kind {
	case FlagNotOnRoster:
		return "未在花名册"
	case FlagFastOpen:
		return "发送后 60 秒内打开"
	case FlagKioskAddress:
		return "从门店同步地址打开"
	case FlagDailyCap:
		return "超出每日积分上限"
	}
	return kind
}
