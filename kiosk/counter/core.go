// Package counter is the counter's core, without Fyne: scan routing, sign-in, the visit
// life cycle, history (HQ within 800 ms, else the local store), roster and points sync,
// the manager view's numbers and the settings. It is driven by events — a person's keys
// (Rune, Key), scans (HandleScan, DeviceEvent), the clock (Tick) and HQ's answers, which
// come back through Deps.Post — and exposes what the screens render: the current Page,
// the open visit (VisitState), the status line (Message) and the banner (Status).
//
// Every method runs on one goroutine (the UI goroutine in the app, the test's goroutine
// in tests); background work posts its result back with Deps.Post. The screens (package
// kiosk) only render this state and send it keys.
package counter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/wire"
)

// HQ is what the counter asks HQ (sync/hqclient implements it). Every call is made with
// a context that expires after HQBudget: the counter never waits longer.
type HQ interface {
	// History returns the customer's chain-wide purchases for a days-long lookback as of
	// asOf (including the carry-in horizon before it).
	History(ctx context.Context, customerKey string, days int, asOf flows.Day) (wire.HistoryResponse, error)
	// Roster returns the store's pharmacists (with PIN hashes) for offline sign-in.
	Roster(ctx context.Context) (wire.RosterResponse, error)
	// Points returns the store's pharmacists' points.
	Points(ctx context.Context) (wire.PointsResponse, error)
}

// Deps are the parts the core works with. Store, Classifier and Content are required;
// the rest may be nil.
type Deps struct {
	Store      *store.Store
	HQ         HQ                        // nil: no HQ configured (offline install)
	Classifier *devices.Classifier       // turns manual entries into scans
	Resolver   devices.InsuranceResolver // nil: insurance QR codes cannot be resolved
	// Content is the content in use at start (OfferContent swaps it between visits):
	// the pack kept in the data directory, else Embedded (StartContent).
	Content Content
	// Embedded is version 0, the content built into the kiosk, which HQ may assign
	// (rollback); zero: Content, when its version is 0. ContentTag is HQ's entity tag
	// of Content when it is a kept pack (the first pull then costs a 304).
	Embedded   Content
	ContentTag string
	// FollowUp is the follow-up policy (delay, default channel); its text comes from the
	// content's reminder message when the content has one.
	FollowUp flows.FollowUpPolicy
	Logger   *slog.Logger
	Now      func() time.Time // default time.Now
	// Post runs f on the core's goroutine (the app: fyne.Do; tests: a queue they drain).
	// Required when HQ or Resolver is set, or timers run.
	Post func(f func())
	// OnChange is called on the core's goroutine after the state changed (the app
	// re-renders the screen).
	OnChange func()
	// Kick asks the outbox drainer to send now (after a visit is finished).
	Kick func()
	// TestDevice reopens the serial reader with cfg and reports the outcome (settings).
	TestDevice func(cfg Config) error
	// ApplyConfig applies a configuration the settings saved (reopens the serial port);
	// its error is shown on the settings screen.
	ApplyConfig func(cfg Config) error
	// Quit closes the app (manager view; the only way out in --fullscreen).
	Quit func()
}

// Core is the counter's state machine. Create it with New; Close it when done.
type Core struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc

	content Content  // in use; a visit keeps its own (VisitState.Content)
	offered *Content // offered while a visit was open: applied when it ends
	cs      contentSync

	page   Page
	serial int   // incremented at every page change (the screens rebuild their widgets)
	msg    *Note // transient status line, cleared by the next page change

	pharmacist *flows.Pharmacist
	visit      *flows.Visit
	vs         *VisitState
	resumable  []resumable // visits left open by a crash, offered to their pharmacist
	lastInput  time.Time
	locked     bool

	device     string           // devices.State*; "" before the reader reported
	deviceProb *devices.Problem // why the device is waiting or in error
	deviceErr  string
	stats      wire.OutboxStats
	hqOnline   bool
	hqChecked  bool
	scanLog    []ScanLogEntry
	entropy    *ulid.MonotonicEntropy
	ticks      int
	effect     effectState // the store's effect report for the manager view
}

// New builds the core on deps and cfg, sorts out the visits a crash left open (recent
// ones are offered to their pharmacist, older ones saved as abandoned) and shows the
// sign-in page. It pulls the roster, points and content pack from HQ in the background.
func New(cfg Config, deps Deps) (*Core, error) {
	if deps.Store == nil || deps.Classifier == nil {
		return nil, errors.New("counter: Store and Classifier are required")
	}
	if err := deps.Content.check(); err != nil {
		return nil, err
	}
	if (deps.HQ != nil || deps.Resolver != nil) && deps.Post == nil {
		return nil, errors.New("counter: Post is required with HQ or an insurance resolver")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.FollowUp.Channel == "" {
		deps.FollowUp = flows.DefaultFollowUpPolicy()
	}
	deps.FollowUp = withClassNames(deps.FollowUp)
	if deps.OnChange == nil {
		deps.OnChange = func() {}
	}
	if cfg.LockAfter <= 0 {
		cfg.LockAfter = DefaultLockAfter
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &Core{cfg: cfg, deps: deps, log: deps.Logger, ctx: ctx, stop: stop, content: deps.Content,
		lastInput: deps.Now(), entropy: ulid.Monotonic(rand.Reader, 0)}
	if err := c.initContent(); err != nil {
		stop()
		return nil, err
	}
	c.refreshStats()
	c.sortOpenVisits()
	c.show(&SignInPage{})
	c.SyncHQ()
	return c, nil
}

// Close stops the core's background work.
func (c *Core) Close() { c.stop() }

// Config is the configuration in use.
func (c *Core) Config() Config { return c.cfg }

// Page is the page shown now; Serial changes whenever another page is shown.
func (c *Core) Page() Page { return c.page }

// Serial counts page changes: a screen keeps its widgets while it stays the same.
func (c *Core) Serial() int { return c.serial }

// Message is the transient status line under the page, if any.
func (c *Core) Message() (Note, bool) {
	if c.msg == nil {
		return Note{}, false
	}
	return *c.msg, true
}

// Pharmacist is who is signed in.
func (c *Core) Pharmacist() (flows.Pharmacist, bool) {
	if c.pharmacist == nil {
		return flows.Pharmacist{}, false
	}
	return *c.pharmacist, true
}

// Locked reports whether the idle lock is on.
func (c *Core) Locked() bool { return c.locked }

func (c *Core) now() time.Time { return c.deps.Now() }

// Touch records user activity (for the idle lock).
func (c *Core) Touch() { c.lastInput = c.now() }

// LastInput is when the last key or scan arrived.
func (c *Core) LastInput() time.Time { return c.lastInput }

func (c *Core) newID() string {
	id, err := ulid.New(ulid.Timestamp(c.now()), c.entropy)
	if err != nil { // entropy exhausted within one millisecond: practically impossible
		return fmt.Sprintf("%026d", c.now().UnixNano())
	}
	return id.String()
}

// show switches to a page (clearing nothing else: callers clear the message).
func (c *Core) show(p Page) {
	c.page = p
	c.serial++
	c.log.Debug("screen", "name", p.Screen().String())
	c.changed()
}

func (c *Core) changed() { c.deps.OnChange() }

// say shows a transient message under the page.
func (c *Core) say(err bool, key string, args map[string]any) {
	c.msg = &Note{Text: Text{Key: key, Args: args}, Err: err}
	c.changed()
}

// Notify shows a screen's own message in the status line (a form's refusal).
func (c *Core) Notify(n Note) {
	c.msg = &n
	c.changed()
}

func (c *Core) clearMessage() { c.msg = nil }

// post runs f on the core's goroutine unless the core was closed meanwhile.
func (c *Core) post(f func()) {
	c.deps.Post(func() {
		if c.ctx.Err() != nil {
			return
		}
		f()
	})
}

// Rune delivers a person's typed character (after the keyboard-wedge filter).
func (c *Core) Rune(r rune) {
	if c.locked {
		c.unlock()
		return
	}
	c.page.rune(c, r)
}

// Key delivers a named key (Enter, Backspace, Escape, F-keys); Esc during a visit asks
// to abandon it.
func (c *Core) Key(k Key) {
	if c.locked {
		c.unlock()
		return
	}
	if c.page.key(c, k) {
		return
	}
	if k == KeyEscape && c.visitOpen() {
		c.show(&ConfirmAbandonPage{Reason: AbandonPharmacist, back: c.page})
	}
}

// Press delivers a person's key press as the keyboard would (automation: screenshots,
// measurements).
func (c *Core) Press(r rune) { c.Touch(); c.Rune(r) }

// PressKey delivers a named key like Press.
func (c *Core) PressKey(k Key) { c.Touch(); c.Key(k) }
