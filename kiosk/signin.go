package kiosk

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/kiosk/counter"
)

// signInScreen renders counter.SignInPage: the roster, nine to a page.
type signInScreen struct {
	u *UI
	p *counter.SignInPage
}

func (s *signInScreen) build() fyne.CanvasObject {
	ps := s.u.c.Roster()
	rows := []fyne.CanvasObject{title(lang.L("signin.title")), wrap(lang.L("signin.prompt"))}
	if len(ps) == 0 {
		rows = append(rows, wrap(lang.L("signin.empty")))
	}
	start := s.p.PageNo * counter.PerPage
	for i := start; i < len(ps) && i < start+counter.PerPage; i++ {
		p := ps[i]
		label := p.Name + "  (" + p.ID + ")"
		if p.Manager {
			label += "  · " + lang.L("signin.manager")
		}
		n := i - start + 1
		rows = append(rows, s.u.option(n, label, false, s.u.press(rune('0'+n))))
	}
	if len(ps) > counter.PerPage {
		rows = append(rows, text(lang.L("signin.page", map[string]any{"Page": s.p.PageNo + 1, "Pages": counter.Pages(len(ps))}), 1, false))
	}
	return container.NewVBox(rows...)
}

func (s *signInScreen) hints() []hint {
	h := []hint{{"1–9", lang.L("key.pick_pharmacist")}, {lang.L("key.scan"), lang.L("key.badge")}}
	if len(s.u.c.Roster()) > counter.PerPage {
		h = append(h, hint{"0", lang.L("key.next_page")})
	}
	return append(h, hint{"F2", lang.L("key.add_pharmacist")})
}

// pinScreen renders counter.PINPage: a dot per digit typed.
type pinScreen struct {
	u *UI
	p *counter.PINPage
}

func (s *pinScreen) build() fyne.CanvasObject {
	n := s.p.Digits()
	dots := strings.Repeat("● ", n) + strings.Repeat("○ ", max(0, 6-n))
	rows := []fyne.CanvasObject{title(lang.L("pin.title", map[string]any{"Name": s.p.Who.Name})), text(dots, 2, true)}
	if s.p.Bad {
		t := text(lang.L("pin.wrong"), 1.1, true)
		t.Color = s.u.th.Color(ColorAlertRed, 0)
		rows = append(rows, t)
	}
	return container.NewVBox(rows...)
}

func (s *pinScreen) hints() []hint {
	return []hint{{"0–9", lang.L("key.pin_digits")}, {"Enter", lang.L("key.confirm")}, {"Backspace", lang.L("key.delete")}, {"Esc", lang.L("key.back")}}
}

// pickManagerScreen renders counter.PickManagerPage: the managers, for the manager PIN.
type pickManagerScreen struct {
	u *UI
	p *counter.PickManagerPage
}

func (s *pickManagerScreen) build() fyne.CanvasObject {
	rows := []fyne.CanvasObject{title(lang.L("manager.pick"))}
	for i, p := range s.p.Managers {
		if i >= 9 {
			break
		}
		rows = append(rows, s.u.option(i+1, p.Name+"  ("+p.ID+")", false, s.u.press(rune('1'+i))))
	}
	return container.NewVBox(rows...)
}

func (s *pickManagerScreen) hints() []hint {
	return []hint{{"1–9", lang.L("key.pick_manager")}, {"Backspace", lang.L("key.back")}}
}
