package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// CreditPoints implements hq.PointsStore: credits ev once, in its own transaction.
func (s *Store) CreditPoints(ctx context.Context, ev flows.PointsEvent) (bool, error) {
	var credited bool
	err := s.update(ctx, "credit points", func(tx *bolt.Tx) error {
		var err error
		credited, err = creditPointsTx(tx, ev)
		return err
	})
	return credited, err
}

// creditPointsTx credits ev inside tx, once per event id (a repeated id credits
// nothing and returns false).
func creditPointsTx(tx *bolt.Tx, ev flows.PointsEvent) (bool, error) {
	credited, err := recordEvent(tx, ev)
	if err != nil || !credited {
		return credited, err
	}
	if err := addPoints(tx.Bucket(bPTotals), pair(ev.StoreID, ev.PharmacistID), int64(ev.Points)); err != nil {
		return false, fmt.Errorf("credit points %s: %w", ev.ID, err)
	}
	return true, nil
}

// recordEvent stores ev under its store and id unless it is there already (credited=false); the
// caller adds its points to the totals.
func recordEvent(tx *bolt.Tx, ev flows.PointsEvent) (bool, error) {
	if ev.ID == "" || ev.StoreID == "" || ev.PharmacistID == "" {
		return false, fmt.Errorf("credit points: event needs id, store_id and pharmacist_id: %w", hq.ErrInvalid)
	}
	eb := tx.Bucket(bPEvents)
	k := pair(ev.StoreID, ev.ID)
	if eb.Get(k) != nil {
		return false, nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("credit points %s: %w", ev.ID, err)
	}
	if err := eb.Put(k, b); err != nil {
		return false, fmt.Errorf("credit points %s: %w", ev.ID, err)
	}
	return true, nil
}

// addPoints adds n to the total under k (store 0x00 pharmacist).
func addPoints(tb *bolt.Bucket, k []byte, n int64) error {
	var total int64
	if v := tb.Get(k); len(v) == 8 {
		total = int64(binary.BigEndian.Uint64(v))
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(total+n))
	return tb.Put(k, buf[:])
}

// Points implements hq.PointsStore.
func (s *Store) Points(ctx context.Context, storeID, pharmacistID string) ([]wire.PointsRow, error) {
	var rows []wire.PointsRow
	err := s.view(ctx, "points", func(tx *bolt.Tx) error {
		c := tx.Bucket(bPTotals).Cursor()
		var prefix []byte
		if storeID != "" {
			prefix = append([]byte(storeID), 0)
		}
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			st, ph, ok := bytes.Cut(k, []byte{0})
			if !ok || len(v) != 8 {
				return fmt.Errorf("corrupt points total %q", k)
			}
			if pharmacistID != "" && string(ph) != pharmacistID {
				continue
			}
			rows = append(rows, wire.PointsRow{StoreID: string(st), PharmacistID: string(ph), Points: int(int64(binary.BigEndian.Uint64(v)))})
		}
		return nil
	})
	if rows == nil {
		rows = []wire.PointsRow{}
	}
	return rows, err
}
