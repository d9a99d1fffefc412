package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/sync/hq"
)

// GetSession implements hq.SessionStore.
func (s *Store) GetSession(ctx context.Context, idHash string) (hq.Session, bool, error) {
	var ss hq.Session
	err := s.pool.QueryRow(ctx, `SELECT csrf, expires, token_hash FROM sessions WHERE id_hash = $1`, idHash).Scan(&ss.CSRF, &ss.Expires, &ss.TokenHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return hq.Session{}, false, nil
	}
	if err != nil {
		return hq.Session{}, false, wrap("dashboard session", err)
	}
	return ss, true, nil
}

// PutSession implements hq.SessionStore (and drops sessions expired before now).
func (s *Store) PutSession(ctx context.Context, idHash string, ss hq.Session, now time.Time) error {
	return s.tx(ctx, "put dashboard session", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires <= $1`, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, csrf, expires, token_hash) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id_hash) DO UPDATE SET csrf = EXCLUDED.csrf, expires = EXCLUDED.expires, token_hash = EXCLUDED.token_hash`, idHash, ss.CSRF, ss.Expires, ss.TokenHash)
		return err
	})
}

// DeleteSession implements hq.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return wrap("delete dashboard session", err)
	}
	return nil
}

// NoteSigninFailure implements hq.SessionStore (failures older than a day are dropped).
func (s *Store) NoteSigninFailure(ctx context.Context, addr string, at time.Time) error {
	return s.tx(ctx, "note sign-in failure", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM signin_failures WHERE addr = $1 AND at < $2`, addr, at.Add(-24*time.Hour)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signin_failures (addr, at) VALUES ($1, $2)`, addr, at)
		return err
	})
}

// SigninFailures implements hq.SessionStore.
func (s *Store) SigninFailures(ctx context.Context, addr string, since time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM signin_failures WHERE addr = $1 AND at >= $2`, addr, since).Scan(&n); err != nil {
		return 0, wrap("sign-in failures", err)
	}
	return n, nil
}
