package boltstore

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

type noticeClaim struct {
	Owner string    `json:"owner"`
	At    time.Time `json:"at"`
}

// ClaimNotice implements hq.NoticeStore.
func (s *Store) ClaimNotice(ctx context.Context, key, owner string, at time.Time) (bool, error) {
	claimed := false
	err := s.update(ctx, "claim notice", func(tx *bolt.Tx) error {
		b := tx.Bucket(bNotices)
		if b.Get([]byte(key)) != nil {
			claimed = false
			return nil
		}
		claimed = true
		return putJSON(b, []byte(key), noticeClaim{Owner: owner, At: at})
	})
	return claimed, err
}

// ReleaseNotice implements hq.NoticeStore.
func (s *Store) ReleaseNotice(ctx context.Context, key, owner string) error {
	return s.update(ctx, "release notice", func(tx *bolt.Tx) error {
		b := tx.Bucket(bNotices)
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		var c noticeClaim
		if json.Unmarshal(v, &c) != nil || c.Owner != owner {
			return nil
		}
		return b.Delete([]byte(key))
	})
}
