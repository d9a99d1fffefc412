package hq

import (
	"context"

	"github.com/pharmachain/counter/flows"
)

// PurchaseStore keeps the chain's POS purchases for the 90-day history.
type PurchaseStore interface {
	// IngestPurchases stores purchases (already resolved against the catalog) in ONE
	// commit, deduplicated by purchase id (within the call and against earlier ones).
	// A purchase without id or with a customer key that is not 32 lower-case hex
	// characters fails the whole call with ErrInvalid and stores nothing. Every field
	// of flows.Purchase is kept (History gives it back).
	IngestPurchases(ctx context.Context, ps []flows.Purchase) (IngestResult, error)
	// History returns a customer's purchases sold on local days [from, to] (both
	// included), oldest first (ties by purchase id). A malformed key is ErrInvalid.
	History(ctx context.Context, customerKey string, from, to flows.Day) ([]flows.Purchase, error)
}
