package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/sync/hq"
)

// PutToken implements hq.TokenStore.
func (s *Store) PutToken(ctx context.Context, hash string, p hq.Principal) error {
	if hash == "" {
		return fmt.Errorf("put token: empty hash: %w", hq.ErrInvalid)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (hash, store_id, admin, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (hash) DO UPDATE SET store_id = EXCLUDED.store_id, admin = EXCLUDED.admin, label = EXCLUDED.label,
			created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, revoked_at = NULL`,
		hash, p.StoreID, p.Admin, p.Label, ts(p.CreatedAt), ts(p.ExpiresAt))
	if err != nil {
		return wrap("put token", err)
	}
	return nil
}

// LookupToken implements hq.TokenStore.
func (s *Store) LookupToken(ctx context.Context, hash string) (hq.Principal, error) {
	var p hq.Principal
	var created, expires *timeT
	err := s.pool.QueryRow(ctx, `SELECT store_id, admin, label, created_at, expires_at FROM tokens WHERE hash = $1 AND revoked_at IS NULL`, hash).
		Scan(&p.StoreID, &p.Admin, &p.Label, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, hq.ErrNotFound
	}
	if err != nil {
		return p, wrap("lookup token", err)
	}
	p.CreatedAt, p.ExpiresAt = tm(created), tm(expires)
	return p, nil
}

const tokenCols = `hash, store_id, admin, label, created_at, expires_at, revoked_at, last_used, last_addr`

func scanToken(r pgx.Row) (hq.TokenInfo, error) {
	var t hq.TokenInfo
	var hash string
	var created, expires, revoked, used *timeT
	err := r.Scan(&hash, &t.StoreID, &t.Admin, &t.Label, &created, &expires, &revoked, &used, &t.LastAddr)
	t.ID = hq.TokenID(hash)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsed = tm(created), tm(expires), tm(revoked), tm(used)
	return t, err
}

// Tokens implements hq.TokenStore.
func (s *Store) Tokens(ctx context.Context) ([]hq.TokenInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at NULLS FIRST, hash`)
	if err != nil {
		return nil, wrap("list tokens", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hq.TokenInfo, error) { return scanToken(r) })
	if err != nil {
		return nil, wrap("list tokens", err)
	}
	if out == nil {
		out = []hq.TokenInfo{}
	}
	return out, nil
}

// RevokeToken implements hq.TokenStore.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time, audit []hq.AuditEntry) (hq.TokenInfo, error) {
	var info hq.TokenInfo
	if len(id) != hq.TokenIDLen {
		return info, fmt.Errorf("revoke token %q: %w", id, hq.ErrNotFound)
	}
	err := s.tx(ctx, "revoke token", func(tx pgx.Tx) error {
		var err error
		info, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE left(hash, $2) = $1 ORDER BY hash LIMIT 1 FOR UPDATE`, id, hq.TokenIDLen))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("token %s: %w", id, hq.ErrNotFound)
		}
		if err != nil || !info.RevokedAt.IsZero() {
			return err
		}
		info.RevokedAt = at.UTC()
		if _, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $2 WHERE left(hash, $3) = $1 AND revoked_at IS NULL`, id, info.RevokedAt, hq.TokenIDLen); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit)
	})
	if errors.Is(err, hq.ErrNotFound) {
		return hq.TokenInfo{}, err
	}
	if err != nil {
		return hq.TokenInfo{}, err
	}
	return info, nil
}

// NoteTokenUse implements hq.TokenStore: two statements for the whole batch.
func (s *Store) NoteTokenUse(ctx context.Context, uses []hq.TokenUse) error {
	if len(uses) == 0 {
		return nil
	}
	hashes, addrs := make([]string, len(uses)), make([]string, len(uses))
	ats := make([]timeT, len(uses))
	for i, u := range uses {
		hashes[i], ats[i], addrs[i] = u.Hash, u.At.UTC(), u.Addr
	}
	return s.tx(ctx, "note token use", func(tx pgx.Tx) error {
		// The latest use of each token wins (DISTINCT ON), and never moves back.
		if _, err := tx.Exec(ctx, `UPDATE tokens t SET last_used = u.at, last_addr = u.addr
			FROM (SELECT DISTINCT ON (hash) hash, at, addr FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS x(hash, at, addr)
				ORDER BY hash, at DESC) u
			WHERE t.hash = u.hash AND (t.last_used IS NULL OR t.last_used < u.at)`, hashes, ats, addrs); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO store_addresses (store_id, addr, last_seen)
			SELECT t.store_id, x.addr, max(x.at) FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS x(hash, at, addr)
				JOIN tokens t ON t.hash = x.hash
			WHERE t.store_id <> '' AND x.addr <> ''
			GROUP BY t.store_id, x.addr ORDER BY 1, 2
			ON CONFLICT (store_id, addr) DO UPDATE SET last_seen = greatest(store_addresses.last_seen, EXCLUDED.last_seen)`, hashes, ats, addrs)
		return err
	})
}

// StoreAddresses implements hq.TokenStore.
func (s *Store) StoreAddresses(ctx context.Context, storeID string, since time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT addr FROM store_addresses WHERE store_id = $1 AND last_seen >= $2 ORDER BY addr`, storeID, since.UTC())
	if err != nil {
		return nil, wrap("store addresses", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("store addresses", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}
