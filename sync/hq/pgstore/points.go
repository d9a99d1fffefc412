package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

func checkEvent(ev flows.PointsEvent) error {
	if ev.ID == "" || ev.StoreID == "" || ev.PharmacistID == "" {
		return fmt.Errorf("points event %q: needs id, store_id and pharmacist_id: %w", ev.ID, hq.ErrInvalid)
	}
	return nil
}

// CreditPoints implements hq.PointsStore.
func (s *Store) CreditPoints(ctx context.Context, ev flows.PointsEvent) (bool, error) {
	if err := checkEvent(ev); err != nil {
		return false, fmt.Errorf("credit points: %w", err)
	}
	var credited bool
	err := s.tx(ctx, "credit points", func(tx pgx.Tx) error {
		n, err := creditEvents(ctx, tx, []flows.PointsEvent{ev})
		credited = n == 1
		return err
	})
	return credited, err
}

// creditEvents records the events whose ids are new and adds their points to the
// totals, in the caller's transaction; it returns how many were new. Events are
// inserted in id order and totals updated in key order (no deadlocks between
// concurrent commits).
func creditEvents(ctx context.Context, tx pgx.Tx, evs []flows.PointsEvent) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	n := len(evs)
	ids, stores, pharms, kinds, refs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	pts := make([]int32, n)
	ats := make([]*timeT, n)
	for i, ev := range evs {
		ids[i], stores[i], pharms[i], kinds[i], refs[i], pts[i], ats[i] = ev.ID, ev.StoreID, ev.PharmacistID, ev.Kind, ev.Ref, int32(ev.Points), ts(ev.At)
	}
	// One statement: the inserted events' points summed into the totals.
	var credited int
	err := tx.QueryRow(ctx, creditSQL,
		ids, stores, pharms, kinds, pts, ats, refs).Scan(&credited)
	return credited, err
}

// creditSQL records the events whose ids are new and adds their points to the totals
// in one statement; it returns how many were new.
const creditSQL = `WITH ins AS (
			INSERT INTO points_events (id, store_id, pharmacist_id, kind, points, at, ref)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[], $7::text[]) ORDER BY 1
			ON CONFLICT (store_id, id) DO NOTHING
			RETURNING store_id, pharmacist_id, points),
		tot AS (
			INSERT INTO points_totals (store_id, pharmacist_id, points)
			SELECT store_id, pharmacist_id, sum(points) FROM ins GROUP BY 1, 2 ORDER BY 1, 2
			ON CONFLICT (store_id, pharmacist_id) DO UPDATE SET points = points_totals.points + EXCLUDED.points)
		SELECT count(*) FROM ins`

// queueCredit is creditEvents without the count, for a pipelined batch.
func queueCredit(ctx context.Context, q execer, evs []flows.PointsEvent) error {
	if len(evs) == 0 {
		return nil
	}
	n := len(evs)
	ids, stores, pharms, kinds, refs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	pts := make([]int32, n)
	ats := make([]*timeT, n)
	for i, ev := range evs {
		ids[i], stores[i], pharms[i], kinds[i], refs[i], pts[i], ats[i] = ev.ID, ev.StoreID, ev.PharmacistID, ev.Kind, ev.Ref, int32(ev.Points), ts(ev.At)
	}
	_, err := q.Exec(ctx, creditSQL, ids, stores, pharms, kinds, pts, ats, refs)
	return err
}

// Points implements hq.PointsStore.
func (s *Store) Points(ctx context.Context, storeID, pharmacistID string) ([]wire.PointsRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT store_id, pharmacist_id, points FROM points_totals
		WHERE ($1 = '' OR store_id = $1) AND ($2 = '' OR pharmacist_id = $2) ORDER BY store_id, pharmacist_id`, storeID, pharmacistID)
	if err != nil {
		return nil, wrap("points", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wire.PointsRow, error) {
		var p wire.PointsRow
		var n int64
		err := r.Scan(&p.StoreID, &p.PharmacistID, &n)
		p.Points = int(n)
		return p, err
	})
	if err != nil {
		return nil, wrap("points", err)
	}
	if out == nil {
		out = []wire.PointsRow{}
	}
	return out, nil
}
