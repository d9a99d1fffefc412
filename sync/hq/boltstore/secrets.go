package boltstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
)

// LoadOrCreateSecret implements hq.SecretStore.
func (s *Store) LoadOrCreateSecret(ctx context.Context, name string, size int) ([]byte, error) {
	if name == "" || size < 16 {
		return nil, fmt.Errorf("secret %q: need a name and at least 16 bytes: %w", name, hq.ErrInvalid)
	}
	var out []byte
	err := s.update(ctx, "load or create secret", func(tx *bolt.Tx) error {
		b := tx.Bucket(bSecrets)
		if v := b.Get([]byte(name)); v != nil {
			out = bytes.Clone(v)
			return nil
		}
		out = make([]byte, size)
		if _, err := rand.Read(out); err != nil {
			return err
		}
		return b.Put([]byte(name), out)
	})
	return out, err
}
