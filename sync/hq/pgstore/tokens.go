package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/sync/hq"
)

// PutToken implements hq.TokenStore.
func (s *Store) PutToken(ctx context.Context, hash string, p hq.Principal) error {
	if hash == "" {
		return fmt.Errorf("put token: empty hash: %w", hq.ErrInvalid)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (hash, store_id, admin, label, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (hash) DO UPDATE SET store_id = EXCLUDED.store_id, admin = EXCLUDED.admin, label = EXCLUDED.label, created_at = EXCLUDED.created_at`,
		hash, p.StoreID, p.Admin, p.Label, ts(p.CreatedAt))
	if err != nil {
		return wrap("put token", err)
	}
	return nil
}

// LookupToken implements hq.TokenStore.
func (s *Store) LookupToken(ctx context.Context, hash string) (hq.Principal, error) {
	var p hq.Principal
	var created *timeT
	err := s.pool.QueryRow(ctx, `SELECT store_id, admin, label, created_at FROM tokens WHERE hash = $1`, hash).
		Scan(&p.StoreID, &p.Admin, &p.Label, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, hq.ErrNotFound
	}
	if err != nil {
		return p, wrap("lookup token", err)
	}
	p.CreatedAt = tm(created)
	return p, nil
}
