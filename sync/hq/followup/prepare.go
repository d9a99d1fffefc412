package followup

import (
	"fmt"
	"maps"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// Prepare adds to a record's ingest what accepting the visit brings besides its
// points: the audit entry of the ingest and, when the visit scheduled a follow-up, the
// follow-up itself (under HQ's id for it, hq.FollowUpID: scoped by the store) — only with the customer's consent for its channel (HQ sends nothing
// without consent; a skip is audited instead). The store writes them only if the visit
// is new, in the visit's commit, so a replayed visit changes nothing. A follow-up
// without id or due time, or of another store than its visit, is refused with
// hq.ErrInvalid (the HTTP API answers 400 and the batch is not stored); so is one that
// names another visit, pharmacist or customer than its own — a follow-up credits the
// pharmacist of its own visit, never another.
func Prepare(in *hq.VisitIngest, now time.Time) error {
	v := in.Visit
	actor := "store:" + v.StoreID
	in.Audit = append(in.Audit, hq.AuditEntry{At: now, Actor: actor, Action: "ingest", Detail: "visit=" + v.ID})
	if v.FollowUp == nil || v.FollowUp.FollowUp == nil {
		return nil
	}
	fu := *v.FollowUp.FollowUp
	if fu.ID == "" {
		return fmt.Errorf("visit %s: followup.scheduled.id is empty: %w", v.ID, hq.ErrInvalid)
	}
	if fu.DueAt.IsZero() {
		return fmt.Errorf("follow-up %s: due_at is missing: %w", fu.ID, hq.ErrInvalid)
	}
	if fu.StoreID == "" {
		fu.StoreID = v.StoreID
	}
	if fu.StoreID != v.StoreID {
		return fmt.Errorf("follow-up %s: store_id %q differs from the visit's %q: %w", fu.ID, fu.StoreID, v.StoreID, hq.ErrInvalid)
	}
	// A follow-up is its visit's: it credits the visit's pharmacist and reaches the
	// visit's customer, whatever the record says besides (empty: filled in).
	for _, f := range []struct{ name, got, want string }{
		{"visit_id", fu.VisitID, v.ID},
		{"pharmacist_id", fu.PharmacistID, v.PharmacistID},
		{"customer_key", fu.CustomerKey, v.CustomerKey},
	} {
		if f.got != "" && f.got != f.want {
			return fmt.Errorf("follow-up %s: followup.scheduled.%s is not its visit's %s: %w", fu.ID, f.name, f.name, hq.ErrInvalid)
		}
	}
	fu.VisitID, fu.PharmacistID, fu.CustomerKey = v.ID, v.PharmacistID, v.CustomerKey
	// Follow-up ids are scoped per store like the visit ids they derive from.
	fu.ID = hq.FollowUpID(v.StoreID, fu.ID)
	if fu.Channel == "" {
		fu.Channel = flows.ChannelWeCom
	}
	if !(v.FollowUp.Consent[fu.Channel] && fu.Consent && !v.FollowUp.Declined) {
		in.Audit = append(in.Audit, hq.AuditEntry{At: now, Actor: actor, Action: "followup.skip_no_consent",
			Detail: fmt.Sprintf("followup=%s channel=%s", fu.ID, fu.Channel)})
		return nil
	}
	in.FollowUps = append(in.FollowUps, hq.FollowUpItem{
		FollowUp:   fu,
		Consent:    maps.Clone(v.FollowUp.Consent),
		Status:     hq.StatusScheduled,
		NextAt:     fu.DueAt,
		EnqueuedAt: now,
	})
	in.Audit = append(in.Audit, hq.AuditEntry{At: now, Actor: actor, Action: "followup.enqueue",
		Detail: fmt.Sprintf("followup=%s channel=%s due=%s", fu.ID, fu.Channel, fu.DueAt.UTC().Format(time.RFC3339))})
	return nil
}

// pointsEvent builds the event of kind for a follow-up under rules (flows.PointsRules:
// id = follow-up id + ":" + kind). A kind the rules do not price earns nothing: the
// zero event (no id), which the store credits not at all.
func pointsEvent(rules flows.PointsRules, fu flows.FollowUp, kind string, at time.Time) flows.PointsEvent {
	ev, err := rules.Event(kind, fu.StoreID, fu.PharmacistID, fu.ID, at)
	if err != nil || ev.Points == 0 {
		return flows.PointsEvent{}
	}
	return ev
}
