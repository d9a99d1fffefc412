package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// nonces: key → BE unix-nano until; nonces_exp: BE unix-nano until ‖ key → nil, the
// order in which they expire (pruned from its start by each claim).
var (
	bNonces    = []byte("nonces")
	bNoncesExp = []byte("nonces_exp")
)

func expKey(until int64, key string) []byte {
	k := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(k, uint64(until))
	return append(k, key...)
}

// ClaimNonce implements hq.NonceStore.
func (s *Store) ClaimNonce(ctx context.Context, key string, now, until time.Time) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("claim nonce: empty key")
	}
	var claimed bool
	err := s.update(ctx, "claim nonce", func(tx *bolt.Tx) error {
		nb, eb := tx.Bucket(bNonces), tx.Bucket(bNoncesExp)
		// Drop what expired (at most a few hundred per claim; the rest next time).
		c := eb.Cursor()
		var drop [][]byte
		for k, _ := c.First(); k != nil && len(k) >= 8 && int64(binary.BigEndian.Uint64(k)) <= now.UnixNano() && len(drop) < 512; k, _ = c.Next() {
			drop = append(drop, bytes.Clone(k))
		}
		for _, k := range drop {
			if err := eb.Delete(k); err != nil {
				return err
			}
			if v := nb.Get(k[8:]); len(v) == 8 && bytes.Equal(v, k[:8]) {
				if err := nb.Delete(k[8:]); err != nil {
					return err
				}
			}
		}
		if v := nb.Get([]byte(key)); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano() {
			return nil // a replay
		}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(until.UnixNano()))
		if err := nb.Put([]byte(key), buf[:]); err != nil {
			return err
		}
		claimed = true
		return eb.Put(expKey(until.UnixNano(), key), nil)
	})
	return claimed, err
}

// ReleaseNonce implements hq.NonceStore.
func (s *Store) ReleaseNonce(ctx context.Context, key string) error {
	return s.update(ctx, "release nonce", func(tx *bolt.Tx) error {
		nb := tx.Bucket(bNonces)
		v := nb.Get([]byte(key))
		if len(v) != 8 {
			return nil
		}
		if err := tx.Bucket(bNoncesExp).Delete(expKey(int64(binary.BigEndian.Uint64(v)), key)); err != nil {
			return err
		}
		return nb.Delete([]byte(key))
	})
}
