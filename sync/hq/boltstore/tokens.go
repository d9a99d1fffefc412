package boltstore

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
)

// PutToken implements hq.TokenStore.
func (s *Store) PutToken(ctx context.Context, hash string, p hq.Principal) error {
	if hash == "" {
		return fmt.Errorf("put token: empty hash: %w", hq.ErrInvalid)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	return s.update(ctx, "put token", func(tx *bolt.Tx) error {
		return tx.Bucket(bTokens).Put([]byte(hash), b)
	})
}

// LookupToken implements hq.TokenStore.
func (s *Store) LookupToken(ctx context.Context, hash string) (hq.Principal, error) {
	var p hq.Principal
	err := s.view(ctx, "lookup token", func(tx *bolt.Tx) error {
		v := tx.Bucket(bTokens).Get([]byte(hash))
		if v == nil {
			return hq.ErrNotFound
		}
		return json.Unmarshal(v, &p)
	})
	return p, err
}
