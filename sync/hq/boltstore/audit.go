package boltstore

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
)

// Audit implements hq.AuditStore.
func (s *Store) Audit(ctx context.Context, entries ...hq.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.update(ctx, "audit", func(tx *bolt.Tx) error { return appendAudit(tx, entries) })
}

// AuditEntries implements hq.AuditStore: a backward scan of the log.
func (s *Store) AuditEntries(ctx context.Context, q hq.AuditQuery) ([]hq.AuditEntry, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	var out []hq.AuditEntry
	err := s.view(ctx, "audit entries", func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		n := 0
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var e hq.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode entry %x: %w", k, err)
			}
			if !q.To.IsZero() && !e.At.Before(q.To) {
				continue
			}
			if !q.From.IsZero() && e.At.Before(q.From) {
				continue // entries are appended roughly, not strictly, in time order
			}
			if q.Actor != "" && e.Actor != q.Actor {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
