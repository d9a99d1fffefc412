package kiosk

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/flows"
)

var pharmacistIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// addPharmacistScreen lets a manager add a pharmacist locally (offline install): id,
// name (Latin letters or pinyin are fine — no input method needed), PIN, manager flag.
// Tab moves between fields, Enter in the last field saves, Esc goes back.
type addPharmacistScreen struct {
	u                    *UI
	back                 screen
	id, name, pin, badge *kEntry
	manager              *kCheck
	form                 fyne.CanvasObject
}

func newAddPharmacist(u *UI, back screen) *addPharmacistScreen {
	s := &addPharmacistScreen{u: u, back: back}
	esc := func() { u.show(back) }
	s.id, s.name, s.pin, s.badge = u.newKEntry(esc), u.newKEntry(esc), u.newKEntry(esc), u.newKEntry(esc)
	s.pin.Password = true
	s.badge.OnSubmitted = func(string) { s.save() }
	s.manager = u.newKCheck(lang.L("add.manager"))
	if len(u.roster()) == 0 {
		s.manager.SetChecked(true) // the first pharmacist of an install is its manager
	}
	f := widget.NewForm(
		widget.NewFormItem(lang.L("add.id"), s.id),
		widget.NewFormItem(lang.L("add.name"), s.name),
		widget.NewFormItem(lang.L("add.pin"), s.pin),
		widget.NewFormItem(lang.L("add.badge"), s.badge),
		widget.NewFormItem("", s.manager),
	)
	save := u.button(lang.L("add.save"), s.save)
	save.Importance = widget.HighImportance
	s.form = container.NewVBox(title(lang.L("add.title")), f,
		container.NewHBox(save, u.button(lang.L("key.back"), esc)))
	return s
}

func (s *addPharmacistScreen) build() fyne.CanvasObject {
	if c := s.u.win.Canvas(); c != nil && c.Focused() == nil {
		defer c.Focus(s.id)
	}
	return s.form
}

func (s *addPharmacistScreen) hints() []hint {
	return []hint{{"Tab", lang.L("key.next_field")}, {"Enter", lang.L("key.save")}, {"Esc", lang.L("key.back")}}
}

func (s *addPharmacistScreen) onRune(rune) bool { return false }

func (s *addPharmacistScreen) onKey(k fyne.KeyName) bool {
	if k == fyne.KeyEscape {
		s.u.show(s.back)
		return true
	}
	return false
}

func (s *addPharmacistScreen) save() {
	p, err := s.pharmacist()
	if err == nil {
		err = s.u.deps.Store.AddLocalPharmacist(p)
	}
	if err != nil {
		s.u.say(true, "%s", lang.L("add.failed", map[string]any{"Err": err.Error()}))
		return
	}
	s.u.message = lang.L("add.saved", map[string]any{"Name": p.Name})
	s.u.msgErr = false
	s.u.show(s.back)
}

func (s *addPharmacistScreen) pharmacist() (flows.Pharmacist, error) {
	id := strings.TrimSpace(s.id.Text)
	if !pharmacistIDRe.MatchString(id) {
		return flows.Pharmacist{}, errors.New(lang.L("add.bad_id"))
	}
	name := strings.TrimSpace(s.name.Text)
	if name == "" {
		name = id
	}
	h, err := HashPIN(strings.TrimSpace(s.pin.Text))
	if err != nil {
		return flows.Pharmacist{}, fmt.Errorf("%s", lang.L("add.bad_pin"))
	}
	return flows.Pharmacist{ID: id, StoreID: s.u.cfg.StoreID, Name: name, Manager: s.manager.Checked,
		PINHash: h, Badge: strings.TrimSpace(s.badge.Text)}, nil
}
