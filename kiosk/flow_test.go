package kiosk

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
)

// The whole flow: a serial scan event in → key presses → a complete visit with all four
// steps saved in the real bbolt store (and queued for HQ), within 12 key presses.
func TestWholeVisitWithConsent(t *testing.T) {
	h := newHarness(t, harnessOpts{hq: true})
	h.mustShow("药师登录")
	h.signIn(1, "1234")
	h.mustShow("等待顾客")

	h.serialScan(demo.Customers()[2].ID) // 王五: red
	h.loaded()
	h.presses = 0
	h.mustShow("进店识别")
	h.mustShow("3405**********001X") // masked only
	h.mustNotShow(demo.Customers()[2].ID)
	h.mustShow("红色 · 高风险")
	h.mustShow("高血压用药连续性存疑")
	h.mustNotShow("离线")

	h.key(fyne.KeyReturn) // step 1 → questionnaire
	h.mustShow("需求挖掘")
	h.typeString("111")   // three mandatory answers (first choice each)
	h.key(fyne.KeyReturn) // optional follow-ups skipped
	h.mustShow("方案推荐")
	h.typeRune('1') // accept the first recommendation
	h.key(fyne.KeyReturn)
	h.mustShow("效果追踪")
	assertFollowUpQR(t, h, demo.Customers()[2].ID, "3405**********001X")
	h.typeRune('1') // WeCom consent
	h.mustShow("提醒将于")
	h.key(fyne.KeyReturn)
	h.mustShow("四步完成")
	h.key(fyne.KeyReturn)
	h.mustShow("等待顾客")
	if h.presses > 12 {
		t.Fatalf("visit took %d key presses after the scan, want ≤ 12", h.presses)
	}

	vs := h.visits()
	var got *flows.Visit
	for i := range vs {
		if vs[i].PharmacistID == "P01" && vs[i].CustomerMasked == "3405**********001X" {
			got = &vs[i]
		}
	}
	if got == nil {
		t.Fatal("visit not saved")
	}
	if got.Outcome != flows.OutcomeComplete || flows.StepsDone(*got) != 4 {
		t.Fatalf("visit outcome %s, %d steps done", got.Outcome, flows.StepsDone(*got))
	}
	if got.Identify.Offline {
		t.Error("visit marked offline although HQ answered")
	}
	if len(got.Identify.Adherence) == 0 || got.Identify.Adherence[0].Level != flows.LevelRed {
		t.Errorf("step 1 adherence %+v, want red hypertension", got.Identify.Adherence)
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
	if st, err := h.st.VisitSync(context.Background(), got.ID); err != nil || st != "queued" {
		t.Errorf("visit sync state %q, %v; want queued in the outbox", st, err)
	}
}

// HQ down: step 1 falls back to this store's records within the 800 ms budget and says so.
func TestOfflineVisitUsesLocalHistory(t *testing.T) {
	h := newHarness(t, harnessOpts{hqDown: true})
	h.signIn(1, "1234")
	h.serialScan(demo.Customers()[0].ID) // 张三: his last fill was at the sister store (HQ only)
	h.loaded()
	h.mustShow("离线 — 仅本店记录")
	if !h.vs().Offline {
		t.Fatal("analysis not marked offline")
	}
	// Locally only the two S001 fills are known: the gap is longer than chain-wide.
	c, ok := h.vs().Analysis.Class(flows.ClassHypertension)
	if !ok || c.Fills != 2 {
		t.Fatalf("offline analysis %+v, want 2 local fills", c)
	}
	h.key(fyne.KeyReturn)
	v := h.visit(h.vs().Visit.ID)
	if v.Identify == nil || !v.Identify.Offline {
		t.Fatalf("saved step 1 %+v, want offline", v.Identify)
	}
	h.mustShow("总部离线")
}

// Online, the same customer's sister-store fill comes from HQ and is cached locally.
func TestOnlineHistoryIsChainWideAndCached(t *testing.T) {
	h := newHarness(t, harnessOpts{hq: true})
	h.signIn(1, "1234")
	h.serialScan(demo.Customers()[0].ID)
	h.loaded()
	c, ok := h.vs().Analysis.Class(flows.ClassHypertension)
	if !ok || c.Fills != 3 || c.Level != flows.LevelYellow {
		t.Fatalf("online analysis %+v, want 3 fills, yellow", c)
	}
	h.settle()
	h.mustShow("黄色 · 存疑")
	h.mustShow("S002")
	key := h.vs().Visit.CustomerKey
	d := flows.DayOf(h.clk.Now())
	ps, err := h.st.History(context.Background(), key, d-300, d)
	if err != nil || len(ps) != 3 {
		t.Fatalf("local cache has %d purchases (%v), want the 3 chain-wide ones", len(ps), err)
	}
}

// Esc abandons after confirmation; the abandoned visit is saved as such.
func TestAbandonWithEsc(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.signIn(1, "1234")
	h.serialScan(demo.Customers()[1].ID)
	h.loaded()
	h.key(fyne.KeyReturn) // step 1 done
	id := h.vs().Visit.ID
	h.key(fyne.KeyEscape)
	h.mustShow("放弃当前服务？")
	h.key(fyne.KeyBackspace) // no: back to the visit
	h.mustShow("需求挖掘")
	h.key(fyne.KeyEscape)
	h.key(fyne.KeyReturn) // yes
	h.mustShow("等待顾客")
	v := h.visit(id)
	if v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != "pharmacist" || flows.StepsDone(v) != 1 {
		t.Fatalf("visit %s/%s steps %d, want abandoned by pharmacist after step 1", v.Outcome, v.AbandonReason, flows.StepsDone(v))
	}
}

// Scanning a new customer mid-visit asks first; yes abandons (reason new_customer) and
// starts the new visit, no keeps the current one.
func TestNewCustomerMidVisit(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.signIn(1, "1234")
	h.serialScan(demo.Customers()[1].ID)
	h.loaded()
	first := h.vs().Visit.ID
	h.serialScan(demo.Customers()[2].ID)
	h.mustShow("扫描到新顾客")
	h.key(fyne.KeyBackspace)
	if h.vs().Visit.ID != first {
		t.Fatal("declining the abandon replaced the visit")
	}
	h.serialScan(demo.Customers()[2].ID)
	h.key(fyne.KeyReturn)
	h.waitFor("new visit", func() bool { vs, ok := h.c.Visit(); return ok && vs.Visit.ID != first })
	if v := h.visit(first); v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != "new_customer" {
		t.Fatalf("first visit %s/%s, want abandoned/new_customer", v.Outcome, v.AbandonReason)
	}
	h.loaded()
	h.mustShow("3405**********001X")
}

// Idle lock saves the open visit as abandoned ("idle") and signs the pharmacist out.
func TestIdleLockAbandonsVisit(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.signIn(1, "1234")
	h.serialScan(demo.Customers()[1].ID)
	h.loaded()
	id := h.vs().Visit.ID
	h.clk.Advance(counter.DefaultLockAfter - 10*1e9)
	h.c.CheckIdle()
	if h.c.Locked() {
		t.Fatal("locked before the idle time")
	}
	h.clk.Advance(11 * 1e9)
	h.c.CheckIdle()
	h.settle()
	if !h.c.Locked() || h.pharmacist() != "" {
		t.Fatal("not locked after 5 minutes idle")
	}
	h.mustShow("屏幕已锁定")
	h.mustNotShow("3405")
	if v := h.visit(id); v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != "idle" {
		t.Fatalf("visit %s/%s, want abandoned/idle", v.Outcome, v.AbandonReason)
	}
	h.key(fyne.KeyReturn)
	h.mustShow("药师登录")
}

// A keyboard-wedge scan (fast keys + Enter) is a scan, never a series of key presses;
// slow typing is key presses.
func TestWedgeScanIsNotKeys(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.wedgeScan("STAFF-0002") // 李娜's badge
	if h.pharmacist() != "P02" {
		t.Fatalf("badge scan did not sign in P02: %q", h.pharmacist())
	}
	h.mustShow("等待顾客")
	h.wedgeScan(demo.Customers()[1].ID)
	h.waitFor("visit", func() bool { _, ok := h.c.Visit(); return ok })
	if _, ok := h.u.cur.(*identifyScreen); !ok {
		t.Fatalf("after a wedge ID scan the screen is %T, want step 1 (digits must not have chosen options)", h.u.cur)
	}
}

// Manual ID entry: digits and X only, checked as the classifier checks a scan.
func TestManualIDEntry(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.signIn(1, "1234")
	h.typeRune('1')
	h.mustShow("手工输入身份证号")
	h.typeString("11010519491231002")
	h.typeRune('a') // ignored: not a digit or X
	h.typeRune('9') // wrong check character
	h.key(fyne.KeyReturn)
	h.mustShow("证件号无效")
	if _, ok := h.c.Visit(); ok {
		t.Fatal("an invalid ID started a visit")
	}
	h.key(fyne.KeyBackspace)
	h.typeRune('x') // lower-case x is normalised
	h.key(fyne.KeyReturn)
	h.waitFor("visit", func() bool { _, ok := h.c.Visit(); return ok })
	if m := h.vs().Visit.CustomerMasked; m != "1101**********002X" {
		t.Fatalf("masked %q", m)
	}
}

// Wrong PIN keeps the pharmacist out.
func TestWrongPIN(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.typeRune('1')
	h.typeString("9999")
	h.key(fyne.KeyReturn)
	h.mustShow("PIN 不正确")
	if h.pharmacist() != "" {
		t.Fatal("signed in with a wrong PIN")
	}
	h.key(fyne.KeyEscape)
	h.mustShow("药师登录")
}

// An insurance QR code is resolved through the (demo) insurance gateway into the same
// customer key as the ID card; an unknown token says so and starts nothing.
func TestInsuranceQRStartsVisit(t *testing.T) {
	h := newHarness(t, harnessOpts{hq: true})
	h.signIn(1, "1234")
	h.serialScan("YBDEMO0000000000009999") // unknown token
	h.waitFor("gateway answer", func() bool { return h.screenHas("医保凭证无法识别") })
	if _, ok := h.c.Visit(); ok {
		t.Fatal("unknown insurance token started a visit")
	}
	h.serialScan("YBDEMO0000000000000002") // 李四
	h.waitFor("visit", func() bool { _, ok := h.c.Visit(); return ok })
	if m := h.vs().Visit.CustomerMasked; m != "4405**********0014" {
		t.Fatalf("masked %q", m)
	}
	want := h.cls.Classify(devices.MakeFrame([]byte(demo.Customers()[1].ID), h.clk.Now())).CustomerKey
	if h.vs().Visit.CustomerKey != want {
		t.Fatal("insurance QR and ID card give different customer keys")
	}
	h.loaded()
	h.mustShow("李*") // the insured person's name, masked
	for _, l := range h.c.ScanLog() {
		if line := scanLogLine(l); strings.Contains(line, "YBDEMO") {
			t.Fatalf("scan log holds the insurance token: %q", line)
		}
	}
}

// The demo scanner's real PTY → devices.SerialReader → the counter: a badge and an ID
// card "scanned" on the PTY sign in and start a visit, and the device state is shown.
func TestDemoScannerPTYSerialPath(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	p, err := demo.OpenPTY()
	if err != nil {
		t.Skip("no PTY:", err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := counter.NewReader(ctx, h.cls, nil, h.c.DeviceEvent)
	cfg := h.c.Config()
	cfg.Port = p.Path
	if err := dev.Open(cfg); err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	h.waitFor("device connected", func() bool { return h.c.DeviceState() == devices.StateConnected })
	h.mustShow("扫码枪：已连接")
	if err := p.Send("STAFF-0001"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("badge sign-in", func() bool { return h.pharmacist() != "" })
	if err := p.Send(demo.Customers()[3].ID); err != nil {
		t.Fatal(err)
	}
	h.waitFor("visit", func() bool { _, ok := h.c.Visit(); return ok })
	if m := h.vs().Visit.CustomerMasked; m != "5131**********0014" {
		t.Fatalf("masked %q", m)
	}
}

// assertFollowUpQR checks the step-4 QR code: it decodes to the store's WeCom link with
// store= and customer_channel=<visit id> (which WeCom returns to HQ as State in the
// add-contact callback), and carries no customer identifier.
func assertFollowUpQR(t *testing.T, h *harness, rawID, masked string) {
	t.Helper()
	fs, ok := h.u.cur.(*followUpScreen)
	if !ok {
		t.Fatalf("screen %T, want step 4", h.u.cur)
	}
	img, ok := fs.qr.(*canvas.Image)
	if !ok {
		t.Fatalf("step 4 shows %T instead of a QR image", fs.qr)
	}
	codes, err := devices.DecodeImage(img.Image)
	if err != nil || len(codes) != 1 {
		t.Fatalf("QR decode: %v %v", codes, err)
	}
	link := codes[0].Text
	if link != h.c.FollowUpLink() {
		t.Fatalf("QR %q, FollowUpLink %q", link, h.c.FollowUpLink())
	}
	p, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	vs := h.vs()
	if got := q.Get("customer_channel"); got != vs.Visit.ID || len(got) != 26 {
		t.Fatalf("customer_channel %q, want the visit id %q", got, vs.Visit.ID)
	}
	if q.Get("store") != h.c.Config().StoreID {
		t.Fatalf("store %q, want %q", q.Get("store"), h.c.Config().StoreID)
	}
	for _, secret := range []string{vs.Visit.CustomerKey, masked, rawID, url.QueryEscape(masked)} {
		if secret != "" && strings.Contains(link, secret) {
			t.Fatalf("QR link %q carries a customer identifier %q", link, secret)
		}
	}
	if vs.Visit.CustomerKey == "" {
		t.Fatal("visit has no customer key: the privacy check above proves nothing")
	}
}
