package pgstore

import (
	"context"
	"time"
)

// ClaimNotice implements hq.NoticeStore: the notice's key is the primary key, so of
// any number of replicas claiming it exactly one inserts the row.
func (s *Store) ClaimNotice(ctx context.Context, key, owner string, at time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO notices (key, owner, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`, key, owner, at)
	if err != nil {
		return false, wrap("claim notice", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseNotice implements hq.NoticeStore.
func (s *Store) ReleaseNotice(ctx context.Context, key, owner string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM notices WHERE key = $1 AND owner = $2`, key, owner); err != nil {
		return wrap("release notice", err)
	}
	return nil
}
