// Package kiosk is the counter app: the Fyne screens of the four-step chronic-disease
// service (sign-in, waiting for a scan, 进店识别, 需求挖掘, 方案推荐, 效果追踪, summary),
// the manager view and the settings. Every screen is driven by the keyboard alone:
// 1–9 choose the n-th option, Enter confirms, Backspace goes back, Esc abandons the visit.
// See docs/ui.md.
package kiosk

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"image/color"
	"log/slog"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"github.com/oklog/ulid/v2"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/wire"
)

// HQ is what the counter asks HQ (sync/hqclient implements it). Every call is made with
// a context that expires after HQBudget (800 ms): the counter never waits longer.
type HQ interface {
	// History returns the customer's chain-wide purchases for a days-long lookback as of
	// asOf (including the carry-in horizon before it).
	History(ctx context.Context, customerKey string, days int, asOf flows.Day) (wire.HistoryResponse, error)
	// Roster returns the store's pharmacists (with PIN hashes) for offline sign-in.
	Roster(ctx context.Context) (wire.RosterResponse, error)
	// Points returns the store's pharmacists' points.
	Points(ctx context.Context) (wire.PointsResponse, error)
}

// Deps are the parts the counter app works with. Store, Classifier, Questionnaires and
// KB are required; the rest may be nil.
type Deps struct {
	Store          *store.Store
	HQ             HQ                        // nil: no HQ configured (offline install)
	Classifier     *devices.Classifier       // turns wedge frames and manual entries into scans
	Resolver       devices.InsuranceResolver // nil: insurance QR codes cannot be resolved
	Catalog        *flows.Catalog
	Questionnaires flows.QuestionnaireSet
	KB             *flows.KnowledgeBase
	FollowUp       flows.FollowUpPolicy
	Logger         *slog.Logger
	Now            func() time.Time // default time.Now
	// Do runs f on the UI goroutine (default fyne.Do). Tests pass a queue they drain.
	Do func(f func())
	// Kick asks the outbox drainer to send now (after a visit is saved).
	Kick func()
	// NoTimers disables the idle-lock and banner timers and the key filter's per-frame
	// tick (tests drive them).
	NoTimers bool
	// TestDevice reopens the serial reader with cfg and reports the outcome (settings).
	TestDevice func(cfg Config) error
	// ApplyConfig is called after the settings screen saved a new configuration.
	ApplyConfig func(cfg Config)
	// ExtraPorts are listed first in the settings' port list (the demo's PTY).
	ExtraPorts []string
	// Quit closes the app (manager view; the only way out in --fullscreen).
	Quit func()
	// Locale is the UI language (default LocaleZh).
	Locale Locale
	// Wedge configures the keyboard-wedge scanner detection.
	Wedge devices.WedgeConfig
	// Theme, if set, is already applied to the app (Run sets it early); nil: Create loads
	// and applies it.
	Theme *Theme
	// FontsWarm is WarmFonts' channel for Theme (Create waits for it before measuring text).
	FontsWarm <-chan struct{}
}

// WarmFonts measures a sample text in the regular and bold faces on another goroutine,
// so the font faces and fyne's one-off system font scan are ready while the main
// goroutine opens the store and creates the window (a shorter time to the first frame).
// The returned channel is closed when it is done.
func WarmFonts(th *Theme) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, st := range []fyne.TextStyle{{}, {Bold: true}} {
			fyne.MeasureText("药师登录 PIN 1–9", th.Size(theme.SizeNameText), st)
		}
	}()
	return done
}

// screen is one page of the app.
type screen interface {
	// build renders the screen's content (called on every refresh).
	build() fyne.CanvasObject
	// hints is the key map shown at the bottom of the screen.
	hints() []hint
	// onRune handles a typed rune (digits choose options); true if used.
	onRune(r rune) bool
	// onKey handles Enter, Backspace, Escape and F-keys; true if used.
	onKey(k fyne.KeyName) bool
}

// hint is one entry of the on-screen key map.
type hint struct{ key, label string }

// ScanLogEntry is one line of the installer's live scan log.
type ScanLogEntry struct {
	At   time.Time
	Text string
}

// UI is the running counter app.
type UI struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	win  fyne.Window
	th   *Theme
	keys *keyInput
	// stopFrames stops the per-frame key-filter tick (nil without timers).
	stopFrames func()
	ctx        context.Context
	stop       context.CancelFunc

	cur     screen
	root    *fyne.Container
	banner  *fyne.Container
	message string // transient status line (errors, "drug scanned" …)
	msgErr  bool

	pharmacist *flows.Pharmacist
	visit      *flows.Visit
	vs         *visitState // per-visit UI state (analysis, answers …)
	lastInput  time.Time
	locked     bool

	deviceState string
	deviceErr   string
	stats       wire.OutboxStats
	hqOnline    bool
	hqChecked   bool
	scanLog     []ScanLogEntry
	pendingScan *devices.Scan // a new customer scanned mid-visit, awaiting the abandon answer
	entropy     *ulid.MonotonicEntropy
	effect      effectState // the store's effect report for the manager view
}

// visitState is what the screens of one visit share.
type visitState struct {
	loading  bool
	analysis flows.Analysis
	offline  bool
	hqErr    string
	q        flows.Questionnaire
	answers  map[string]string
	qIndex   int // index into visible questions of the question being asked
	recs     []flows.Recommendation
	recErr   string
	consent  map[string]bool
	name     string // insured person's name (insurance QR), display only
}

// Create builds the counter window on a (the Fyne app) and shows the sign-in screen.
// The caller shows the window and runs the app.
func Create(a fyne.App, cfg Config, deps Deps) (fyne.Window, *UI, error) {
	if deps.Store == nil || deps.Classifier == nil || deps.KB == nil {
		return nil, nil, errors.New("kiosk: Store, Classifier and KB are required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Do == nil {
		deps.Do = fyne.Do
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Locale == "" {
		deps.Locale = LocaleZh
	}
	if deps.FollowUp.Channel == "" {
		deps.FollowUp = flows.DefaultFollowUpPolicy()
	}
	if cfg.LockAfter <= 0 {
		cfg.LockAfter = DefaultLockAfter
	}
	th, warm := deps.Theme, deps.FontsWarm
	if th == nil {
		var err error
		if th, err = NewTheme(1); err != nil {
			return nil, nil, err
		}
		a.Settings().SetTheme(th)
		warm = WarmFonts(th)
	}
	ctx, stop := context.WithCancel(context.Background())
	u := &UI{cfg: cfg, deps: deps, log: deps.Logger, th: th, ctx: ctx, stop: stop,
		deviceState: "", lastInput: deps.Now(), entropy: ulid.Monotonic(rand.Reader, 0)}
	u.win = a.NewWindow(lang.L("app.title"))
	u.win.Resize(fyne.NewSize(1280, 800))
	if cfg.Fullscreen {
		u.win.SetFullScreen(true)
		u.win.SetCloseIntercept(func() {}) // close only through the manager view
	}
	u.keys = newKeyInput(deps.Wedge, u.now, u.log)
	u.keys.touch = u.touch
	u.keys.onRune = u.dispatchRune
	u.keys.onKey = u.dispatchKey
	u.keys.onScan = func(f devices.Frame) { u.HandleScan(u.deps.Classifier.Classify(f)) }
	u.win.Canvas().SetOnTypedRune(func(r rune) { u.keys.rune(r, nil) })
	u.win.Canvas().SetOnTypedKey(func(e *fyne.KeyEvent) { u.keys.key(e, nil) })
	if !deps.NoTimers {
		u.stopFrames = u.keys.startFrames()
	}
	if warm != nil {
		<-warm // measuring before the warm-up is done would load the faces twice
	}
	u.banner = container.NewStack()
	u.root = container.NewStack()
	u.win.SetContent(u.root)
	u.win.SetOnClosed(u.Close)
	u.refreshStats()
	u.resumeOpenVisits()
	u.show(newSignIn(u))
	if !deps.NoTimers {
		go u.timers(ctx)
	}
	u.pullRoster()
	return u.win, u, nil
}

// Close stops the app's background work.
func (u *UI) Close() {
	u.stop()
	if u.stopFrames != nil {
		u.stopFrames()
	}
}

// Window returns the counter window.
func (u *UI) Window() fyne.Window { return u.win }

func (u *UI) now() time.Time { return u.deps.Now() }

// touch records user activity (for the idle lock).
func (u *UI) touch() { u.lastInput = u.now() }

func (u *UI) newID() string {
	id, err := ulid.New(ulid.Timestamp(u.now()), u.entropy)
	if err != nil { // entropy exhausted within one millisecond: practically impossible
		return fmt.Sprintf("%026d", u.now().UnixNano())
	}
	return id.String()
}

// timers posts the periodic checks (idle lock, sync banner, roster/points refresh) to
// the UI goroutine until the app closes.
func (u *UI) timers(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n++
			u.deps.Do(func() {
				u.CheckIdle()
				u.refreshStats()
				u.refreshBanner()
				if n%15 == 0 { // every 30 s: roster changes and points earned by follow-up clicks
					u.pullRoster()
				}
			})
		}
	}
}

// show switches to a screen.
func (u *UI) show(s screen) {
	u.cur = s
	u.log.Debug("screen", "name", strings.TrimPrefix(fmt.Sprintf("%T", s), "*kiosk."))
	u.refresh()
}

// refresh rebuilds the current screen.
func (u *UI) refresh() {
	if u.cur == nil {
		return
	}
	u.refreshBanner()
	body := u.cur.build()
	keys := u.hintBar(u.cur.hints())
	var msg fyne.CanvasObject = layout.NewSpacer()
	if u.message != "" {
		t := canvas.NewText(u.message, theme.Color(theme.ColorNameForeground))
		if u.msgErr {
			t.Color = u.th.Color(ColorAlertRed, 0)
		}
		t.TextStyle.Bold = true
		t.TextSize = theme.TextSize()
		msg = container.NewPadded(t)
	}
	content := container.NewBorder(u.banner, container.NewVBox(msg, keys), nil, nil, container.NewPadded(body))
	u.root.Objects = []fyne.CanvasObject{content}
	u.root.Refresh()
}

// say shows a transient message under the screen (cleared by the next screen change).
func (u *UI) say(err bool, format string, args ...any) {
	u.message = fmt.Sprintf(format, args...)
	u.msgErr = err
	u.refresh()
}

func (u *UI) hintBar(hs []hint) fyne.CanvasObject {
	objs := []fyne.CanvasObject{}
	for _, h := range hs {
		k := canvas.NewText(" "+h.key+" ", color.White)
		k.TextStyle.Bold = true
		k.TextSize = theme.TextSize() * 0.9
		bg := canvas.NewRectangle(color.NRGBA{0x33, 0x33, 0x33, 0xff})
		bg.CornerRadius = 4
		l := canvas.NewText(h.label, theme.Color(theme.ColorNameForeground))
		l.TextSize = theme.TextSize() * 0.9
		gap := canvas.NewRectangle(color.Transparent)
		gap.SetMinSize(fyne.NewSize(18, 1))
		objs = append(objs, container.NewStack(bg, k), l, gap)
	}
	bg := canvas.NewRectangle(color.NRGBA{0xee, 0xee, 0xee, 0xff})
	return container.NewStack(bg, container.NewPadded(container.NewHBox(objs...)))
}

// refreshStats reads the outbox backlog and last sync from the store.
func (u *UI) refreshStats() {
	st, err := u.deps.Store.Stats(u.ctx)
	if err != nil {
		u.log.Warn("outbox stats", "err", err)
		return
	}
	u.stats = st
}

func (u *UI) refreshBanner() {
	parts := []string{lang.L("banner.store", map[string]any{"Store": u.cfg.StoreID})}
	if u.pharmacist != nil {
		parts = append(parts, lang.L("banner.pharmacist", map[string]any{"Name": u.pharmacist.Name}))
	}
	parts = append(parts, lang.L("banner.device", map[string]any{"State": u.deviceLabel()}))
	var sync string
	switch {
	case u.deps.HQ == nil:
		sync = lang.L("banner.hq_none")
	case u.hqChecked && !u.hqOnline:
		sync = lang.L("banner.hq_offline")
	default:
		sync = lang.L("banner.hq_online")
	}
	parts = append(parts, sync, lang.L("banner.backlog", map[string]any{"N": u.stats.Pending}))
	last := lang.L("banner.never")
	if !u.stats.LastSync.IsZero() {
		last = u.stats.LastSync.In(flows.Shanghai()).Format("01-02 15:04")
	}
	parts = append(parts, lang.L("banner.last_sync", map[string]any{"At": last}))
	if u.stats.Rejected > 0 {
		parts = append(parts, lang.L("banner.rejected", map[string]any{"N": u.stats.Rejected}))
	}
	txt := canvas.NewText(strings.Join(parts, "  ·  "), theme.Color(theme.ColorNameForeground))
	txt.TextSize = theme.TextSize() * 0.85
	bgc := u.th.Color(theme.ColorNameHeaderBackground, 0)
	if u.stats.Pending > 0 || (u.hqChecked && !u.hqOnline) || u.stats.Rejected > 0 {
		bgc = u.th.Color(ColorBanner, 0)
	}
	bg := canvas.NewRectangle(bgc)
	u.banner.Objects = []fyne.CanvasObject{bg, container.NewPadded(txt)}
	u.banner.Refresh()
}

func (u *UI) deviceLabel() string {
	switch u.deviceState {
	case devices.StateConnected:
		return lang.L("device.connected")
	case devices.StateWaiting:
		return lang.L("device.waiting")
	case devices.StateError:
		return lang.L("device.error")
	}
	return lang.L("device.none")
}

// dispatchRune routes a person's key press: digits to the screen, anything else too.
func (u *UI) dispatchRune(r rune) {
	if u.locked {
		u.unlock()
		return
	}
	if u.cur != nil && u.cur.onRune(r) {
		return
	}
}

// dispatchKey routes Enter/Backspace/Escape/F-keys; Esc during a visit asks to abandon.
func (u *UI) dispatchKey(k fyne.KeyName) {
	if u.locked {
		u.unlock()
		return
	}
	if u.cur != nil && u.cur.onKey(k) {
		return
	}
	if k == fyne.KeyEscape && u.visitOpen() {
		u.show(newConfirmAbandon(u, u.cur, abandonPharmacist, nil))
	}
}

// DeviceEvent feeds a serial reader event (call from any goroutine).
func (u *UI) DeviceEvent(ev devices.Event) {
	u.deps.Do(func() { u.handleDeviceEvent(ev) })
}

func (u *UI) handleDeviceEvent(ev devices.Event) {
	switch ev.Type {
	case devices.EventDevice:
		u.deviceState, u.deviceErr = ev.State, problemText(ev.Problem, ev.Err)
		u.logScan(ev.At, lang.L("log.device", map[string]any{"State": u.deviceLabel(), "Err": u.deviceErr}))
		u.refresh()
	case devices.EventError:
		u.logScan(ev.At, lang.L("log.rejected", map[string]any{"Err": problemText(ev.Problem, ev.Err)}))
		u.refreshIfSettings()
	case devices.EventScan:
		if ev.Scan != nil {
			u.HandleScan(*ev.Scan)
		}
	}
}

func (u *UI) logScan(at time.Time, text string) {
	u.scanLog = append(u.scanLog, ScanLogEntry{At: at, Text: text})
	if len(u.scanLog) > 200 {
		u.scanLog = u.scanLog[len(u.scanLog)-200:]
	}
}

func (u *UI) refreshIfSettings() {
	if _, ok := u.cur.(*settingsScreen); ok {
		u.refresh()
	}
}

// scanSummary is the log-safe text of a scan (never a raw ID or token).
func scanSummary(s devices.Scan) string {
	switch s.Kind {
	case devices.KindIDNumber:
		return fmt.Sprintf("%s %s", lang.L("kind.id_number"), s.Masked)
	case devices.KindInsuranceQR:
		return lang.L("kind.insurance_qr")
	case devices.KindStaffBadge:
		return fmt.Sprintf("%s %s", lang.L("kind.staff_badge"), s.StaffID)
	case devices.KindGTIN, devices.KindTraceCode, devices.KindGS1:
		return fmt.Sprintf("%s %s", lang.L("kind.drug"), s.Code)
	}
	return lang.L("kind.unknown")
}

// HandleScan handles a classified scan, whichever device it came from. It must run on the
// UI goroutine (DeviceEvent posts it there).
func (u *UI) HandleScan(s devices.Scan) {
	u.log.Debug("scan", "kind", s.Kind, "valid", s.Valid)
	u.touch()
	line := scanSummary(s)
	if !s.Valid {
		line += " — " + scanProblem(s)
	}
	u.logScan(s.At, line)
	if u.locked {
		u.unlock()
	}
	if _, ok := u.cur.(*settingsScreen); ok {
		u.refresh()
		return
	}
	if !s.Valid {
		key := "msg.scan_invalid"
		if s.Kind == devices.KindIDNumber {
			key = "msg.id_invalid"
		}
		u.say(true, "%s", lang.L(key, map[string]any{"Err": scanProblem(s)}))
		return
	}
	switch s.Kind {
	case devices.KindStaffBadge:
		u.staffScan(s)
	case devices.KindIDNumber:
		u.customerScan(s, "")
	case devices.KindInsuranceQR:
		u.insuranceScan(s)
	case devices.KindGTIN, devices.KindTraceCode, devices.KindGS1:
		u.drugScan(s)
	default:
		u.say(true, "%s", lang.L("msg.scan_unknown"))
	}
}

func (u *UI) staffScan(s devices.Scan) {
	if u.visitOpen() {
		u.say(true, "%s", lang.L("msg.finish_visit_first"))
		return
	}
	p, ok := u.findPharmacist(func(p flows.Pharmacist) bool {
		return (p.Badge != "" && p.Badge == s.StaffID) || p.ID == s.StaffID
	})
	if !ok {
		u.say(true, "%s", lang.L("msg.badge_unknown", map[string]any{"ID": s.StaffID}))
		return
	}
	u.signIn(p)
}

func (u *UI) drugScan(s devices.Scan) {
	code := s.Code
	if s.Kind == devices.KindTraceCode {
		code = s.DrugID
	}
	if u.deps.Catalog != nil {
		if d, ok := u.deps.Catalog.Lookup(code); ok {
			u.say(false, "%s", lang.L("msg.drug", map[string]any{"Name": d.Name, "Code": s.Code}))
			return
		}
	}
	u.say(true, "%s", lang.L("msg.drug_unknown", map[string]any{"Code": s.Code}))
}

func (u *UI) insuranceScan(s devices.Scan) {
	if u.deps.Resolver == nil {
		u.say(true, "%s", lang.L("devices.insurance.unresolved"))
		return
	}
	u.say(false, "%s", lang.L("msg.insurance_resolving"))
	cls, res := u.deps.Classifier, u.deps.Resolver
	go func() {
		ctx, cancel := context.WithTimeout(u.ctx, HQBudget)
		defer cancel()
		id, name, err := cls.ResolveInsurance(ctx, s, res)
		u.deps.Do(func() {
			if err != nil {
				u.log.Info("insurance QR not resolved", "err", err)
				u.say(true, "%s", lang.L("devices.insurance.unresolved"))
				return
			}
			u.customerScan(id, name)
		})
	}()
}

// customerScan starts a visit for a scanned (or typed) ID, asking first whether to abandon
// an open visit.
func (u *UI) customerScan(s devices.Scan, name string) {
	if u.pharmacist == nil {
		u.say(true, "%s", lang.L("msg.sign_in_first"))
		return
	}
	if u.visitOpen() {
		if u.visit.CustomerKey == s.CustomerKey {
			u.say(false, "%s", lang.L("msg.same_customer"))
			return
		}
		sc := s
		u.pendingScan = &sc
		prev := u.cur
		u.show(newConfirmAbandon(u, prev, abandonNewCustomer, func() {
			ps := u.pendingScan
			u.pendingScan = nil
			if ps != nil {
				u.startVisit(*ps, name)
			}
		}))
		return
	}
	u.startVisit(s, name)
}

func (u *UI) visitOpen() bool {
	return u.visit != nil && u.visit.Outcome == flows.OutcomeInProgress
}

// startVisit opens a visit, saves it, and fetches the history (HQ within 800 ms, else
// local) for step 1.
func (u *UI) startVisit(s devices.Scan, name string) {
	v := flows.NewVisit(u.newID(), u.cfg.StoreID, u.pharmacist.ID,
		flows.Customer{Key: s.CustomerKey, Masked: s.Masked}, u.now())
	u.visit = &v
	u.vs = &visitState{loading: true, answers: map[string]string{}, consent: map[string]bool{}, name: name}
	u.message = ""
	u.saveVisit()
	u.show(newIdentify(u))
	vid := v.ID
	key := s.CustomerKey
	asOf := flows.DayOf(u.now())
	go func() {
		a, offline, hqErr := u.loadHistory(key, asOf)
		u.deps.Do(func() {
			if u.visit == nil || u.visit.ID != vid {
				return // the visit was abandoned meanwhile
			}
			u.log.Debug("history loaded", "offline", offline)
			u.vs.loading, u.vs.analysis, u.vs.offline, u.vs.hqErr = false, a, offline, hqErr
			u.hqChecked, u.hqOnline = u.deps.HQ != nil, !offline
			if _, ok := u.cur.(*identifyScreen); ok {
				u.refresh()
			}
		})
	}()
}

// loadHistory asks HQ (≤ 800 ms) and merges the answer with the local store; without HQ
// it uses the local store only (offline). Purchases learned from HQ are cached locally.
// It runs off the UI goroutine.
func (u *UI) loadHistory(key string, asOf flows.Day) (flows.Analysis, bool, string) {
	opt := flows.DefaultAdherenceOptions()
	from, _ := flows.HistoryRange(asOf, opt)
	local, err := u.deps.Store.History(u.ctx, key, from, asOf)
	if err != nil {
		u.log.Warn("local history", "err", err)
	}
	offline := true
	hqErr := ""
	byID := map[string]flows.Purchase{}
	for _, p := range local {
		byID[p.ID] = p
	}
	if u.deps.HQ != nil {
		ctx, cancel := context.WithTimeout(u.ctx, HQBudget)
		resp, err := u.deps.HQ.History(ctx, key, opt.LookbackDays, asOf) // HQ adds the carry-in horizon
		cancel()
		if err != nil {
			hqErr = err.Error()
			u.log.Info("HQ history unavailable, using this store's records", "err", err)
		} else {
			offline = false
			var learn []flows.Purchase
			for _, p := range resp.Purchases {
				if _, ok := byID[p.ID]; !ok {
					learn = append(learn, p)
				}
				byID[p.ID] = p
			}
			if len(learn) > 0 {
				if _, _, err := u.deps.Store.PutPurchases(u.ctx, learn); err != nil {
					u.log.Warn("cache HQ purchases", "err", err)
				}
			}
		}
	}
	all := make([]flows.Purchase, 0, len(byID))
	for _, p := range byID {
		all = append(all, p)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].SoldAt.Before(all[j].SoldAt) })
	return flows.Analyze(all, u.deps.Catalog, asOf, opt), offline, hqErr
}

// saveVisit writes the visit as it is now (after every step) and kicks the drainer once
// it is finished.
func (u *UI) saveVisit() {
	if u.visit == nil {
		return
	}
	if err := u.deps.Store.SaveVisit(u.ctx, *u.visit); err != nil {
		u.log.Error("save visit", "visit", u.visit.ID, "err", err)
		u.say(true, "%s", lang.L("msg.save_failed", map[string]any{"Err": err.Error()}))
		return
	}
	if u.visit.Outcome != flows.OutcomeInProgress {
		if u.deps.Kick != nil {
			u.deps.Kick()
		}
		u.refreshStats()
	}
}

// abandon ends the open visit as abandoned with reason and saves it.
func (u *UI) abandon(reason string) {
	if !u.visitOpen() {
		return
	}
	if err := flows.Abandon(u.visit, reason, u.now()); err != nil {
		u.log.Error("abandon visit", "err", err)
		return
	}
	u.saveVisit()
	u.visit, u.vs = nil, nil
}

// resumeOpenVisits saves visits left open by a crash or power cut as abandoned.
func (u *UI) resumeOpenVisits() {
	open, err := u.deps.Store.OpenVisits(u.ctx)
	if err != nil {
		u.log.Warn("open visits", "err", err)
		return
	}
	for _, v := range open {
		if err := flows.Abandon(&v, abandonIdle, u.now()); err != nil {
			continue
		}
		if err := u.deps.Store.SaveVisit(u.ctx, v); err != nil {
			u.log.Warn("abandon open visit", "visit", v.ID, "err", err)
		}
	}
}

// CheckIdle locks the screen after LockAfter without input, saving an open visit as
// abandoned ("idle"). The timers call it every 2 s; tests call it directly.
func (u *UI) CheckIdle() {
	if u.locked || u.pharmacist == nil {
		return
	}
	if u.now().Sub(u.lastInput) < u.cfg.LockAfter {
		return
	}
	u.abandon(abandonIdle)
	u.locked = true
	u.pharmacist = nil
	u.message = ""
	u.show(newLockScreen(u))
}

func (u *UI) unlock() {
	u.locked = false
	u.pharmacist = nil
	u.show(newSignIn(u))
}

// signIn makes p the pharmacist at the counter.
func (u *UI) signIn(p flows.Pharmacist) {
	u.log.Info("pharmacist signed in", "pharmacist", p.ID)
	u.pharmacist = &p
	u.message = ""
	u.show(newWaiting(u))
}

// signOut returns to the sign-in screen.
func (u *UI) signOut() {
	u.abandon(abandonPharmacist)
	u.pharmacist = nil
	u.message = ""
	u.show(newSignIn(u))
}

func (u *UI) roster() []flows.Pharmacist {
	rc, err := u.deps.Store.Roster()
	if err != nil {
		u.log.Warn("roster", "err", err)
		return nil
	}
	out := make([]flows.Pharmacist, 0, len(rc.Pharmacists))
	for _, e := range rc.Pharmacists {
		out = append(out, e.Pharmacist)
	}
	return out
}

func (u *UI) findPharmacist(match func(flows.Pharmacist) bool) (flows.Pharmacist, bool) {
	for _, p := range u.roster() {
		if match(p) {
			return p, true
		}
	}
	return flows.Pharmacist{}, false
}

// pullRoster refreshes the cached roster and points from HQ in the background.
func (u *UI) pullRoster() {
	if u.deps.HQ == nil {
		return
	}
	hq, st, storeID := u.deps.HQ, u.deps.Store, u.cfg.StoreID
	go func() {
		ctx, cancel := context.WithTimeout(u.ctx, HQBudget)
		defer cancel()
		r, err := hq.Roster(ctx)
		if err == nil {
			err = st.PutRoster(storeID, r.Pharmacists)
		}
		if err == nil {
			if p, perr := hq.Points(ctx); perr == nil {
				_ = st.PutPoints(p.Rows) // cache only; shown when available
			}
		}
		ok := err == nil
		if err != nil {
			u.log.Info("roster pull", "err", err)
		}
		u.deps.Do(func() {
			u.hqChecked, u.hqOnline = true, ok
			if _, isSignIn := u.cur.(*signInScreen); isSignIn {
				u.refresh()
			} else {
				u.refreshBanner()
			}
		})
	}()
}

// title is a large bold heading.
func title(s string) *canvas.Text {
	t := canvas.NewText(s, theme.Color(theme.ColorNameForeground))
	t.TextStyle.Bold = true
	t.TextSize = theme.TextHeadingSize()
	return t
}

// text is body text of the given relative size.
func text(s string, scale float32, bold bool) *canvas.Text {
	t := canvas.NewText(s, theme.Color(theme.ColorNameForeground))
	t.TextStyle.Bold = bold
	t.TextSize = theme.TextSize() * scale
	return t
}

// wrap is a word-wrapping label.
func wrap(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// option is a numbered choice button: key n or a tap selects it.
func (u *UI) option(n int, label string, selected bool, tap func()) *kButton {
	b := u.button(fmt.Sprintf("%d   %s", n, label), tap)
	b.Alignment = widget.ButtonAlignLeading
	if selected {
		b.Importance = widget.HighImportance
	}
	return b
}

// digit returns the option number of a rune '1'..'9', or 0.
func digit(r rune) int {
	if r >= '1' && r <= '9' {
		return int(r - '0')
	}
	return 0
}

// stepHeader shows the four steps with the current one highlighted.
func (u *UI) stepHeader(cur int) fyne.CanvasObject {
	objs := []fyne.CanvasObject{}
	for i := 1; i <= 4; i++ {
		label := fmt.Sprintf("%d %s", i, lang.L(fmt.Sprintf("step.%d", i)))
		t := canvas.NewText(label, theme.Color(theme.ColorNameForeground))
		t.TextSize = theme.TextSize()
		bg := canvas.NewRectangle(color.NRGBA{0xee, 0xee, 0xee, 0xff})
		if i == cur {
			t.TextStyle.Bold = true
			t.Color = color.White
			bg.FillColor = u.th.Color(theme.ColorNamePrimary, 0)
		} else if u.visit != nil && i <= flows.StepsDone(*u.visit) {
			t.Text = "✓ " + label
		}
		bg.CornerRadius = 6
		objs = append(objs, container.NewStack(bg, container.NewPadded(t)))
	}
	who := ""
	if u.visit != nil {
		who = lang.L("visit.customer", map[string]any{"Masked": u.visit.CustomerMasked})
		if u.vs != nil && u.vs.name != "" {
			who += " " + maskName(u.vs.name)
		}
	}
	return container.NewVBox(container.NewGridWithColumns(4, objs...), text(who, 1.1, true))
}

// maskName shows only the family name (privacy: the queue can see the screen).
func maskName(n string) string {
	rs := []rune(n)
	if len(rs) <= 1 {
		return n
	}
	return string(rs[0]) + strings.Repeat("*", len(rs)-1)
}

// Abandon reasons recorded on a visit (flows.Visit.AbandonReason).
const (
	abandonNewCustomer = "new_customer" // a new customer was scanned mid-visit
	abandonIdle        = "idle"         // screen lock after the idle time, or a crash
	abandonPharmacist  = "pharmacist"   // Esc, or the pharmacist signed out
)

// Press delivers a person's key press to the current screen, as the keyboard would
// (without the wedge hold). For automation (screenshots, measurements); call it on the
// UI goroutine.
func (u *UI) Press(r rune) { u.touch(); u.dispatchRune(r) }

// PressKey delivers a named key (Enter, Backspace, Escape, F-keys) like Press.
func (u *UI) PressKey(k fyne.KeyName) { u.touch(); u.dispatchKey(k) }

// Loading reports whether step 1 is still waiting for the history.
func (u *UI) Loading() bool { return u.vs != nil && u.vs.loading }
