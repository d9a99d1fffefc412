package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func maintenance(t *testing.T, open Opener) {
	t.Run("ForgetCustomer", func(t *testing.T) {
		st := open(t)
		gone, kept := key("forget-me"), key("keep-me")
		v1 := visit("v1", "S001", "P01", t0.Add(-24*time.Hour), true)
		v1.CustomerKey = gone
		v2 := visit("v2", "S001", "P01", t0.Add(-24*time.Hour), true)
		v2.CustomerKey = kept
		in1 := withFollowUp(v1, t0)
		in1.Points = []flows.PointsEvent{completeEvent(v1, 1)}
		in1.Visit.FollowUp = &flows.FollowUpStep{At: t0, Consent: map[string]bool{flows.ChannelWeCom: true}, FollowUp: &in1.FollowUps[0].FollowUp}
		ingest(t, st, in1, withFollowUp(v2, t0))
		if _, err := st.IngestPurchases(bg(), []flows.Purchase{purchase("p1", "forget-me", t0), purchase("p2", "forget-me", t0.Add(-40*24*time.Hour)), purchase("p3", "keep-me", t0)}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []hq.Contact{{StoreID: "S001", CustomerKey: gone, Sender: "s", ExternalUserID: "wm1"}, {StoreID: "S002", CustomerKey: gone, Sender: "s", ExternalUserID: "wm1"},
			{StoreID: "S001", CustomerKey: kept, Sender: "s", ExternalUserID: "wm2"}} {
			if err := st.BindContact(bg(), c, nil); err != nil {
				t.Fatal(err)
			}
		}
		visitsBefore, pointsBefore := visitsCounted(t, st, "S001"), pointsOf(t, st, "S001", "")
		stats, err := st.ForgetCustomer(bg(), gone, t0)
		if err != nil {
			t.Fatal(err)
		}
		if stats != (hq.ForgetStats{Purchases: 2, Visits: 1, FollowUps: 1, Contacts: 2}) {
			t.Fatalf("stats %+v", stats)
		}
		if ps, _ := st.History(bg(), gone, 0, day0+1); len(ps) != 0 {
			t.Fatalf("purchases left: %v", ids(ps))
		}
		if ps, _ := st.History(bg(), kept, 0, day0+1); len(ps) != 1 {
			t.Fatal("another customer's purchases went")
		}
		got, err := st.Visit(bg(), "S001", "v1")
		if err != nil || got.CustomerKey != "" || got.CustomerMasked != "" || got.Outcome != flows.OutcomeComplete {
			t.Fatalf("visit after forget: %+v %v (kept, without key and masked ID)", got, err)
		}
		if b, _ := json.Marshal(got); bytes.Contains(b, []byte(gone)) {
			t.Fatalf("the key is still in the visit: %s", b)
		}
		if got, _ := st.Visit(bg(), "S001", "v2"); got.CustomerKey != kept {
			t.Fatal("another customer's visit was scrubbed")
		}
		it := status(t, st, "v1-f1")
		if it.FollowUp.CustomerKey != "" || it.Status != hq.StatusFailed || it.LastReason != hq.ForgetReason || it.LastCode != hq.ForgetCode {
			t.Fatalf("follow-up after forget: %+v", it)
		}
		if got := claim(t, st, "A", t0, 10); len(got) != 1 || got[0] != "v2-f1" {
			t.Fatalf("claimable after forget: %v, want only v2-f1", got)
		}
		for _, s := range []string{"S001", "S002"} {
			if _, ok, _ := st.Contact(bg(), s, gone); ok {
				t.Fatalf("binding at %s left", s)
			}
		}
		if _, ok, _ := st.Contact(bg(), "S001", kept); !ok {
			t.Fatal("another customer's binding went")
		}
		if visitsCounted(t, st, "S001") != visitsBefore || pointsOf(t, st, "S001", "") != pointsBefore {
			t.Fatal("forgetting a customer changed the rollups or points")
		}
		es, _ := st.AuditEntries(bg(), hq.AuditQuery{})
		found := false
		for _, e := range es {
			found = found || e.Action == "customer.forget"
			if strings.Contains(e.Detail, gone) {
				t.Fatalf("audit holds the key: %+v", e)
			}
		}
		if !found {
			t.Fatal("forget not audited")
		}
		again, err := st.ForgetCustomer(bg(), gone, t0)
		if err != nil || again.Purchases != 0 || again.Visits != 0 || again.Contacts != 0 {
			t.Fatalf("forgetting again: %+v %v", again, err)
		}
		if _, err := st.ForgetCustomer(bg(), "11010519491231002X", t0); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("an ID number as key: %v", err)
		}
	})
	t.Run("PurgeKeepsTombstonesThatDeduplicate", func(t *testing.T) {
		st := open(t)
		old, recent := t0.AddDate(-4, 0, 0), t0.AddDate(0, 0, -10)
		oldV, newV := visit("old", "S001", "P01", old, true), visit("new", "S001", "P01", recent, true)
		ingest(t, st, hq.VisitIngest{Visit: oldV, Points: []flows.PointsEvent{completeEvent(oldV, 1)}}, hq.VisitIngest{Visit: newV})
		if _, err := st.IngestPurchases(bg(), []flows.Purchase{purchase("p-old", "a", old), purchase("p-new", "a", recent)}); err != nil {
			t.Fatal(err)
		}
		visitsBefore, pointsBefore := visitsCounted(t, st, "S001"), pointsOf(t, st, "S001", "")
		cutoff := flows.DayOf(t0.AddDate(-3, 0, 0))
		stats, err := st.PurgeBefore(bg(), cutoff)
		if err != nil || stats != (hq.PurgeStats{Cutoff: cutoff, Purchases: 1, Visits: 1}) {
			t.Fatalf("purge: %+v %v", stats, err)
		}
		if ps, _ := st.History(bg(), key("a"), 0, day0); len(ps) != 1 || ps[0].ID != "p-new" {
			t.Fatalf("history after purge: %v", ids(ps))
		}
		if _, err := st.Visit(bg(), "S001", "old"); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("a purged visit: %v, want ErrNotFound", err)
		}
		if _, err := st.Visit(bg(), "S001", "new"); err != nil {
			t.Fatalf("a recent visit went: %v", err)
		}
		// The purged visit sent again is still a duplicate: counted once, earning nothing.
		r := ingest(t, st, hq.VisitIngest{Visit: oldV, Points: []flows.PointsEvent{completeEvent(oldV, 1)}})
		if r.Duplicates != 1 || r.Accepted != 0 {
			t.Fatalf("a purged visit re-sent: %+v, want a duplicate", r)
		}
		// … of its own store only: another store's visit with that id is new (and
		// purging S001's tombstones touched nothing of S002).
		other := visit("old", "S002", "P01", recent, false)
		if r := ingest(t, st, hq.VisitIngest{Visit: other}); r.Accepted != 1 {
			t.Fatalf("S002's visit with the id of S001's purged one: %+v, want accepted", r)
		}
		if _, err := st.PurgeBefore(bg(), cutoff); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Visit(bg(), "S002", "old"); err != nil {
			t.Fatalf("S002's recent visit after a second purge: %v", err)
		}
		if visitsCounted(t, st, "S001") != visitsBefore || pointsOf(t, st, "S001", "") != pointsBefore {
			t.Fatal("purge (or the resend) changed the rollups or points")
		}
		if again, err := st.PurgeBefore(bg(), cutoff); err != nil || again.Visits != 0 || again.Purchases != 0 {
			t.Fatalf("purging again: %+v %v", again, err)
		}
	})
	t.Run("Backup", func(t *testing.T) {
		st := open(t)
		ingest(t, st, hq.VisitIngest{Visit: visit("v", "S001", "P01", t0, true)})
		var buf bytes.Buffer
		size := int64(-2)
		n, err := st.Backup(bg(), &buf, func(s int64) { size = s })
		if errors.Is(err, hq.ErrUnsupported) {
			if !strings.Contains(err.Error(), " ") || n != 0 {
				t.Fatalf("unsupported backup must say what to use instead: %v", err)
			}
			return
		}
		if err != nil || n == 0 || n != int64(buf.Len()) || (size >= 0 && size != n) {
			t.Fatalf("backup: n=%d len=%d size=%d err=%v", n, buf.Len(), size, err)
		}
	})
}
