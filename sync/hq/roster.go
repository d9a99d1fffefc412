package hq

import (
	"context"
	"fmt"

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

// RosterSet returns the ids of a store's pharmacists (a visit or credit of anyone else
// earns no points: FlagNotOnRoster).
func RosterSet(ctx context.Context, st RosterStore, storeID string) (map[string]bool, error) {
	ps, err := st.Roster(ctx, storeID)
	if err != nil {
		return nil, fmt.Errorf("roster of %s: %w", storeID, err)
	}
	set := make(map[string]bool, len(ps))
	for _, p := range ps {
		set[p.ID] = true
	}
	return set, nil
}
