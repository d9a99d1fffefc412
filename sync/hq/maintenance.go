package hq

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pharmachain/counter/flows"
)

// ForgetStats reports what ForgetCustomer changed.
type ForgetStats struct {
	Purchases int `json:"purchases"` // purchases deleted
	Visits    int `json:"visits"`    // visits whose customer key and masked ID were scrubbed
	FollowUps int `json:"followups"` // follow-ups scrubbed (scheduled ones cancelled)
	Contacts  int `json:"contacts"`  // WeCom contact bindings deleted
}

// The code and reason a scheduled follow-up of a forgotten customer fails with.
const (
	ForgetCode   = "customer_deleted"
	ForgetReason = "customer data deleted (PIPL request)"
)

// ForgetAudit is the audit entry ForgetCustomer appends (counts only).
func ForgetAudit(st ForgetStats, at time.Time) AuditEntry {
	return AuditEntry{At: at, Actor: "hq", Action: "customer.forget",
		Detail: fmt.Sprintf("purchases=%d visits=%d followups=%d contacts=%d", st.Purchases, st.Visits, st.FollowUps, st.Contacts)}
}

// PurgeStats reports what PurgeBefore removed.
type PurgeStats struct {
	Cutoff    flows.Day `json:"cutoff"`    // records dated before this day were removed
	Purchases int       `json:"purchases"` // purchases deleted
	Visits    int       `json:"visits"`    // visits reduced to a tombstone (their rollups and points stay)
}

// MaintenanceStore holds the operations on the whole store: PIPL deletion, retention,
// backup.
type MaintenanceStore interface {
	// ForgetCustomer serves a PIPL deletion request (art. 47) in ONE commit: the
	// customer's purchases and history reads are deleted; every visit of the customer keeps its record
	// but loses the customer key and masked ID (Visit then returns CustomerKey "" and
	// CustomerMasked "", and the key appears nowhere in the stored visit); the
	// customer's contact bindings are deleted; the key is scrubbed from the customer's
	// follow-ups, and those still scheduled fail with ForgetCode and ForgetReason (nothing more is
	// sent); ForgetAudit is appended. Rollups and points are aggregates and stay. A
	// malformed key is ErrInvalid. Repeating it is harmless.
	ForgetCustomer(ctx context.Context, customerKey string, at time.Time) (ForgetStats, error)
	// PurgeBefore applies HQ's retention: purchases sold and history reads made before
	// cutoff are deleted,
	// and visits started before it are reduced to a tombstone of their id, so that a
	// late resend is still a duplicate (IngestVisits) but Visit says ErrNotFound. Rollups
	// and points stay. It may work in several commits (never blocking ingest long); a
	// repeat after a failure finishes the job.
	PurgeBefore(ctx context.Context, cutoff flows.Day) (PurgeStats, error)
	// Backup writes a consistent copy of the whole store to w while writes go on. If
	// sized is not nil it is called once, before the first byte, with the copy's
	// size. ErrUnsupported (wrapped, saying what to use instead) for backends backed
	// up with their own tools.
	Backup(ctx context.Context, w io.Writer, sized func(size int64)) (int64, error)
}
