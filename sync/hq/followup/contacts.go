package followup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/wecom"
)

// The code and reason a scheduled WeCom follow-up is cancelled with when the customer
// and the store's staff member are no longer WeCom contacts.
const (
	CodeContactRemoved   = "contact_removed"
	ReasonContactRemoved = "customer removed the WeCom contact"
)

// auditActorWeCom is the audit actor of callback-driven changes.
const auditActorWeCom = "wecom"

// ContactStore is what contact binding needs of the HQ store.
type ContactStore interface {
	hq.VisitStore
	hq.ContactStore
	hq.AuditStore
}

// ContactEvents turns WeCom customer-contact events (wecom.CallbackConfig.OnEvent) into
// contact bindings: add_external_contact whose State is a visit HQ holds with WeCom
// consent binds the visit's customer at the visit's store to that external contact
// (sender = the staff member the customer added); del_external_contact /
// del_follow_user remove it and cancel the customer's scheduled WeCom follow-ups at that
// store. Everything else is ignored. ExternalUserID is stored, never logged or audited.
type ContactEvents struct {
	Store  ContactStore
	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now
}

// OnEvent handles one decrypted callback event.
func (c ContactEvents) OnEvent(ctx context.Context, ev wecom.CallbackEvent) error {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if ev.MsgType != "event" || ev.Event != wecom.EventChangeExternalContact {
		c.Logger.Debug("wecom callback: event ignored", "msgtype", ev.MsgType, "event", ev.Event)
		return nil
	}
	now := c.Now()
	switch ev.ChangeType {
	case wecom.ChangeAddExternalContact:
		return c.bind(ctx, ev, now)
	case wecom.ChangeDelExternalContact, wecom.ChangeDelFollowUser:
		if ev.ExternalUserID == "" {
			return nil
		}
		r, err := c.Store.UnbindExternal(ctx, hq.Unbind{Sender: ev.UserID, ExternalUserID: ev.ExternalUserID,
			Code: CodeContactRemoved, Reason: ReasonContactRemoved, Actor: auditActorWeCom, At: now})
		if err != nil {
			return fmt.Errorf("unbind wecom contact: %w", err)
		}
		c.Logger.Info("wecom contact removed", "change", ev.ChangeType, "bindings", r.Contacts, "followups_cancelled", r.Cancelled)
		return nil
	default:
		c.Logger.Debug("wecom callback: change ignored", "change", ev.ChangeType)
		return nil
	}
}

func (c ContactEvents) bind(ctx context.Context, ev wecom.CallbackEvent, now time.Time) error {
	ignore := func(reason string) error {
		detail := "reason=" + reason
		if safeID(ev.State) {
			detail = "visit=" + ev.State + " " + detail
		}
		c.Logger.Info("wecom contact not bound", "state_is_id", safeID(ev.State), "reason", reason)
		return c.Store.Audit(ctx, hq.AuditEntry{At: now, Actor: auditActorWeCom, Action: "contact.ignored", Detail: detail})
	}
	if ev.UserID == "" || ev.ExternalUserID == "" {
		return ignore("incomplete_event")
	}
	if !safeID(ev.State) {
		return ignore("no_visit_state")
	}
	// The QR code carries the visit id without its store; visit ids are scoped per
	// store, so an id two stores used cannot say whose customer this is.
	vs, err := c.Store.VisitsWithID(ctx, ev.State)
	if err != nil {
		return fmt.Errorf("look up visit for wecom contact: %w", err)
	}
	switch len(vs) {
	case 0:
		return ignore("unknown_visit")
	case 1:
	default:
		return ignore("ambiguous_visit")
	}
	v := vs[0]
	fs := v.FollowUp
	if fs == nil || fs.Declined || !fs.Consent[flows.ChannelWeCom] || fs.At.IsZero() {
		return ignore("no_wecom_consent")
	}
	if v.CustomerKey == "" || v.StoreID == "" {
		return ignore("no_customer")
	}
	err = c.Store.BindContact(ctx, hq.Contact{StoreID: v.StoreID, CustomerKey: v.CustomerKey, Sender: ev.UserID,
		ExternalUserID: ev.ExternalUserID, ConsentAt: fs.At, VisitID: v.ID},
		[]hq.AuditEntry{{At: now, Actor: auditActorWeCom, Action: "contact.bind", Detail: "visit=" + v.ID}})
	if errors.Is(err, hq.ErrVisitAlreadyBound) {
		return ignore("visit_already_bound")
	}
	if err != nil {
		return fmt.Errorf("bind wecom contact: %w", err)
	}
	c.Logger.Info("wecom contact bound", "visit", v.ID, "store", v.StoreID)
	return nil
}

// safeID reports whether s looks like one of our ids (a ULID, ≤ 64 of [0-9A-Za-z_-]),
// so it may be written to the audit log.
func safeID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
