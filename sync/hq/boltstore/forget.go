package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
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

// PurgeStats reports what PurgeBefore removed.
type PurgeStats struct {
	Cutoff    flows.Day `json:"cutoff"`    // records dated before this day were removed
	Purchases int       `json:"purchases"` // purchase history rows (and their ids)
	Visits    int       `json:"visits"`    // visit records reduced to a tombstone (their rollups and points stay)
}

// PurgeBefore applies HQ's retention: purchases sold before cutoff are deleted, and
// visits started before it are reduced to a tombstone holding only their id (so a very
// late resend is still a duplicate, never a second record). The daily rollups and the
// points ledger are aggregates without customer data and stay, so completion reports and
// points keep their history. It works in transactions of at most 20 000 changes so ingest
// is never blocked for long.
func (s *Store) PurgeBefore(ctx context.Context, cutoff flows.Day) (PurgeStats, error) {
	st := PurgeStats{Cutoff: cutoff}
	const chunk = 20000
	for {
		n := 0
		err := s.update(ctx, "purge purchases", func(tx *bolt.Tx) error {
			hb, pb := tx.Bucket(bHist), tx.Bucket(bPurchases)
			var keys [][]byte
			c := hb.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < chunk; k, _ = c.Next() {
				if len(k) >= 20 && dayFrom(k[16:20]) < cutoff {
					keys = append(keys, append([]byte(nil), k...))
				}
			}
			for _, k := range keys {
				if err := hb.Delete(k); err != nil {
					return err
				}
				if err := pb.Delete(k[20:]); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Purchases += n
		if n < chunk {
			break
		}
	}
	for {
		n := 0
		err := s.update(ctx, "purge visits", func(tx *bolt.Tx) error {
			vb := tx.Bucket(bVisits)
			var keys [][]byte
			err := vb.ForEach(func(k, v []byte) error {
				if len(keys) >= chunk {
					return nil
				}
				var head struct {
					StartedAt time.Time `json:"started_at"`
				}
				if err := json.Unmarshal(v, &head); err != nil {
					return fmt.Errorf("visit %s: %w", k, err)
				}
				if !head.StartedAt.IsZero() && flows.DayOf(head.StartedAt) < cutoff { // zero: a tombstone
					keys = append(keys, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range keys {
				tomb, err := json.Marshal(map[string]string{"id": string(k), "outcome": "purged"})
				if err != nil {
					return err
				}
				if err := vb.Put(k, tomb); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Visits += n
		if n < chunk {
			break
		}
	}
	return st, nil
}
