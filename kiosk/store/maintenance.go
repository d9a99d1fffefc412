package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/flows/customerkey"
)

// ctxWriter stops a long backup when ctx is cancelled.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Backup writes a consistent copy of the whole store to w from one read transaction
// (bbolt's tx.WriteTo): it runs while the app keeps working. It returns the bytes written.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(ctxWriter{ctx, w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	s.log.Info("store backed up", "bytes", n)
	return n, nil
}

// PurgeStats reports what Purge removed and what it had to keep.
type PurgeStats struct {
	Cutoff           flows.Day `json:"cutoff"` // records dated before this day were eligible
	Purchases        int       `json:"purchases"`
	Visits           int       `json:"visits"`
	KeptUnsynced     int       `json:"kept_unsynced"` // old finished visits HQ has not acknowledged
	KeptInProgress   int       `json:"kept_in_progress"`
	OutboxUntouched  int       `json:"outbox_untouched"` // pending + parked entries (never purged)
	RetentionApplied string    `json:"retention"`
}

// purgeChunk bounds the keys one purge transaction looks at, so the app is never blocked
// for long.
const purgeChunk = 20000

// Purge deletes purchases dated before now − retention and finished visits started before
// it that HQ has acknowledged. Unsynced visits and every outbox entry (pending or parked)
// are kept. It works in bounded transactions and stops early when ctx is cancelled.
func (s *Store) Purge(ctx context.Context, now time.Time) (PurgeStats, error) {
	st := PurgeStats{Cutoff: flows.DayOf(now.Add(-s.retention)), RetentionApplied: s.retention.String()}
	cut := codec.AppendDay(nil, st.Cutoff)

	// Purchases: keys are ordered by customer, so scan all, chunk by chunk.
	var resume []byte
	for done := false; !done; {
		err := s.update(ctx, func(tx *bolt.Tx) error {
			pb, ids := tx.Bucket(bPurchases), tx.Bucket(bPurchaseIDs)
			c := pb.Cursor()
			var k []byte
			if resume == nil {
				k, _ = c.First()
			} else {
				k, _ = c.Seek(resume)
			}
			var del [][]byte
			n := 0
			for ; k != nil && n < purgeChunk; k, _ = c.Next() {
				n++
				if len(k) > purchaseKeyPrefix && bytes.Compare(k[32:36], cut) < 0 {
					del = append(del, bytes.Clone(k))
				}
			}
			if k == nil {
				done = true
			} else {
				resume = bytes.Clone(k)
			}
			for _, k := range del {
				if err := pb.Delete(k); err != nil {
					return err
				}
				if err := ids.Delete(k[purchaseKeyPrefix:]); err != nil {
					return err
				}
			}
			st.Purchases += len(del)
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("purge purchases: %w", err)
		}
	}

	// Visits: the day index is ordered by day; stop at the cutoff.
	resume = nil
	for done := false; !done; {
		err := s.update(ctx, func(tx *bolt.Tx) error {
			vs, byDay := tx.Bucket(bVisits), tx.Bucket(bVisitsByDay)
			c := byDay.Cursor()
			k, _ := c.First()
			if resume != nil {
				k, _ = c.Seek(resume)
			}
			var del [][]byte
			n := 0
			for ; k != nil && n < purgeChunk && bytes.Compare(k[:4], cut) < 0; k, _ = c.Next() {
				n++
				rec := vs.Get(k[4:])
				if rec == nil {
					del = append(del, bytes.Clone(k)) // dangling index entry
					continue
				}
				h, _, err := splitVisit(k[4:], rec)
				if err != nil {
					return err
				}
				switch syncState(tx, h) {
				case stateOpen:
					st.KeptInProgress++
				case stateAcked:
					del = append(del, bytes.Clone(k))
				default:
					st.KeptUnsynced++
				}
			}
			if k == nil || bytes.Compare(k[:4], cut) >= 0 {
				done = true
			} else {
				resume = bytes.Clone(k)
			}
			for _, k := range del {
				if err := vs.Delete(k[4:]); err != nil {
					return err
				}
				if err := byDay.Delete(k); err != nil {
					return err
				}
			}
			st.Visits += len(del)
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("purge visits: %w", err)
		}
	}
	if ost, err := s.Stats(ctx); err == nil {
		st.OutboxUntouched = ost.Pending + ost.Rejected
	}
	s.log.Info("store purged", "cutoff", st.Cutoff.String(), "purchases", st.Purchases, "visits", st.Visits,
		"kept_unsynced", st.KeptUnsynced, "kept_in_progress", st.KeptInProgress)
	return st, nil
}

// DeleteStats reports what DeleteCustomer changed.
type DeleteStats struct {
	Purchases      int `json:"purchases"`       // purchases deleted
	Visits         int `json:"visits"`          // visits whose customer key was scrubbed
	OutboxRewrites int `json:"outbox_rewrites"` // queued visit entries rewritten without the key
	OutboxDropped  int `json:"outbox_dropped"`  // queued purchase entries of the customer removed
}

// DeleteCustomer serves a PIPL deletion request at this kiosk, in one transaction: the
// customer's purchases are deleted, the customer key (and masked ID) is scrubbed from
// every visit, queued visit entries are rewritten without it and queued purchase entries
// of the customer are removed. Records HQ already holds must be deleted at HQ as well.
func (s *Store) DeleteCustomer(ctx context.Context, customerKey string) (DeleteStats, error) {
	var st DeleteStats
	if !customerkey.Valid(customerKey) {
		return st, fmt.Errorf("delete customer: %w: customer key must be 32 lower-case hex characters", ErrInvalid)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		st = DeleteStats{}
		// Purchases: one prefix range.
		pb, ids := tx.Bucket(bPurchases), tx.Bucket(bPurchaseIDs)
		prefix := []byte(customerKey)
		var del [][]byte
		c := pb.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			del = append(del, bytes.Clone(k))
		}
		for _, k := range del {
			if err := pb.Delete(k); err != nil {
				return err
			}
			if err := ids.Delete(k[purchaseKeyPrefix:]); err != nil {
				return err
			}
		}
		st.Purchases = len(del)

		// Visits: scrub the key.
		vs := tx.Bucket(bVisits)
		scrubbed := map[string][]byte{} // id → new visit JSON
		recs := map[string][]byte{}     // id → new record
		if err := vs.ForEach(func(k, v []byte) error {
			if !bytes.Contains(v, prefix) {
				return nil
			}
			visit, _, err := decodeVisit(k, v)
			if err != nil {
				return err
			}
			if !scrubVisit(&visit, customerKey) {
				return nil
			}
			b, err := json.Marshal(visit)
			if err != nil {
				return err
			}
			scrubbed[string(k)] = b
			h, _, _ := splitVisit(k, v)
			recs[string(k)] = visitRecord(h, b)
			return nil
		}); err != nil {
			return err
		}
		for id, rec := range recs {
			if err := vs.Put([]byte(id), rec); err != nil {
				return err
			}
		}
		st.Visits = len(scrubbed)

		// Outbox (pending and parked).
		meta := tx.Bucket(bMeta)
		ob := tx.Bucket(bOutbox)
		var changes []outboxChange
		if err := ob.ForEach(func(k, v []byte) error {
			e, err := decodeEntry(k, v)
			if err != nil {
				return err
			}
			switch {
			case e.Kind == kindVisit && len(e.Body) > 0 && scrubbed[e.ID] != nil: // a copied body (schema 1)
				changes = append(changes, outboxChange{bytes.Clone(k), encodeEntry(e.Kind, e.ID, scrubbed[e.ID])})
			case e.Kind == kindPurchase && bytes.Contains(e.Body, prefix):
				changes = append(changes, outboxChange{key: bytes.Clone(k)})
			}
			return nil
		}); err != nil {
			return err
		}
		if err := applyChanges(ob, meta, keyPending, changes, &st); err != nil {
			return err
		}
		pk := tx.Bucket(bOutboxParked)
		changes = changes[:0]
		if err := pk.ForEach(func(k, v []byte) error {
			p, e, err := decodeParked(k, v)
			if err != nil {
				return err
			}
			switch {
			case e.Kind == kindVisit && len(e.Body) > 0 && scrubbed[e.ID] != nil:
				changes = append(changes, outboxChange{bytes.Clone(k), encodeParked(p.Reason, p.ParkedAt, encodeEntry(e.Kind, e.ID, scrubbed[e.ID]))})
			case e.Kind == kindPurchase && bytes.Contains(e.Body, prefix):
				changes = append(changes, outboxChange{key: bytes.Clone(k)})
			}
			return nil
		}); err != nil {
			return err
		}
		if err := applyChanges(pk, meta, keyParked, changes, &st); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return DeleteStats{}, fmt.Errorf("delete customer: %w", err)
	}
	s.log.Info("customer deleted", "purchases", st.Purchases, "visits", st.Visits,
		"outbox_rewrites", st.OutboxRewrites, "outbox_dropped", st.OutboxDropped)
	return st, nil
}

// scrubVisit removes the customer key and masked id from a visit; it reports whether
// the visit referred to the customer.
func scrubVisit(v *flows.Visit, key string) bool {
	hit := false
	if v.CustomerKey == key {
		v.CustomerKey, v.CustomerMasked = "", ""
		hit = true
	}
	if v.FollowUp != nil && v.FollowUp.FollowUp != nil && v.FollowUp.FollowUp.CustomerKey == key {
		v.FollowUp.FollowUp.CustomerKey = ""
		hit = true
	}
	return hit
}

// CompactTo writes a compacted copy of the store to a new file at path (which must not
// exist): only live data is copied, so the pages freed by Purge or DeleteCustomer — which
// bbolt does not zero — are not carried over, and the file shrinks. Replace kiosk.db with
// the copy while the app is stopped.
func (s *Store) CompactTo(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("compact: %s exists", path)
	}
	dst, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: DefaultLockTimeout})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	err = bolt.Compact(dst, s.db, 64<<20)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

// outboxChange is one rewrite of an outbox entry by DeleteCustomer.
type outboxChange struct {
	key, val []byte // val nil: delete
}

// applyChanges writes changes into the outbox bucket b (pending or parked): a nil val
// deletes the entry and lowers b's counter in meta by one.
func applyChanges(b, meta *bolt.Bucket, counter []byte, changes []outboxChange, st *DeleteStats) error {
	for _, ch := range changes {
		if ch.val == nil {
			if err := b.Delete(ch.key); err != nil {
				return err
			}
			if err := addU64(meta, counter, -1); err != nil {
				return err
			}
			st.OutboxDropped++
			continue
		}
		if err := b.Put(ch.key, ch.val); err != nil {
			return err
		}
		st.OutboxRewrites++
	}
	return nil
}
