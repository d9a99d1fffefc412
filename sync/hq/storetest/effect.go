package storetest

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hq"
)

// effVisit is a visit of customer c at store on day0+d (09:00 + offset).
func effVisit(id, store, customer string, d int, complete bool) flows.Visit {
	v := visit(id, store, "P01", t0.Add(time.Duration(d)*24*time.Hour), complete)
	v.CustomerKey = key(customer)
	v.Identify.Adherence = []flows.ClassResult{{Class: flows.ClassHypertension, Level: flows.LevelYellow}}
	if complete {
		yes := true
		v.Recommend.Items[0].Accepted = &yes
	}
	return v
}

// sameFact compares a stored fact with the one the visit gives (times by instant).
func sameFact(t *testing.T, got effect.VisitFact, v flows.Visit) {
	t.Helper()
	want := effect.VisitFactOf(v)
	if !got.StartedAt.Equal(want.StartedAt) {
		t.Fatalf("visit %s: started %v, want %v", v.ID, got.StartedAt, want.StartedAt)
	}
	got.StartedAt = want.StartedAt
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("visit %s fact:\n got %+v\nwant %+v", v.ID, got, want)
	}
}

func factIDs(t *testing.T, scan func(fn func(effect.VisitFact) error) error) []string {
	t.Helper()
	var ids []string
	if err := scan(func(f effect.VisitFact) error { ids = append(ids, f.VisitID); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

func effectStore(t *testing.T, open Opener) {
	// Visits: a1 (complete, S001, day 0), a2 (abandoned, S001, day 1), b1 (complete, S002,
	// day 1), a3 (complete, S001, day 5), n1 (no customer key, S001, day 0).
	setup := func(t *testing.T) (hq.Store, map[string]flows.Visit) {
		st := open(t)
		vs := map[string]flows.Visit{
			"a1": effVisit("a1", "S001", "ann", 0, true),
			"a2": effVisit("a2", "S001", "ann", 1, false),
			"b1": effVisit("b1", "S002", "bob", 1, true),
			"a3": effVisit("a3", "S001", "ann", 5, true),
			"n1": effVisit("n1", "S001", "", 0, false),
		}
		n1 := vs["n1"]
		n1.CustomerKey = ""
		vs["n1"] = n1
		ingest(t, st, hq.VisitIngest{Visit: vs["a1"]}, hq.VisitIngest{Visit: vs["a2"]}, hq.VisitIngest{Visit: vs["a3"]}, hq.VisitIngest{Visit: vs["n1"]})
		ingest(t, st, hq.VisitIngest{Visit: vs["b1"]})
		return st, vs
	}
	t.Run("VisitFacts", func(t *testing.T) {
		st, vs := setup(t)
		var got []effect.VisitFact
		if err := st.EffectVisits(bg(), "S001", day0, day0+1, func(f effect.VisitFact) error { got = append(got, f); return nil }); err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].VisitID < got[j].VisitID })
		if len(got) != 3 || got[0].VisitID != "a1" || got[1].VisitID != "a2" || got[2].VisitID != "n1" {
			t.Fatalf("S001 days 0–1: %+v", got)
		}
		for _, f := range got {
			sameFact(t, f, vs[f.VisitID])
		}
		if !got[0].Complete || got[0].StepsDone != 4 || got[1].Complete || len(got[0].Recommendations) != 2 {
			t.Fatalf("facts %+v", got)
		}
		all := factIDs(t, func(fn func(effect.VisitFact) error) error { return st.EffectVisits(bg(), "", day0+1, day0+5, fn) })
		slices.Sort(all)
		if !slices.Equal(all, []string{"a2", "a3", "b1"}) {
			t.Fatalf("every store, days 1–5: %v", all)
		}
		if ids := factIDs(t, func(fn func(effect.VisitFact) error) error { return st.EffectVisits(bg(), "S00", day0, day0+9, fn) }); len(ids) != 0 {
			t.Fatalf("a store id prefix matched: %v", ids)
		}
		stop := errors.New("stop")
		if err := st.EffectVisits(bg(), "", day0, day0+9, func(effect.VisitFact) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("fn's error: %v", err)
		}
	})
	t.Run("CustomerVisitsCompleteOnly", func(t *testing.T) {
		st, _ := setup(t)
		ids := factIDs(t, func(fn func(effect.VisitFact) error) error {
			return st.CustomerEffectVisits(bg(), []string{key("bob"), key("ann"), key("nobody")}, day0, day0+9, fn)
		})
		if !slices.Equal(ids, []string{"b1", "a1", "a3"}) {
			t.Fatalf("complete visits, per customer, oldest first: %v", ids)
		}
		ids = factIDs(t, func(fn func(effect.VisitFact) error) error {
			return st.CustomerEffectVisits(bg(), []string{key("ann")}, day0+1, day0+4, fn)
		})
		if len(ids) != 0 {
			t.Fatalf("days 1–4: %v", ids)
		}
		// Visit ids are per store: the same id at another store the same day is another visit.
		ingest(t, st, hq.VisitIngest{Visit: effVisit("a1", "S002", "ann", 0, true)})
		var stores []string
		if err := st.CustomerEffectVisits(bg(), []string{key("ann")}, day0, day0, func(f effect.VisitFact) error {
			stores = append(stores, f.StoreID+"/"+f.VisitID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(stores)
		if !slices.Equal(stores, []string{"S001/a1", "S002/a1"}) {
			t.Fatalf("ann's visits a1 at two stores: %v", stores)
		}
		if err := st.CustomerEffectVisits(bg(), []string{"11010519491231002X"}, day0, day0, func(effect.VisitFact) error { return nil }); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("malformed key: %v", err)
		}
	})
	t.Run("PurchasesAndCustomers", func(t *testing.T) {
		st, _ := setup(t)
		amt := int64(990)
		p := func(id, customer, store string, d int) flows.Purchase {
			x := purchase(id, customer, t0.Add(time.Duration(d)*24*time.Hour))
			x.StoreID, x.AmountFen, x.ReceiptID, x.Kind = store, &amt, "R-"+id, flows.KindRx
			return x
		}
		ps := []flows.Purchase{p("p1", "cat", "S001", 0), p("p2", "cat", "S002", 2), p("p3", "dan", "S001", 3), p("p4", "cat", "S001", 9),
			p("p5", "eve", "S003", 0)}
		if _, err := st.IngestPurchases(bg(), ps); err != nil {
			t.Fatal(err)
		}
		cs, err := st.EffectCustomers(bg(), "S001", day0, day0+3)
		want := []string{key("ann"), key("cat"), key("dan")} // ann by her visits; cat, dan by purchases; n1 has no key
		slices.Sort(want)
		if err != nil || !slices.Equal(cs, want) {
			t.Fatalf("S001 customers days 0–3: %v %v, want %v", cs, err, want)
		}
		if cs, _ := st.EffectCustomers(bg(), "S002", day0+2, day0+2); len(cs) != 1 || cs[0] != key("cat") {
			t.Fatalf("S002 day 2: %v", cs)
		}
		type fact struct {
			id string
			f  effect.PurchaseFact
		}
		byReceipt := map[uint64]string{}
		for _, p := range ps {
			byReceipt[effect.PurchaseFactOf(p).Receipt] = p.ID
		}
		var got []fact
		collect := func(f *effect.PurchaseFact) error {
			got = append(got, fact{byReceipt[f.Receipt], *f})
			return nil
		}
		if err := st.CustomerPurchases(bg(), []string{key("dan"), key("cat")}, day0, day0+3, collect); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].id != "p3" || got[1].id != "p1" || got[2].id != "p2" {
			t.Fatalf("dan's then cat's purchases, oldest first: %+v", got)
		}
		// Each fact is what effect.PurchaseFactOf reads of the stored purchase.
		if want := effect.PurchaseFactOf(ps[0]); got[1].f != want {
			t.Fatalf("fact of p1:\n got %+v\nwant %+v", got[1].f, want)
		}
		got = got[:0]
		if err := st.EffectPurchases(bg(), day0, day0+2, collect); err != nil {
			t.Fatal(err)
		}
		byCust := map[string][]string{}
		last := ""
		for _, p := range got {
			if p.f.CustomerKey != last {
				if _, seen := byCust[p.f.CustomerKey]; seen {
					t.Fatalf("customer %s's purchases are not together: %+v", p.f.CustomerKey, got)
				}
				last = p.f.CustomerKey
			}
			byCust[p.f.CustomerKey] = append(byCust[p.f.CustomerKey], p.id)
		}
		if len(got) != 3 || !slices.Equal(byCust[key("cat")], []string{"p1", "p2"}) || !slices.Equal(byCust[key("eve")], []string{"p5"}) {
			t.Fatalf("every purchase, days 0–2: %+v", got)
		}
		if err := st.CustomerPurchases(bg(), []string{"ABC"}, day0, day0, func(*effect.PurchaseFact) error { return nil }); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("malformed key: %v", err)
		}
	})
	t.Run("FollowUpFacts", func(t *testing.T) {
		st := open(t)
		a, b, c := effVisit("fa", "S001", "ann", 0, true), effVisit("fb", "S001", "bob", 0, true), effVisit("fc", "S002", "cat", 0, true)
		due := t0.Add(24 * time.Hour)
		schedule(t, st, due, a, b)
		schedule(t, st, due.Add(48*time.Hour), c)
		if got := claim(t, st, "A", due, 10); !slices.Equal(got, []string{"fa-f1", "fb-f1"}) {
			t.Fatalf("claimed %v", got)
		}
		if _, err := start(st, "fa-f1", "A", due); err != nil {
			t.Fatal(err)
		}
		sent := due.Add(30 * time.Minute)
		if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: "fa-f1", Owner: "A", Attempt: 1, At: sent, Status: hq.StatusSent}); err != nil {
			t.Fatal(err)
		}
		opened := sent.Add(5 * time.Hour)
		if _, err := openLink(st, "fa-f1", opened); err != nil {
			t.Fatal(err)
		}
		collect := func(store string, from, to flows.Day) map[string]effect.FollowUpFact {
			t.Helper()
			out := map[string]effect.FollowUpFact{}
			if err := st.EffectFollowUps(bg(), store, from, to, func(f effect.FollowUpFact) error { out[f.FollowUpID] = f; return nil }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		d1 := flows.DayOf(due)
		got := collect("S001", d1, d1)
		if len(got) != 2 || !got["fa-f1"].SentAt.Equal(sent) || !got["fa-f1"].OpenedAt.Equal(opened) || !got["fa-f1"].DueAt.Equal(due) ||
			got["fa-f1"].StoreID != "S001" || !got["fb-f1"].SentAt.IsZero() || !got["fb-f1"].OpenedAt.IsZero() {
			t.Fatalf("S001 due day: %+v", got)
		}
		if got := collect("", d1, d1+2); len(got) != 3 {
			t.Fatalf("every store: %+v", got)
		}
		if got := collect("S002", d1, d1+1); len(got) != 0 {
			t.Fatalf("S002 before its due day: %+v", got)
		}
	})
	t.Run("ForgetAndPurge", func(t *testing.T) {
		st, _ := setup(t)
		if _, err := st.IngestPurchases(bg(), []flows.Purchase{purchase("q1", "ann", t0), purchase("q2", "bob", t0.Add(24*time.Hour))}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ForgetCustomer(bg(), key("ann"), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var left []string
		if err := st.EffectVisits(bg(), "", day0, day0+9, func(f effect.VisitFact) error {
			if f.CustomerKey == key("ann") {
				left = append(left, f.VisitID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Fatalf("facts still carry the forgotten key: %v", left)
		}
		if ids := factIDs(t, func(fn func(effect.VisitFact) error) error {
			return st.CustomerEffectVisits(bg(), []string{key("ann")}, day0, day0+9, fn)
		}); len(ids) != 0 {
			t.Fatalf("forgotten customer's visits: %v", ids)
		}
		cs, _ := st.EffectCustomers(bg(), "S001", day0, day0+9)
		if slices.Contains(cs, key("ann")) {
			t.Fatalf("forgotten customer still a candidate: %v", cs)
		}
		// Retention: everything before day 1 goes.
		if _, err := st.PurgeBefore(bg(), day0+1); err != nil {
			t.Fatal(err)
		}
		all := factIDs(t, func(fn func(effect.VisitFact) error) error { return st.EffectVisits(bg(), "", day0-9, day0+9, fn) })
		slices.Sort(all)
		if !slices.Equal(all, []string{"a2", "a3", "b1"}) {
			t.Fatalf("after the purge: %v", all)
		}
		if cs, _ := st.EffectCustomers(bg(), "S001", day0, day0); len(cs) != 0 {
			t.Fatalf("purged day still has customers: %v", cs)
		}
		var n int
		_ = st.EffectPurchases(bg(), day0-9, day0+9, func(*effect.PurchaseFact) error { n++; return nil })
		if n != 1 {
			t.Fatalf("%d purchases after the purge, want 1", n)
		}
	})
}
