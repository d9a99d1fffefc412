package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func dueKey(t time.Time, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	copy(k[8:], id)
	return k
}

func sendKey(id string, attempt int) []byte {
	k := make([]byte, 0, len(id)+5)
	k = append(k, id...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(attempt))
}

func getItem(tx *bolt.Tx, id string) (hq.FollowUpItem, bool, error) {
	data := tx.Bucket(bItems).Get([]byte(id))
	if data == nil {
		return hq.FollowUpItem{}, false, nil
	}
	var it hq.FollowUpItem
	if err := json.Unmarshal(data, &it); err != nil {
		return hq.FollowUpItem{}, false, fmt.Errorf("decode follow-up %s: %w", id, err)
	}
	return it, true, nil
}

func mustItem(tx *bolt.Tx, id string) (hq.FollowUpItem, error) {
	it, ok, err := getItem(tx, id)
	if err != nil {
		return it, err
	}
	if !ok {
		return it, fmt.Errorf("follow-up %s: %w", id, hq.ErrNotFound)
	}
	return it, nil
}

func putItem(tx *bolt.Tx, it hq.FollowUpItem) error {
	return putJSON(tx.Bucket(bItems), []byte(it.FollowUp.ID), it)
}

// scheduleFollowUp stores a new follow-up (ingest); an id already known is left alone.
func scheduleFollowUp(tx *bolt.Tx, it hq.FollowUpItem) error {
	if err := hq.ValidateFollowUp(it); err != nil {
		return err
	}
	id := it.FollowUp.ID
	if tx.Bucket(bItems).Get([]byte(id)) != nil {
		return nil
	}
	it.Status, it.LeaseOwner, it.LeaseUntil = hq.StatusScheduled, "", time.Time{}
	if err := putItem(tx, it); err != nil {
		return err
	}
	if err := indexFollowUp(tx, it.FollowUp); err != nil {
		return fmt.Errorf("index follow-up %s: %w", id, err)
	}
	if err := tx.Bucket(bDue).Put(dueKey(it.NextAt, id), nil); err != nil {
		return fmt.Errorf("index follow-up %s: %w", id, err)
	}
	if it.OpenedAt.IsZero() {
		if err := tx.Bucket(bOpen).Put([]byte(id), []byte(it.FollowUp.StoreID)); err != nil {
			return fmt.Errorf("index follow-up %s: %w", id, err)
		}
	}
	return nil
}

// FollowUp implements hq.FollowUpStore.
func (s *Store) FollowUp(ctx context.Context, id string) (hq.FollowUpItem, error) {
	var it hq.FollowUpItem
	err := s.view(ctx, "get follow-up", func(tx *bolt.Tx) error {
		var err error
		it, err = mustItem(tx, id)
		return err
	})
	return it, err
}

// Attempts implements hq.FollowUpStore.
func (s *Store) Attempts(ctx context.Context, id string) ([]hq.SendAttempt, error) {
	var out []hq.SendAttempt
	err := s.view(ctx, "follow-up attempts", func(tx *bolt.Tx) error {
		prefix := append([]byte(id), 0)
		c := tx.Bucket(bSends).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var a hq.SendAttempt
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode attempt %x: %w", k, err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

func leaseLive(it hq.FollowUpItem, now time.Time) bool {
	return it.LeaseOwner != "" && it.LeaseUntil.After(now)
}

// ClaimDue implements hq.FollowUpStore: one write transaction scans the due index.
func (s *Store) ClaimDue(ctx context.Context, c hq.Claim) ([]hq.FollowUpItem, error) {
	if c.Owner == "" || c.Lease <= 0 || c.Limit <= 0 {
		return nil, fmt.Errorf("claim due follow-ups: need an owner, a lease and a limit: %w", hq.ErrInvalid)
	}
	dueBy := c.DueBy
	if dueBy.IsZero() {
		dueBy = c.Now
	}
	var out []hq.FollowUpItem
	err := s.update(ctx, "claim due follow-ups", func(tx *bolt.Tx) error {
		out = nil
		db := tx.Bucket(bDue)
		limit := uint64(dueBy.UnixNano())
		var stale [][]byte
		cur := db.Cursor()
		for k, _ := cur.First(); k != nil && len(out) < c.Limit; k, _ = cur.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k[:8]) > limit {
				break
			}
			id := string(k[8:])
			it, ok, err := getItem(tx, id)
			if err != nil {
				return err
			}
			if !ok || it.Status != hq.StatusScheduled || !it.NextAt.Equal(time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))) {
				stale = append(stale, append([]byte(nil), k...))
				continue
			}
			if leaseLive(it, c.Now) {
				continue
			}
			it.LeaseOwner, it.LeaseUntil = c.Owner, c.Now.Add(c.Lease)
			out = append(out, it)
		}
		for _, k := range stale {
			if err := db.Delete(k); err != nil {
				return err
			}
		}
		for _, it := range out {
			if err := putItem(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// StartAttempt implements hq.FollowUpStore.
func (s *Store) StartAttempt(ctx context.Context, a hq.AttemptStart) (hq.FollowUpItem, error) {
	var it hq.FollowUpItem
	err := s.update(ctx, "start follow-up attempt", func(tx *bolt.Tx) error {
		var err error
		if it, err = mustItem(tx, a.ID); err != nil {
			return err
		}
		if it.Status != hq.StatusScheduled || it.LeaseOwner != a.Owner || !leaseLive(it, a.At) {
			return fmt.Errorf("follow-up %s (%s, lease %q): %w", a.ID, it.Status, it.LeaseOwner, hq.ErrLeaseLost)
		}
		if err := tx.Bucket(bDue).Delete(dueKey(it.NextAt, a.ID)); err != nil {
			return err
		}
		it.Status = hq.StatusSending
		it.Attempts++
		it.LeaseUntil = a.At.Add(a.Lease)
		at := hq.SendAttempt{FollowUpID: a.ID, Attempt: it.Attempts, Channel: it.FollowUp.Channel, StartedAt: a.At, Status: hq.StatusSending}
		if err := putJSON(tx.Bucket(bSends), sendKey(a.ID, it.Attempts), at); err != nil {
			return err
		}
		if err := tx.Bucket(bSending).Put([]byte(a.ID), nil); err != nil {
			return err
		}
		if err := putItem(tx, it); err != nil {
			return err
		}
		return appendAudit(tx, a.Audit)
	})
	return it, err
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
	return s.update(ctx, "finish follow-up attempt", func(tx *bolt.Tx) error {
		it, err := mustItem(tx, r.ID)
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
		if r.Attempt == 0 {
			if err := tx.Bucket(bDue).Delete(dueKey(it.NextAt, r.ID)); err != nil {
				return err
			}
		}
		if err := finish(tx, &it, r.Attempt, r.Status, r.Code, r.Reason, r.MsgID, r.At); err != nil {
			return err
		}
		if r.Status == hq.StatusSent {
			it.SentAt = r.At
		}
		if r.Status == hq.StatusScheduled {
			it.NextAt = r.NextAt
			if err := tx.Bucket(bDue).Put(dueKey(it.NextAt, r.ID), nil); err != nil {
				return err
			}
		}
		if err := putItem(tx, it); err != nil {
			return err
		}
		return appendAudit(tx, r.Audit)
	})
}

// finish sets the item's outcome (not yet stored), completes its attempt record and
// clears its lease and in-flight mark.
func finish(tx *bolt.Tx, it *hq.FollowUpItem, attempt int, status, code, reason, msgID string, at time.Time) error {
	id := it.FollowUp.ID
	it.Status, it.LastCode, it.LastReason = status, code, reason
	it.LeaseOwner, it.LeaseUntil = "", time.Time{}
	if err := tx.Bucket(bSending).Delete([]byte(id)); err != nil {
		return err
	}
	if attempt == 0 {
		return nil
	}
	sb := tx.Bucket(bSends)
	var a hq.SendAttempt
	if data := sb.Get(sendKey(id, attempt)); data != nil {
		if err := json.Unmarshal(data, &a); err != nil {
			return fmt.Errorf("decode attempt: %w", err)
		}
	}
	a.FollowUpID, a.Attempt, a.FinishedAt, a.Code, a.Reason, a.MsgID = id, attempt, at, code, reason, msgID
	a.Status = status
	if status == hq.StatusScheduled {
		a.Status = hq.AttemptRetry
	}
	return putJSON(sb, sendKey(id, attempt), a)
}

// RecoverExpired implements hq.FollowUpStore: one transaction for all (one process per
// file: nothing else can be sending meanwhile).
func (s *Store) RecoverExpired(ctx context.Context, now time.Time, code, reason string) (int, error) {
	n := 0
	err := s.update(ctx, "recover in-flight follow-ups", func(tx *bolt.Tx) error {
		n = 0
		var ids []string
		if err := tx.Bucket(bSending).ForEach(func(k, _ []byte) error { ids = append(ids, string(k)); return nil }); err != nil {
			return err
		}
		for _, id := range ids {
			it, ok, err := getItem(tx, id)
			if err != nil {
				return err
			}
			if !ok || it.Status != hq.StatusSending {
				if err := tx.Bucket(bSending).Delete([]byte(id)); err != nil {
					return err
				}
				continue
			}
			if leaseLive(it, now) {
				continue
			}
			if err := finish(tx, &it, it.Attempts, hq.StatusUnknown, code, reason, "", now); err != nil {
				return err
			}
			if err := putItem(tx, it); err != nil {
				return err
			}
			if err := appendAudit(tx, []hq.AuditEntry{hq.SendResultAudit(id, it.Attempts, hq.StatusUnknown, code, reason, now)}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Resolve implements hq.FollowUpStore.
func (s *Store) Resolve(ctx context.Context, r hq.Resolution) error {
	return s.update(ctx, "resolve follow-up", func(tx *bolt.Tx) error {
		it, err := mustItem(tx, r.ID)
		if err != nil {
			return err
		}
		if it.Status != hq.StatusUnknown {
			return fmt.Errorf("follow-up %s is %s, only unknown ones can be resolved: %w", r.ID, it.Status, hq.ErrInvalid)
		}
		if r.Sent {
			it.Status, it.SentAt = hq.StatusSent, r.At
		} else {
			it.Status, it.NextAt = hq.StatusScheduled, r.At
			if err := tx.Bucket(bDue).Put(dueKey(r.At, r.ID), nil); err != nil {
				return err
			}
		}
		it.LastCode, it.LastReason = r.Code, r.Reason
		if err := putItem(tx, it); err != nil {
			return err
		}
		return appendAudit(tx, r.Audit)
	})
}

// Unopened implements hq.FollowUpStore through the fu_open index: opened follow-ups
// cost nothing.
func (s *Store) Unopened(ctx context.Context, q hq.UnopenedQuery) ([]hq.FollowUpItem, error) {
	var out []hq.FollowUpItem
	err := s.view(ctx, "unopened follow-ups", func(tx *bolt.Tx) error {
		c := tx.Bucket(bOpen).Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if q.StoreID != "" && string(v) != q.StoreID {
				continue
			}
			it, ok, err := getItem(tx, string(k))
			if err != nil {
				return err
			}
			if !ok || !it.OpenedAt.IsZero() {
				continue
			}
			if it.SentAt.IsZero() && !it.FollowUp.DueAt.After(q.DueBefore) ||
				!it.SentAt.IsZero() && !it.SentAt.After(q.SentBefore) {
				out = append(out, it)
			}
		}
		return nil
	})
	return out, err
}

// MarkEscalated implements hq.FollowUpStore.
func (s *Store) MarkEscalated(ctx context.Context, ids []string, at time.Time, audit []hq.AuditEntry) error {
	return s.update(ctx, "mark follow-ups escalated", func(tx *bolt.Tx) error {
		for _, id := range ids {
			it, ok, err := getItem(tx, id)
			if err != nil {
				return err
			}
			if !ok || !it.EscalatedAt.IsZero() {
				continue
			}
			it.EscalatedAt = at
			if err := putItem(tx, it); err != nil {
				return err
			}
		}
		return appendAudit(tx, audit)
	})
}

// FollowUpDay implements hq.FollowUpStore with one scan of all follow-ups.
func (s *Store) FollowUpDay(ctx context.Context, day flows.Day) (map[string]hq.FollowUpDayStats, error) {
	out := map[string]hq.FollowUpDayStats{}
	err := s.view(ctx, "follow-ups of the day", func(tx *bolt.Tx) error {
		n := 0
		return tx.Bucket(bItems).ForEach(func(k, v []byte) error {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			var it hq.FollowUpItem
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("decode follow-up %s: %w", k, err)
			}
			st := out[it.FollowUp.StoreID]
			if flows.DayOf(it.FollowUp.DueAt) == day {
				st.Due++
				if !it.SentAt.IsZero() {
					st.Sent++
				}
				if !it.OpenedAt.IsZero() {
					st.Opened++
				}
				if !it.BookedAt.IsZero() {
					st.Booked++
				}
				switch it.Status {
				case hq.StatusFailed:
					st.Failed++
				case hq.StatusUnknown:
					st.Unknown++
				}
			}
			out[it.FollowUp.StoreID] = st
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
