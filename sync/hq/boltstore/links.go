package boltstore

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// checkLinkPoints refuses a points event that is not the follow-up's own.
func checkLinkPoints(it hq.FollowUpItem, ev flows.PointsEvent) error {
	if ev.ID == "" {
		return nil
	}
	if ev.StoreID != it.FollowUp.StoreID || ev.PharmacistID != it.FollowUp.PharmacistID {
		return fmt.Errorf("points event %s for %s/%s, but follow-up %s belongs to %s/%s: %w", ev.ID,
			ev.StoreID, ev.PharmacistID, it.FollowUp.ID, it.FollowUp.StoreID, it.FollowUp.PharmacistID, hq.ErrInvalid)
	}
	return nil
}

// OpenLink implements hq.LinkStore.
func (s *Store) OpenLink(ctx context.Context, o hq.LinkOpen) (hq.LinkOutcome, error) {
	var out hq.LinkOutcome
	err := s.update(ctx, "record link open", func(tx *bolt.Tx) error {
		it, err := mustItem(tx, o.ID)
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
		if err := putItem(tx, it); err != nil {
			return err
		}
		if err := tx.Bucket(bOpen).Delete([]byte(o.ID)); err != nil {
			return err
		}
		capped, flags, err := creditCapped(tx, o.Points, o.DailyCap, o.Flags)
		if err != nil {
			return err
		}
		if err := appendAudit(tx, o.Audit); err != nil {
			return err
		}
		if err := appendFlags(tx, flags); err != nil {
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
	err := s.update(ctx, "record booking", func(tx *bolt.Tx) error {
		it, err := mustItem(tx, b.ID)
		if err != nil {
			return err
		}
		out = hq.LinkOutcome{Item: it, Opened: !it.OpenedAt.IsZero()}
		if !out.Opened || tx.Bucket(bBookings).Get([]byte(b.ID)) != nil {
			return nil
		}
		if err := checkLinkPoints(it, b.Points); err != nil {
			return err
		}
		it.BookedAt = b.At
		if err := putItem(tx, it); err != nil {
			return err
		}
		bk := hq.Booking{FollowUpID: b.ID, StoreID: it.FollowUp.StoreID, Date: b.Date, Slot: b.Slot, At: b.At}
		if err := putJSON(tx.Bucket(bBookings), []byte(b.ID), bk); err != nil {
			return err
		}
		capped, flags, err := creditCapped(tx, b.Points, b.DailyCap, b.Flags)
		if err != nil {
			return err
		}
		if err := appendAudit(tx, b.Audit); err != nil {
			return err
		}
		if err := appendFlags(tx, flags); err != nil {
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
	var b hq.Booking
	var ok bool
	err := s.view(ctx, "get booking", func(tx *bolt.Tx) error {
		data := tx.Bucket(bBookings).Get([]byte(id))
		if data == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(data, &b)
	})
	return b, ok, err
}
