package followup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// Removing a contact unbinds only that staff member's bindings to that external contact
// and cancels only the unbound customers' scheduled WeCom follow-ups at that store.
func TestDeleteContactsByExternal(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st, _ := newTestStore(t)
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	mustEnqueue(t, st, visit("V2", "S002", "P05", clk.Now(), true))
	for _, c := range []hq.Contact{
		{StoreID: "S001", CustomerKey: testCustomerKey, Sender: "staff01", ExternalUserID: "wmEXT1"},
		{StoreID: "S002", CustomerKey: testCustomerKey, Sender: "staff02", ExternalUserID: "wmEXT1"},
	} {
		if err := st.BindContact(ctx, c, []hq.AuditEntry{{At: clk.Now(), Actor: "wecom", Action: "contact.bind", Detail: "visit=V"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.BindContact(ctx, hq.Contact{StoreID: "S001"}, nil); err == nil {
		t.Fatal("incomplete contact bound")
	}
	// Another staff member, or another external contact: nothing changes.
	for _, c := range [][2]string{{"staff09", "wmEXT1"}, {"staff01", "wmEXT2"}} {
		if r, err := unbind(ctx, st, c[0], c[1], clk.Now()); err != nil || r != (hq.UnbindResult{}) {
			t.Fatalf("%v: %+v %v", c, r, err)
		}
	}
	r, err := unbind(ctx, st, "staff01", "wmEXT1", clk.Now())
	if err != nil || r != (hq.UnbindResult{Contacts: 1, Cancelled: 1}) {
		t.Fatalf("unbind: %+v %v", r, err)
	}
	if _, ok, _ := st.Contact(ctx, "S001", testCustomerKey); ok {
		t.Fatal("S001 binding left")
	}
	if _, ok, _ := st.Contact(ctx, "S002", testCustomerKey); !ok {
		t.Fatal("S002 binding (another staff member) removed")
	}
	if it := get(t, st, "S001:V1-f1"); it.Status != hq.StatusFailed || it.LastReason != ReasonContactRemoved || it.LastCode != CodeContactRemoved {
		t.Fatalf("V1: %+v", it)
	}
	if it := get(t, st, "S002:V2-f1"); it.Status != hq.StatusScheduled {
		t.Fatalf("V2 at another store: %+v", it)
	}
	es, _ := st.AuditEntries(ctx, hq.AuditQuery{From: clk.Now().Add(-1), To: clk.Now().Add(1), Actor: "wecom"})
	for _, e := range es {
		if strings.Contains(e.Detail, "wmEXT") || strings.Contains(e.Detail, testCustomerKey) {
			t.Fatalf("audit leaks an identifier: %+v", e)
		}
	}
}

// unbind removes bindings as WeCom's del_follow_user callback does.
func unbind(ctx context.Context, st hq.Store, sender, ext string, now time.Time) (hq.UnbindResult, error) {
	return st.UnbindExternal(ctx, hq.Unbind{Sender: sender, ExternalUserID: ext, Code: CodeContactRemoved,
		Reason: ReasonContactRemoved, Actor: "wecom", At: now})
}
