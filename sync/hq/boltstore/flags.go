package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
)

// flags: BE sequence → JSON hq.Flag, append-only (written by ingest, link opens and
// bookings in their transactions).
var bFlags = []byte("flags")

// appendFlags appends flags inside tx.
func appendFlags(tx *bolt.Tx, flags []hq.Flag) error {
	if len(flags) == 0 {
		return nil
	}
	b := tx.Bucket(bFlags)
	for _, f := range flags {
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("flags: next sequence: %w", err)
		}
		f.Seq, f.At = seq, f.At.UTC()
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		if err := putJSON(b, k[:], f); err != nil {
			return fmt.Errorf("flags: %w", err)
		}
	}
	return nil
}

// Flags implements hq.FlagStore: newest first, one backwards cursor walk.
func (s *Store) Flags(ctx context.Context, q hq.FlagQuery) ([]hq.Flag, error) {
	var out []hq.Flag
	limit := q.FlagLimit()
	err := s.view(ctx, "flags", func(tx *bolt.Tx) error {
		c := tx.Bucket(bFlags).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var f hq.Flag
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("flag %x: %w", k, err)
			}
			if q.Match(f) {
				out = append(out, f)
			}
		}
		return nil
	})
	return out, err
}
