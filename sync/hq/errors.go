package hq

import "errors"

// ErrNotFound is returned by a Store when a token, visit, follow-up or other keyed item
// is absent.
var ErrNotFound = errors.New("not found")

// ErrInvalid marks input a Store refuses (e.g. a malformed customer key, a visit without
// id); the error's text names the field. The HTTP API answers 400 with it.
var ErrInvalid = errors.New("invalid")

// ErrLeaseLost is returned when follow-up work is reported by an owner whose claim ended:
// another owner claimed the follow-up after the lease expired, a recovery settled it,
// or it was cancelled meanwhile. The other party's verdict stands.
var ErrLeaseLost = errors.New("follow-up lease lost")

// ErrUnsupported is returned (wrapped, with an explanation) for an operation a backend
// leaves to other tools, e.g. Backup on PostgreSQL (pg_dump, point-in-time recovery).
var ErrUnsupported = errors.New("not supported by this storage backend")
