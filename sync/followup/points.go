package followup

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pharmachain/counter/flows"
	bolt "go.etcd.io/bbolt"
)

// PointsLedger credits pharmacists. Credit is idempotent by ev.ID: the first call for an
// id credits and returns true, every later call returns false and changes nothing.
// The HQ server owns the real ledger; BoltLedger is this package's stand-in.
type PointsLedger interface {
	Credit(ctx context.Context, ev flows.PointsEvent) (credited bool, err error)
}

// TxPointsLedger is a ledger that can credit inside the caller's bbolt write transaction.
// When the ledger given to LinkHandler implements it, the click (or booking) and its
// points commit together in one transaction.
type TxPointsLedger interface {
	PointsLedger
	CreditTx(tx *bolt.Tx, ev flows.PointsEvent) (credited bool, err error)
}

// PointsRules gives the points of an event kind (0: the kind earns nothing).
type PointsRules func(kind string) int

// DefaultPointsRules are the defaults of shared/reference: a link opened +2, a revisit
// booked +3, a completed visit +1.
func DefaultPointsRules(kind string) int {
	switch kind {
	case flows.PointsVisitComplete:
		return 1
	case flows.PointsLinkOpened:
		return 2
	case flows.PointsRevisitBooked:
		return 3
	}
	return 0
}

var (
	bucketPtsEvents = []byte("fu_points_events") // event id → PointsEvent
	bucketPtsTotals = []byte("fu_points_totals") // store id + 0x00 + pharmacist id → BE int64
)

// BoltLedger is a PointsLedger on bbolt (buckets fu_points_events, fu_points_totals). It
// is used by this package's tests and until the HQ server's own ledger is wired in.
type BoltLedger struct {
	db *bolt.DB
}

// NewBoltLedger creates the ledger's buckets in db.
func NewBoltLedger(db *bolt.DB) (*BoltLedger, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketPtsEvents, bucketPtsTotals} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("points ledger: %w", err)
	}
	return &BoltLedger{db: db}, nil
}

// Credit implements PointsLedger.
func (l *BoltLedger) Credit(ctx context.Context, ev flows.PointsEvent) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var ok bool
	err := l.db.Update(func(tx *bolt.Tx) error {
		var err error
		ok, err = l.CreditTx(tx, ev)
		return err
	})
	return ok, err
}

// CreditTx implements TxPointsLedger.
func (l *BoltLedger) CreditTx(tx *bolt.Tx, ev flows.PointsEvent) (bool, error) {
	if ev.ID == "" || ev.PharmacistID == "" || ev.StoreID == "" {
		return false, errors.New("points event needs id, store_id and pharmacist_id")
	}
	evs := tx.Bucket(bucketPtsEvents)
	if evs.Get([]byte(ev.ID)) != nil {
		return false, nil
	}
	if err := putJSON(evs, []byte(ev.ID), ev); err != nil {
		return false, err
	}
	tot := tx.Bucket(bucketPtsTotals)
	k := pairKey(ev.StoreID, ev.PharmacistID)
	var cur int64
	if v := tot.Get(k); len(v) == 8 {
		cur = int64(binary.BigEndian.Uint64(v))
	}
	cur += int64(ev.Points)
	if err := tot.Put(k, binary.BigEndian.AppendUint64(nil, uint64(cur))); err != nil {
		return false, fmt.Errorf("points total: %w", err)
	}
	return true, nil
}

// Total returns a pharmacist's points.
func (l *BoltLedger) Total(ctx context.Context, storeID, pharmacistID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketPtsTotals).Get(pairKey(storeID, pharmacistID)); len(v) == 8 {
			n = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return int(n), err
}

// Events returns the number of credited events (tests).
func (l *BoltLedger) Events(ctx context.Context) (map[string]flows.PointsEvent, error) {
	out := map[string]flows.PointsEvent{}
	err := l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPtsEvents).ForEach(func(k, v []byte) error {
			var ev flows.PointsEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			out[string(k)] = ev
			return nil
		})
	})
	return out, err
}
