package followup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pharmachain/counter/flows"
	bolt "go.etcd.io/bbolt"
)

// ReasonContactRemoved is the reason a scheduled WeCom follow-up is cancelled with when
// the customer and the store's staff member are no longer WeCom contacts.
const ReasonContactRemoved = "customer removed the WeCom contact"

// ErrVisitAlreadyBound: a visit's QR code already bound the customer to another WeCom
// contact (someone else scanned the same code); the first binding stays.
var ErrVisitAlreadyBound = errors.New("visit already bound to another WeCom contact")

// BindContact records (or replaces) a customer's WeCom contact binding for a store and
// appends an audit entry (action contact.bind, with actor and detail, which must hold no
// customer key or WeCom id) in the same transaction. With c.VisitID set, a visit binds
// one WeCom contact only: binding the same visit to another external contact gives
// ErrVisitAlreadyBound (a repeat of the same binding, e.g. WeCom retrying, is fine).
func (s *Store) BindContact(ctx context.Context, c Contact, actor, detail string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.StoreID == "" || c.CustomerKey == "" || c.Sender == "" || c.ExternalUserID == "" {
		return fmt.Errorf("%w: contact needs store_id, customer_key, sender and external_userid", ErrInvalid)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketContacts)
		k := pairKey(c.StoreID, c.CustomerKey)
		if c.VisitID != "" {
			if data := b.Get(k); data != nil {
				var old Contact
				if err := json.Unmarshal(data, &old); err != nil {
					return fmt.Errorf("decode contact: %w", err)
				}
				if old.VisitID == c.VisitID && old.ExternalUserID != c.ExternalUserID {
					return fmt.Errorf("%w: visit %s", ErrVisitAlreadyBound, c.VisitID)
				}
			}
		}
		if err := putJSON(b, k, c); err != nil {
			return err
		}
		return s.AuditTx(tx, actor, "contact.bind", detail, now)
	})
}

// UnbindResult says what DeleteContactsByExternal changed.
type UnbindResult struct {
	Contacts  int // bindings removed
	Cancelled int // scheduled WeCom follow-ups cancelled
}

// DeleteContactsByExternal removes the bindings to WeCom external contact
// externalUserID whose sender is sender (empty: any sender) — the customer and that
// staff member are no longer contacts — and cancels the scheduled WeCom follow-ups of
// each unbound customer at that store (status failed, ReasonContactRemoved). One
// transaction, audited contact.unbind with actor (counts only). Bindings are scanned:
// removals are rare.
func (s *Store) DeleteContactsByExternal(ctx context.Context, sender, externalUserID, actor string, now time.Time) (UnbindResult, error) {
	var res UnbindResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if externalUserID == "" {
		return res, fmt.Errorf("%w: empty external_userid", ErrInvalid)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		res = UnbindResult{}
		cb := tx.Bucket(bucketContacts)
		type bound struct{ key, store, customer []byte }
		var drop []bound
		needle, _ := json.Marshal(externalUserID)
		if err := cb.ForEach(func(k, v []byte) error {
			if !bytes.Contains(v, needle) {
				return nil
			}
			var c Contact
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode contact %x: %w", k, err)
			}
			if c.ExternalUserID != externalUserID || (sender != "" && c.Sender != sender) {
				return nil
			}
			drop = append(drop, bound{append([]byte(nil), k...), []byte(c.StoreID), []byte(c.CustomerKey)})
			return nil
		}); err != nil {
			return err
		}
		for _, d := range drop {
			if err := cb.Delete(d.key); err != nil {
				return err
			}
			res.Contacts++
			n, err := s.cancelScheduledTx(tx, string(d.store), string(d.customer), ReasonContactRemoved)
			if err != nil {
				return err
			}
			res.Cancelled += n
		}
		return s.AuditTx(tx, actor, "contact.unbind", fmt.Sprintf("contacts=%d followups_cancelled=%d", res.Contacts, res.Cancelled), now)
	})
	return res, err
}

// cancelScheduledTx fails the scheduled WeCom follow-ups of a customer at a store with
// reason and removes them from the due index.
func (s *Store) cancelScheduledTx(tx *bolt.Tx, storeID, customerKey, reason string) (int, error) {
	var items []Item
	if err := tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, []byte(customerKey)) {
			return nil
		}
		it, ok, err := getItem(tx, string(k))
		if err != nil || !ok {
			return err
		}
		if it.FollowUp.CustomerKey == customerKey && it.FollowUp.StoreID == storeID &&
			it.FollowUp.Channel == flows.ChannelWeCom && it.Status == StatusScheduled {
			items = append(items, it)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, it := range items {
		if err := tx.Bucket(bucketDue).Delete(dueKey(it.NextAt, it.FollowUp.ID)); err != nil {
			return 0, err
		}
		it.Status, it.LastCode, it.LastReason = StatusFailed, "contact_removed", reason
		if err := putItem(tx, it); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}
