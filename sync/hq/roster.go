package hq

import (
	"context"

	"github.com/pharmachain/counter/flows"
)

// RosterStore keeps each store's pharmacists (kiosks pull it for offline sign-in).
type RosterStore interface {
	// PutPharmacist adds or replaces a roster entry; store and id are required
	// (ErrInvalid).
	PutPharmacist(ctx context.Context, p flows.Pharmacist) error
	// Roster returns a store's pharmacists sorted by id; never nil.
	Roster(ctx context.Context, storeID string) ([]flows.Pharmacist, error)
}
