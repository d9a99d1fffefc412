package hq

import (
	"context"
	"time"
)

// NoticeStore makes the periodic staff notices (overdue escalations, each store's
// daily summary) go out once although several HQ processes run the same schedule:
// whoever claims a notice's key posts it.
type NoticeStore interface {
	// ClaimNotice records that owner posts the notice key (e.g.
	// "summary/S001/2026-03-02", "escalate/<follow-up id>") at at. It returns true to
	// exactly one caller per key, ever (unless released): concurrent and later claims
	// get false.
	ClaimNotice(ctx context.Context, key, owner string, at time.Time) (bool, error)
	// ReleaseNotice forgets owner's claim of key (posting it failed), so that a later
	// round may claim it again. Another owner's claim, or none, is left alone.
	ReleaseNotice(ctx context.Context, key, owner string) error
}
