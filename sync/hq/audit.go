package hq

import (
	"context"
	"time"
)

// AuditEntry is one line of the append-only audit log. Details never hold a customer
// key, a raw ID or a WeCom id.
type AuditEntry struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "admin", "store:S001", "hq", "customer-link", …
	Action string    `json:"action"` // "ingest", "followup.send_result", "link.click", …
	Detail string    `json:"detail,omitempty"`
}

// AuditQuery selects audit entries.
type AuditQuery struct {
	From, To time.Time // From ≤ At < To; zero bounds are open
	Actor    string    // empty: everyone
	Limit    int       // ≤ 0: 100; at most 10 000
}

// AuditStore is the append-only audit log. Entries are appended by the calls that make
// the changes they describe (as data, in the same commit) or by Audit.
type AuditStore interface {
	// Audit appends entries in ONE commit. The store assigns each a Seq, increasing in
	// the order entries are appended; At is kept as given (UTC).
	Audit(ctx context.Context, entries ...AuditEntry) error
	// AuditEntries returns the entries matching q, newest (highest Seq) first, at most
	// q.Limit.
	AuditEntries(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}
