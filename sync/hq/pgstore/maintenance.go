package pgstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// ForgetCustomer implements hq.MaintenanceStore in one transaction, through the
// customer-key indexes of purchases, visits, contacts and follow-ups.
func (s *Store) ForgetCustomer(ctx context.Context, customerKey string, at time.Time) (hq.ForgetStats, error) {
	ck, err := keyBytes(customerKey)
	if err != nil {
		return hq.ForgetStats{}, fmt.Errorf("forget: customer key: %w", err)
	}
	var st hq.ForgetStats
	err = s.tx(ctx, "forget customer", func(tx pgx.Tx) error {
		st = hq.ForgetStats{}
		tag, err := tx.Exec(ctx, `DELETE FROM purchases WHERE customer_key = $1`, ck)
		if err != nil {
			return err
		}
		st.Purchases = int(tag.RowsAffected())
		if st.Visits, err = scrubVisits(ctx, tx, ck, customerKey); err != nil {
			return fmt.Errorf("visits: %w", err)
		}
		if err := forgetFacts(ctx, tx, ck); err != nil {
			return fmt.Errorf("visit facts: %w", err)
		}
		tag, err = tx.Exec(ctx, `DELETE FROM contacts WHERE customer_key = $1`, customerKey)
		if err != nil {
			return err
		}
		st.Contacts = int(tag.RowsAffected())
		if st.FollowUps, err = scrubFollowUps(ctx, tx, customerKey); err != nil {
			return fmt.Errorf("follow-ups: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM history_reads WHERE customer_key = $1`, ck); err != nil {
			return fmt.Errorf("history reads: %w", err)
		}
		return appendAudit(ctx, tx, []hq.AuditEntry{hq.ForgetAudit(st, at)})
	})
	return st, err
}

// scrubVisits removes the customer key and masked ID from the customer's visits
// (their bodies and the key column), keeping the records.
func scrubVisits(ctx context.Context, tx pgx.Tx, ck []byte, customerKey string) (int, error) {
	rows, err := tx.Query(ctx, `SELECT store_id, id, body FROM visits WHERE customer_key = $1 ORDER BY store_id, id FOR UPDATE`, ck)
	if err != nil {
		return 0, err
	}
	type rewrite struct {
		store, id string
		body      []byte
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rewrite, error) {
		var w rewrite
		err := r.Scan(&w.store, &w.id, &w.body)
		return w, err
	})
	if err != nil {
		return 0, err
	}
	needle := []byte(customerKey)
	for _, w := range found {
		body := w.body
		if body != nil {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				return 0, fmt.Errorf("visit %s: %w", w.id, err)
			}
			m["customer_key"] = json.RawMessage(`""`)
			delete(m, "customer_masked")
			if fu, ok := m["followup"]; ok {
				m["followup"] = bytes.ReplaceAll(fu, needle, nil)
			}
			if body, err = json.Marshal(m); err != nil {
				return 0, err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE visits SET customer_key = NULL, body = $3 WHERE store_id = $1 AND id = $2`, w.store, w.id, body); err != nil {
			return 0, err
		}
	}
	return len(found), nil
}

// scrubFollowUps removes the customer key from the customer's follow-ups and fails
// those still scheduled.
func scrubFollowUps(ctx context.Context, tx pgx.Tx, customerKey string) (int, error) {
	rows, err := tx.Query(ctx, `SELECT `+fuCols+` FROM followups WHERE customer_key = $1 ORDER BY id FOR UPDATE`, customerKey)
	if err != nil {
		return 0, err
	}
	items, err := collectItems(rows)
	if err != nil {
		return 0, err
	}
	for _, it := range items {
		it.FollowUp.CustomerKey = ""
		fu, err := json.Marshal(it.FollowUp)
		if err != nil {
			return 0, err
		}
		if it.Status == hq.StatusScheduled {
			_, err = tx.Exec(ctx, `UPDATE followups SET customer_key = '', followup = $2, status = 'failed', last_code = $3, last_reason = $4,
				lease_owner = '', lease_until = NULL WHERE id = $1`, it.FollowUp.ID, fu, hq.ForgetCode, hq.ForgetReason)
		} else {
			_, err = tx.Exec(ctx, `UPDATE followups SET customer_key = '', followup = $2 WHERE id = $1`, it.FollowUp.ID, fu)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(items), nil
}

// purgeChunk bounds each purge transaction, so ingest is never held up long.
const purgeChunk = 20000

// PurgeBefore implements hq.MaintenanceStore in transactions of at most purgeChunk
// rows: purchases are deleted, visits become tombstones (their id row stays, so a late
// resend is still a duplicate; body and customer key are gone).
func (s *Store) PurgeBefore(ctx context.Context, cutoff flows.Day) (hq.PurgeStats, error) {
	st := hq.PurgeStats{Cutoff: cutoff}
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM purchases WHERE id IN (SELECT id FROM purchases WHERE day < $1 LIMIT $2)`, int32(cutoff), purgeChunk)
		if err != nil {
			return st, wrap("purge purchases", err)
		}
		st.Purchases += int(tag.RowsAffected())
		if tag.RowsAffected() < purgeChunk {
			break
		}
	}
	for {
		tag, err := s.pool.Exec(ctx, `UPDATE visits SET purged = true, body = NULL, customer_key = NULL
			WHERE (store_id, id) IN (SELECT store_id, id FROM visits WHERE day < $1 AND NOT purged LIMIT $2)`, int32(cutoff), purgeChunk)
		if err != nil {
			return st, wrap("purge visits", err)
		}
		st.Visits += int(tag.RowsAffected())
		if tag.RowsAffected() < purgeChunk {
			break
		}
	}
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM visit_facts WHERE (store_id, id) IN (SELECT store_id, id FROM visit_facts WHERE day < $1 LIMIT $2)`, int32(cutoff), purgeChunk)
		if err != nil {
			return st, wrap("purge visit facts", err)
		}
		if tag.RowsAffected() < purgeChunk {
			break
		}
	}
	if err := s.purgeReads(ctx, cutoff); err != nil {
		return st, err
	}
	return st, nil
}

// Backup implements hq.MaintenanceStore: PostgreSQL is backed up with its own tools.
func (s *Store) Backup(ctx context.Context, w io.Writer, sized func(size int64)) (int64, error) {
	return 0, fmt.Errorf("backup: %w: %s", hq.ErrUnsupported, BackupAdvice)
}

// BackupAdvice says how to back up an HQ on PostgreSQL.
const BackupAdvice = "HQ on PostgreSQL is backed up with PostgreSQL's own tools: " +
	"`pg_dump --format=custom --file hq.dump URL` for a consistent copy while HQ runs (restore with pg_restore), " +
	"and for point-in-time recovery continuous WAL archiving (archive_mode=on, archive_command) with a base backup " +
	"from `pg_basebackup` (or your provider's PITR); see docs/hq.md \"Scaling out\""
