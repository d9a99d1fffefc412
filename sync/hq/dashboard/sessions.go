package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Session is one signed-in admin's dashboard session.
type Session struct {
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
}

// SessionStore keeps sessions by their cookie value. HQ passes a persistent one (the
// follow-up store's bbolt bucket) so that admins stay signed in across an HQ restart;
// the default keeps them in memory.
type SessionStore interface {
	// GetSession returns the session for id; ok is false when there is none.
	GetSession(ctx context.Context, id string) (s Session, ok bool, err error)
	// PutSession stores a session and drops those expired before now.
	PutSession(ctx context.Context, id string, s Session, now time.Time) error
	// DeleteSession removes a session (sign-out, expiry).
	DeleteSession(ctx context.Context, id string) error
}

// memorySessions is the default SessionStore.
type memorySessions struct {
	mu sync.Mutex
	m  map[string]Session
}

func newMemorySessions() *memorySessions { return &memorySessions{m: map[string]Session{}} }

func (ms *memorySessions) GetSession(_ context.Context, id string) (Session, bool, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	s, ok := ms.m[id]
	return s, ok, nil
}

func (ms *memorySessions) PutSession(_ context.Context, id string, s Session, now time.Time) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for k, old := range ms.m {
		if !now.Before(old.Expires) {
			delete(ms.m, k)
		}
	}
	ms.m[id] = s
	return nil
}

func (ms *memorySessions) DeleteSession(_ context.Context, id string) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	delete(ms.m, id)
	return nil
}

// BoltSessions keeps sessions in the HQ's bbolt file (bucket dash_sessions), keyed by the
// SHA-256 of the cookie value: a copy of the file does not hand out live sessions.
type BoltSessions struct{ db *bolt.DB }

var bucketSessions = []byte("dash_sessions")

// NewBoltSessions creates the bucket in db.
func NewBoltSessions(db *bolt.DB) (*BoltSessions, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketSessions)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard sessions: %w", err)
	}
	return &BoltSessions{db: db}, nil
}

func sessionKey(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

// GetSession implements SessionStore.
func (b *BoltSessions) GetSession(_ context.Context, id string) (Session, bool, error) {
	var s Session
	var ok bool
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get(sessionKey(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &s)
	})
	if err != nil {
		return Session{}, false, fmt.Errorf("dashboard session: %w", err)
	}
	return s, ok, nil
}

// PutSession implements SessionStore.
func (b *BoltSessions) PutSession(_ context.Context, id string, s Session, now time.Time) error {
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketSessions)
		var expired [][]byte
		if err := bk.ForEach(func(k, v []byte) error {
			var old Session
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
		return bk.Put(sessionKey(id), v)
	})
}

// DeleteSession implements SessionStore.
func (b *BoltSessions) DeleteSession(_ context.Context, id string) error {
	return b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSessions).Delete(sessionKey(id)) })
}
