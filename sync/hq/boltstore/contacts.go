package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// BindContact implements hq.ContactStore.
func (s *Store) BindContact(ctx context.Context, c hq.Contact, audit []hq.AuditEntry) error {
	if c.StoreID == "" || c.CustomerKey == "" || c.Sender == "" || c.ExternalUserID == "" {
		return fmt.Errorf("bind contact: store_id, customer_key, sender and external_userid are required: %w", hq.ErrInvalid)
	}
	return s.update(ctx, "bind contact", func(tx *bolt.Tx) error {
		b := tx.Bucket(bContacts)
		k := pair(c.StoreID, c.CustomerKey)
		if c.VisitID != "" {
			if data := b.Get(k); data != nil {
				var old hq.Contact
				if err := json.Unmarshal(data, &old); err != nil {
					return fmt.Errorf("decode contact: %w", err)
				}
				if old.VisitID == c.VisitID && old.ExternalUserID != c.ExternalUserID {
					return fmt.Errorf("visit %s: %w", c.VisitID, hq.ErrVisitAlreadyBound)
				}
			}
		}
		if err := putJSON(b, k, c); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
}

// Contact implements hq.ContactStore.
func (s *Store) Contact(ctx context.Context, storeID, customerKey string) (hq.Contact, bool, error) {
	var c hq.Contact
	var ok bool
	err := s.view(ctx, "get contact", func(tx *bolt.Tx) error {
		data := tx.Bucket(bContacts).Get(pair(storeID, customerKey))
		if data == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(data, &c)
	})
	return c, ok, err
}

// UnbindExternal implements hq.ContactStore. Bindings are scanned: removals are rare.
func (s *Store) UnbindExternal(ctx context.Context, u hq.Unbind) (hq.UnbindResult, error) {
	var res hq.UnbindResult
	if u.ExternalUserID == "" {
		return res, fmt.Errorf("unbind contact: empty external_userid: %w", hq.ErrInvalid)
	}
	err := s.update(ctx, "unbind contact", func(tx *bolt.Tx) error {
		res = hq.UnbindResult{}
		cb := tx.Bucket(bContacts)
		type bound struct{ key, store, customer []byte }
		var drop []bound
		needle, _ := json.Marshal(u.ExternalUserID)
		if err := cb.ForEach(func(k, v []byte) error {
			if !bytes.Contains(v, needle) {
				return nil
			}
			var c hq.Contact
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode contact %x: %w", k, err)
			}
			if c.ExternalUserID != u.ExternalUserID || (u.Sender != "" && c.Sender != u.Sender) {
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
			n, err := cancelScheduledTx(tx, string(d.store), string(d.customer), u.Code, u.Reason)
			if err != nil {
				return err
			}
			res.Cancelled += n
		}
		return appendAudit(tx, []hq.AuditEntry{hq.UnbindAudit(u.Actor, res, u.At)})
	})
	return res, err
}

// cancelScheduledTx fails the scheduled WeCom follow-ups of a customer at a store with
// reason and removes them from the due index.
func cancelScheduledTx(tx *bolt.Tx, storeID, customerKey, code, reason string) (int, error) {
	var items []hq.FollowUpItem
	if err := tx.Bucket(bItems).ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, []byte(customerKey)) {
			return nil
		}
		it, ok, err := getItem(tx, string(k))
		if err != nil || !ok {
			return err
		}
		if it.FollowUp.CustomerKey == customerKey && it.FollowUp.StoreID == storeID &&
			it.FollowUp.Channel == flows.ChannelWeCom && it.Status == hq.StatusScheduled {
			items = append(items, it)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, it := range items {
		if err := tx.Bucket(bDue).Delete(dueKey(it.NextAt, it.FollowUp.ID)); err != nil {
			return 0, err
		}
		it.Status, it.LastCode, it.LastReason = hq.StatusFailed, code, reason
		it.LeaseOwner, it.LeaseUntil = "", time.Time{}
		if err := putItem(tx, it); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}
