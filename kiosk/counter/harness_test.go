package counter

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/demo/demohq"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/hqclient"
)

// testNow is a fixed Thursday morning in Shanghai.
var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, flows.Shanghai())

// clock is a settable test clock; background work (HQ pulls) reads it too.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// rig drives a real core without any UI: a real bbolt store in a temp dir, the demo data
// set, optionally the demo HQ over real HTTP. Work the core posts runs when the test
// settles or waits.
type rig struct {
	t       *testing.T
	c       *Core
	st      *store.Store
	clk     *clock
	q       chan func()
	dom     flows.Data
	cls     *devices.Classifier
	hq      *demohq.HQ
	dir     string
	changes int
	kicks   int

	embedded Content // version 0, the content built into the kiosk (its data is dom)
}

type rigOpts struct {
	hq      bool   // start the demo HQ
	hqDown  bool   // configure an HQ address nobody listens on
	noSeed  bool   // empty store (no roster, no visits)
	dataDir string // reuse a data dir (a restart)
	now     time.Time
	content *Content
	// contentTag is HQ's tag of content (a kept pack).
	contentTag string
	useHQ      *demohq.HQ // talk to this demo HQ (another rig's: a restart)
}

func loadDomain(t testing.TB) flows.Data {
	t.Helper()
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	return dom
}

// embeddedHash is the hash of the content built into the kiosk (version 0).
func embeddedHash(t testing.TB) string {
	t.Helper()
	p, err := content.FromFS(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	return p.Hash()
}

// seeded is a store file holding the demo data set as of testNow, written once per test
// binary (seeding a month of visits takes seconds; copying the file does not).
var seeded struct {
	once sync.Once
	b    []byte
	err  error
}

func copySeeded(t *testing.T, dir string) {
	t.Helper()
	seeded.once.Do(func() {
		tmpl, err := os.MkdirTemp("", "counter-seed-")
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
		dom := loadDomain(t)
		seeded.err = demo.SeedLocal(context.Background(), st, dom.Catalog, dom.Questionnaires, dom.Knowledge, testNow)
		if err := st.Close(); seeded.err == nil {
			seeded.err = err
		}
		if seeded.err == nil {
			seeded.b, seeded.err = os.ReadFile(store.DefaultPath(tmpl))
		}
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

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	if o.now.IsZero() {
		o.now = testNow
	}
	r := &rig{t: t, clk: &clock{t: o.now}, q: make(chan func(), 1000), dir: o.dataDir}
	if r.dir == "" {
		r.dir = t.TempDir()
	}
	if !o.noSeed && o.dataDir == "" {
		copySeeded(t, r.dir)
	}
	st, err := store.Open(store.DefaultPath(r.dir), store.Options{Now: r.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.st = st
	r.dom = loadDomain(t)
	ctx := context.Background()
	r.cls = &devices.Classifier{Secret: []byte(demo.Secret), Now: r.clk.Now}
	var hqc HQ
	var res devices.InsuranceResolver
	if o.hq {
		d, err := demohq.StartHQ(ctx, t.TempDir(), r.dom.Catalog, testNow, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Stop() })
		r.hq = d
		hqc = hqclient.New(d.URL, demo.StoreToken, HQBudget)
		res = devices.NewHTTPResolver(d.URL+demohq.InsurancePath, HQBudget, nil)
	}
	if o.useHQ != nil {
		r.hq = o.useHQ
		hqc = hqclient.New(o.useHQ.URL, demo.StoreToken, HQBudget)
		res = devices.NewHTTPResolver(o.useHQ.URL+demohq.InsurancePath, HQBudget, nil)
	}
	if o.hqDown {
		hqc = hqclient.New("http://127.0.0.1:1", demo.StoreToken, HQBudget)
	}
	cfg := DefaultConfig()
	cfg.DataDir = r.dir
	r.embedded = Content{Hash: embeddedHash(t), Data: r.dom}
	ct := r.embedded
	if o.content != nil {
		ct = *o.content
	}
	c, err := New(cfg, Deps{Store: st, HQ: hqc, Resolver: res, Classifier: r.cls, Content: ct, Embedded: r.embedded, ContentTag: o.contentTag, Now: r.clk.Now,
		Post: func(f func()) { r.q <- f }, OnChange: func() { r.changes++ }, Kick: func() { r.kicks++ }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r.c = c
	r.settle()
	return r
}

// settle runs what the core posted until nothing is left for 50 ms.
func (r *rig) settle() {
	idle := time.NewTimer(50 * time.Millisecond)
	defer idle.Stop()
	for {
		select {
		case f := <-r.q:
			f()
			idle.Reset(50 * time.Millisecond)
		case <-idle.C:
			return
		}
	}
}

// waitFor runs posted work until cond holds; it fails after 30 s (a loaded machine).
func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s; page %s", what, r.c.Page().Screen())
		}
		select {
		case f := <-r.q:
			f()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// press types characters as a person does (each one a second apart).
func (r *rig) press(s string) {
	for _, ch := range s {
		r.clk.Advance(time.Second)
		r.c.Press(ch)
		r.settle()
	}
}

func (r *rig) key(k Key) {
	r.clk.Advance(time.Second)
	r.c.PressKey(k)
	r.settle()
}

// scan delivers a code as the serial reader does (an event from another goroutine).
func (r *rig) scan(code string) {
	s := r.cls.Classify(devices.MakeFrame([]byte(code), r.clk.Now()))
	go r.c.DeviceEvent(devices.Event{Type: devices.EventScan, Scan: &s, At: r.clk.Now()})
	r.waitFor("scan delivered", func() bool { return r.c.LastInput().Equal(r.clk.Now()) })
	r.settle()
}

func (r *rig) screen() Screen { return r.c.Page().Screen() }

func (r *rig) mustBe(s Screen) {
	r.t.Helper()
	if got := r.screen(); got != s {
		msg, _ := r.c.Message()
		r.t.Fatalf("page %s, want %s (message %+v)", got, s, msg)
	}
}

// signIn picks the n-th pharmacist of the roster and types the PIN.
func (r *rig) signIn(n int, pin string) {
	r.t.Helper()
	r.press(string(rune('0' + n)))
	r.press(pin)
	r.key(KeyEnter)
	if _, ok := r.c.Pharmacist(); !ok {
		r.t.Fatalf("sign-in failed; page %s", r.screen())
	}
}

func (r *rig) vs() VisitState {
	r.t.Helper()
	vs, ok := r.c.Visit()
	if !ok {
		r.t.Fatal("no visit open")
	}
	return vs
}

func (r *rig) loaded() {
	r.t.Helper()
	r.waitFor("history", func() bool { return !r.c.Loading() })
}

func (r *rig) stored(id string) flows.Visit {
	r.t.Helper()
	v, err := r.st.Visit(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (r *rig) messageKey() string {
	m, _ := r.c.Message()
	return m.Text.Key
}
