package counter

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/pharmachain/counter/flows"
)

// PerPage is how many pharmacists the sign-in list shows at once (keys 1–9).
const PerPage = 9

// SignInPage: scan a staff badge, or pick a pharmacist (1–9, 0 next page) and enter the
// PIN; F2 adds a pharmacist (manager PIN). Pharmacists come from the roster cached from
// HQ (or added locally by a manager).
type SignInPage struct {
	PageNo int // roster page
}

// Screen implements Page.
func (*SignInPage) Screen() Screen { return ScreenSignIn }

// Pages is how many roster pages there are.
func Pages(n int) int { return (n + PerPage - 1) / PerPage }

func (p *SignInPage) rune(c *Core, r rune) bool {
	ps := c.Roster()
	if r == '0' && len(ps) > PerPage {
		p.PageNo = (p.PageNo + 1) % Pages(len(ps))
		c.changed()
		return true
	}
	n := digit(r)
	if n == 0 {
		return false
	}
	if i := p.PageNo*PerPage + n - 1; i < len(ps) {
		c.clearMessage()
		c.show(&PINPage{Who: ps[i], back: p, ok: c.signIn})
	}
	return true
}

func (p *SignInPage) key(c *Core, k Key) bool {
	if k != KeyF2 {
		return false
	}
	c.managerGate(p, func() { c.show(&AddPharmacistPage{back: p, FirstManager: len(c.Roster()) == 0}) })
	return true
}

// PINPage asks a pharmacist's PIN: digits, Enter checks, Backspace deletes (or goes back
// when empty), Esc goes back.
type PINPage struct {
	Who  flows.Pharmacist
	pin  []rune
	Bad  bool // the last PIN was wrong
	back Page
	ok   func(flows.Pharmacist)
}

// Screen implements Page.
func (*PINPage) Screen() Screen { return ScreenPIN }

// Digits is how many digits have been typed (the PIN itself is never shown).
func (p *PINPage) Digits() int { return len(p.pin) }

func (p *PINPage) rune(c *Core, r rune) bool {
	if r < '0' || r > '9' || len(p.pin) >= 12 {
		return false
	}
	p.pin = append(p.pin, r)
	p.Bad = false
	c.changed()
	return true
}

func (p *PINPage) key(c *Core, k Key) bool {
	switch {
	case isEnter(k):
		if CheckPIN(p.Who, string(p.pin)) {
			p.ok(p.Who)
		} else {
			p.pin, p.Bad = nil, true
			c.changed()
		}
	case k == KeyBackspace:
		if len(p.pin) == 0 {
			c.show(p.back)
		} else {
			p.pin = p.pin[:len(p.pin)-1]
			c.changed()
		}
	case k == KeyEscape:
		c.show(p.back)
	default:
		return false
	}
	return true
}

// CheckPIN reports whether pin matches the pharmacist's bcrypt PIN hash. A pharmacist
// without a PIN hash cannot sign in with a PIN (only with the badge).
func CheckPIN(p flows.Pharmacist, pin string) bool {
	if p.PINHash == "" || pin == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(p.PINHash), []byte(pin)) == nil
}

// HashPIN returns the bcrypt hash stored for a PIN (4–12 digits).
func HashPIN(pin string) (string, error) {
	if len(pin) < 4 || len(pin) > 12 || strings.Trim(pin, "0123456789") != "" {
		return "", fmt.Errorf("PIN: want 4–12 digits")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pin), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash PIN: %w", err)
	}
	return string(h), nil
}

// managerGate asks a manager to pick themselves and enter their PIN, then runs next.
// On an install whose roster has no manager yet (first start, offline), next runs at
// once so the first manager can be added.
func (c *Core) managerGate(back Page, next func()) {
	var managers []flows.Pharmacist
	for _, p := range c.Roster() {
		if p.Manager {
			managers = append(managers, p)
		}
	}
	switch len(managers) {
	case 0:
		next()
	case 1:
		c.show(&PINPage{Who: managers[0], back: back, ok: func(flows.Pharmacist) { next() }})
	default:
		c.show(&PickManagerPage{Managers: managers, back: back, next: next})
	}
}

// PickManagerPage lists the managers (1–9) for the manager PIN.
type PickManagerPage struct {
	Managers []flows.Pharmacist
	back     Page
	next     func()
}

// Screen implements Page.
func (*PickManagerPage) Screen() Screen { return ScreenPickManager }

func (p *PickManagerPage) rune(c *Core, r rune) bool {
	n := digit(r)
	if n == 0 {
		return false
	}
	if n <= len(p.Managers) {
		c.show(&PINPage{Who: p.Managers[n-1], back: p, ok: func(flows.Pharmacist) { p.next() }})
	}
	return true
}

func (p *PickManagerPage) key(c *Core, k Key) bool {
	if k == KeyBackspace || k == KeyEscape {
		c.show(p.back)
		return true
	}
	return false
}

// signIn makes p the pharmacist at the counter; a visit of theirs that a crash left
// open a moment ago is offered first.
func (c *Core) signIn(p flows.Pharmacist) {
	c.log.Info("pharmacist signed in", "pharmacist", p.ID)
	c.pharmacist = &p
	c.clearMessage()
	if v, ok := c.resumableFor(p.ID); ok {
		c.show(&ResumePage{Visit: v})
		return
	}
	c.show(&WaitingPage{})
}

// signOut returns to the sign-in page.
func (c *Core) signOut() {
	c.abandon(AbandonPharmacist)
	c.pharmacist = nil
	c.clearMessage()
	c.show(&SignInPage{})
}

// Roster is the cached roster (HQ's and the locally added pharmacists).
func (c *Core) Roster() []flows.Pharmacist {
	rc, err := c.deps.Store.Roster()
	if err != nil {
		c.log.Warn("roster", "err", err)
		return nil
	}
	out := make([]flows.Pharmacist, 0, len(rc.Pharmacists))
	for _, e := range rc.Pharmacists {
		out = append(out, e.Pharmacist)
	}
	return out
}

func (c *Core) findPharmacist(match func(flows.Pharmacist) bool) (flows.Pharmacist, bool) {
	for _, p := range c.Roster() {
		if match(p) {
			return p, true
		}
	}
	return flows.Pharmacist{}, false
}
