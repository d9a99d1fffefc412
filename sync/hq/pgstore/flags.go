package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/sync/hq"
)

// appendFlags appends flags in the caller's transaction, in order.
func appendFlags(ctx context.Context, tx execer, flags []hq.Flag) error {
	if len(flags) == 0 {
		return nil
	}
	n := len(flags)
	ats := make([]timeT, n)
	kinds, stores, pharms, refs, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	pts := make([]int32, n)
	for i, f := range flags {
		ats[i], kinds[i], stores[i], pharms[i], refs[i], pts[i], details[i] = f.At.UTC(), f.Kind, f.StoreID, f.PharmacistID, f.Ref, int32(f.Points), f.Detail
	}
	_, err := tx.Exec(ctx, `INSERT INTO flags (at, kind, store_id, pharmacist_id, ref, points, detail)
		SELECT at, kind, store_id, pharmacist_id, ref, points, detail
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::text[])
			WITH ORDINALITY AS f(at, kind, store_id, pharmacist_id, ref, points, detail, n) ORDER BY n`,
		ats, kinds, stores, pharms, refs, pts, details)
	return err
}

// Flags implements hq.FlagStore.
func (s *Store) Flags(ctx context.Context, q hq.FlagQuery) ([]hq.Flag, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, at, kind, store_id, pharmacist_id, ref, points, detail FROM flags
		WHERE ($1 = '' OR store_id = $1) AND ($2 = '' OR kind = $2)
			AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
		ORDER BY seq DESC LIMIT $5`, q.StoreID, q.Kind, ts(q.From), ts(q.To), q.FlagLimit())
	if err != nil {
		return nil, wrap("flags", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hq.Flag, error) {
		var f hq.Flag
		var seq int64
		var pts int32
		err := r.Scan(&seq, &f.At, &f.Kind, &f.StoreID, &f.PharmacistID, &f.Ref, &pts, &f.Detail)
		f.Seq, f.At, f.Points = uint64(seq), f.At.UTC(), int(pts)
		return f, err
	})
	if err != nil {
		return nil, wrap("flags", err)
	}
	return out, nil
}
