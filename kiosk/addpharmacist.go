package kiosk

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/kiosk/counter"
)

// addPharmacistScreen renders counter.AddPharmacistPage as a form: id, name (Latin
// letters or pinyin are fine — no input method needed), PIN, badge, manager flag. Tab
// moves between fields, Enter in the last field saves (counter.Core.AddPharmacist), Esc
// goes back.
type addPharmacistScreen struct {
	u                    *UI
	id, name, pin, badge *kEntry
	manager              *kCheck
	form                 fyne.CanvasObject
}

func newAddPharmacist(u *UI, p *counter.AddPharmacistPage) *addPharmacistScreen {
	s := &addPharmacistScreen{u: u}
	esc := func() { u.c.Key(counter.KeyEscape) }
	s.id, s.name, s.pin, s.badge = u.newKEntry(esc), u.newKEntry(esc), u.newKEntry(esc), u.newKEntry(esc)
	s.pin.Password = true
	s.badge.OnSubmitted = func(string) { s.save() }
	s.manager = u.newKCheck(lang.L("add.manager"))
	s.manager.SetChecked(p.FirstManager) // the first pharmacist of an install is its manager
	f := widget.NewForm(
		widget.NewFormItem(lang.L("add.id"), s.id),
		widget.NewFormItem(lang.L("add.name"), s.name),
		widget.NewFormItem(lang.L("add.pin"), s.pin),
		widget.NewFormItem(lang.L("add.badge"), s.badge),
		widget.NewFormItem("", s.manager),
	)
	save := u.button(lang.L("add.save"), s.save)
	save.Importance = widget.HighImportance
	s.form = container.NewVBox(title(lang.L("add.title")), f, container.NewHBox(save, u.button(lang.L("key.back"), esc)))
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

func (s *addPharmacistScreen) save() {
	err := s.u.c.AddPharmacist(counter.NewPharmacist{ID: s.id.Text, Name: s.name.Text, PIN: s.pin.Text,
		Badge: s.badge.Text, Manager: s.manager.Checked})
	if err == nil {
		return // the core went back, saying so
	}
	s.u.c.Notify(counter.Note{Text: counter.Text{Key: "add.failed", Args: map[string]any{"Err": failText(err)}}, Err: true})
}
