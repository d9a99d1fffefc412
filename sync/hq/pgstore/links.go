package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// checkLinkPoints: a link's points event must pay the follow-up's own pharmacist.
func checkLinkPoints(it hq.FollowUpItem, ev flows.PointsEvent) error {
	if ev.ID == "" {
		return nil
	}
	if err := checkEvent(ev); err != nil {
		return err
	}
	if ev.StoreID != it.FollowUp.StoreID || ev.PharmacistID != it.FollowUp.PharmacistID {
		return fmt.Errorf("points event %s for %s/%s, but follow-up %s belongs to %s/%s: %w", ev.ID,
			ev.StoreID, ev.PharmacistID, it.FollowUp.ID, it.FollowUp.StoreID, it.FollowUp.PharmacistID, hq.ErrInvalid)
	}
	return nil
}

func creditOne(ctx context.Context, tx pgx.Tx, ev flows.PointsEvent) error {
	if ev.ID == "" {
		return nil
	}
	_, err := creditEvents(ctx, tx, []flows.PointsEvent{ev})
	return err
}

// OpenLink implements hq.LinkStore. The follow-up row is locked for the transaction,
// so of two replicas recording the same open at the same moment one waits for the
// other and then finds it opened: points are credited once.
func (s *Store) OpenLink(ctx context.Context, o hq.LinkOpen) (hq.LinkOutcome, error) {
	var out hq.LinkOutcome
	err := s.tx(ctx, "record link open", func(tx pgx.Tx) error {
		it, err := getItem(ctx, tx, o.ID, true)
		if err != nil {
			return err
		}
		out = hq.LinkOutcome{Item: it, Opened: !it.OpenedAt.IsZero()}
		if out.Opened {
			return nil
		}
		if err := checkLinkPoints(it, o.Points); err != nil {
			return err
		}
		it.OpenedAt = o.At
		if _, err := tx.Exec(ctx, `UPDATE followups SET opened_at = $2 WHERE id = $1`, o.ID, o.At); err != nil {
			return err
		}
		capped, flags, err := creditCapped(ctx, tx, o.Points, o.DailyCap, o.Flags)
		if err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, o.Audit); err != nil {
			return err
		}
		if err := appendFlags(ctx, tx, flags); err != nil {
			return err
		}
		out = hq.LinkOutcome{Item: it, First: true, Opened: true, Capped: capped}
		return nil
	})
	if err != nil {
		return hq.LinkOutcome{}, err
	}
	return out, nil
}

// BookRevisit implements hq.LinkStore.
func (s *Store) BookRevisit(ctx context.Context, b hq.RevisitBooking) (hq.LinkOutcome, error) {
	var out hq.LinkOutcome
	err := s.tx(ctx, "record booking", func(tx pgx.Tx) error {
		it, err := getItem(ctx, tx, b.ID, true)
		if err != nil {
			return err
		}
		out = hq.LinkOutcome{Item: it, Opened: !it.OpenedAt.IsZero()}
		if !out.Opened {
			return nil
		}
		var booked bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE followup_id = $1)`, b.ID).Scan(&booked); err != nil {
			return err
		}
		if booked {
			return nil
		}
		if err := checkLinkPoints(it, b.Points); err != nil {
			return err
		}
		it.BookedAt = b.At
		if _, err := tx.Exec(ctx, `UPDATE followups SET booked_at = $2 WHERE id = $1`, b.ID, b.At); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bookings (followup_id, store_id, day, slot, at) VALUES ($1, $2, $3, $4, $5)`,
			b.ID, it.FollowUp.StoreID, int32(b.Date), b.Slot, b.At); err != nil {
			return err
		}
		capped, flags, err := creditCapped(ctx, tx, b.Points, b.DailyCap, b.Flags)
		if err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, b.Audit); err != nil {
			return err
		}
		if err := appendFlags(ctx, tx, flags); err != nil {
			return err
		}
		out = hq.LinkOutcome{Item: it, First: true, Opened: true, Capped: capped}
		return nil
	})
	if err != nil {
		return hq.LinkOutcome{}, err
	}
	return out, nil
}

// Booking implements hq.LinkStore.
func (s *Store) Booking(ctx context.Context, id string) (hq.Booking, bool, error) {
	b := hq.Booking{FollowUpID: id}
	var day int32
	err := s.pool.QueryRow(ctx, `SELECT store_id, day, slot, at FROM bookings WHERE followup_id = $1`, id).Scan(&b.StoreID, &day, &b.Slot, &b.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return hq.Booking{}, false, nil
	}
	if err != nil {
		return hq.Booking{}, false, wrap("get booking", err)
	}
	b.Date = flows.Day(day)
	return b, true, nil
}
