package followup

import (
	"context"
	"strings"
	"testing"
)

// Removing a contact unbinds only that staff member's bindings to that external contact
// and cancels only the unbound customers' scheduled WeCom follow-ups at that store.
func TestDeleteContactsByExternal(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st, _ := newTestStore(t)
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	mustEnqueue(t, st, visit("V2", "S002", "P05", clk.Now(), true))
	for _, c := range []Contact{
		{StoreID: "S001", CustomerKey: testCustomerKey, Sender: "staff01", ExternalUserID: "wmEXT1"},
		{StoreID: "S002", CustomerKey: testCustomerKey, Sender: "staff02", ExternalUserID: "wmEXT1"},
	} {
		if err := st.BindContact(ctx, c, "wecom", "visit=V", clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.BindContact(ctx, Contact{StoreID: "S001"}, "wecom", "", clk.Now()); err == nil {
		t.Fatal("incomplete contact bound")
	}
	// Another staff member, or another external contact: nothing changes.
	for _, c := range [][2]string{{"staff09", "wmEXT1"}, {"staff01", "wmEXT2"}} {
		if r, err := st.DeleteContactsByExternal(ctx, c[0], c[1], "wecom", clk.Now()); err != nil || r != (UnbindResult{}) {
			t.Fatalf("%v: %+v %v", c, r, err)
		}
	}
	r, err := st.DeleteContactsByExternal(ctx, "staff01", "wmEXT1", "wecom", clk.Now())
	if err != nil || r != (UnbindResult{Contacts: 1, Cancelled: 1}) {
		t.Fatalf("unbind: %+v %v", r, err)
	}
	if _, ok, _ := st.Contact(ctx, "S001", testCustomerKey); ok {
		t.Fatal("S001 binding left")
	}
	if _, ok, _ := st.Contact(ctx, "S002", testCustomerKey); !ok {
		t.Fatal("S002 binding (another staff member) removed")
	}
	if it, _ := st.Get(ctx, "V1-f1"); it.Status != StatusFailed || it.LastReason != ReasonContactRemoved {
		t.Fatalf("V1: %+v", it)
	}
	if it, _ := st.Get(ctx, "V2-f1"); it.Status != StatusScheduled {
		t.Fatalf("V2 at another store: %+v", it)
	}
	es, _ := st.AuditEntries(ctx, clk.Now().Add(-1), clk.Now().Add(1), "wecom", 100)
	for _, e := range es {
		if strings.Contains(e.Detail, "wmEXT") || strings.Contains(e.Detail, testCustomerKey) {
			t.Fatalf("audit leaks an identifier: %+v", e)
		}
	}
}
