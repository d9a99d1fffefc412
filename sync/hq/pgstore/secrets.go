package pgstore

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/sync/hq"
)

// LoadOrCreateSecret implements hq.SecretStore: the first writer's random bytes win
// (INSERT … ON CONFLICT DO NOTHING), and every caller reads them back.
func (s *Store) LoadOrCreateSecret(ctx context.Context, name string, size int) ([]byte, error) {
	if name == "" || size <= 0 {
		return nil, fmt.Errorf("secret %q: need a name and a size: %w", name, hq.ErrInvalid)
	}
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var out []byte
	err := s.tx(ctx, "secret "+name, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
