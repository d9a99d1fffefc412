package hq

import (
	"context"
	"fmt"
	"time"
)

// Contact binds a customer (by customer key, never a raw ID) of a store to the WeCom
// external contact that the customer created by adding the store's staff member as a
// WeCom contact, with consent. Sender is the staff member's WeCom userid.
type Contact struct {
	StoreID        string    `json:"store_id"`
	CustomerKey    string    `json:"customer_key"`
	Sender         string    `json:"sender"`
	ExternalUserID string    `json:"external_userid"` // WeCom's opaque external contact id
	ConsentAt      time.Time `json:"consent_at"`
	// VisitID is the visit whose QR code the customer used (WeCom callback bindings).
	VisitID string `json:"visit_id,omitempty"`
}

// ErrVisitAlreadyBound: a visit's QR code already bound the customer to another WeCom
// contact (someone else scanned the same code); the first binding stays.
const ErrVisitAlreadyBound = sentinel("visit already bound to another WeCom contact")

// Unbind removes the bindings to one WeCom external contact.
type Unbind struct {
	Sender         string // the staff member's userid; empty: any
	ExternalUserID string // required
	Code, Reason   string // why the customers' scheduled WeCom follow-ups are cancelled
	Actor          string // audit actor
	At             time.Time
}

// UnbindResult says what UnbindExternal changed.
type UnbindResult struct {
	Contacts  int // bindings removed
	Cancelled int // scheduled WeCom follow-ups cancelled
}

// UnbindAudit is the audit entry UnbindExternal appends (counts only: no customer key,
// no WeCom id).
func UnbindAudit(actor string, r UnbindResult, at time.Time) AuditEntry {
	return AuditEntry{At: at, Actor: actor, Action: "contact.unbind",
		Detail: fmt.Sprintf("contacts=%d followups_cancelled=%d", r.Contacts, r.Cancelled)}
}

// ContactStore keeps the customers' WeCom contact bindings, one per store and customer.
type ContactStore interface {
	// BindContact records (or replaces) a customer's binding for a store and appends
	// audit, in ONE commit. Store, customer key, sender and external id are required
	// (ErrInvalid). With c.VisitID set, a visit binds one external contact only:
	// binding the same visit to another external contact is ErrVisitAlreadyBound
	// (nothing changes); repeating the same binding is fine.
	BindContact(ctx context.Context, c Contact, audit []AuditEntry) error
	// Contact looks up a customer's binding for a store.
	Contact(ctx context.Context, storeID, customerKey string) (Contact, bool, error)
	// UnbindExternal removes, in ONE commit, the bindings to u.ExternalUserID whose
	// sender is u.Sender (empty: any), cancels the scheduled WeCom follow-ups of each
	// unbound customer at that binding's store (status failed, LastCode u.Code,
	// LastReason u.Reason, no longer due), and appends UnbindAudit(u.Actor, result, u.At).
	UnbindExternal(ctx context.Context, u Unbind) (UnbindResult, error)
}
