package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

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
	return s.update(ctx, "put pharmacist", func(tx *bolt.Tx) error {
		return tx.Bucket(bRoster).Put(pair(p.StoreID, p.ID), b)
	})
}

// Roster implements hq.RosterStore.
func (s *Store) Roster(ctx context.Context, storeID string) ([]flows.Pharmacist, error) {
	out := []flows.Pharmacist{}
	err := s.view(ctx, "roster", func(tx *bolt.Tx) error {
		c := tx.Bucket(bRoster).Cursor()
		prefix := append([]byte(storeID), 0)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p flows.Pharmacist
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode pharmacist %q: %w", k, err)
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
