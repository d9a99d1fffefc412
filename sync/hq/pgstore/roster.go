package pgstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// PutPharmacist implements hq.RosterStore.
func (s *Store) PutPharmacist(ctx context.Context, p flows.Pharmacist) error {
	if p.StoreID == "" || p.ID == "" {
		return fmt.Errorf("put pharmacist: store_id and id are required: %w", hq.ErrInvalid)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put pharmacist: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO roster (store_id, pharmacist_id, body) VALUES ($1, $2, $3)
		ON CONFLICT (store_id, pharmacist_id) DO UPDATE SET body = EXCLUDED.body`, p.StoreID, p.ID, b)
	if err != nil {
		return wrap("put pharmacist", err)
	}
	return nil
}

// Roster implements hq.RosterStore.
func (s *Store) Roster(ctx context.Context, storeID string) ([]flows.Pharmacist, error) {
	rows, err := s.pool.Query(ctx, `SELECT body FROM roster WHERE store_id = $1 ORDER BY pharmacist_id`, storeID)
	if err != nil {
		return nil, wrap("roster", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (flows.Pharmacist, error) {
		var b []byte
		var p flows.Pharmacist
		if err := r.Scan(&b); err != nil {
			return p, err
		}
		return p, json.Unmarshal(b, &p)
	})
	if err != nil {
		return nil, wrap("roster", err)
	}
	if out == nil {
		out = []flows.Pharmacist{}
	}
	return out, nil
}
