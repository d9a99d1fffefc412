package hq

import (
	"context"
	"fmt"
	"time"

	"github.com/pharmachain/counter/flows"
)

// Follow-up statuses.
const (
	StatusScheduled = "scheduled" // waiting for its due time (or a retry)
	StatusSending   = "sending"   // attempt recorded, result not yet recorded
	StatusSent      = "sent"      // the channel confirmed the send
	StatusFailed    = "failed"    // refused for good, cancelled or too late (reason kept)
	// StatusUnknown: HQ stopped (or the channel gave an ambiguous error) between
	// recording an attempt and its result. It is never resent automatically; a person
	// checks (e.g. in the WeCom admin console) and resolves it.
	StatusUnknown = "unknown"
)

// AttemptRetry is a SendAttempt's status when the channel asked to try again later.
const AttemptRetry = "retry"

// FollowUpItem is one follow-up as HQ keeps it: the scheduled message from the visit
// and its sending state.
type FollowUpItem struct {
	FollowUp    flows.FollowUp  `json:"followup"`
	Consent     map[string]bool `json:"consent"` // per channel, as recorded at the counter
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	NextAt      time.Time       `json:"next_at"` // next attempt (due time, or after a retry-later)
	EnqueuedAt  time.Time       `json:"enqueued_at"`
	SentAt      time.Time       `json:"sent_at,omitzero"`
	LastCode    string          `json:"last_code,omitempty"`   // reason code of the last failure (wecom_unreachable …)
	LastReason  string          `json:"last_reason,omitempty"` // its message, secrets scrubbed
	OpenedAt    time.Time       `json:"opened_at,omitzero"`
	BookedAt    time.Time       `json:"booked_at,omitzero"`
	EscalatedAt time.Time       `json:"escalated_at,omitzero"` // overdue notice posted to the store group
	// LeaseOwner holds the follow-up until LeaseUntil (see ClaimDue); empty: free.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// SendAttempt is one recorded attempt: written as "sending" by StartAttempt before the
// channel is called, and completed with the result by FinishAttempt (or RecoverExpired).
type SendAttempt struct {
	FollowUpID string    `json:"followup_id"`
	Attempt    int       `json:"attempt"`
	Channel    string    `json:"channel"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Status     string    `json:"status"` // sending | sent | retry | failed | unknown
	Code       string    `json:"code,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	MsgID      string    `json:"msg_id,omitempty"`
}

// Claim asks ClaimDue for due follow-ups.
type Claim struct {
	Owner string        // who sends (unique per HQ process), required
	Now   time.Time     // the clock; leases run from it
	DueBy time.Time     // claim follow-ups with NextAt ≤ DueBy; zero: Now
	Lease time.Duration // how long the claim holds, > 0
	Limit int           // at most this many, > 0
}

// AttemptStart begins the send of a follow-up its owner claimed.
type AttemptStart struct {
	ID, Owner string
	At        time.Time     // the attempt's start
	Lease     time.Duration // the lease is renewed to At+Lease, to cover the send
	Audit     []AuditEntry
}

// AttemptResult ends a claim: with the outcome of the attempt StartAttempt began
// (Attempt > 0), or without any send (Attempt 0: too late, no consent).
type AttemptResult struct {
	ID, Owner string
	Attempt   int       // the attempt's number (FollowUpItem.Attempts after StartAttempt); 0: none
	At        time.Time // when the outcome was known (SentAt when sent)
	// Status is the follow-up's new status: StatusSent, StatusScheduled (retry at
	// NextAt; the attempt is recorded as AttemptRetry), StatusFailed or StatusUnknown.
	Status string
	Code   string // reason code (kept as LastCode and on the attempt)
	Reason string // its message, free of secrets (kept as LastReason)
	MsgID  string
	NextAt time.Time // with StatusScheduled
	Audit  []AuditEntry
}

// Resolution settles a follow-up whose outcome is unknown, after a person checked.
type Resolution struct {
	ID     string
	Sent   bool      // true: it went out (status sent, SentAt At); false: send again at At
	At     time.Time //
	Code   string    // kept as LastCode
	Reason string    // kept as LastReason
	Audit  []AuditEntry
}

// UnopenedQuery selects follow-ups whose link was never opened, the candidates of the
// overdue rule.
type UnopenedQuery struct {
	StoreID    string    // empty: all stores
	DueBefore  time.Time // not sent (SentAt zero) and DueAt ≤ DueBefore
	SentBefore time.Time // or sent with SentAt ≤ SentBefore
}

// FollowUpDayStats counts one store's follow-ups due on a local day.
type FollowUpDayStats struct {
	Due, Sent, Opened, Booked, Failed, Unknown int
}

// FollowUpStore keeps the follow-ups and their sending state. Follow-ups are created
// only by IngestVisits (VisitIngest.FollowUps), atomically with their visit.
//
// Sending is claim/lease based so that several HQ processes share the work and each
// follow-up is sent at most once: ClaimDue leases due follow-ups to an owner;
// StartAttempt records the attempt ("sending") before the channel is called;
// FinishAttempt records the outcome, and only while the claim is still the owner's.
// RecoverExpired turns sends whose owner vanished (lease expired while "sending") into
// "unknown" — never a live send of another process.
type FollowUpStore interface {
	// FollowUp returns one follow-up; ErrNotFound if unknown.
	FollowUp(ctx context.Context, id string) (FollowUpItem, error)
	// Attempts returns the recorded send attempts of a follow-up, oldest first.
	Attempts(ctx context.Context, id string) ([]SendAttempt, error)

	// ClaimDue leases to c.Owner, until c.Now+c.Lease, up to c.Limit follow-ups with
	// status scheduled and NextAt ≤ c.DueBy whose lease is free (no owner, or
	// LeaseUntil ≤ c.Now), earliest NextAt first, and returns them with the lease set.
	// Claiming sends nothing and leaves the status scheduled. While a lease is live no
	// other caller — in this process or another — receives the follow-up.
	ClaimDue(ctx context.Context, c Claim) ([]FollowUpItem, error)
	// StartAttempt marks a follow-up leased to s.Owner as sending in ONE commit:
	// Attempts+1, a SendAttempt {Attempt, Channel, StartedAt s.At, status sending}, the
	// lease renewed to s.At+s.Lease, s.Audit appended. It returns the item after the
	// change. ErrLeaseLost unless the follow-up is scheduled with a live lease of
	// s.Owner; ErrNotFound if unknown.
	StartAttempt(ctx context.Context, s AttemptStart) (FollowUpItem, error)
	// FinishAttempt ends r.Owner's claim in ONE commit: status, LastCode and LastReason,
	// SentAt (r.At, when sent), NextAt (when scheduled again: due again at r.NextAt);
	// for r.Attempt > 0 the attempt record gets FinishedAt, status (AttemptRetry for a
	// retry), code, reason and message id; the lease is cleared; r.Audit appended. It needs the
	// claim to be still the owner's — the follow-up leased to r.Owner and, for
	// r.Attempt > 0, sending with Attempts == r.Attempt; for r.Attempt 0, scheduled —
	// whether or not the lease has expired since; otherwise ErrLeaseLost and nothing
	// changes (a recovery or another owner decided).
	FinishAttempt(ctx context.Context, r AttemptResult) error
	// RecoverExpired marks every follow-up that is sending with a lease expired at now
	// (its owner stopped mid-send) as unknown with code and reason: the attempt is completed as
	// unknown, the lease cleared, and SendResultAudit appended for each, each follow-up
	// in one commit. Sends under a live lease are left alone. It returns how many it
	// marked.
	RecoverExpired(ctx context.Context, now time.Time, code, reason string) (int, error)
	// Resolve settles an unknown follow-up in ONE commit (see Resolution): ErrNotFound
	// if unknown id, ErrInvalid if its status is not unknown.
	Resolve(ctx context.Context, r Resolution) error

	// Unopened returns the follow-ups whose link was never opened and that match q
	// (any status), in no particular order.
	Unopened(ctx context.Context, q UnopenedQuery) ([]FollowUpItem, error)
	// MarkEscalated sets EscalatedAt to at on those of ids not escalated yet and
	// appends audit, in ONE commit. Unknown ids are ignored.
	MarkEscalated(ctx context.Context, ids []string, at time.Time, audit []AuditEntry) error
	// FollowUpDay counts, per store, the follow-ups due on local day day (DueAt's
	// day): sent (SentAt set), opened, booked, failed and unknown among them. It holds
	// an entry for every store that has any follow-up at all (zero counts when none is
	// due that day), so that every such store gets a daily summary.
	FollowUpDay(ctx context.Context, day flows.Day) (map[string]FollowUpDayStats, error)
}

// FollowUpID is HQ's id of the follow-up a store's kiosk named kioskID: the store id, a
// colon, and kioskID. Kiosks name a follow-up after its visit (visit id + "-f1"), and
// visit ids are scoped per store (VisitStore), so HQ scopes follow-ups the same way: two
// stores' visits with one id get two follow-ups. FollowUp.VisitID keeps the kiosk's
// visit id.
func FollowUpID(storeID, kioskID string) string { return storeID + ":" + kioskID }

// SendResultAudit is the audit entry of a send's outcome, as the dispatcher and
// RecoverExpired write it. result is the attempt's status (AttemptRetry for a retry).
func SendResultAudit(id string, attempt int, result, code, reason string, at time.Time) AuditEntry {
	detail := fmt.Sprintf("followup=%s attempt=%d result=%s", id, attempt, result)
	if code != "" {
		detail += " code=" + code
	}
	if reason != "" {
		detail += " reason=" + reason
	}
	return AuditEntry{At: at, Actor: "hq", Action: "followup.send_result", Detail: detail}
}

// ValidateFollowUp reports (ErrInvalid) what makes an item unfit for scheduling.
func ValidateFollowUp(it FollowUpItem) error {
	fu := it.FollowUp
	switch {
	case fu.ID == "":
		return fmt.Errorf("follow-up of visit %q: id missing: %w", fu.VisitID, ErrInvalid)
	case fu.StoreID == "":
		return fmt.Errorf("follow-up %s: store_id missing: %w", fu.ID, ErrInvalid)
	case fu.DueAt.IsZero():
		return fmt.Errorf("follow-up %s: due_at missing: %w", fu.ID, ErrInvalid)
	case it.NextAt.IsZero():
		return fmt.Errorf("follow-up %s: next attempt time missing: %w", fu.ID, ErrInvalid)
	}
	return nil
}
