package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// fuCols are the columns scanItem reads, in its order.
const fuCols = `id, followup, consent, status, attempts, next_at, enqueued_at, sent_at, last_code, last_reason,
	opened_at, booked_at, escalated_at, lease_owner, lease_until`

// scanItem reads one follow-up row (fuCols).
func scanItem(row pgx.Row) (hq.FollowUpItem, error) {
	var it hq.FollowUpItem
	var id string
	var fu, consent []byte
	var enq, sent, opened, booked, escalated, lease *time.Time
	if err := row.Scan(&id, &fu, &consent, &it.Status, &it.Attempts, &it.NextAt, &enq, &sent, &it.LastCode, &it.LastReason,
		&opened, &booked, &escalated, &it.LeaseOwner, &lease); err != nil {
		return it, err
	}
	if err := json.Unmarshal(fu, &it.FollowUp); err != nil {
		return it, fmt.Errorf("decode follow-up %s: %w", id, err)
	}
	if err := json.Unmarshal(consent, &it.Consent); err != nil {
		return it, fmt.Errorf("decode follow-up %s consent: %w", id, err)
	}
	it.EnqueuedAt, it.SentAt, it.OpenedAt, it.BookedAt, it.EscalatedAt, it.LeaseUntil = tm(enq), tm(sent), tm(opened), tm(booked), tm(escalated), tm(lease)
	return it, nil
}

func collectItems(rows pgx.Rows) ([]hq.FollowUpItem, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (hq.FollowUpItem, error) { return scanItem(r) })
}

// getItem reads one follow-up, locked for the transaction when lock is set.
func getItem(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string, lock bool) (hq.FollowUpItem, error) {
	sql := "SELECT " + fuCols + " FROM followups WHERE id = $1"
	if lock {
		sql += " FOR UPDATE"
	}
	it, err := scanItem(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return it, fmt.Errorf("follow-up %s: %w", id, hq.ErrNotFound)
	}
	return it, err
}

// scheduleFollowUps inserts the follow-ups whose ids are new (status scheduled, no
// lease), in id order, in the caller's transaction.
func scheduleFollowUps(ctx context.Context, tx execer, items []hq.FollowUpItem) error {
	if len(items) == 0 {
		return nil
	}
	n := len(items)
	ids, stores, custs, chans, fus, consents, codes, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	due, next := make([]time.Time, n), make([]time.Time, n)
	dueDays, attempts := make([]int32, n), make([]int32, n)
	enq, sent, opened, booked, esc := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	for i, it := range items {
		fu, err := json.Marshal(it.FollowUp)
		if err != nil {
			return err
		}
		consent := it.Consent
		if consent == nil {
			consent = map[string]bool{}
		}
		cb, err := json.Marshal(consent)
		if err != nil {
			return err
		}
		f := &it.FollowUp
		ids[i], stores[i], custs[i], chans[i], fus[i], consents[i] = f.ID, f.StoreID, f.CustomerKey, f.Channel, string(fu), string(cb)
		codes[i], reasons[i] = it.LastCode, it.LastReason
		due[i], dueDays[i], next[i], attempts[i] = f.DueAt, int32(flows.DayOf(f.DueAt)), it.NextAt, int32(it.Attempts)
		enq[i], sent[i], opened[i], booked[i], esc[i] = ts(it.EnqueuedAt), ts(it.SentAt), ts(it.OpenedAt), ts(it.BookedAt), ts(it.EscalatedAt)
	}
	_, err := tx.Exec(ctx, `INSERT INTO followups (id, store_id, customer_key, channel, followup, consent, last_code, last_reason,
			due_at, due_day, next_at, attempts, enqueued_at, sent_at, opened_at, booked_at, escalated_at, status)
		SELECT id, store_id, customer_key, channel, followup::jsonb, consent::jsonb, last_code, last_reason,
			due_at, due_day, next_at, attempts, enqueued_at, sent_at, opened_at, booked_at, escalated_at, 'scheduled'
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::timestamptz[], $10::int4[], $11::timestamptz[], $12::int4[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], $16::timestamptz[], $17::timestamptz[])
			AS f(id, store_id, customer_key, channel, followup, consent, last_code, last_reason, due_at, due_day, next_at, attempts, enqueued_at, sent_at, opened_at, booked_at, escalated_at)
		ORDER BY id
		ON CONFLICT (id) DO NOTHING`,
		ids, stores, custs, chans, fus, consents, codes, reasons, due, dueDays, next, attempts, enq, sent, opened, booked, esc)
	return err
}

// FollowUp implements hq.FollowUpStore.
func (s *Store) FollowUp(ctx context.Context, id string) (hq.FollowUpItem, error) {
	it, err := getItem(ctx, s.pool, id, false)
	if err != nil && !errors.Is(err, hq.ErrNotFound) {
		return it, wrap("get follow-up", err)
	}
	return it, err
}

// Attempts implements hq.FollowUpStore.
func (s *Store) Attempts(ctx context.Context, id string) ([]hq.SendAttempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT attempt, channel, started_at, finished_at, status, code, reason, msg_id
		FROM followup_attempts WHERE followup_id = $1 ORDER BY attempt`, id)
	if err != nil {
		return nil, wrap("follow-up attempts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hq.SendAttempt, error) {
		a := hq.SendAttempt{FollowUpID: id}
		var started, finished *time.Time
		err := r.Scan(&a.Attempt, &a.Channel, &started, &finished, &a.Status, &a.Code, &a.Reason, &a.MsgID)
		a.StartedAt, a.FinishedAt = tm(started), tm(finished)
		return a, err
	})
	if err != nil {
		return nil, wrap("follow-up attempts", err)
	}
	return out, nil
}

// ClaimDue implements hq.FollowUpStore: the due rows are locked with FOR UPDATE SKIP
// LOCKED, so concurrent claimers (other replicas) skip them instead of waiting, and
// leased in the same statement.
func (s *Store) ClaimDue(ctx context.Context, c hq.Claim) ([]hq.FollowUpItem, error) {
	if c.Owner == "" || c.Lease <= 0 || c.Limit <= 0 {
		return nil, fmt.Errorf("claim due follow-ups: need an owner, a lease and a limit: %w", hq.ErrInvalid)
	}
	dueBy := c.DueBy
	if dueBy.IsZero() {
		dueBy = c.Now
	}
	var out []hq.FollowUpItem
	err := s.tx(ctx, "claim due follow-ups", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH c AS (
				SELECT id FROM followups
				WHERE status = 'scheduled' AND next_at <= $1 AND (lease_owner = '' OR lease_until <= $2)
				ORDER BY next_at, id LIMIT $3
				FOR UPDATE SKIP LOCKED)
			UPDATE followups f SET lease_owner = $4, lease_until = $5 FROM c WHERE f.id = c.id
			RETURNING `+prefixed("f.", fuCols), dueBy, c.Now, c.Limit, c.Owner, c.Now.Add(c.Lease))
		if err != nil {
			return err
		}
		out, err = collectItems(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NextAt.Equal(out[j].NextAt) {
			return out[i].NextAt.Before(out[j].NextAt)
		}
		return out[i].FollowUp.ID < out[j].FollowUp.ID
	})
	return out, nil
}

// StartAttempt implements hq.FollowUpStore.
func (s *Store) StartAttempt(ctx context.Context, a hq.AttemptStart) (hq.FollowUpItem, error) {
	var it hq.FollowUpItem
	err := s.tx(ctx, "start follow-up attempt", func(tx pgx.Tx) error {
		var err error
		if it, err = getItem(ctx, tx, a.ID, true); err != nil {
			return err
		}
		if it.Status != hq.StatusScheduled || it.LeaseOwner != a.Owner || !it.LeaseUntil.After(a.At) {
			return fmt.Errorf("follow-up %s (%s, lease %q): %w", a.ID, it.Status, it.LeaseOwner, hq.ErrLeaseLost)
		}
		it.Status = hq.StatusSending
		it.Attempts++
		it.LeaseUntil = a.At.Add(a.Lease)
		if _, err := tx.Exec(ctx, `UPDATE followups SET status = 'sending', attempts = $2, lease_until = $3 WHERE id = $1`,
			a.ID, it.Attempts, it.LeaseUntil); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO followup_attempts (followup_id, attempt, channel, started_at, status)
			VALUES ($1, $2, $3, $4, 'sending')
			ON CONFLICT (followup_id, attempt) DO UPDATE SET channel = EXCLUDED.channel, started_at = EXCLUDED.started_at,
				finished_at = NULL, status = 'sending', code = '', reason = '', msg_id = ''`,
			a.ID, it.Attempts, it.FollowUp.Channel, a.At); err != nil {
			return err
		}
		return appendAudit(ctx, tx, a.Audit)
	})
	if err != nil {
		return hq.FollowUpItem{}, err
	}
	return it, nil
}

// FinishAttempt implements hq.FollowUpStore.
func (s *Store) FinishAttempt(ctx context.Context, r hq.AttemptResult) error {
	switch r.Status {
	case hq.StatusSent, hq.StatusFailed, hq.StatusUnknown:
	case hq.StatusScheduled:
		if r.NextAt.IsZero() {
			return fmt.Errorf("finish follow-up %s: a retry needs its time: %w", r.ID, hq.ErrInvalid)
		}
	default:
		return fmt.Errorf("finish follow-up %s: status %q: %w", r.ID, r.Status, hq.ErrInvalid)
	}
	return s.tx(ctx, "finish follow-up attempt", func(tx pgx.Tx) error {
		it, err := getItem(ctx, tx, r.ID, true)
		if err != nil {
			return err
		}
		want := hq.StatusScheduled
		if r.Attempt > 0 {
			want = hq.StatusSending
		}
		if it.Status != want || it.LeaseOwner != r.Owner || (r.Attempt > 0 && it.Attempts != r.Attempt) {
			return fmt.Errorf("follow-up %s (%s, attempt %d, lease %q): %w", r.ID, it.Status, it.Attempts, it.LeaseOwner, hq.ErrLeaseLost)
		}
		sent, next := it.SentAt, it.NextAt
		if r.Status == hq.StatusSent {
			sent = r.At
		}
		if r.Status == hq.StatusScheduled {
			next = r.NextAt
		}
		if err := finish(ctx, tx, r.ID, r.Attempt, r.Status, r.Code, r.Reason, r.MsgID, r.At, sent, next); err != nil {
			return err
		}
		return appendAudit(ctx, tx, r.Audit)
	})
}

// finish records a follow-up's outcome, completes its attempt record (attempt > 0) and
// clears its lease.
func finish(ctx context.Context, tx pgx.Tx, id string, attempt int, status, code, reason, msgID string, at, sent, next time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE followups SET status = $2, last_code = $3, last_reason = $4, sent_at = $5, next_at = $6,
			lease_owner = '', lease_until = NULL WHERE id = $1`, id, status, code, reason, ts(sent), next); err != nil {
		return err
	}
	if attempt == 0 {
		return nil
	}
	astatus := status
	if status == hq.StatusScheduled {
		astatus = hq.AttemptRetry
	}
	_, err := tx.Exec(ctx, `INSERT INTO followup_attempts (followup_id, attempt, finished_at, status, code, reason, msg_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (followup_id, attempt) DO UPDATE SET finished_at = EXCLUDED.finished_at, status = EXCLUDED.status,
			code = EXCLUDED.code, reason = EXCLUDED.reason, msg_id = EXCLUDED.msg_id`,
		id, attempt, at, astatus, code, reason, msgID)
	return err
}

// RecoverExpired implements hq.FollowUpStore: only sends whose lease has expired are
// settled — a replica starting up never touches another replica's live send — each in
// its own commit, skipping rows another recovery holds.
func (s *Store) RecoverExpired(ctx context.Context, now time.Time, code, reason string) (int, error) {
	n := 0
	for {
		var id string
		var attempts int
		found := false
		err := s.tx(ctx, "recover in-flight follow-ups", func(tx pgx.Tx) error {
			found = false
			err := tx.QueryRow(ctx, `SELECT id, attempts FROM followups
				WHERE status = 'sending' AND (lease_owner = '' OR lease_until IS NULL OR lease_until <= $1)
				ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`, now).Scan(&id, &attempts)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			found = true
			it, err := getItem(ctx, tx, id, false)
			if err != nil {
				return err
			}
			if err := finish(ctx, tx, id, attempts, hq.StatusUnknown, code, reason, "", now, it.SentAt, it.NextAt); err != nil {
				return err
			}
			return appendAudit(ctx, tx, []hq.AuditEntry{hq.SendResultAudit(id, attempts, hq.StatusUnknown, code, reason, now)})
		})
		if err != nil {
			return n, err
		}
		if !found {
			return n, nil
		}
		n++
	}
}

// Resolve implements hq.FollowUpStore.
func (s *Store) Resolve(ctx context.Context, r hq.Resolution) error {
	return s.tx(ctx, "resolve follow-up", func(tx pgx.Tx) error {
		it, err := getItem(ctx, tx, r.ID, true)
		if err != nil {
			return err
		}
		if it.Status != hq.StatusUnknown {
			return fmt.Errorf("follow-up %s is %s, only unknown ones can be resolved: %w", r.ID, it.Status, hq.ErrInvalid)
		}
		status, sent, next := hq.StatusScheduled, it.SentAt, r.At
		if r.Sent {
			status, sent, next = hq.StatusSent, r.At, it.NextAt
		}
		if _, err := tx.Exec(ctx, `UPDATE followups SET status = $2, sent_at = $3, next_at = $4, last_code = $5, last_reason = $6,
				lease_owner = '', lease_until = NULL WHERE id = $1`, r.ID, status, ts(sent), next, r.Code, r.Reason); err != nil {
			return err
		}
		return appendAudit(ctx, tx, r.Audit)
	})
}

// Unopened implements hq.FollowUpStore through the partial index of unopened rows.
func (s *Store) Unopened(ctx context.Context, q hq.UnopenedQuery) ([]hq.FollowUpItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fuCols+` FROM followups
		WHERE opened_at IS NULL AND ($1 = '' OR store_id = $1)
		AND ((sent_at IS NULL AND due_at <= $2) OR (sent_at IS NOT NULL AND sent_at <= $3))`,
		q.StoreID, ts(q.DueBefore), ts(q.SentBefore))
	if err != nil {
		return nil, wrap("unopened follow-ups", err)
	}
	out, err := collectItems(rows)
	if err != nil {
		return nil, wrap("unopened follow-ups", err)
	}
	return out, nil
}

// MarkEscalated implements hq.FollowUpStore.
func (s *Store) MarkEscalated(ctx context.Context, ids []string, at time.Time, audit []hq.AuditEntry) error {
	return s.tx(ctx, "mark follow-ups escalated", func(tx pgx.Tx) error {
		if len(ids) > 0 {
			sorted := append([]string(nil), ids...)
			sort.Strings(sorted)
			if _, err := tx.Exec(ctx, `UPDATE followups SET escalated_at = $2
				WHERE id IN (SELECT id FROM followups WHERE id = ANY($1) AND escalated_at IS NULL ORDER BY id FOR UPDATE)`, sorted, at); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, audit)
	})
}

// FollowUpDay implements hq.FollowUpStore: the day's counts through the due-day index,
// and every store with any follow-up through a skip scan of the store index.
func (s *Store) FollowUpDay(ctx context.Context, day flows.Day) (map[string]hq.FollowUpDayStats, error) {
	out := map[string]hq.FollowUpDayStats{}
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE st AS (
			SELECT min(store_id) AS id FROM followups
			UNION ALL
			SELECT (SELECT min(store_id) FROM followups WHERE store_id > st.id) FROM st WHERE st.id IS NOT NULL)
		SELECT id, 0, 0, 0, 0, 0, 0 FROM st WHERE id IS NOT NULL
		UNION ALL
		SELECT store_id, count(*), count(sent_at), count(opened_at), count(booked_at),
			count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'unknown')
		FROM followups WHERE due_day = $1 GROUP BY store_id`, int32(day))
	if err != nil {
		return nil, wrap("follow-ups of the day", err)
	}
	defer rows.Close()
	for rows.Next() {
		var store string
		var c [6]int64
		if err := rows.Scan(&store, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5]); err != nil {
			return nil, wrap("follow-ups of the day", err)
		}
		st := out[store]
		st.Due += int(c[0])
		st.Sent += int(c[1])
		st.Opened += int(c[2])
		st.Booked += int(c[3])
		st.Failed += int(c[4])
		st.Unknown += int(c[5])
		out[store] = st
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("follow-ups of the day", err)
	}
	return out, nil
}

func prefixed(p, cols string) string {
	var out []byte
	field := true
	for i := 0; i < len(cols); i++ {
		c := cols[i]
		if field && c != ' ' && c != '\t' && c != '\n' {
			out = append(out, p...)
			field = false
		}
		if c == ',' {
			field = true
		}
		out = append(out, c)
	}
	return string(out)
}
