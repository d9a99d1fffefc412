package counter

import (
	"context"
	"testing"
	"time"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/demo"
)

// The whole flow on the core alone: a serial scan in, key presses, a complete visit with
// all four steps saved in the real bbolt store (and queued for HQ), within 12 keys.
func TestWholeVisitWithConsent(t *testing.T) {
	r := newRig(t, rigOpts{hq: true})
	r.mustBe(ScreenSignIn)
	r.signIn(1, "1234")
	r.mustBe(ScreenWaiting)
	r.scan(demo.Customers()[2].ID) // 王五: red
	r.loaded()
	presses := 0
	k := func(key Key) { presses++; r.key(key) }
	p := func(s string) { presses += len([]rune(s)); r.press(s) }
	r.mustBe(ScreenIdentify)
	vs := r.vs()
	if vs.Visit.CustomerMasked != "3405**********001X" || vs.Offline {
		t.Fatalf("step 1: masked %q offline %v", vs.Visit.CustomerMasked, vs.Offline)
	}
	if w, ok := vs.Analysis.Worst(); !ok || w.Level != flows.LevelRed || w.Class != flows.ClassHypertension {
		t.Fatalf("analysis %+v", vs.Analysis.Classes)
	}
	k(KeyEnter)
	r.mustBe(ScreenQuestionnaire)
	p("111")
	k(KeyEnter)
	r.mustBe(ScreenRecommend)
	p("1")
	k(KeyEnter)
	r.mustBe(ScreenFollowUp)
	p("1")
	if !r.vs().AnyConsent() {
		t.Fatal("WeCom consent not taken")
	}
	k(KeyEnter)
	r.mustBe(ScreenSummary)
	id := r.vs().Visit.ID
	k(KeyEnter)
	r.mustBe(ScreenWaiting)
	if presses > 12 {
		t.Fatalf("visit took %d key presses after the scan, want ≤ 12", presses)
	}
	got := r.stored(id)
	if got.Outcome != flows.OutcomeComplete || flows.StepsDone(got) != 4 || got.PharmacistID != "P01" {
		t.Fatalf("visit %s, %d steps, by %s", got.Outcome, flows.StepsDone(got), got.PharmacistID)
	}
	if got.Identify.Offline || len(got.Identify.Adherence) == 0 || got.Identify.Adherence[0].Level != flows.LevelRed {
		t.Errorf("step 1 %+v", got.Identify)
	}
	if len(got.Questionnaire.Answers) < 3 {
		t.Errorf("answers %v", got.Questionnaire.Answers)
	}
	if it := got.Recommend.Items; len(it) != 2 || !*it[0].Accepted || *it[1].Accepted {
		t.Errorf("recommendations %+v", it)
	}
	if f := got.FollowUp; f == nil || !f.Consent[flows.ChannelWeCom] || f.FollowUp == nil || f.FollowUp.Channel != flows.ChannelWeCom {
		t.Errorf("follow-up %+v", got.FollowUp)
	}
	if st, err := r.st.VisitSync(context.Background(), id); err != nil || st != "queued" {
		t.Errorf("visit sync state %q, %v; want queued in the outbox", st, err)
	}
	if r.kicks == 0 {
		t.Error("the drainer was not kicked after the visit finished")
	}
}

// HQ down: step 1 falls back to this store's records within the budget and says so.
func TestOfflineVisitUsesLocalHistory(t *testing.T) {
	r := newRig(t, rigOpts{hqDown: true})
	r.signIn(1, "1234")
	r.scan(demo.Customers()[0].ID) // 张三: his last fill was at the sister store (HQ only)
	r.loaded()
	vs := r.vs()
	if !vs.Offline || vs.HQErr == "" {
		t.Fatalf("analysis offline=%v (%q), want offline with the cause", vs.Offline, vs.HQErr)
	}
	c, ok := vs.Analysis.Class(flows.ClassHypertension)
	if !ok || c.Fills != 2 {
		t.Fatalf("offline analysis %+v, want the 2 local fills", c)
	}
	if r.c.Status().HQ != HQOffline {
		t.Fatalf("banner HQ state %v, want offline", r.c.Status().HQ)
	}
	r.key(KeyEnter)
	if v := r.stored(vs.Visit.ID); v.Identify == nil || !v.Identify.Offline {
		t.Fatalf("saved step 1 %+v, want offline", v.Identify)
	}
}

// Online, the customer's sister-store fill comes from HQ and is cached locally.
func TestOnlineHistoryIsChainWideAndCached(t *testing.T) {
	r := newRig(t, rigOpts{hq: true})
	r.signIn(1, "1234")
	r.scan(demo.Customers()[0].ID)
	r.loaded()
	vs := r.vs()
	c, ok := vs.Analysis.Class(flows.ClassHypertension)
	if !ok || c.Fills != 3 || c.Level != flows.LevelYellow {
		t.Fatalf("online analysis %+v, want 3 fills, yellow", c)
	}
	d := flows.DayOf(r.clk.Now())
	ps, err := r.st.History(context.Background(), vs.Visit.CustomerKey, d-300, d)
	if err != nil || len(ps) != 3 {
		t.Fatalf("local cache has %d purchases (%v), want the 3 chain-wide ones", len(ps), err)
	}
}

// Esc abandons after confirmation; the abandoned visit is saved as such.
func TestAbandonWithEsc(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.signIn(1, "1234")
	r.scan(demo.Customers()[1].ID)
	r.loaded()
	r.key(KeyEnter)
	id := r.vs().Visit.ID
	r.key(KeyEscape)
	r.mustBe(ScreenConfirmAbandon)
	r.key(KeyBackspace) // no: back to the visit
	r.mustBe(ScreenQuestionnaire)
	r.key(KeyEscape)
	r.key(KeyEnter) // yes
	r.mustBe(ScreenWaiting)
	v := r.stored(id)
	if v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != AbandonPharmacist || flows.StepsDone(v) != 1 {
		t.Fatalf("visit %s/%s steps %d, want abandoned by the pharmacist after step 1", v.Outcome, v.AbandonReason, flows.StepsDone(v))
	}
}

// A new customer scanned mid-visit asks first; yes abandons (new_customer) and starts the
// new visit, no keeps the current one.
func TestNewCustomerMidVisit(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.signIn(1, "1234")
	r.scan(demo.Customers()[1].ID)
	r.loaded()
	first := r.vs().Visit.ID
	r.scan(demo.Customers()[2].ID)
	r.mustBe(ScreenConfirmAbandon)
	if p := r.c.Page().(*ConfirmAbandonPage); p.Reason != AbandonNewCustomer {
		t.Fatalf("reason %q", p.Reason)
	}
	r.key(KeyBackspace)
	if r.vs().Visit.ID != first {
		t.Fatal("declining the abandon replaced the visit")
	}
	r.scan(demo.Customers()[2].ID)
	r.key(KeyEnter)
	r.waitFor("new visit", func() bool { vs, ok := r.c.Visit(); return ok && vs.Visit.ID != first })
	if v := r.stored(first); v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != AbandonNewCustomer {
		t.Fatalf("first visit %s/%s, want abandoned/new_customer", v.Outcome, v.AbandonReason)
	}
	r.loaded()
	if m := r.vs().Visit.CustomerMasked; m != "3405**********001X" {
		t.Fatalf("new visit for %q", m)
	}
	r.scan(demo.Customers()[2].ID) // the same customer again: nothing changes
	if r.messageKey() != "msg.same_customer" {
		t.Fatalf("message %q", r.messageKey())
	}
}

// The idle lock saves the open visit as abandoned (idle) and signs the pharmacist out;
// any key unlocks to the sign-in page.
func TestIdleLockAbandonsVisit(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.signIn(1, "1234")
	r.scan(demo.Customers()[1].ID)
	r.loaded()
	id := r.vs().Visit.ID
	r.clk.Advance(DefaultLockAfter - 10*time.Second)
	r.c.Tick()
	if r.c.Locked() {
		t.Fatal("locked before the idle time")
	}
	r.clk.Advance(11 * time.Second)
	r.c.Tick()
	if _, signed := r.c.Pharmacist(); !r.c.Locked() || signed {
		t.Fatal("not locked after 5 minutes idle")
	}
	r.mustBe(ScreenLock)
	if _, ok := r.c.Visit(); ok {
		t.Fatal("the locked counter still holds the visit")
	}
	if v := r.stored(id); v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != AbandonIdle {
		t.Fatalf("visit %s/%s, want abandoned/idle", v.Outcome, v.AbandonReason)
	}
	r.key(KeyEnter)
	r.mustBe(ScreenSignIn)
}

// Manual ID entry: digits and X only, checked as the classifier checks a scan.
func TestManualIDEntry(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.signIn(1, "1234")
	r.press("1")
	r.mustBe(ScreenManualID)
	r.press("11010519491231002")
	r.press("a") // ignored: not a digit or X
	r.press("9") // wrong check character
	r.key(KeyEnter)
	p := r.c.Page().(*ManualIDPage)
	if pr, ok := p.Err.(*devices.Problem); !ok || pr == nil {
		t.Fatalf("refusal %#v, want a devices problem", p.Err)
	}
	if _, ok := r.c.Visit(); ok {
		t.Fatal("an invalid ID started a visit")
	}
	r.key(KeyBackspace)
	r.press("x") // lower-case x is normalised
	r.key(KeyEnter)
	r.waitFor("visit", func() bool { _, ok := r.c.Visit(); return ok })
	if m := r.vs().Visit.CustomerMasked; m != "1101**********002X" {
		t.Fatalf("masked %q", m)
	}
}

// A wrong PIN keeps the pharmacist out; Esc goes back to the list.
func TestWrongPIN(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.press("1")
	r.press("9999")
	r.key(KeyEnter)
	if p := r.c.Page().(*PINPage); !p.Bad || p.Digits() != 0 {
		t.Fatalf("PIN page bad=%v digits=%d", p.Bad, p.Digits())
	}
	if _, ok := r.c.Pharmacist(); ok {
		t.Fatal("signed in with a wrong PIN")
	}
	r.key(KeyEscape)
	r.mustBe(ScreenSignIn)
}

// A badge scan signs in; a badge scanned during a visit is refused.
func TestBadgeSignIn(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.scan("STAFF-9999")
	if r.messageKey() != "msg.badge_unknown" {
		t.Fatalf("unknown badge: message %q", r.messageKey())
	}
	r.scan("STAFF-0002") // 李娜's badge
	if p, ok := r.c.Pharmacist(); !ok || p.ID != "P02" {
		t.Fatalf("badge scan signed in %+v", p)
	}
	r.mustBe(ScreenWaiting)
	r.scan(demo.Customers()[1].ID)
	r.scan("STAFF-0001")
	if p, _ := r.c.Pharmacist(); p.ID != "P02" || r.messageKey() != "msg.finish_visit_first" {
		t.Fatalf("badge mid-visit: %s, message %q", p.ID, r.messageKey())
	}
}

// An insurance QR code is resolved through the (demo) gateway into the same customer key
// as the ID card; an unknown token says so and starts nothing; the scan log never holds
// the token.
func TestInsuranceQRStartsVisit(t *testing.T) {
	r := newRig(t, rigOpts{hq: true})
	r.signIn(1, "1234")
	r.scan("YBDEMO0000000000009999") // unknown token
	r.waitFor("gateway answer", func() bool { return r.messageKey() == "devices.insurance.unresolved" })
	if _, ok := r.c.Visit(); ok {
		t.Fatal("unknown insurance token started a visit")
	}
	r.scan(demo.InsuranceToken) // 李四
	r.waitFor("visit", func() bool { _, ok := r.c.Visit(); return ok })
	vs := r.vs()
	if vs.Visit.CustomerMasked != "4405**********0014" || vs.Name != "李四" {
		t.Fatalf("masked %q name %q", vs.Visit.CustomerMasked, vs.Name)
	}
	want := r.cls.Classify(devices.MakeFrame([]byte(demo.Customers()[1].ID), r.clk.Now())).CustomerKey
	if vs.Visit.CustomerKey != want {
		t.Fatal("insurance QR and ID card give different customer keys")
	}
	for _, e := range r.c.ScanLog() {
		if e.Scan != nil && e.Scan.HasToken() {
			t.Fatalf("scan log holds the insurance token: %+v", e.Scan)
		}
	}
}
