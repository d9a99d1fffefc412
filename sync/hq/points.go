package hq

import (
	"context"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

// PointsStore is the pharmacists' points ledger: events credited once by id, and the
// totals they add up to.
type PointsStore interface {
	// CreditPoints credits one points event once: credited is false (and nothing
	// changes) when its id was credited before to the same store, by any path (ingest,
	// link, booking). Event ids are scoped per store like visit ids (an event id is
	// derived from a visit or follow-up id a store chose): the same id at another store
	// is another event.
	// An event without id, store or pharmacist is ErrInvalid. Concurrent calls with
	// one id credit it once.
	CreditPoints(ctx context.Context, ev flows.PointsEvent) (credited bool, err error)
	// Points returns point totals, filtered by store and/or pharmacist (empty: all),
	// sorted by store then pharmacist; never nil.
	Points(ctx context.Context, storeID, pharmacistID string) ([]wire.PointsRow, error)
}
