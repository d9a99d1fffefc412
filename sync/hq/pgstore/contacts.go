package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// BindContact implements hq.ContactStore. The visit check is part of the upsert, so
// two callbacks binding one visit to different contacts at once cannot both win.
func (s *Store) BindContact(ctx context.Context, c hq.Contact, audit []hq.AuditEntry) error {
	if c.StoreID == "" || c.CustomerKey == "" || c.Sender == "" || c.ExternalUserID == "" {
		return fmt.Errorf("bind contact: store_id, customer_key, sender and external_userid are required: %w", hq.ErrInvalid)
	}
	return s.tx(ctx, "bind contact", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO contacts (store_id, customer_key, sender, external_userid, consent_at, visit_id)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (store_id, customer_key) DO UPDATE SET sender = EXCLUDED.sender, external_userid = EXCLUDED.external_userid,
				consent_at = EXCLUDED.consent_at, visit_id = EXCLUDED.visit_id
			WHERE EXCLUDED.visit_id = '' OR contacts.visit_id <> EXCLUDED.visit_id OR contacts.external_userid = EXCLUDED.external_userid`,
			c.StoreID, c.CustomerKey, c.Sender, c.ExternalUserID, ts(c.ConsentAt), c.VisitID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("visit %s: %w", c.VisitID, hq.ErrVisitAlreadyBound)
		}
		return appendAudit(ctx, tx, audit)
	})
}

// Contact implements hq.ContactStore.
func (s *Store) Contact(ctx context.Context, storeID, customerKey string) (hq.Contact, bool, error) {
	c := hq.Contact{StoreID: storeID, CustomerKey: customerKey}
	var consent *time.Time
	err := s.pool.QueryRow(ctx, `SELECT sender, external_userid, consent_at, visit_id FROM contacts WHERE store_id = $1 AND customer_key = $2`,
		storeID, customerKey).Scan(&c.Sender, &c.ExternalUserID, &consent, &c.VisitID)
	if errors.Is(err, pgx.ErrNoRows) {
		return hq.Contact{}, false, nil
	}
	if err != nil {
		return hq.Contact{}, false, wrap("get contact", err)
	}
	c.ConsentAt = tm(consent)
	return c, true, nil
}

// UnbindExternal implements hq.ContactStore.
func (s *Store) UnbindExternal(ctx context.Context, u hq.Unbind) (hq.UnbindResult, error) {
	var res hq.UnbindResult
	if u.ExternalUserID == "" {
		return res, fmt.Errorf("unbind contact: empty external_userid: %w", hq.ErrInvalid)
	}
	err := s.tx(ctx, "unbind contact", func(tx pgx.Tx) error {
		res = hq.UnbindResult{}
		rows, err := tx.Query(ctx, `DELETE FROM contacts WHERE external_userid = $1 AND ($2 = '' OR sender = $2) RETURNING store_id, customer_key`,
			u.ExternalUserID, u.Sender)
		if err != nil {
			return err
		}
		type bound struct{ store, customer string }
		drop, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (bound, error) {
			var b bound
			err := r.Scan(&b.store, &b.customer)
			return b, err
		})
		if err != nil {
			return err
		}
		for _, d := range drop {
			res.Contacts++
			tag, err := tx.Exec(ctx, `UPDATE followups SET status = 'failed', last_code = $4, last_reason = $5, lease_owner = '', lease_until = NULL
				WHERE store_id = $1 AND customer_key = $2 AND channel = $3 AND status = 'scheduled'`,
				d.store, d.customer, flows.ChannelWeCom, u.Code, u.Reason)
			if err != nil {
				return err
			}
			res.Cancelled += int(tag.RowsAffected())
		}
		return appendAudit(ctx, tx, []hq.AuditEntry{hq.UnbindAudit(u.Actor, res, u.At)})
	})
	return res, err
}
