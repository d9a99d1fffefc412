package hq

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

// ErrNotFound is returned by a Store when a token, pharmacist or other keyed item is absent.
var ErrNotFound = errors.New("not found")

// ErrInvalid marks input a Store refuses (e.g. a malformed customer key); the server
// answers 400 with the error's text.
var ErrInvalid = errors.New("invalid")

// Principal is who a bearer token speaks for: one store, or the chain (admin).
type Principal struct {
	StoreID   string    `json:"store_id,omitempty"` // empty for an admin token
	Admin     bool      `json:"admin,omitempty"`
	Label     string    `json:"label,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// VisitIngest is one service record of a batch with what its acceptance earns. The
// server derives Points from the points rules; the store credits them in the same
// transaction as the record, and only when the record is new.
type VisitIngest struct {
	Visit flows.Visit
	// Raw is the record's JSON as received (validated); stored verbatim when set,
	// saving a re-encode. Nil: the store encodes Visit.
	Raw    []byte
	Points []flows.PointsEvent // credited idempotently by event id
}

// IngestResult counts what a batch did.
type IngestResult struct {
	Accepted   int
	Duplicates int
	// Accepted records' ids, in batch order.
	AcceptedIDs []string
}

// CompletionQuery selects the rollups a completion report reads. Zero From/To: unbounded.
type CompletionQuery struct {
	StoreID      string // empty: all stores
	PharmacistID string // empty: all
	From, To     flows.Day
	GroupBy      string // "store", "pharmacist" or "day"
}

// CompletionGroup is one group of the completion report: the merged flows.Rollup
// (visits, completed, funnel, stalled steps, step durations) of its days.
type CompletionGroup struct {
	Key          string // store id, "store/pharmacist" or YYYY-MM-DD per GroupBy
	StoreID      string // GroupBy store or pharmacist
	PharmacistID string // GroupBy pharmacist
	Day          flows.Day
	Rollup       flows.Rollup
}

// Row turns the group into the API's report row.
func (g CompletionGroup) Row() wire.CompletionRow {
	r := g.Rollup
	row := wire.CompletionRow{Key: g.Key, StoreID: g.StoreID, PharmacistID: g.PharmacistID,
		Visits: r.Visits, Completed: r.Completed, Rate: math.Round(r.Rate()*100) / 100,
		Funnel: wire.Funnel{Identified: r.Funnel[0], Questionnaire: r.Funnel[1], Recommended: r.Funnel[2], FollowUp: r.Funnel[3]}}
	if g.Day != 0 {
		row.Day = g.Day.String()
	}
	return row
}

// Group-by values of the completion report.
const (
	GroupByStore      = "store"
	GroupByPharmacist = "pharmacist"
	GroupByDay        = "day"
)

// Store is the HQ storage. The embedded default is sync/hq/boltstore; a PostgreSQL
// backend implements the same interface. Every method is safe for concurrent use.
type Store interface {
	// PutToken stores a token's SHA-256 hash (hex) and whom it speaks for.
	PutToken(ctx context.Context, hash string, p Principal) error
	// LookupToken finds a token by its SHA-256 hash (hex); ErrNotFound if unknown.
	LookupToken(ctx context.Context, hash string) (Principal, error)

	// IngestVisits stores a batch of one store's service records in ONE transaction:
	// records whose id was seen before count as duplicates and change nothing; new ones
	// are stored, rolled up per store/pharmacist/day and their points credited.
	IngestVisits(ctx context.Context, storeID string, batch []VisitIngest) (IngestResult, error)
	// IngestPurchases stores purchases (already resolved against the catalog) in one
	// transaction, deduplicated by purchase id.
	IngestPurchases(ctx context.Context, ps []flows.Purchase) (IngestResult, error)
	// History returns a customer's purchases sold on local days [from, to], oldest first.
	History(ctx context.Context, customerKey string, from, to flows.Day) ([]flows.Purchase, error)

	// Completion merges the daily rollups selected by q into one group per
	// q.GroupBy key, sorted by key.
	Completion(ctx context.Context, q CompletionQuery) ([]CompletionGroup, error)
	// CreditPoints credits one points event once: credited is false when its id was
	// credited before.
	CreditPoints(ctx context.Context, ev flows.PointsEvent) (credited bool, err error)
	// Points returns point totals, filtered by store and/or pharmacist (empty: all),
	// sorted by store then pharmacist.
	Points(ctx context.Context, storeID, pharmacistID string) ([]wire.PointsRow, error)

	// PutPharmacist adds or replaces a roster entry.
	PutPharmacist(ctx context.Context, p flows.Pharmacist) error
	// Roster returns a store's pharmacists sorted by id.
	Roster(ctx context.Context, storeID string) ([]flows.Pharmacist, error)

	// Close releases the storage (flushes and closes files).
	Close() error
}
