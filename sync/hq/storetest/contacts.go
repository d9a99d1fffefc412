package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func contacts(t *testing.T, open Opener) {
	t.Run("BindLookupAndVisitOnce", func(t *testing.T) {
		st := open(t)
		c := hq.Contact{StoreID: "S001", CustomerKey: key("a"), Sender: "staff01", ExternalUserID: "wmEXT1", ConsentAt: t0, VisitID: "v1"}
		if err := st.BindContact(bg(), c, []hq.AuditEntry{{At: t0, Actor: "wecom", Action: "contact.bind", Detail: "visit=v1"}}); err != nil {
			t.Fatal(err)
		}
		got, ok, err := st.Contact(bg(), "S001", key("a"))
		if err != nil || !ok || got.ExternalUserID != "wmEXT1" || got.Sender != "staff01" || !got.ConsentAt.Equal(t0) || got.VisitID != "v1" {
			t.Fatalf("%+v %v %v", got, ok, err)
		}
		if _, ok, _ := st.Contact(bg(), "S002", key("a")); ok {
			t.Fatal("binding leaked to another store")
		}
		if err := st.BindContact(bg(), c, nil); err != nil {
			t.Fatalf("the same binding again: %v", err)
		}
		other := c
		other.ExternalUserID = "wmSOMEONEELSE"
		if err := st.BindContact(bg(), other, []hq.AuditEntry{{At: t0, Actor: "wecom", Action: "contact.bind"}}); !errors.Is(err, hq.ErrVisitAlreadyBound) {
			t.Fatalf("rebinding the visit to someone else: %v", err)
		}
		if got, _, _ := st.Contact(bg(), "S001", key("a")); got.ExternalUserID != "wmEXT1" {
			t.Fatalf("the first binding was replaced: %+v", got)
		}
		if a := auditActions(t, st); a["contact.bind"] != 1 {
			t.Fatalf("audit %v (a refused binding appends nothing)", a)
		}
		if err := st.BindContact(bg(), hq.Contact{StoreID: "S001", CustomerKey: key("a")}, nil); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("incomplete contact: %v", err)
		}
	})
	t.Run("UnbindCancelsOnlyThatStoresScheduled", func(t *testing.T) {
		st := open(t)
		v1 := visit("v1", "S001", "P01", t0.Add(-24*time.Hour), true)
		v2 := visit("v2", "S002", "P05", t0.Add(-24*time.Hour), true)
		v2.CustomerKey = v1.CustomerKey
		sms := visit("v3", "S001", "P01", t0.Add(-24*time.Hour), true)
		sms.CustomerKey = v1.CustomerKey
		smsIn := withFollowUp(sms, t0)
		smsIn.FollowUps[0].FollowUp.Channel = flows.ChannelSMS
		schedule(t, st, t0, v1, v2)
		ingest(t, st, smsIn)
		for _, c := range []hq.Contact{
			{StoreID: "S001", CustomerKey: v1.CustomerKey, Sender: "staff01", ExternalUserID: "wmEXT1"},
			{StoreID: "S002", CustomerKey: v1.CustomerKey, Sender: "staff02", ExternalUserID: "wmEXT1"},
		} {
			if err := st.BindContact(bg(), c, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []hq.Unbind{{Sender: "staff09", ExternalUserID: "wmEXT1"}, {Sender: "staff01", ExternalUserID: "wmEXT2"}} {
			u.Actor, u.At, u.Reason = "wecom", t0, "removed"
			if r, err := st.UnbindExternal(bg(), u); err != nil || r != (hq.UnbindResult{}) {
				t.Fatalf("%+v: %+v %v", u, r, err)
			}
		}
		r, err := st.UnbindExternal(bg(), hq.Unbind{Sender: "staff01", ExternalUserID: "wmEXT1", Code: "contact_removed", Reason: "customer removed the WeCom contact", Actor: "wecom", At: t0})
		if err != nil || r != (hq.UnbindResult{Contacts: 1, Cancelled: 1}) {
			t.Fatalf("unbind: %+v %v", r, err)
		}
		if _, ok, _ := st.Contact(bg(), "S001", v1.CustomerKey); ok {
			t.Fatal("S001 binding left")
		}
		if _, ok, _ := st.Contact(bg(), "S002", v1.CustomerKey); !ok {
			t.Fatal("S002 binding (another staff member) removed")
		}
		if it := status(t, st, "v1-f1"); it.Status != hq.StatusFailed || it.LastReason != "customer removed the WeCom contact" || it.LastCode != "contact_removed" {
			t.Fatalf("v1: %+v", it)
		}
		for _, id := range []string{"v2-f1", "v3-f1"} {
			if it := status(t, st, id); it.Status != hq.StatusScheduled {
				t.Fatalf("%s (another store or channel) was cancelled: %+v", id, it)
			}
		}
		if got := claim(t, st, "A", t0, 10); len(got) != 2 {
			t.Fatalf("claimable after unbind: %v, want v2-f1 and v3-f1", got)
		}
		es, _ := st.AuditEntries(bg(), hq.AuditQuery{Actor: "wecom"})
		found := false
		for _, e := range es {
			if strings.Contains(e.Detail, "wmEXT") || strings.Contains(e.Detail, v1.CustomerKey) {
				t.Fatalf("audit leaks an identifier: %+v", e)
			}
			found = found || (e.Action == "contact.unbind" && e.Detail == "contacts=1 followups_cancelled=1")
		}
		if !found {
			t.Fatalf("no contact.unbind entry with the counts: %+v", es)
		}
		if _, err := st.UnbindExternal(bg(), hq.Unbind{Actor: "wecom", At: t0}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("empty external id: %v", err)
		}
	})
}
