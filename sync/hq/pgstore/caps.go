package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// creditCapped credits a link's event ev in tx under the daily cap (0: none): the day's
// tally is raised by one conditional upsert (its row lock orders concurrent opens, also
// on other replicas), and only if that stays within the cap is the event credited. It
// reports whether the cap withheld it; then flags get 0 points and the cap's flag.
func creditCapped(ctx context.Context, tx pgx.Tx, ev flows.PointsEvent, cap int, flags []hq.Flag) (bool, []hq.Flag, error) {
	if ev.ID == "" {
		return false, flags, nil
	}
	if cap > 0 {
		var total int32
		err := tx.QueryRow(ctx, `INSERT INTO points_daily AS d (store_id, pharmacist_id, kind, day, points)
			SELECT $1::text, $2::text, $3::text, $4::int4, $5::int4 WHERE $5::int4 <= $6::int4
			ON CONFLICT (store_id, pharmacist_id, kind, day) DO UPDATE SET points = d.points + EXCLUDED.points
				WHERE d.points + EXCLUDED.points <= $6::int4
			RETURNING points`, ev.StoreID, ev.PharmacistID, ev.Kind, int32(flows.DayOf(ev.At)), int32(ev.Points), int32(cap)).Scan(&total)
		if errors.Is(err, pgx.ErrNoRows) {
			out := make([]hq.Flag, 0, len(flags)+1)
			for _, f := range flags {
				f.Points = 0
				out = append(out, f)
			}
			return true, append(out, hq.CapFlag(ev, cap)), nil
		}
		if err != nil {
			return false, flags, err
		}
	}
	return false, flags, creditOne(ctx, tx, ev)
}
