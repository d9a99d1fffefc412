package hq

import (
	"context"
	"time"
)

// NonceStore remembers the one-time values of signed messages (WeCom callbacks) for as
// long as the messages are valid, so a captured message replayed within its window is
// refused — by every HQ process of a chain, since they share the store.
type NonceStore interface {
	// ClaimNonce records key until until and reports true, unless key is recorded with
	// an until after now (a replay: false, nothing changes). Of concurrent claims of one
	// key, also from several processes, exactly one is true. Entries whose until has
	// passed may be dropped.
	ClaimNonce(ctx context.Context, key string, now, until time.Time) (bool, error)
	// ReleaseNonce forgets key (its message could not be processed, so the sender's
	// retry must be taken). Unknown keys are fine.
	ReleaseNonce(ctx context.Context, key string) error
}
