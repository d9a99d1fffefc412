package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// History reads (hq.ReadLogStore):
//
//	reads     BE sequence            → JSON hq.HistoryRead (appended in time order)
//	reads_ck  custkey(16) BE sequence → nil: a customer's reads (query, PIPL deletion)
var (
	bReads   = []byte("reads")
	bReadsCK = []byte("reads_ck")
)

// LogReads implements hq.ReadLogStore.
func (s *Store) LogReads(ctx context.Context, reads []hq.HistoryRead) error {
	if len(reads) == 0 {
		return nil
	}
	cks := make([][]byte, len(reads))
	for i, r := range reads {
		ck, err := keyBytes(r.CustomerKey)
		if err != nil {
			return fmt.Errorf("log reads: %w", err)
		}
		cks[i] = ck
	}
	return s.update(ctx, "log reads", func(tx *bolt.Tx) error {
		rb, ib := tx.Bucket(bReads), tx.Bucket(bReadsCK)
		for i, r := range reads {
			seq, err := rb.NextSequence()
			if err != nil {
				return err
			}
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], seq)
			r.At = r.At.UTC()
			if err := putJSON(rb, k[:], r); err != nil {
				return err
			}
			if err := ib.Put(append(bytes.Clone(cks[i]), k[:]...), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func (q readMatch) ok(r hq.HistoryRead) bool {
	return (q.StoreID == "" || r.StoreID == q.StoreID) && (q.From.IsZero() || !r.At.Before(q.From)) && (q.To.IsZero() || r.At.Before(q.To))
}

type readMatch struct{ hq.ReadQuery }

// Reads implements hq.ReadLogStore: by customer through reads_ck, else newest first
// over reads.
func (s *Store) Reads(ctx context.Context, q hq.ReadQuery) ([]hq.HistoryRead, error) {
	var ck []byte
	if q.CustomerKey != "" {
		var err error
		if ck, err = keyBytes(q.CustomerKey); err != nil {
			return nil, fmt.Errorf("reads: %w", err)
		}
	}
	limit, m := q.EffectiveLimit(), readMatch{q}
	var out []hq.HistoryRead
	err := s.view(ctx, "reads", func(tx *bolt.Tx) error {
		rb := tx.Bucket(bReads)
		add := func(v []byte) error {
			var r hq.HistoryRead
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if m.ok(r) {
				out = append(out, r)
			}
			return nil
		}
		if ck != nil {
			c := tx.Bucket(bReadsCK).Cursor()
			// Newest first: from the end of the customer's range backwards.
			end := append(bytes.Clone(ck), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
			k, _ := c.Seek(end)
			if k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
			for ; k != nil && bytes.HasPrefix(k, ck) && len(out) < limit; k, _ = c.Prev() {
				if v := rb.Get(k[len(ck):]); v != nil {
					if err := add(v); err != nil {
						return err
					}
				}
			}
			return nil
		}
		c := rb.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			if err := add(v); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// forgetReads deletes a customer's reads inside tx.
func forgetReads(tx *bolt.Tx, ck []byte) (int, error) {
	rb, ib := tx.Bucket(bReads), tx.Bucket(bReadsCK)
	var keys [][]byte
	c := ib.Cursor()
	for k, _ := c.Seek(ck); k != nil && bytes.HasPrefix(k, ck); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := ib.Delete(k); err != nil {
			return 0, err
		}
		if err := rb.Delete(k[len(ck):]); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// purgeReads deletes the reads made before cutoff (local day), oldest first, at most
// purgeChunk per call; it reports how many.
func (s *Store) purgeReads(ctx context.Context, cutoff flows.Day) (int, error) {
	n := 0
	before := cutoff.Time() // the cutoff day's start, Asia/Shanghai
	err := s.update(ctx, "purge reads", func(tx *bolt.Tx) error {
		rb, ib := tx.Bucket(bReads), tx.Bucket(bReadsCK)
		c := rb.Cursor()
		type del struct{ k, ck []byte }
		var dels []del
		for k, v := c.First(); k != nil && len(dels) < purgeChunk; k, v = c.Next() {
			var r hq.HistoryRead
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if !r.At.Before(before) {
				break // appended in time order
			}
			ck, err := keyBytes(r.CustomerKey)
			if err != nil {
				return err
			}
			dels = append(dels, del{bytes.Clone(k), ck})
		}
		for _, d := range dels {
			if err := rb.Delete(d.k); err != nil {
				return err
			}
			if err := ib.Delete(append(d.ck, d.k...)); err != nil {
				return err
			}
		}
		n = len(dels)
		return nil
	})
	return n, err
}
