package wire

import (
	"context"
	"encoding/json"
	"time"
)

// Outbox kinds.
const (
	KindVisit    = "visit"    // body: flows.Visit
	KindPurchase = "purchase" // body: flows.Purchase
)

// OutboxEntry is one record waiting to reach HQ. Seq is the store-local order.
type OutboxEntry struct {
	Seq  uint64          `json:"seq"`
	Kind string          `json:"kind"`
	ID   string          `json:"id"` // the record id (visit ULID); HQ dedups on it
	Body json.RawMessage `json:"body"`
}

// OutboxStats is what the kiosk banner and `kiosk sync status` show.
type OutboxStats struct {
	Pending      int       `json:"pending"`
	Rejected     int       `json:"rejected"`
	LastSync     time.Time `json:"last_sync,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	RejectReason string    `json:"reject_reason,omitempty"` // HQ's reason for the newest parked batch
}

// Outbox is the kiosk store's transactional outbox as the drainer sees it. The kiosk's
// bbolt store implements it; an entry is written in the same transaction as the visit.
type Outbox interface {
	// Peek returns up to max pending entries in Seq order, whose bodies add up to at
	// most maxBytes (at least one entry is returned if any is pending). Parked entries
	// are skipped.
	Peek(ctx context.Context, max, maxBytes int) ([]OutboxEntry, error)
	// Ack removes the entries: HQ has acknowledged them.
	Ack(ctx context.Context, seqs []uint64) error
	// Park moves the entries aside as rejected, with HQ's reason; they are kept, never dropped.
	Park(ctx context.Context, seqs []uint64, reason string) error
	// RecordSync notes a sync attempt's outcome (err nil: success at t).
	RecordSync(ctx context.Context, t time.Time, err error) error
	// Stats reports backlog and the last successful sync.
	Stats(ctx context.Context) (OutboxStats, error)
}

// OutboxPeekAfter is optionally implemented by an Outbox whose reads can start after a
// given seq. The drainer then reads and posts batch N+1 while batch N's Ack is still
// being committed locally (one request in flight, batches in seq order); without it,
// each Ack finishes before the next Peek.
type OutboxPeekAfter interface {
	// PeekAfter is Peek limited to entries whose Seq is greater than after.
	PeekAfter(ctx context.Context, after uint64, max, maxBytes int) ([]OutboxEntry, error)
}
