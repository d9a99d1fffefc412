package followup

import (
	"context"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// Resolve settles a follow-up whose send outcome is "unknown", after a person checked the
// channel (e.g. the WeCom admin console): sent=true records it as sent at now (its 72 h
// open window starts); sent=false schedules it to be sent again at once. Only "unknown"
// follow-ups can be resolved (hq.ErrInvalid otherwise; hq.ErrNotFound for an unknown
// id). Audited with actor.
func Resolve(ctx context.Context, st hq.FollowUpStore, id, actor string, sent bool, now time.Time) error {
	verdict := "resend"
	if sent {
		verdict = "sent"
	}
	return st.Resolve(ctx, hq.Resolution{ID: id, Sent: sent, At: now, Code: "resolved", Reason: "resolved by " + actor + ": " + verdict,
		Audit: []hq.AuditEntry{{At: now, Actor: actor, Action: "followup.resolve", Detail: "followup=" + id + " verdict=" + verdict}}})
}
