package hq

import (
	"context"
	"time"
)

// Session is one signed-in admin's dashboard session.
type Session struct {
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
	// TokenHash is the hash of the admin token the session was opened with: the session
	// ends when that token is revoked or expires (hq.CheckTokenHash on every request).
	TokenHash string `json:"token_hash,omitempty"`
}

// SessionStore keeps dashboard sessions and sign-in failures, so that every HQ process
// of a chain shares them (an admin stays signed in across restarts and replicas, and
// the failure limit counts every replica's failures).
type SessionStore interface {
	// GetSession returns the session stored under idHash (the caller's hash of the
	// cookie value; the store never sees the cookie); ok false when there is none.
	GetSession(ctx context.Context, idHash string) (s Session, ok bool, err error)
	// PutSession stores a session and may drop sessions expired before now.
	PutSession(ctx context.Context, idHash string, s Session, now time.Time) error
	// DeleteSession removes a session (sign-out, expiry); none is fine.
	DeleteSession(ctx context.Context, idHash string) error
	// NoteSigninFailure records a failed sign-in from client address addr at at.
	// Stores may forget failures older than a day.
	NoteSigninFailure(ctx context.Context, addr string, at time.Time) error
	// SigninFailures counts addr's failures at or after since.
	SigninFailures(ctx context.Context, addr string, since time.Time) (int, error)
}
