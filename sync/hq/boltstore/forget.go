package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ForgetStats reports what DeleteCustomer changed.
type ForgetStats struct {
	Purchases int `json:"purchases"` // purchases deleted (history rows and their ids)
	Visits    int `json:"visits"`    // visits whose customer key and masked ID were scrubbed
	Extra     int `json:"extra"`     // what the extra hook changed (follow-ups, contacts)
}

// DeleteCustomer serves a PIPL deletion request (art. 47) at HQ in ONE transaction: the
// customer's purchases are deleted (their history rows are one key range) and the
// customer key and masked ID are scrubbed from every visit (rollups and points are
// aggregates and stay). extra, if set, runs in the same transaction for the parts of the
// file other packages own (the follow-up store); it returns how many items it changed.
// bbolt does not zero freed pages: compact the file afterwards (docs/operations.md).
func (s *Store) DeleteCustomer(ctx context.Context, customerKey string, extra func(tx *bolt.Tx) (int, error)) (ForgetStats, error) {
	ck, err := keyBytes(customerKey)
	if err != nil {
		return ForgetStats{}, fmt.Errorf("customer key: %w", err)
	}
	var st ForgetStats
	err = s.update(ctx, "delete customer", func(tx *bolt.Tx) error {
		st = ForgetStats{}
		hb, pb := tx.Bucket(bHist), tx.Bucket(bPurchases)
		var keys [][]byte
		c := hb.Cursor()
		for k, _ := c.Seek(ck); k != nil && bytes.HasPrefix(k, ck); k, _ = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range keys {
			if err := hb.Delete(k); err != nil {
				return err
			}
			if len(k) > 20 {
				if err := pb.Delete(k[20:]); err != nil {
					return err
				}
			}
			st.Purchases++
		}
		vb := tx.Bucket(bVisits)
		type rewrite struct{ k, v []byte }
		var rewrites []rewrite
		needle := []byte(customerKey)
		err := vb.ForEach(func(k, v []byte) error {
			if !bytes.Contains(v, needle) {
				return nil
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("visit %s: %w", k, err)
			}
			var got string
			if json.Unmarshal(m["customer_key"], &got) != nil || got != customerKey {
				return nil
			}
			m["customer_key"] = json.RawMessage(`""`)
			delete(m, "customer_masked")
			if fu, ok := m["followup"]; ok {
				m["followup"] = bytes.ReplaceAll(fu, needle, nil)
			}
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			rewrites = append(rewrites, rewrite{append([]byte(nil), k...), b})
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range rewrites {
			if err := vb.Put(r.k, r.v); err != nil {
				return err
			}
		}
		st.Visits = len(rewrites)
		if extra != nil {
			n, err := extra(tx)
			if err != nil {
				return err
			}
			st.Extra = n
		}
		return nil
	})
	return st, err
}
