package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/sync/hq"
)

// ForgetCustomer implements hq.MaintenanceStore in one transaction. bbolt does not
// zero freed pages: Compact the file afterwards (docs/operations.md).
func (s *Store) ForgetCustomer(ctx context.Context, customerKey string, at time.Time) (hq.ForgetStats, error) {
	ck, err := keyBytes(customerKey)
	if err != nil {
		return hq.ForgetStats{}, fmt.Errorf("forget: customer key: %w", err)
	}
	var st hq.ForgetStats
	err = s.update(ctx, "forget customer", func(tx *bolt.Tx) error {
		st = hq.ForgetStats{}
		if st.Purchases, err = forgetPurchases(tx, ck); err != nil {
			return err
		}
		if st.Visits, err = scrubVisits(tx, customerKey); err != nil {
			return err
		}
		if st.Contacts, err = forgetContacts(tx, customerKey); err != nil {
			return err
		}
		if st.FollowUps, err = scrubFollowUps(tx, customerKey); err != nil {
			return err
		}
		if err := forgetEffect(tx, customerKey, ck); err != nil {
			return err
		}
		if _, err := forgetReads(tx, ck); err != nil {
			return err
		}
		return appendAudit(tx, []hq.AuditEntry{hq.ForgetAudit(st, at)})
	})
	return st, err
}

// forgetPurchases deletes the customer's purchases: their history rows are one key range.
func forgetPurchases(tx *bolt.Tx, ck []byte) (int, error) {
	hb, pb := tx.Bucket(bHist), tx.Bucket(bPurchases)
	var keys [][]byte
	c := hb.Cursor()
	for k, _ := c.Seek(ck); k != nil && bytes.HasPrefix(k, ck); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := hb.Delete(k); err != nil {
			return 0, err
		}
		if len(k) > 20 {
			if err := pb.Delete(k[20:]); err != nil {
				return 0, err
			}
		}
	}
	return len(keys), nil
}

// scrubVisits removes the customer key and masked ID from every visit that holds them.
func scrubVisits(tx *bolt.Tx, customerKey string) (int, error) {
	vb := tx.Bucket(bVisits)
	type rewrite struct{ k, v []byte }
	var rewrites []rewrite
	needle := []byte(customerKey)
	err := vb.ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, needle) {
			return nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("visit %s: %w", k, err)
		}
		var got string
		if json.Unmarshal(m["customer_key"], &got) != nil || got != customerKey {
			return nil
		}
		m["customer_key"] = json.RawMessage(`""`)
		delete(m, "customer_masked")
		if fu, ok := m["followup"]; ok {
			m["followup"] = bytes.ReplaceAll(fu, needle, nil)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		rewrites = append(rewrites, rewrite{append([]byte(nil), k...), b})
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, r := range rewrites {
		if err := vb.Put(r.k, r.v); err != nil {
			return 0, err
		}
	}
	return len(rewrites), nil
}

// forgetContacts deletes the customer's WeCom contact bindings at every store.
func forgetContacts(tx *bolt.Tx, customerKey string) (int, error) {
	cb := tx.Bucket(bContacts)
	var drop [][]byte
	suffix := append([]byte{0}, customerKey...)
	if err := cb.ForEach(func(k, _ []byte) error {
		if bytes.HasSuffix(k, suffix) {
			drop = append(drop, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, k := range drop {
		if err := cb.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(drop), nil
}

// scrubFollowUps removes the customer key from the customer's follow-ups and cancels
// those still scheduled.
func scrubFollowUps(tx *bolt.Tx, customerKey string) (int, error) {
	var items []hq.FollowUpItem
	if err := tx.Bucket(bItems).ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, []byte(customerKey)) {
			return nil
		}
		it, ok, err := getItem(tx, string(k))
		if err != nil || !ok || it.FollowUp.CustomerKey != customerKey {
			return err
		}
		items = append(items, it)
		return nil
	}); err != nil {
		return 0, err
	}
	for _, it := range items {
		it.FollowUp.CustomerKey = ""
		if it.Status == hq.StatusScheduled {
			if err := tx.Bucket(bDue).Delete(dueKey(it.NextAt, it.FollowUp.ID)); err != nil {
				return 0, err
			}
			it.Status, it.LastCode, it.LastReason = hq.StatusFailed, hq.ForgetCode, hq.ForgetReason
			it.LeaseOwner, it.LeaseUntil = "", time.Time{}
		}
		if err := putItem(tx, it); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}

// purgeChunk bounds the changes of one purge transaction, so ingest is never blocked long.
const purgeChunk = 20000

// PurgeBefore implements hq.MaintenanceStore in transactions of at most purgeChunk
// changes.
func (s *Store) PurgeBefore(ctx context.Context, cutoff flows.Day) (hq.PurgeStats, error) {
	st := hq.PurgeStats{Cutoff: cutoff}
	for {
		n := 0
		err := s.update(ctx, "purge purchases", func(tx *bolt.Tx) error {
			hb, pb := tx.Bucket(bHist), tx.Bucket(bPurchases)
			var keys [][]byte
			c := hb.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < purgeChunk; k, _ = c.Next() {
				if len(k) >= 20 && codec.Day(k[16:20]) < cutoff {
					keys = append(keys, append([]byte(nil), k...))
				}
			}
			for _, k := range keys {
				if err := hb.Delete(k); err != nil {
					return err
				}
				if err := pb.Delete(k[20:]); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Purchases += n
		if n < purgeChunk {
			break
		}
	}
	for {
		n := 0
		err := s.update(ctx, "purge visits", func(tx *bolt.Tx) error {
			vb := tx.Bucket(bVisits)
			var keys [][]byte
			err := vb.ForEach(func(k, v []byte) error {
				if len(keys) >= purgeChunk {
					return nil
				}
				var head struct {
					StartedAt time.Time `json:"started_at"`
				}
				if err := json.Unmarshal(v, &head); err != nil {
					return fmt.Errorf("visit %s: %w", k, err)
				}
				if !head.StartedAt.IsZero() && flows.VisitDay(flows.Visit{StartedAt: head.StartedAt}) < cutoff { // zero: a tombstone
					keys = append(keys, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range keys {
				store, id := splitPair(k)
				tomb, err := json.Marshal(map[string]string{"id": id, "store_id": store, "outcome": outcomePurged})
				if err != nil {
					return err
				}
				if err := vb.Put(k, tomb); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Visits += n
		if n < purgeChunk {
			break
		}
	}
	if err := s.purgeEffect(ctx, cutoff); err != nil {
		return st, err
	}
	for {
		n, err := s.purgeReads(ctx, cutoff)
		if err != nil {
			return st, err
		}
		if n < purgeChunk {
			break
		}
	}
	return st, nil
}

// Backup implements hq.MaintenanceStore: one read transaction copies the file while
// writes go on.
func (s *Store) Backup(ctx context.Context, w io.Writer, sized func(size int64)) (int64, error) {
	var n int64
	err := s.view(ctx, "backup", func(tx *bolt.Tx) error {
		if sized != nil {
			sized(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// CheckFile opens a copy read-only and checks it is an HQ database (backups).
func CheckFile(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("the copy does not open as a bbolt file: %w", err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bVisits) == nil {
			return errors.New("the copy has no visits bucket: not an HQ database")
		}
		return nil
	})
}

// Compact rewrites a closed HQ file with only its live data (bbolt does not zero freed
// pages, so deleted customers' bytes stay on disk until then) and puts the copy in
// its place.
func Compact(path string) error {
	tmp := path + ".compact"
	_ = os.Remove(tmp)
	src, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("compact %s: %w", path, err)
	}
	dst, err := bolt.Open(tmp, 0o600, nil)
	if err != nil {
		src.Close()
		return fmt.Errorf("compact %s: %w", path, err)
	}
	err = bolt.Compact(dst, src, 64<<20)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	src.Close()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
