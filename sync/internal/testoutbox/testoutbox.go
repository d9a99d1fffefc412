// Package testoutbox is a small wire.Outbox on a real bbolt file for the sync
// packages' tests and benchmarks (sync may not import the kiosk's store). It keeps the
// same contract: Peek in seq order skipping parked entries, Ack removes, Park keeps.
package testoutbox

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/wire"
)

var (
	bPending = []byte("pending")
	bParked  = []byte("parked")
	bMeta    = []byte("meta")
)

// Outbox is a bbolt-backed wire.Outbox.
type Outbox struct{ db *bolt.DB }

var (
	_ wire.Outbox          = (*Outbox)(nil)
	_ wire.OutboxPeekAfter = (*Outbox)(nil)
)

// Open opens or creates the outbox file (fsync on, like the kiosk store).
func Open(path string) (*Outbox, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bPending, bParked, bMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init outbox: %w", err)
	}
	return &Outbox{db: db}, nil
}

// Close closes the file.
func (o *Outbox) Close() error { return o.db.Close() }

// Item is one record to enqueue.
type Item struct {
	Kind, ID string
	Body     any
}

// Add enqueues items in one transaction and returns their seqs.
func (o *Outbox) Add(items ...Item) ([]uint64, error) {
	var seqs []uint64
	err := o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bPending)
		b.FillPercent = 0.9
		for _, it := range items {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			body, err := json.Marshal(it.Body)
			if err != nil {
				return err
			}
			e, err := json.Marshal(wire.OutboxEntry{Seq: seq, Kind: it.Kind, ID: it.ID, Body: body})
			if err != nil {
				return err
			}
			if err := b.Put(key(seq), e); err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	return seqs, err
}

func key(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Peek implements wire.Outbox.
func (o *Outbox) Peek(ctx context.Context, max, maxBytes int) ([]wire.OutboxEntry, error) {
	return o.PeekAfter(ctx, 0, max, maxBytes)
}

// PeekAfter implements wire.OutboxPeekAfter.
func (o *Outbox) PeekAfter(ctx context.Context, after uint64, max, maxBytes int) ([]wire.OutboxEntry, error) {
	var out []wire.OutboxEntry
	size := 0
	if after == math.MaxUint64 {
		return nil, nil
	}
	err := o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bPending).Cursor()
		for k, v := c.Seek(key(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			var e wire.OutboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if len(out) > 0 && size+len(e.Body) > maxBytes {
				break
			}
			size += len(e.Body)
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Ack implements wire.Outbox.
func (o *Outbox) Ack(ctx context.Context, seqs []uint64) error {
	return o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bPending)
		for _, s := range seqs {
			if err := b.Delete(key(s)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Park implements wire.Outbox.
func (o *Outbox) Park(ctx context.Context, seqs []uint64, reason string) error {
	return o.db.Update(func(tx *bolt.Tx) error {
		b, p := tx.Bucket(bPending), tx.Bucket(bParked)
		for _, s := range seqs {
			v := b.Get(key(s))
			if v == nil {
				continue
			}
			rec, _ := json.Marshal(struct {
				Entry  json.RawMessage `json:"entry"`
				Reason string          `json:"reason"`
			}{append([]byte(nil), v...), reason})
			if err := p.Put(key(s), rec); err != nil {
				return err
			}
			if err := b.Delete(key(s)); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put([]byte("reject_reason"), []byte(reason))
	})
}

// RecordSync implements wire.Outbox.
func (o *Outbox) RecordSync(ctx context.Context, t time.Time, err error) error {
	return o.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if err != nil {
			return m.Put([]byte("last_error"), []byte(err.Error()))
		}
		tb, _ := t.MarshalText()
		if e := m.Put([]byte("last_sync"), tb); e != nil {
			return e
		}
		return m.Delete([]byte("last_error"))
	})
}

// Stats implements wire.Outbox.
func (o *Outbox) Stats(ctx context.Context) (wire.OutboxStats, error) {
	var s wire.OutboxStats
	err := o.db.View(func(tx *bolt.Tx) error {
		s.Pending = tx.Bucket(bPending).Stats().KeyN
		s.Rejected = tx.Bucket(bParked).Stats().KeyN
		m := tx.Bucket(bMeta)
		if v := m.Get([]byte("last_sync")); v != nil {
			_ = s.LastSync.UnmarshalText(v)
		}
		s.LastError = string(m.Get([]byte("last_error")))
		s.RejectReason = string(m.Get([]byte("reject_reason")))
		return nil
	})
	return s, err
}

// PendingIDs lists the pending entries' record ids in order.
func (o *Outbox) PendingIDs() ([]string, error) {
	var ids []string
	err := o.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bPending).ForEach(func(k, v []byte) error {
			var e wire.OutboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			ids = append(ids, e.ID)
			return nil
		})
	})
	return ids, err
}
