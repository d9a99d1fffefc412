package hq

import (
	"context"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/wire"
)

// ExportStore moves a whole HQ to another backend (`hq migrate-data`, e.g. from the
// embedded store to PostgreSQL). Export reads every item, area by area; Import writes
// items as they are — rollups and point totals as given (not re-added from the visits),
// follow-ups with their state, audit entries with their sequence numbers — so that the
// copy answers every read as the original did. Importing the same items again changes
// nothing, so an interrupted migration is simply run again.
//
// Derived data is not exported: each backend rebuilds its own indexes (effect facts,
// per-store and per-month rollup sums, due and unopened follow-up indexes) from what
// it imports. Sign-in failures (a minute's memory) are not moved.
type ExportStore interface {
	// Export calls fn with the store's items in batches of a few thousand, one kind
	// per batch, in the order of ExportKinds (follow-ups before their attempts and
	// bookings, content versions before assignments). It reads one consistent
	// snapshot where the backend can; run it on a stopped HQ otherwise. An error of fn
	// stops the export and is returned.
	Export(ctx context.Context, fn func(ExportBatch) error) error
	// Import writes one batch in ONE commit, idempotently (see above).
	Import(ctx context.Context, b ExportBatch) error
	// ExportCounts counts the items Export would emit, per kind.
	ExportCounts(ctx context.Context) (ExportCounts, error)
}

// Export kinds, in Export's order.
const (
	KindTokens        = "tokens"
	KindRoster        = "roster"
	KindSecrets       = "secrets"
	KindVisits        = "visits"
	KindPurchases     = "purchases"
	KindRollups       = "rollups"
	KindPointsEvents  = "points_events"
	KindPointsTotals  = "points_totals"
	KindFollowUps     = "followups"
	KindAttempts      = "attempts"
	KindBookings      = "bookings"
	KindNotices       = "notices"
	KindContacts      = "contacts"
	KindAudit         = "audit"
	KindSessions      = "sessions"
	KindContent       = "content_versions"
	KindAssignments   = "content_assignments"
	KindContentStatus = "content_statuses"
)

// ExportKinds lists every kind in Export's order.
func ExportKinds() []string {
	return []string{KindTokens, KindRoster, KindSecrets, KindVisits, KindPurchases, KindRollups, KindPointsEvents,
		KindPointsTotals, KindFollowUps, KindAttempts, KindBookings, KindNotices, KindContacts, KindAudit, KindSessions,
		KindContent, KindAssignments, KindContentStatus}
}

// ExportCounts is how many items of each kind a store holds (content assignments count
// the default and each store's own).
type ExportCounts map[string]int

// ExportBatch holds items of one or more kinds.
type ExportBatch struct {
	Tokens       []TokenRecord
	Pharmacists  []flows.Pharmacist
	Secrets      []SecretRecord
	Visits       []VisitRecord
	Purchases    []flows.Purchase
	Rollups      []RollupRow // pharmacist-level rows per content version
	PointsEvents []flows.PointsEvent
	PointsTotals []wire.PointsRow
	FollowUps    []FollowUpItem
	Attempts     []SendAttempt
	Bookings     []Booking
	Notices      []NoticeRecord
	Contacts     []Contact
	Audit        []AuditEntry // with their Seq
	Sessions     []SessionRecord
	Content      []ContentRecord
	Assignments  *ContentAssignments
	Statuses     []ContentStatus
}

// Len counts the batch's items.
func (b ExportBatch) Len() int {
	n := len(b.Tokens) + len(b.Pharmacists) + len(b.Secrets) + len(b.Visits) + len(b.Purchases) + len(b.Rollups) +
		len(b.PointsEvents) + len(b.PointsTotals) + len(b.FollowUps) + len(b.Attempts) + len(b.Bookings) + len(b.Notices) +
		len(b.Contacts) + len(b.Audit) + len(b.Sessions) + len(b.Content) + len(b.Statuses)
	if b.Assignments != nil {
		n += len(b.Assignments.Stores) + 1
	}
	return n
}

// Count adds the batch's items to c, per kind.
func (b ExportBatch) Count(c ExportCounts) {
	c[KindTokens] += len(b.Tokens)
	c[KindRoster] += len(b.Pharmacists)
	c[KindSecrets] += len(b.Secrets)
	c[KindVisits] += len(b.Visits)
	c[KindPurchases] += len(b.Purchases)
	c[KindRollups] += len(b.Rollups)
	c[KindPointsEvents] += len(b.PointsEvents)
	c[KindPointsTotals] += len(b.PointsTotals)
	c[KindFollowUps] += len(b.FollowUps)
	c[KindAttempts] += len(b.Attempts)
	c[KindBookings] += len(b.Bookings)
	c[KindNotices] += len(b.Notices)
	c[KindContacts] += len(b.Contacts)
	c[KindAudit] += len(b.Audit)
	c[KindSessions] += len(b.Sessions)
	c[KindContent] += len(b.Content)
	if b.Assignments != nil {
		c[KindAssignments] += len(b.Assignments.Stores) + 1
	}
	c[KindContentStatus] += len(b.Statuses)
}

// TokenRecord is a stored bearer token: the hash of its text and its principal.
type TokenRecord struct {
	Hash      string
	Principal Principal
}

// SecretRecord is one of HQ's own secrets (LoadOrCreateSecret).
type SecretRecord struct {
	Name  string
	Value []byte
}

// VisitRecord is a stored visit: its JSON as stored, or a purge tombstone (Purged,
// Raw nil). StoreID is empty for a tombstone whose store an old file did not record.
type VisitRecord struct {
	StoreID string
	ID      string
	Raw     []byte
	Purged  bool
}

// NoticeRecord is a claimed staff notice (NoticeStore).
type NoticeRecord struct {
	Key, Owner string
	At         time.Time
}

// SessionRecord is a dashboard session under the hash of its cookie.
type SessionRecord struct {
	IDHash  string
	Session Session
}

// ContentRecord is one published content version with its files.
type ContentRecord struct {
	Version content.Version
	Pack    content.Pack
}
