package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
)

// GetSession implements hq.SessionStore.
func (s *Store) GetSession(ctx context.Context, idHash string) (hq.Session, bool, error) {
	var se hq.Session
	var ok bool
	err := s.view(ctx, "get session", func(tx *bolt.Tx) error {
		v := tx.Bucket(bSessions).Get([]byte(idHash))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &se)
	})
	return se, ok, err
}

// PutSession implements hq.SessionStore; it drops the expired sessions (few: one per
// sign-in) in the same transaction.
func (s *Store) PutSession(ctx context.Context, idHash string, se hq.Session, now time.Time) error {
	if idHash == "" {
		return fmt.Errorf("put session: empty id: %w", hq.ErrInvalid)
	}
	return s.update(ctx, "put session", func(tx *bolt.Tx) error {
		bk := tx.Bucket(bSessions)
		var expired [][]byte
		if err := bk.ForEach(func(k, v []byte) error {
			var old hq.Session
			if json.Unmarshal(v, &old) != nil || !now.Before(old.Expires) {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range expired {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		return putJSON(bk, []byte(idHash), se)
	})
}

// DeleteSession implements hq.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	return s.update(ctx, "delete session", func(tx *bolt.Tx) error { return tx.Bucket(bSessions).Delete([]byte(idHash)) })
}

func failKey(addr string, at time.Time) []byte {
	return binary.BigEndian.AppendUint64(pair(addr, ""), uint64(at.UnixNano()))
}

// signinFailMax bounds the failures kept; past it, those older than a day are dropped.
const signinFailMax = 1000

// NoteSigninFailure implements hq.SessionStore.
func (s *Store) NoteSigninFailure(ctx context.Context, addr string, at time.Time) error {
	return s.update(ctx, "note sign-in failure", func(tx *bolt.Tx) error {
		b := tx.Bucket(bSigninFail)
		if b.Stats().KeyN >= signinFailMax {
			old := uint64(at.Add(-24 * time.Hour).UnixNano())
			var drop [][]byte
			_ = b.ForEach(func(k, _ []byte) error {
				if len(k) < 9 || binary.BigEndian.Uint64(k[len(k)-8:]) < old {
					drop = append(drop, append([]byte(nil), k...))
				}
				return nil
			})
			for _, k := range drop {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		k := failKey(addr, at)
		for b.Get(k) != nil { // two failures in the same nanosecond
			at = at.Add(1)
			k = failKey(addr, at)
		}
		return b.Put(k, nil)
	})
}

// SigninFailures implements hq.SessionStore.
func (s *Store) SigninFailures(ctx context.Context, addr string, since time.Time) (int, error) {
	n := 0
	err := s.view(ctx, "sign-in failures", func(tx *bolt.Tx) error {
		prefix := pair(addr, "")
		c := tx.Bucket(bSigninFail).Cursor()
		for k, _ := c.Seek(failKey(addr, since)); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}
