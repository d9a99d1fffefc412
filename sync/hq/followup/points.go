package followup

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

// LedgerFunc adapts a credit function (e.g. the HQ store's CreditPoints) to PointsLedger.
type LedgerFunc func(ctx context.Context, ev flows.PointsEvent) (bool, error)

// Credit implements PointsLedger.
func (f LedgerFunc) Credit(ctx context.Context, ev flows.PointsEvent) (bool, error) {
	return f(ctx, ev)
}

// TxLedger adapts a pair of functions to TxPointsLedger, e.g.
// TxLedger{Fn: hqStore.CreditPoints, TxFn: boltstore.CreditPointsTx} for the HQ's ledger
// living in the same bbolt file.
type TxLedger struct {
	Fn   func(ctx context.Context, ev flows.PointsEvent) (bool, error)
	TxFn func(tx *bolt.Tx, ev flows.PointsEvent) (bool, error)
}

// Credit implements PointsLedger.
func (l TxLedger) Credit(ctx context.Context, ev flows.PointsEvent) (bool, error) {
	return l.Fn(ctx, ev)
}

// CreditTx implements TxPointsLedger.
func (l TxLedger) CreditTx(tx *bolt.Tx, ev flows.PointsEvent) (bool, error) { return l.TxFn(tx, ev) }

// pointsEvent builds the event of kind for a follow-up under rules (flows.PointsRules:
// id = follow-up id + ":" + kind). A kind the rules do not price earns 0.
func pointsEvent(rules flows.PointsRules, fu flows.FollowUp, kind string, at time.Time) flows.PointsEvent {
	ev, err := rules.Event(kind, fu.StoreID, fu.PharmacistID, fu.ID, at)
	if err != nil {
		return flows.PointsEvent{ID: flows.PointsEventID(fu.ID, kind), StoreID: fu.StoreID,
			PharmacistID: fu.PharmacistID, Kind: kind, At: at, Ref: fu.ID}
	}
	return ev
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
	if err := createBuckets(db, bucketPtsEvents, bucketPtsTotals); err != nil {
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
