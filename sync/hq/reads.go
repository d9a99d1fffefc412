package hq

import (
	"context"
	"time"
)

// HistoryRead is one read of a customer's chain-wide purchase history (GET
// /api/v1/customers/{key}/history): who read which customer, when. It is the one log
// that holds customer keys — a customer (PIPL art. 45) may ask who looked at their data —
// so ForgetCustomer deletes a customer's reads, and PurgeBefore applies the retention.
type HistoryRead struct {
	At          time.Time `json:"at"`
	Reader      string    `json:"reader"` // "store:S001", or "admin:LABEL"
	StoreID     string    `json:"store_id,omitempty"`
	CustomerKey string    `json:"customer_key"`
}

// ReadQuery selects history reads.
type ReadQuery struct {
	CustomerKey string    // empty: every customer
	StoreID     string    // empty: every reader
	From, To    time.Time // From ≤ At < To; zero bounds are open
	Limit       int       // ≤ 0: 100; at most 10 000
}

// ReadLogStore keeps the history reads.
type ReadLogStore interface {
	// LogReads appends reads in ONE commit (callers batch them: a read is on the kiosk's
	// 800 ms path and must not wait for a commit). A malformed customer key is ErrInvalid
	// and nothing is written.
	LogReads(ctx context.Context, reads []HistoryRead) error
	// Reads returns the reads matching q, newest first, at most q.Limit. A malformed
	// q.CustomerKey is ErrInvalid.
	Reads(ctx context.Context, q ReadQuery) ([]HistoryRead, error)
}

// EffectiveLimit is the limit a store applies to q.
func (q ReadQuery) EffectiveLimit() int {
	switch {
	case q.Limit <= 0:
		return 100
	case q.Limit > 10000:
		return 10000
	}
	return q.Limit
}
