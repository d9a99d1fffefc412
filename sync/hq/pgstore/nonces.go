package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClaimNonce implements hq.NonceStore: one upsert that takes the key only if it is new
// or expired (its row lock decides between concurrent claims); expired keys are pruned
// in the same transaction.
func (s *Store) ClaimNonce(ctx context.Context, key string, now, until time.Time) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("claim nonce: empty key")
	}
	var claimed bool
	err := s.tx(ctx, "claim nonce", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM nonces WHERE key IN (SELECT key FROM nonces WHERE until <= $1 LIMIT 512)`, now.UTC()); err != nil {
			return err
		}
		var one int
		err := tx.QueryRow(ctx, `INSERT INTO nonces AS n (key, until) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET until = EXCLUDED.until WHERE n.until <= $3
			RETURNING 1`, key, until.UTC(), now.UTC()).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		claimed = err == nil
		return err
	})
	return claimed, err
}

// ReleaseNonce implements hq.NonceStore.
func (s *Store) ReleaseNonce(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM nonces WHERE key = $1`, key); err != nil {
		return wrap("release nonce", err)
	}
	return nil
}
