package hqwire

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/hq"
)

// PathWeComCallback is WeCom's callback URL on HQ (GET: URL verification, POST:
// events). It takes no bearer token: WeCom's msg_signature authenticates it.
const PathWeComCallback = "/wecom/callback"

// auditActorWeCom is the audit actor of callback-driven changes.
const auditActorWeCom = "wecom"

// onWeComEvent turns WeCom customer-contact events into contact bindings:
// add_external_contact whose State is a visit HQ holds with WeCom consent binds the
// visit's customer at the visit's store to that external contact (sender = the staff
// member the customer added); del_external_contact / del_follow_user remove it and
// cancel the customer's scheduled WeCom follow-ups at that store. Everything else is
// ignored. ExternalUserID is stored, never logged or audited.
func (w *Wiring) onWeComEvent(ctx context.Context, ev wecom.CallbackEvent) error {
	if ev.MsgType != "event" || ev.Event != wecom.EventChangeExternalContact {
		w.log.Debug("wecom callback: event ignored", "msgtype", ev.MsgType, "event", ev.Event)
		return nil
	}
	now := w.now()
	switch ev.ChangeType {
	case wecom.ChangeAddExternalContact:
		return w.bindFromCallback(ctx, ev, now)
	case wecom.ChangeDelExternalContact, wecom.ChangeDelFollowUser:
		if ev.ExternalUserID == "" {
			return nil
		}
		r, err := w.Store.DeleteContactsByExternal(ctx, ev.UserID, ev.ExternalUserID, auditActorWeCom, now)
		if err != nil {
			return fmt.Errorf("unbind wecom contact: %w", err)
		}
		w.log.Info("wecom contact removed", "change", ev.ChangeType, "bindings", r.Contacts, "followups_cancelled", r.Cancelled)
		return nil
	default:
		w.log.Debug("wecom callback: change ignored", "change", ev.ChangeType)
		return nil
	}
}

func (w *Wiring) bindFromCallback(ctx context.Context, ev wecom.CallbackEvent, now time.Time) error {
	ignore := func(reason string) error {
		detail := "reason=" + reason
		if safeID(ev.State) {
			detail = "visit=" + ev.State + " " + detail
		}
		w.log.Info("wecom contact not bound", "state_is_id", safeID(ev.State), "reason", reason)
		return w.Store.Audit(ctx, auditActorWeCom, "contact.ignored", detail, now)
	}
	if ev.UserID == "" || ev.ExternalUserID == "" {
		return ignore("incomplete_event")
	}
	if !safeID(ev.State) {
		return ignore("no_visit_state")
	}
	v, err := w.st.Visit(ctx, ev.State)
	if errors.Is(err, hq.ErrNotFound) {
		return ignore("unknown_visit")
	}
	if err != nil {
		return fmt.Errorf("look up visit for wecom contact: %w", err)
	}
	fs := v.FollowUp
	if fs == nil || fs.Declined || !fs.Consent[flows.ChannelWeCom] || fs.At.IsZero() {
		return ignore("no_wecom_consent")
	}
	if v.CustomerKey == "" || v.StoreID == "" {
		return ignore("no_customer")
	}
	err = w.Store.BindContact(ctx, followup.Contact{StoreID: v.StoreID, CustomerKey: v.CustomerKey, Sender: ev.UserID,
		ExternalUserID: ev.ExternalUserID, ConsentAt: fs.At, VisitID: v.ID}, auditActorWeCom, "visit="+v.ID, now)
	if errors.Is(err, followup.ErrVisitAlreadyBound) {
		return ignore("visit_already_bound")
	}
	if err != nil {
		return fmt.Errorf("bind wecom contact: %w", err)
	}
	w.log.Info("wecom contact bound", "visit", v.ID, "store", v.StoreID)
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
