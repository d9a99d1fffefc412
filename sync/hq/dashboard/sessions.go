package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// sessionKey is what the store keeps for a session cookie: its SHA-256, so a copy of
// the store does not hand out live sessions.
func sessionKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// memorySessions is the default hq.SessionStore of a dashboard without one (tests,
// tools): sessions and sign-in failures in memory, lost when the process ends.
type memorySessions struct {
	mu       sync.Mutex
	m        map[string]hq.Session
	failures map[string][]time.Time
}

func newMemorySessions() *memorySessions {
	return &memorySessions{m: map[string]hq.Session{}, failures: map[string][]time.Time{}}
}

func (ms *memorySessions) GetSession(_ context.Context, id string) (hq.Session, bool, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	s, ok := ms.m[id]
	return s, ok, nil
}

func (ms *memorySessions) PutSession(_ context.Context, id string, s hq.Session, now time.Time) error {
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

func (ms *memorySessions) NoteSigninFailure(_ context.Context, addr string, at time.Time) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if len(ms.failures) > 10000 { // bounded memory under an address flood
		clear(ms.failures)
	}
	ms.failures[addr] = append(ms.failures[addr], at)
	return nil
}

func (ms *memorySessions) SigninFailures(_ context.Context, addr string, since time.Time) (int, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	var keep []time.Time
	for _, t := range ms.failures[addr] {
		if !t.Before(since) {
			keep = append(keep, t)
		}
	}
	if keep == nil {
		delete(ms.failures, addr)
	} else {
		ms.failures[addr] = keep
	}
	return len(keep), nil
}
