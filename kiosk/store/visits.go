package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/flows/customerkey"
)

func dayIndexKey(day flows.Day, id string) []byte {
	k := codec.AppendDay(make([]byte, 0, codec.DayLen+len(id)), day)
	return append(k, id...)
}

func checkVisit(v *flows.Visit) error {
	switch {
	case v.ID == "":
		return fmt.Errorf("visit without id")
	case len(v.ID) > 128:
		return fmt.Errorf("visit id longer than 128 bytes")
	case v.StartedAt.IsZero():
		return fmt.Errorf("visit %s: no start time", v.ID)
	case v.CustomerKey != "" && !customerkey.Valid(v.CustomerKey):
		return fmt.Errorf("visit %s: customer key must be 32 lower-case hex characters", v.ID)
	}
	switch v.Outcome {
	case flows.OutcomeInProgress, flows.OutcomeComplete, flows.OutcomeAbandoned:
	default:
		return fmt.Errorf("visit %s: outcome %q is not in_progress, complete or abandoned", v.ID, v.Outcome)
	}
	return nil
}

func finished(outcome string) bool {
	return outcome == flows.OutcomeComplete || outcome == flows.OutcomeAbandoned
}

// A visit record is a 10-byte header followed by the visit JSON. Keeping the sync state
// in the record (instead of a separate bucket) means finishing a visit dirties one page
// fewer, which is what keeps SaveVisit close to a bare bbolt put.
const (
	visitHeader = 14  // 'v', state, outbox seq (8 bytes), start day (4 bytes), big-endian
	recMagic    = 'v' // record format 1
)

// hdr is a visit record's header.
type hdr struct {
	state byte
	seq   uint64    // the outbox entry's seq once finished
	day   flows.Day // the start day (its visits_by_day key), so re-saves need not decode JSON
}

// Visit record states.
const (
	stateOpen   byte = 0 // in progress: nothing queued
	stateQueued byte = 1 // finished; outbox entry (seq) pending or parked — or acknowledged, when seq has left the outbox
	stateAcked  byte = 2 // finished; HQ acknowledged the entry (records written before acks stopped rewriting visits)
)

func visitRecord(h hdr, body []byte) []byte {
	rec := make([]byte, visitHeader, visitHeader+len(body))
	rec[0], rec[1] = recMagic, h.state
	binary.BigEndian.PutUint64(rec[2:], h.seq)
	binary.BigEndian.PutUint32(rec[10:], uint32(int32(h.day)))
	return append(rec, body...)
}

func splitVisit(id, rec []byte) (hdr, []byte, error) {
	if len(rec) < visitHeader || rec[0] != recMagic {
		return hdr{}, nil, fmt.Errorf("visit %s: record has no valid header", id)
	}
	return hdr{state: rec[1], seq: binary.BigEndian.Uint64(rec[2:10]), day: flows.Day(int32(binary.BigEndian.Uint32(rec[10:14])))},
		rec[visitHeader:], nil
}

func decodeVisit(id, rec []byte) (flows.Visit, byte, error) {
	var v flows.Visit
	h, body, err := splitVisit(id, rec)
	if err != nil {
		return v, 0, err
	}
	state := h.state
	if err := json.Unmarshal(body, &v); err != nil {
		return v, 0, fmt.Errorf("decode visit %s: %w", id, err)
	}
	return v, state, nil
}

// syncState is a visit record's state as it stands: Ack does not rewrite the visit
// records it acknowledges (that would dirty a page of visit bodies per batch on every
// drain), it only removes their outbox entries, so a queued visit whose entry is in
// neither the outbox nor the parked entries has been acknowledged.
func syncState(tx *bolt.Tx, h hdr) byte {
	if h.state != stateQueued {
		return h.state
	}
	k := u64(h.seq)
	if tx.Bucket(bOutbox).Get(k) != nil || tx.Bucket(bOutboxParked).Get(k) != nil {
		return stateQueued
	}
	return stateAcked
}

// SaveVisit saves the visit as it is now; the counter app calls it after every step, so a
// crash loses at most the step being typed. When the visit is finished (complete or
// abandoned) the same transaction appends its outbox entry (kind "visit", body the visit
// JSON). A finished visit is final: saving it again with identical content is a no-op
// (no second outbox entry), saving different content fails with ErrVisitFinished.
func (s *Store) SaveVisit(ctx context.Context, v flows.Visit) error {
	if err := checkVisit(&v); err != nil {
		return fmt.Errorf("save visit: %w: %w", ErrInvalid, err)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save visit %s: encode: %w", v.ID, err)
	}
	id := []byte(v.ID)
	day := flows.VisitDay(v)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		vs := tx.Bucket(bVisits)
		indexDay := true
		if old := vs.Get(id); old != nil {
			h, oldBody, err := splitVisit(id, old)
			if err != nil {
				return err
			}
			if h.state != stateOpen {
				if bytes.Equal(oldBody, body) {
					return nil
				}
				return fmt.Errorf("%w: %s was saved as finished; it cannot change any more", ErrVisitFinished, v.ID)
			}
			if od := h.day; od != day {
				if err := tx.Bucket(bVisitsByDay).Delete(dayIndexKey(od, v.ID)); err != nil {
					return err
				}
			} else {
				indexDay = false // already indexed: leave that page clean
			}
		}
		if indexDay {
			if err := tx.Bucket(bVisitsByDay).Put(dayIndexKey(day, v.ID), nil); err != nil {
				return err
			}
		}
		open := tx.Bucket(bVisitsOpen)
		if !finished(v.Outcome) {
			if err := vs.Put(id, visitRecord(hdr{state: stateOpen, day: day}, body)); err != nil {
				return err
			}
			if open.Get(id) != nil {
				return nil
			}
			return open.Put(id, nil)
		}
		if open.Get(id) != nil {
			if err := open.Delete(id); err != nil {
				return err
			}
		}
		// The entry refers to the visit record (empty body) instead of copying the JSON:
		// the finished record never changes, and finishing a visit writes one page fewer.
		seq, err := appendEntry(tx, kindVisit, v.ID, nil)
		if err != nil {
			return err
		}
		return vs.Put(id, visitRecord(hdr{state: stateQueued, seq: seq, day: day}, body))
	})
	if err != nil {
		return fmt.Errorf("save visit %s: %w", v.ID, err)
	}
	return nil
}

// Visit returns one visit by id (ErrNotFound if absent).
func (s *Store) Visit(ctx context.Context, id string) (flows.Visit, error) {
	var v flows.Visit
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bVisits).Get([]byte(id))
		if b == nil {
			return fmt.Errorf("%w: visit %s", ErrNotFound, id)
		}
		var err error
		v, _, err = decodeVisit([]byte(id), b)
		return err
	})
	if err != nil {
		return flows.Visit{}, fmt.Errorf("visit %s: %w", id, err)
	}
	return v, nil
}

// Visits returns the visits started from..to (inclusive local dates), in start-day order.
func (s *Store) Visits(ctx context.Context, from, to flows.Day) ([]flows.Visit, error) {
	var out []flows.Visit
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if from > to {
			return nil
		}
		vs := tx.Bucket(bVisits)
		end := codec.AppendDay(nil, to)
		c := tx.Bucket(bVisitsByDay).Cursor()
		for k, _ := c.Seek(codec.AppendDay(nil, from)); k != nil && len(k) >= codec.DayLen && bytes.Compare(k[:codec.DayLen], end) <= 0; k, _ = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			b := vs.Get(k[4:])
			if b == nil {
				return fmt.Errorf("day index names missing visit %s", k[4:])
			}
			v, _, err := decodeVisit(k[4:], b)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("visits %s..%s: %w", from, to, err)
	}
	return out, nil
}

// OpenVisits returns the visits still in progress (after a crash the app resumes them or
// saves them as abandoned).
func (s *Store) OpenVisits(ctx context.Context) ([]flows.Visit, error) {
	var out []flows.Visit
	err := s.view(ctx, func(tx *bolt.Tx) error {
		vs := tx.Bucket(bVisits)
		return tx.Bucket(bVisitsOpen).ForEach(func(k, _ []byte) error {
			b := vs.Get(k)
			if b == nil {
				return fmt.Errorf("open index names missing visit %s", k)
			}
			v, _, err := decodeVisit(k, b)
			if err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("open visits: %w", err)
	}
	return out, nil
}

// VisitSyncState tells whether a visit has reached HQ.
type VisitSyncState string

// Visit sync states.
const (
	VisitNotFinished VisitSyncState = "not_finished" // in progress: nothing queued yet
	VisitQueued      VisitSyncState = "queued"       // outbox entry pending or parked
	VisitSynced      VisitSyncState = "synced"       // HQ acknowledged it
)

// VisitSync returns whether the visit's outbox entry is still queued or acknowledged.
func (s *Store) VisitSync(ctx context.Context, id string) (VisitSyncState, error) {
	st := VisitNotFinished
	err := s.view(ctx, func(tx *bolt.Tx) error {
		rec := tx.Bucket(bVisits).Get([]byte(id))
		if rec == nil {
			return fmt.Errorf("%w: visit %s", ErrNotFound, id)
		}
		h, _, err := splitVisit([]byte(id), rec)
		switch syncState(tx, h) {
		case stateAcked:
			st = VisitSynced
		case stateQueued:
			st = VisitQueued
		}
		return err
	})
	return st, err
}
