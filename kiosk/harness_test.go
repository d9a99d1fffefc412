package kiosk

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/demo/demohq"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/hqclient"
)

func TestMain(m *testing.M) {
	if err := SetupTranslations(LocaleZh); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// clock is a settable test clock. The UI goroutine advances it; the app's background
// pulls (roster, points) read it too.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// harness drives a real counter app headless: the core on a real bbolt store in
// t.TempDir(), the demo data set, optionally the demo HQ over real HTTP, rendered in a
// test window whose key handlers the test calls.
type harness struct {
	t       *testing.T
	u       *UI
	c       *counter.Core
	w       fyne.Window
	st      *store.Store
	clk     *clock
	q       chan func()
	dom     flows.Data
	cls     *devices.Classifier
	presses int
	hq      *demohq.HQ
}

type harnessOpts struct {
	hq      bool       // start the demo HQ
	hqDown  bool       // configure an HQ URL nobody listens on
	noSeed  bool       // empty store (no roster, no visits)
	fakeHQ  counter.HQ // use this HQ (tests of what the counter does with HQ's answers)
	dataDir string     // reuse a data dir
	locale  Locale
}

// seeded is a store file holding the demo data set as of testNow, written once per test
// binary (seeding a month of visits takes seconds; copying the file does not).
var seeded struct {
	once sync.Once
	b    []byte
	err  error
}

// copySeeded puts a copy of the seeded store into data dir dir.
func copySeeded(t *testing.T, dir string) {
	t.Helper()
	seeded.once.Do(func() {
		tmpl, err := os.MkdirTemp("", "kiosk-seed-")
		if err != nil {
			seeded.err = err
			return
		}
		defer os.RemoveAll(tmpl)
		st, err := store.Open(store.DefaultPath(tmpl), store.Options{Now: func() time.Time { return testNow }})
		if err != nil {
			seeded.err = err
			return
		}
		dom, err := flows.LoadData(assets.FS())
		if err == nil {
			err = demo.SeedLocal(context.Background(), st, dom.Catalog, dom.Questionnaires, dom.Knowledge, testNow)
		}
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			seeded.b, err = os.ReadFile(store.DefaultPath(tmpl))
		}
		seeded.err = err
	})
	if seeded.err != nil {
		t.Fatal(seeded.err)
	}
	p := store.DefaultPath(dir)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, seeded.b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// testNow is a fixed Thursday morning in Shanghai.
var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, flows.Shanghai())

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	th, err := NewTheme(1)
	if err != nil {
		t.Fatal(err)
	}
	a.Settings().SetTheme(th)
	dir := o.dataDir
	if dir == "" {
		dir = t.TempDir()
		if !o.noSeed {
			copySeeded(t, dir)
		}
	}
	h := &harness{t: t, clk: &clock{t: testNow}, q: make(chan func(), 1000)}
	st, err := store.Open(store.DefaultPath(dir), store.Options{Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	h.dom = dom
	ctx := context.Background()
	h.cls = &devices.Classifier{Secret: []byte(demo.Secret), Now: h.clk.Now}
	var hqc counter.HQ
	var res devices.InsuranceResolver
	if o.hq {
		d, err := demohq.StartHQ(ctx, t.TempDir(), dom.Catalog, testNow, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Stop() })
		h.hq = d
		hqc = hqclient.New(d.URL, demo.StoreToken, counter.HQBudget)
		res = devices.NewHTTPResolver(d.URL+demohq.InsurancePath, counter.HQBudget, nil)
	}
	if o.hqDown {
		hqc = hqclient.New("http://127.0.0.1:1", demo.StoreToken, counter.HQBudget)
	}
	if o.fakeHQ != nil {
		hqc = o.fakeHQ
	}
	cfg := counter.DefaultConfig()
	cfg.DataDir = dir
	var ui *UI
	c, err := counter.New(cfg, counter.Deps{Store: st, HQ: hqc, Resolver: res, Classifier: h.cls,
		Content: counter.Content{Data: dom}, Now: h.clk.Now, Post: func(f func()) { h.q <- f },
		OnChange: func() {
			if ui != nil {
				ui.Refresh()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := a.NewWindow("test")
	host := container.NewStack()
	w.SetContent(host)
	ui = Create(w, host, c, th, Options{Locale: o.locale, Classifier: h.cls, Now: h.clk.Now, NoFrames: true})
	t.Cleanup(ui.Close)
	w.Resize(fyne.NewSize(1280, 800))
	h.u, h.c, h.w = ui, c, w
	h.settle()
	return h
}

// settle runs everything posted to the UI goroutine until nothing is left for 50 ms.
func (h *harness) settle() {
	idle := time.NewTimer(50 * time.Millisecond)
	defer idle.Stop()
	for {
		select {
		case f := <-h.q:
			f()
			idle.Reset(50 * time.Millisecond)
		case <-idle.C:
			return
		}
	}
}

// waitFor runs posted work until cond holds (or fails after 5 s).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; screen shows:\n%s", what, strings.Join(h.texts(), " | "))
		}
		select {
		case f := <-h.q:
			f()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// frame is one period of the real window's event loop (GLFW polls ~60 times a second).
const frame = 17 * time.Millisecond

// frames runs n window frames: the key filter's per-frame tick after each poll.
func (h *harness) frames(n int) {
	for i := 0; i < n; i++ {
		h.clk.Advance(frame)
		h.u.keys.frame(h.clk.Now())
	}
}

// keyEvents sends one key as the GLFW window does: TypedKey (for character keys too,
// Shift first for capitals), then TypedRune for a character.
func (h *harness) keyEvents(r rune) {
	if unicode.IsUpper(r) {
		h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	}
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyName(string(unicode.ToUpper(r)))})
	h.w.Canvas().OnTypedRune()(r)
}

// typeRune presses one key as a person does in the real window; the key filter must
// hand it to the screen within 150 ms (9 frames), before the person's next key.
func (h *harness) typeRune(r rune) {
	h.t.Helper()
	h.presses++
	h.keyEvents(r)
	h.frames(9)
	if h.u.keys.w.Pending() {
		h.t.Fatalf("a person's key %q still held back 150 ms after it was typed", r)
	}
	h.clk.Advance(time.Second)
	h.settle()
}

func (h *harness) typeString(s string) {
	h.t.Helper()
	for _, r := range s {
		h.typeRune(r)
	}
}

// key presses a named key (Enter, Backspace, Escape, F-keys).
func (h *harness) key(k fyne.KeyName) {
	h.presses++
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: k})
	h.frames(1)
	h.clk.Advance(time.Second)
	h.settle()
}

// wedgeScan types a code as a keyboard-wedge scanner does in the real window: a key
// every 2.5 ms, then Enter, delivered in batches at each 17 ms poll of the event loop.
func (h *harness) wedgeScan(code string) {
	typed := h.clk.Now()
	poll := typed.Add(frame)
	for _, r := range code + "\n" {
		typed = typed.Add(2500 * time.Microsecond)
		for typed.After(poll) {
			h.clk.t = poll
			h.u.keys.frame(poll)
			poll = poll.Add(frame)
		}
		h.clk.t = poll // it reaches the program at the next poll
		if r == '\n' {
			h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
		} else {
			h.keyEvents(r)
		}
	}
	h.u.keys.frame(poll)
	h.frames(9)
	h.clk.Advance(time.Second)
	h.settle()
}

// serialScan delivers a frame as the serial reader would (event from another goroutine).
func (h *harness) serialScan(code string) {
	s := h.cls.Classify(devices.MakeFrame([]byte(code), h.clk.Now()))
	go h.c.DeviceEvent(devices.Event{Type: devices.EventScan, Scan: &s, At: h.clk.Now()})
	h.waitFor("scan delivered", func() bool { return h.c.LastInput().Equal(h.clk.Now()) })
	h.settle()
}

// signIn picks the n-th pharmacist of the roster and types the PIN.
func (h *harness) signIn(n int, pin string) {
	h.t.Helper()
	h.typeRune(rune('0' + n))
	h.typeString(pin)
	h.key(fyne.KeyReturn)
	if _, ok := h.c.Pharmacist(); !ok {
		h.t.Fatalf("sign-in failed; screen: %s", strings.Join(h.texts(), " | "))
	}
}

// texts returns every text on the window, in tree order.
func (h *harness) texts() []string { return collectTexts(h.w.Content()) }

func (h *harness) screenHas(s string) bool {
	for _, t := range h.texts() {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func (h *harness) mustShow(s string) {
	h.t.Helper()
	if !h.screenHas(s) {
		h.t.Fatalf("screen does not show %q; it shows:\n%s", s, strings.Join(h.texts(), " | "))
	}
}

func (h *harness) mustNotShow(s string) {
	h.t.Helper()
	if h.screenHas(s) {
		h.t.Fatalf("screen shows %q but should not", s)
	}
}

func collectTexts(o fyne.CanvasObject) []string {
	var out []string
	switch x := o.(type) {
	case *canvas.Text:
		if x.Text != "" {
			out = append(out, x.Text)
		}
		return out
	case *widget.Button:
		out = append(out, x.Text)
		return out
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, collectTexts(c)...)
		}
		return out
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = append(out, collectTexts(c)...)
		}
	}
	return out
}

func (h *harness) visits() []flows.Visit {
	h.t.Helper()
	d := flows.DayOf(h.clk.Now())
	vs, err := h.st.Visits(context.Background(), d-1, d)
	if err != nil {
		h.t.Fatal(err)
	}
	return vs
}

// visitByID returns the stored visit.
func (h *harness) visit(id string) flows.Visit {
	h.t.Helper()
	v, err := h.st.Visit(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// vs is the open visit's state.
func (h *harness) vs() counter.VisitState {
	h.t.Helper()
	vs, ok := h.c.Visit()
	if !ok {
		h.t.Fatalf("no visit open; screen: %s", strings.Join(h.texts(), " | "))
	}
	return vs
}

// loaded waits for step 1's history.
func (h *harness) loaded() {
	h.t.Helper()
	h.waitFor("history", func() bool { _, ok := h.c.Visit(); return ok && !h.c.Loading() })
	h.settle()
}

// pharmacist is who is signed in ("" when nobody is).
func (h *harness) pharmacist() string {
	p, _ := h.c.Pharmacist()
	return p.ID
}
