package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/wire"
)

const (
	kindVisit    = wire.KindVisit
	kindPurchase = wire.KindPurchase
)

// Store implements the drainer's view of the outbox.
var (
	_ wire.Outbox          = (*Store)(nil)
	_ wire.OutboxPeekAfter = (*Store)(nil)
)

// encodeEntry lays an entry out as uvarint(len kind) kind uvarint(len id) id body.
func encodeEntry(kind, id string, body []byte) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen16+len(kind)+len(id)+len(body))
	b = binary.AppendUvarint(b, uint64(len(kind)))
	b = append(b, kind...)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	return append(b, body...)
}

func decodeEntry(k, v []byte) (wire.OutboxEntry, error) {
	if len(k) != 8 {
		return wire.OutboxEntry{}, fmt.Errorf("outbox key %x: want 8 bytes", k)
	}
	e := wire.OutboxEntry{Seq: binary.BigEndian.Uint64(k)}
	rest := v
	field := func() (string, error) {
		n, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < n {
			return "", fmt.Errorf("outbox entry %d: corrupt", e.Seq)
		}
		s := string(rest[w : w+int(n)])
		rest = rest[w+int(n):]
		return s, nil
	}
	var err error
	if e.Kind, err = field(); err != nil {
		return e, err
	}
	if e.ID, err = field(); err != nil {
		return e, err
	}
	e.Body = bytes.Clone(rest)
	return e, nil
}

// resolveBody fills in the body of a visit entry that refers to its visit record (an
// empty stored body). A queued visit is never purged, so the record is always there.
func resolveBody(tx *bolt.Tx, e *wire.OutboxEntry) error {
	if e.Kind != kindVisit || len(e.Body) > 0 {
		return nil
	}
	rec := tx.Bucket(bVisits).Get([]byte(e.ID))
	if rec == nil {
		return fmt.Errorf("outbox entry %d: visit %s is missing from the store", e.Seq, e.ID)
	}
	_, body, err := splitVisit([]byte(e.ID), rec)
	if err != nil {
		return err
	}
	e.Body = bytes.Clone(body)
	return nil
}

// appendEntry adds one entry to the outbox inside tx and counts it as pending.
func appendEntry(tx *bolt.Tx, kind, id string, body []byte) (uint64, error) {
	ob := tx.Bucket(bOutbox)
	seq, err := ob.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := ob.Put(u64(seq), encodeEntry(kind, id, body)); err != nil {
		return 0, err
	}
	if err := addU64(tx.Bucket(bMeta), keyPending, 1); err != nil {
		return 0, err
	}
	return seq, nil
}

// Peek returns up to max pending entries in Seq order whose bodies add up to at most
// maxBytes; at least one entry is returned if any is pending. Parked entries are skipped.
func (s *Store) Peek(ctx context.Context, max, maxBytes int) ([]wire.OutboxEntry, error) {
	return s.PeekAfter(ctx, 0, max, maxBytes)
}

// PeekAfter is Peek limited to entries whose Seq is greater than after
// (wire.OutboxPeekAfter): the drainer reads the next batch while the previous batch's
// Ack is still being committed.
func (s *Store) PeekAfter(ctx context.Context, after uint64, max, maxBytes int) ([]wire.OutboxEntry, error) {
	if max <= 0 {
		return nil, fmt.Errorf("outbox peek: %w: max %d must be positive", ErrInvalid, max)
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	var out []wire.OutboxEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		size := 0
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			e, err := decodeEntry(k, v)
			if err != nil {
				return err
			}
			if err := resolveBody(tx, &e); err != nil {
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
	if err != nil {
		return nil, fmt.Errorf("outbox peek: %w", err)
	}
	return out, nil
}

// Ack removes the entries HQ acknowledged (pending or parked); unknown seqs are ignored,
// so a repeated Ack is harmless. An acknowledged visit becomes eligible for the purge:
// its record, which names its entry's seq, is left as it is (see syncState).
func (s *Store) Ack(ctx context.Context, seqs []uint64) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		ob, pk, meta := tx.Bucket(bOutbox), tx.Bucket(bOutboxParked), tx.Bucket(bMeta)
		for _, seq := range seqs {
			k := u64(seq)
			if v := ob.Get(k); v != nil {
				if err := ob.Delete(k); err != nil {
					return err
				}
				if err := addU64(meta, keyPending, -1); err != nil {
					return err
				}
			} else if v := pk.Get(k); v != nil {
				if err := pk.Delete(k); err != nil {
					return err
				}
				if err := addU64(meta, keyParked, -1); err != nil {
					return err
				}
			}
		}
		if getU64(meta, keyParked) == 0 {
			return meta.Delete(keyReject)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox ack: %w", err)
	}
	return nil
}

// parked value: uvarint(len reason) reason, 8-byte unix nanos parked at, entry value.
func encodeParked(reason string, at time.Time, entry []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(reason)))
	b = append(b, reason...)
	b = append(b, u64(uint64(at.UnixNano()))...)
	return append(b, entry...)
}

func decodeParked(k, v []byte) (ParkedEntry, wire.OutboxEntry, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n+8 {
		return ParkedEntry{}, wire.OutboxEntry{}, fmt.Errorf("parked entry %x: corrupt", k)
	}
	reason := string(v[w : w+int(n)])
	at := time.Unix(0, int64(binary.BigEndian.Uint64(v[w+int(n):])))
	e, err := decodeEntry(k, v[w+int(n)+8:])
	return ParkedEntry{Entry: e, Reason: reason, ParkedAt: at}, e, err
}

// ParkedEntry is an outbox entry HQ rejected, kept with HQ's reason until Requeue.
type ParkedEntry struct {
	Entry    wire.OutboxEntry `json:"entry"`
	Reason   string           `json:"reason"`
	ParkedAt time.Time        `json:"parked_at"`
}

// Park moves the entries aside as rejected, with HQ's reason. They are kept, never
// dropped, and are not offered by Peek until Requeue.
func (s *Store) Park(ctx context.Context, seqs []uint64, reason string) error {
	now := s.now()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		ob, pk, meta := tx.Bucket(bOutbox), tx.Bucket(bOutboxParked), tx.Bucket(bMeta)
		parked := 0
		for _, seq := range seqs {
			k := u64(seq)
			v := ob.Get(k)
			if v == nil {
				continue
			}
			if err := pk.Put(k, encodeParked(reason, now, v)); err != nil {
				return err
			}
			if err := ob.Delete(k); err != nil {
				return err
			}
			parked++
		}
		if parked == 0 {
			return nil
		}
		if err := addU64(meta, keyPending, -parked); err != nil {
			return err
		}
		if err := addU64(meta, keyParked, parked); err != nil {
			return err
		}
		return meta.Put(keyReject, []byte(clip(reason)))
	})
	if err != nil {
		return fmt.Errorf("outbox park: %w", err)
	}
	s.log.Warn("outbox entries parked", "count", len(seqs), "reason", reason)
	return nil
}

// Parked lists the parked entries in Seq order.
func (s *Store) Parked(ctx context.Context) ([]ParkedEntry, error) {
	var out []ParkedEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bOutboxParked).ForEach(func(k, v []byte) error {
			p, _, err := decodeParked(k, v)
			if err != nil {
				return err
			}
			if err := resolveBody(tx, &p.Entry); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox parked: %w", err)
	}
	return out, nil
}

// Requeue moves every parked entry back into the outbox at its original Seq (after the
// cause has been fixed at HQ) and returns how many were moved.
func (s *Store) Requeue(ctx context.Context) (int, error) {
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		ob, pk, meta := tx.Bucket(bOutbox), tx.Bucket(bOutboxParked), tx.Bucket(bMeta)
		var keys [][]byte
		err := pk.ForEach(func(k, v []byte) error {
			nr, w := binary.Uvarint(v)
			if w <= 0 || uint64(len(v)-w) < nr+8 {
				return fmt.Errorf("parked entry %x: corrupt", k)
			}
			if err := ob.Put(bytes.Clone(k), bytes.Clone(v[w+int(nr)+8:])); err != nil {
				return err
			}
			keys = append(keys, bytes.Clone(k))
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := pk.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		if err := addU64(meta, keyPending, n); err != nil {
			return err
		}
		if err := meta.Put(keyParked, u64(0)); err != nil {
			return err
		}
		return meta.Delete(keyReject)
	})
	if err != nil {
		return 0, fmt.Errorf("outbox requeue: %w", err)
	}
	if n > 0 {
		s.log.Info("parked outbox entries requeued", "count", n)
	}
	return n, nil
}

// RecordSync notes a sync attempt's outcome: err nil is a success at t.
func (s *Store) RecordSync(ctx context.Context, t time.Time, syncErr error) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		ts, err := t.MarshalText()
		if err != nil {
			return err
		}
		if syncErr != nil {
			return meta.Put(keyLastError, []byte(clip(syncErr.Error())))
		}
		if err := meta.Put(keyLastSync, ts); err != nil {
			return err
		}
		return meta.Delete(keyLastError)
	})
	if err != nil {
		return fmt.Errorf("outbox record sync: %w", err)
	}
	return nil
}

// Stats reports the backlog (from counters kept in the same transactions as the entries,
// so it is cheap) and the last successful sync.
func (s *Store) Stats(ctx context.Context) (wire.OutboxStats, error) {
	var st wire.OutboxStats
	err := s.view(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		st.Pending = int(getU64(meta, keyPending))
		st.Rejected = int(getU64(meta, keyParked))
		if v := meta.Get(keyLastSync); v != nil {
			if err := st.LastSync.UnmarshalText(v); err != nil {
				return fmt.Errorf("last sync time: %w", err)
			}
		}
		st.LastError = string(meta.Get(keyLastError))
		st.RejectReason = string(meta.Get(keyReject))
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("outbox stats: %w", err)
	}
	return st, nil
}

// maxStatusText bounds error texts kept in meta, so the meta bucket stays small enough to
// be stored inline (no page of its own to write on every outbox change).
const maxStatusText = 300

func clip(s string) string {
	if len(s) <= maxStatusText {
		return s
	}
	cut := maxStatusText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
