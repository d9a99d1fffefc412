package hq

import (
	"errors"
	"strconv"
)

// ErrNotFound is returned by a Store when a token, visit, follow-up or other keyed item
// is absent.
const ErrNotFound = sentinel("not found")

// ErrInvalid marks input a Store refuses (e.g. a malformed customer key, a visit without
// id); the error's text names the field. The HTTP API answers 400 with it.
const ErrInvalid = sentinel("invalid")

// ErrLeaseLost is returned when follow-up work is reported by an owner whose claim ended:
// another owner claimed the follow-up after the lease expired, a recovery settled it,
// or it was cancelled meanwhile. The other party's verdict stands.
const ErrLeaseLost = sentinel("follow-up lease lost")

// ErrUnsupported is returned (wrapped, with an explanation) for an operation a backend
// leaves to other tools, e.g. Backup on PostgreSQL (pg_dump, point-in-time recovery).
const ErrUnsupported = sentinel("not supported by this storage backend")

// ErrUnavailable marks a storage that cannot be reached right now (its database is down,
// restarting or refusing connections). Nothing was changed by the failed call (or, when
// the connection broke during a commit, it is unknown — the callers' idempotent ids
// make a retry safe). HTTP answers it with 503 and Retry-After, never 500; HQ recovers
// by itself when the database is back.
const ErrUnavailable = sentinel("storage unavailable")

// RetryAfterSeconds is the Retry-After HQ sends with a 503 for ErrUnavailable.
const RetryAfterSeconds = 5

// FailStatus is the HTTP status for a failed storage call: 503 for ErrUnavailable
// (after setting Retry-After in header, an http.Header), else 500.
func FailStatus(header interface{ Set(key, value string) }, err error) int {
	if errors.Is(err, ErrUnavailable) {
		header.Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		return 503
	}
	return 500
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }

// Unwrap: an expired token is also not found.
func (e sentinel) Unwrap() error {
	if e == ErrTokenExpired {
		return ErrNotFound
	}
	return nil
}
