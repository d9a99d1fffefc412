package kiosk

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"golang.org/x/crypto/bcrypt"

	"github.com/pharmachain/counter/flows"
)

// signInScreen: scan a staff badge, or pick a pharmacist (1–9) and enter the PIN.
// Pharmacists come from the roster cached from HQ (or added locally by a manager).
type signInScreen struct {
	u    *UI
	page int // roster page (9 per page)
}

func newSignIn(u *UI) *signInScreen { return &signInScreen{u: u} }

func (s *signInScreen) list() []flows.Pharmacist { return s.u.roster() }

func (s *signInScreen) build() fyne.CanvasObject {
	ps := s.list()
	rows := []fyne.CanvasObject{title(lang.L("signin.title")), wrap(lang.L("signin.prompt"))}
	if len(ps) == 0 {
		rows = append(rows, wrap(lang.L("signin.empty")))
	}
	start := s.page * 9
	for i := start; i < len(ps) && i < start+9; i++ {
		p := ps[i]
		label := p.Name + "  (" + p.ID + ")"
		if p.Manager {
			label += "  · " + lang.L("signin.manager")
		}
		n := i - start + 1
		rows = append(rows, s.u.option(n, label, false, func() { s.pick(n) }))
	}
	if len(ps) > 9 {
		rows = append(rows, text(lang.L("signin.page", map[string]any{"Page": s.page + 1, "Pages": (len(ps) + 8) / 9}), 1, false))
	}
	return container.NewVBox(rows...)
}

func (s *signInScreen) hints() []hint {
	h := []hint{{"1–9", lang.L("key.pick_pharmacist")}, {lang.L("key.scan"), lang.L("key.badge")}}
	if len(s.list()) > 9 {
		h = append(h, hint{"0", lang.L("key.next_page")})
	}
	return append(h, hint{"F2", lang.L("key.add_pharmacist")})
}

func (s *signInScreen) pick(n int) {
	ps := s.list()
	i := s.page*9 + n - 1
	if n < 1 || i >= len(ps) {
		return
	}
	p := ps[i]
	s.u.message = ""
	s.u.show(newPIN(s.u, p, s, func(p flows.Pharmacist) { s.u.signIn(p) }))
}

func (s *signInScreen) onRune(r rune) bool {
	if r == '0' && len(s.list()) > 9 {
		s.page = (s.page + 1) % ((len(s.list()) + 8) / 9)
		s.u.refresh()
		return true
	}
	if n := digit(r); n > 0 {
		s.pick(n)
		return true
	}
	return false
}

func (s *signInScreen) onKey(k fyne.KeyName) bool {
	if k == fyne.KeyF2 {
		s.u.managerGate(s, func() { s.u.show(newAddPharmacist(s.u, s)) })
		return true
	}
	return false
}

// pinScreen asks a pharmacist's PIN: digits, Enter checks, Backspace deletes (or goes
// back when empty), Esc goes back.
type pinScreen struct {
	u    *UI
	p    flows.Pharmacist
	back screen
	ok   func(flows.Pharmacist)
	pin  []rune
	bad  bool
}

func newPIN(u *UI, p flows.Pharmacist, back screen, ok func(flows.Pharmacist)) *pinScreen {
	return &pinScreen{u: u, p: p, back: back, ok: ok}
}

func (s *pinScreen) build() fyne.CanvasObject {
	dots := strings.Repeat("● ", len(s.pin)) + strings.Repeat("○ ", max(0, 6-len(s.pin)))
	rows := []fyne.CanvasObject{
		title(lang.L("pin.title", map[string]any{"Name": s.p.Name})),
		text(dots, 2, true),
	}
	if s.bad {
		t := text(lang.L("pin.wrong"), 1.1, true)
		t.Color = s.u.th.Color(ColorAlertRed, 0)
		rows = append(rows, t)
	}
	return container.NewVBox(rows...)
}

func (s *pinScreen) hints() []hint {
	return []hint{{"0–9", lang.L("key.pin_digits")}, {"Enter", lang.L("key.confirm")}, {"Backspace", lang.L("key.delete")}, {"Esc", lang.L("key.back")}}
}

func (s *pinScreen) onRune(r rune) bool {
	if r >= '0' && r <= '9' && len(s.pin) < 12 {
		s.pin = append(s.pin, r)
		s.bad = false
		s.u.refresh()
		return true
	}
	return false
}

func (s *pinScreen) onKey(k fyne.KeyName) bool {
	switch k {
	case fyne.KeyReturn, fyne.KeyEnter:
		if CheckPIN(s.p, string(s.pin)) {
			s.ok(s.p)
		} else {
			s.pin, s.bad = nil, true
			s.u.refresh()
		}
	case fyne.KeyBackspace:
		if len(s.pin) == 0 {
			s.u.show(s.back)
		} else {
			s.pin = s.pin[:len(s.pin)-1]
			s.u.refresh()
		}
	case fyne.KeyEscape:
		s.u.show(s.back)
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
func (u *UI) managerGate(back screen, next func()) {
	var managers []flows.Pharmacist
	for _, p := range u.roster() {
		if p.Manager {
			managers = append(managers, p)
		}
	}
	if len(managers) == 0 {
		next()
		return
	}
	if len(managers) == 1 {
		u.show(newPIN(u, managers[0], back, func(flows.Pharmacist) { next() }))
		return
	}
	u.show(newPickManager(u, managers, back, next))
}

// pickManagerScreen lists the managers (1–9) for the manager PIN.
type pickManagerScreen struct {
	u        *UI
	managers []flows.Pharmacist
	back     screen
	next     func()
}

func newPickManager(u *UI, ms []flows.Pharmacist, back screen, next func()) *pickManagerScreen {
	return &pickManagerScreen{u: u, managers: ms, back: back, next: next}
}

func (s *pickManagerScreen) build() fyne.CanvasObject {
	rows := []fyne.CanvasObject{title(lang.L("manager.pick"))}
	for i, p := range s.managers {
		if i >= 9 {
			break
		}
		n := i + 1
		rows = append(rows, s.u.option(n, p.Name+"  ("+p.ID+")", false, func() { s.pick(n) }))
	}
	return container.NewVBox(rows...)
}

func (s *pickManagerScreen) hints() []hint {
	return []hint{{"1–9", lang.L("key.pick_manager")}, {"Backspace", lang.L("key.back")}}
}

func (s *pickManagerScreen) pick(n int) {
	if n < 1 || n > len(s.managers) {
		return
	}
	s.u.show(newPIN(s.u, s.managers[n-1], s, func(flows.Pharmacist) { s.next() }))
}

func (s *pickManagerScreen) onRune(r rune) bool {
	if n := digit(r); n > 0 {
		s.pick(n)
		return true
	}
	return false
}

func (s *pickManagerScreen) onKey(k fyne.KeyName) bool {
	if k == fyne.KeyBackspace || k == fyne.KeyEscape {
		s.u.show(s.back)
		return true
	}
	return false
}
