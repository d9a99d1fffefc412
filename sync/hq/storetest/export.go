package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func export(t *testing.T, open Opener) {
	t.Run("CopyReadsTheSameAndRerunChangesNothing", func(t *testing.T) {
		src, dst := open(t), open(t)
		Populate(t, src)
		want, err := src.ExportCounts(bg())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{hq.KindTokens, hq.KindVisits, hq.KindPurchases, hq.KindRollups, hq.KindPointsTotals,
			hq.KindFollowUps, hq.KindAttempts, hq.KindBookings, hq.KindNotices, hq.KindContacts, hq.KindAudit, hq.KindSessions,
			hq.KindContent, hq.KindContentStatus, hq.KindSecrets, hq.KindRoster} {
			if want[k] == 0 {
				t.Errorf("populated store has no %s: the case tests nothing there", k)
			}
		}
		for range 2 { // the second import is a rerun: nothing changes
			got := hq.ExportCounts{}
			err := src.Export(bg(), func(b hq.ExportBatch) error { b.Count(got); return dst.Import(bg(), b) })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("exported %v, ExportCounts said %v", got, want)
			}
			copied, err := dst.ExportCounts(bg())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(copied, want) {
				t.Fatalf("copy holds %v, want %v", copied, want)
			}
			SameReads(t, src, dst)
		}
		// The copy goes on from where the original was: new audit entries follow.
		if err := dst.Audit(bg(), hq.AuditEntry{At: t0.Add(time.Hour), Actor: "hq", Action: "after.import"}); err != nil {
			t.Fatal(err)
		}
		es, err := dst.AuditEntries(bg(), hq.AuditQuery{Limit: 1})
		if err != nil || len(es) != 1 || es[0].Action != "after.import" || int(es[0].Seq) <= want[hq.KindAudit] {
			t.Fatalf("audit after import: %+v %v", es, err)
		}
		if ok, err := dst.ClaimNotice(bg(), "summary/S001/"+day0.String(), "other", t0); err != nil || ok {
			t.Fatalf("a notice claimed before the copy was claimed again: %v %v", ok, err)
		}
	})
}

// Populate fills st with some of everything a store keeps, through the seam: tokens,
// roster, secrets, visits (one purged), purchases, rollups of two content versions,
// points, follow-ups in every state with attempts, an open link and a booking,
// notices, a contact, audit entries, a session, content versions, assignments and a
// kiosk status. Cross-backend tests (hq migrate-data) use it too.
func Populate(t *testing.T, st hq.Store) {
	t.Helper()
	ctx := bg()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.PutToken(ctx, "aa11", hq.Principal{StoreID: "S001", Label: "kiosk 1", CreatedAt: t0}))
	must(st.PutToken(ctx, "bb22", hq.Principal{Admin: true, CreatedAt: t0}))
	must(st.PutPharmacist(ctx, flows.Pharmacist{ID: "P01", StoreID: "S001", Name: "王芳", Manager: true, PINHash: "$2a$x", Badge: "0001"}))
	must(st.PutPharmacist(ctx, flows.Pharmacist{ID: "P02", StoreID: "S002", Name: "李娜"}))
	if _, err := st.LoadOrCreateSecret(ctx, "link", 32); err != nil {
		t.Fatal(err)
	}
	// Visits: an old one (purged below), complete and abandoned ones with follow-ups,
	// points and audit, of two stores and two content versions.
	old := visit("OLD1", "S001", "P01", t0.AddDate(-4, 0, 0), true)
	ingest(t, st, hq.VisitIngest{Visit: old, Points: []flows.PointsEvent{completeEvent(old, 5)}})
	var due []flows.Visit
	for i, id := range []string{"V1", "V2", "V3", "V4"} {
		v := visit(id, "S001", "P01", t0.Add(time.Duration(i)*time.Hour), i != 3)
		v.ContentVersion = i % 2
		in := withFollowUp(v, t0.Add(-time.Hour))
		in.Points = []flows.PointsEvent{completeEvent(v, 5)}
		ingest(t, st, in)
		due = append(due, v)
	}
	w := visit("W1", "S002", "P02", t0, true)
	ingest(t, st, hq.VisitIngest{Visit: w, Points: []flows.PointsEvent{completeEvent(w, 5)}})
	if _, err := st.CreditPoints(ctx, flows.PointsEvent{ID: "bonus", StoreID: "S002", PharmacistID: "P02", Kind: "bonus", Points: 7, At: t0}); err != nil {
		t.Fatal(err)
	}
	must(st.AddRollups(ctx, []hq.RollupRow{{StoreID: "S003", PharmacistID: "P09", Day: day0 - 40, ContentVersion: 2,
		Rollup: flows.Rollup{Visits: 10, Completed: 7, Abandoned: 3, Funnel: [4]int{10, 9, 8, 7}, StepTimed: [4]int{10, 9, 8, 7}, StepSeconds: [4]float64{60, 90, 30, 20}}}}))
	// Purchases, one before the purge cutoff.
	ck := key("customer-of-V1")
	if _, err := st.IngestPurchases(ctx, []flows.Purchase{
		{ID: "P-1", CustomerKey: ck, StoreID: "S001", SoldAt: t0.AddDate(0, 0, -20), DrugCode: "6930120010006", Name: "氨氯地平", Ingredient: "amlodipine", ATC: "C08CA01", Quantity: 1, DaysSupply: 28},
		{ID: "P-2", CustomerKey: ck, StoreID: "S001", SoldAt: t0.AddDate(0, 0, -2), DrugCode: "X", Quantity: 2.5, Kind: flows.KindOTC, ReceiptID: "R9", AmountFen: ptr(int64(1250))},
		{ID: "P-OLD", CustomerKey: ck, StoreID: "S001", SoldAt: t0.AddDate(-4, 0, 0), DrugCode: "X", Quantity: 1},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PurgeBefore(ctx, day0-3*365); err != nil {
		t.Fatal(err)
	}
	// Follow-ups: V1 sent and opened and booked, V2 failed, V3 sending (a live lease),
	// V4 still scheduled.
	items, err := st.ClaimDue(ctx, hq.Claim{Owner: "hq-a", Now: t0, Lease: time.Hour, Limit: 3})
	if err != nil || len(items) != 3 {
		t.Fatalf("claim: %d %v", len(items), err)
	}
	for i, it := range items {
		a, err := st.StartAttempt(ctx, hq.AttemptStart{ID: it.FollowUp.ID, Owner: "hq-a", At: t0, Lease: time.Hour,
			Audit: []hq.AuditEntry{{At: t0, Actor: "hq", Action: "followup.send_attempt", Detail: "followup=" + it.FollowUp.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 0:
			must(st.FinishAttempt(ctx, hq.AttemptResult{ID: a.FollowUp.ID, Owner: "hq-a", Attempt: a.Attempts, At: t0.Add(time.Second), Status: hq.StatusSent, MsgID: "m1"}))
			if _, err := openLink(st, a.FollowUp.ID, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := book(st, a.FollowUp.ID, t0.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
		case 1:
			must(st.FinishAttempt(ctx, hq.AttemptResult{ID: a.FollowUp.ID, Owner: "hq-a", Attempt: a.Attempts, At: t0.Add(time.Second),
				Status: hq.StatusFailed, Code: "no_contact", Reason: "no WeCom contact"}))
		}
	}
	must(st.MarkEscalated(ctx, []string{items[1].FollowUp.ID}, t0.Add(3*time.Hour), nil))
	if ok, err := st.ClaimNotice(ctx, "summary/S001/"+day0.String(), "hq-a", t0); err != nil || !ok {
		t.Fatalf("claim notice: %v %v", ok, err)
	}
	must(st.BindContact(ctx, hq.Contact{StoreID: "S001", CustomerKey: ck, Sender: "zhangsan", ExternalUserID: "wmABC", ConsentAt: t0, VisitID: "V1"},
		[]hq.AuditEntry{{At: t0, Actor: "wecom", Action: "contact.bind"}}))
	must(st.PutSession(ctx, "sess-hash", hq.Session{CSRF: "csrf1", Expires: t0.Add(24 * time.Hour)}, t0))
	v1, err := st.PublishContent(ctx, hq.ContentPublish{Pack: pack(t, "5"), Author: "ops", Note: "first", At: t0,
		Assign: hq.ContentAssign{Stores: []string{"S001"}, By: "ops", At: t0}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishContent(ctx, hq.ContentPublish{Pack: pack(t, "6"), Author: "ops", At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	must(st.AssignContent(ctx, hq.ContentAssign{Version: v1.Number, All: false, Stores: []string{"S002"}, By: "ops", At: t0}))
	must(st.RecordContentStatus(ctx, hq.ContentStatus{StoreID: "S001", Version: v1.Number, Hash: v1.Hash, At: t0}))
}

func ptr[T any](v T) *T { return &v }

// SameReads fails t unless a and b answer the seam's reads alike for what Populate
// stored (times compared with Equal).
func SameReads(t *testing.T, a, b hq.Store) {
	t.Helper()
	ctx := bg()
	check := func(what string, f func(st hq.Store) (any, error)) {
		t.Helper()
		x, err := f(a)
		if err != nil {
			t.Fatalf("%s (original): %v", what, err)
		}
		y, err := f(b)
		if err != nil {
			t.Fatalf("%s (copy): %v", what, err)
		}
		if !equalTimes(reflect.ValueOf(x), reflect.ValueOf(y)) {
			t.Errorf("%s differs:\n original %+v\n copy     %+v", what, x, y)
		}
	}
	check("token", func(st hq.Store) (any, error) { return st.LookupToken(ctx, "aa11") })
	check("roster", func(st hq.Store) (any, error) { return st.Roster(ctx, "S001") })
	check("secret", func(st hq.Store) (any, error) { return st.LoadOrCreateSecret(ctx, "link", 32) })
	check("visit", func(st hq.Store) (any, error) { return st.Visit(ctx, "S001", "V2") })
	check("purged visit", func(st hq.Store) (any, error) {
		_, err := st.Visit(ctx, "S001", "OLD1")
		return err != nil, nil
	})
	check("history", func(st hq.Store) (any, error) { return st.History(ctx, key("customer-of-V1"), day0-400, day0+1) })
	for _, g := range []string{hq.GroupByStore, hq.GroupByPharmacist, hq.GroupByDay, hq.GroupByContentVersion} {
		check("completion by "+g, func(st hq.Store) (any, error) { return st.Completion(ctx, hq.CompletionQuery{GroupBy: g}) })
	}
	check("completion of a month", func(st hq.Store) (any, error) {
		return st.Completion(ctx, hq.CompletionQuery{GroupBy: hq.GroupByStore, From: day0 - 45, To: day0 + 10})
	})
	check("points", func(st hq.Store) (any, error) { return st.Points(ctx, "", "") })
	for _, id := range []string{"V1-f1", "V2-f1", "V3-f1", "V4-f1"} {
		check("follow-up "+id, func(st hq.Store) (any, error) { return st.FollowUp(ctx, id) })
		check("attempts "+id, func(st hq.Store) (any, error) { return st.Attempts(ctx, id) })
	}
	check("booking", func(st hq.Store) (any, error) {
		bk, ok, err := st.Booking(ctx, "V1-f1")
		return []any{bk, ok}, err
	})
	check("unopened", func(st hq.Store) (any, error) {
		us, err := st.Unopened(ctx, hq.UnopenedQuery{DueBefore: t0.Add(time.Hour), SentBefore: t0.Add(time.Hour)})
		return len(us), err
	})
	check("follow-up day", func(st hq.Store) (any, error) { return st.FollowUpDay(ctx, day0) })
	check("contact", func(st hq.Store) (any, error) {
		c, ok, err := st.Contact(ctx, "S001", key("customer-of-V1"))
		return []any{c, ok}, err
	})
	check("audit", func(st hq.Store) (any, error) { return st.AuditEntries(ctx, hq.AuditQuery{Limit: 1000}) })
	check("session", func(st hq.Store) (any, error) {
		s, ok, err := st.GetSession(ctx, "sess-hash")
		return []any{s, ok}, err
	})
	check("content versions", func(st hq.Store) (any, error) { return st.ContentVersions(ctx) })
	check("content pack", func(st hq.Store) (any, error) {
		v, p, err := st.ContentPack(ctx, 1)
		return []any{v, p.Hash()}, err
	})
	check("content assignments", func(st hq.Store) (any, error) { return st.ContentAssignments(ctx) })
	check("content statuses", func(st hq.Store) (any, error) { return st.ContentStatuses(ctx) })
	check("effect customers", func(st hq.Store) (any, error) { return st.EffectCustomers(ctx, "S001", day0-30, day0+1) })
}

// equalTimes is reflect.DeepEqual with time.Time compared by Equal (backends keep the
// instant, not the location) and nil and empty slices and maps alike.
func equalTimes(x, y reflect.Value) bool {
	if !x.IsValid() || !y.IsValid() {
		return x.IsValid() == y.IsValid()
	}
	if x.Type() != y.Type() {
		return false
	}
	if x.Type() == reflect.TypeOf(time.Time{}) {
		return x.Interface().(time.Time).Equal(y.Interface().(time.Time))
	}
	switch x.Kind() {
	case reflect.Pointer, reflect.Interface:
		if x.IsNil() || y.IsNil() {
			return x.IsNil() == y.IsNil()
		}
		return equalTimes(x.Elem(), y.Elem())
	case reflect.Struct:
		for i := 0; i < x.NumField(); i++ {
			if !x.Type().Field(i).IsExported() {
				continue
			}
			if !equalTimes(x.Field(i), y.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if x.Len() != y.Len() {
			return false
		}
		for i := 0; i < x.Len(); i++ {
			if !equalTimes(x.Index(i), y.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if x.Len() != y.Len() {
			return false
		}
		for _, k := range x.MapKeys() {
			if !equalTimes(x.MapIndex(k), y.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.Float32, reflect.Float64:
		d := x.Float() - y.Float()
		return d < 1e-9 && d > -1e-9
	}
	return reflect.DeepEqual(x.Interface(), y.Interface())
}
