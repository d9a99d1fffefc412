package hq

import (
	"context"

	"github.com/pharmachain/counter/flows"
)

// VisitIngest is one service record of a batch with everything its acceptance brings.
// The store writes Points, FollowUps, Audit and Flags only when it inserts the visit (a
// duplicate brings nothing), in the same commit as the visit and its rollups.
type VisitIngest struct {
	Visit flows.Visit
	// Raw is the record's JSON as received (validated); stored verbatim when set,
	// saving a re-encode. Nil: the store encodes Visit.
	Raw []byte
	// Points are credited idempotently by event id (as CreditPoints).
	Points []flows.PointsEvent
	// FollowUps are scheduled (status scheduled, due at NextAt), each only if its
	// follow-up id is new; an id already known is left as it is. Each needs an id, the
	// visit's store, a NextAt and a due time (ValidateFollowUp), else the whole batch
	// is ErrInvalid.
	FollowUps []FollowUpItem
	// Audit entries are appended (Seq assigned by the store).
	Audit []AuditEntry
	// Flags are appended (Seq assigned by the store), e.g. FlagNotOnRoster.
	Flags []Flag
}

// IngestResult counts what a batch did.
type IngestResult struct {
	Accepted   int
	Duplicates int
	// Accepted records' ids, in batch order.
	AcceptedIDs []string
}

// VisitStore keeps the stores' service records (visits).
//
// Visit ids are chosen by the stores' kiosks, so they are scoped per store: a visit is
// known by (store id, visit id), and a record of S002 whose id S001 already used is
// S002's own visit, never a duplicate of S001's. So are the points events a store's
// records bring (see PointsStore).
type VisitStore interface {
	// IngestVisits stores a batch of one store's records in ONE commit: a record whose
	// visit id the store storeID has sent before — in an earlier batch, earlier in this
	// batch, or as a purged tombstone — counts as a duplicate and changes nothing; the
	// same id at another store does not. A new one is stored with everything of its
	// VisitIngest, and rolled up per store, pharmacist and local day the visit started
	// (flows.VisitContribution). Invalid input anywhere in the batch (an empty storeID, a
	// visit of another store than storeID, a visit without id, a malformed customer key,
	// a follow-up without id or due time, a points event without id, store or
	// pharmacist) fails the whole batch with ErrInvalid and stores nothing of it; so
	// does any other error. Concurrent batches holding the same id store it once.
	IngestVisits(ctx context.Context, storeID string, batch []VisitIngest) (IngestResult, error)
	// Visit returns store storeID's visit id; ErrNotFound if absent or purged.
	Visit(ctx context.Context, storeID, id string) (flows.Visit, error)
	// VisitsWithID returns every store's visit with this id (not purged), sorted by
	// store id; none: an empty slice. For callers that learn a visit id without its
	// store (WeCom hands back the visit id of a contact QR code).
	VisitsWithID(ctx context.Context, id string) ([]flows.Visit, error)
}
