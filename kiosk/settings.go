package kiosk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/kiosk/counter"
)

// settingsScreen renders counter.SettingsPage as a form: serial port (the ports found
// listed), baud, frame suffix, HQ URL, store id, token, chain-secret file, lock time,
// with the installer's live scan log beside it. Tab moves between fields, F5 saves
// (counter.Core.SaveSettings), F6 tests the device, Esc goes back.
type settingsScreen struct {
	u                                         *UI
	port, suffix                              *kSelectEntry
	baud, hq, storeID, token, secret, lockFor *kEntry
	form                                      fyne.CanvasObject
	log                                       *widget.Label
	result                                    string
}

func newSettings(u *UI) *settingsScreen {
	s := &settingsScreen{u: u}
	esc := func() { u.c.Key(counter.KeyEscape) }
	c := u.c.Config()
	s.port = u.newKSelectEntry(counter.SerialPorts(u.o.ExtraPorts...))
	s.port.SetText(c.Port)
	s.suffix = u.newKSelectEntry(counter.Suffixes())
	s.suffix.SetText(c.Suffix)
	s.baud, s.hq, s.storeID, s.token, s.secret, s.lockFor = u.newKEntry(esc), u.newKEntry(esc), u.newKEntry(esc), u.newKEntry(esc), u.newKEntry(esc), u.newKEntry(esc)
	s.baud.SetText(strconv.Itoa(c.Baud))
	s.hq.SetText(c.HQURL)
	s.storeID.SetText(c.StoreID)
	s.token.SetText(c.Token)
	s.token.Password = true
	s.secret.SetText(c.SecretFile)
	s.lockFor.SetText(c.LockAfter.String())
	s.lockFor.OnSubmitted = func(string) { s.save() }
	for _, e := range []*kEntry{s.baud, s.hq, s.storeID, s.token, s.secret, s.lockFor} {
		e.onFKey = func(k fyne.KeyName) { s.onKey(k) }
	}
	f := widget.NewForm(
		widget.NewFormItem(lang.L("settings.port"), s.port),
		widget.NewFormItem(lang.L("settings.baud"), s.baud),
		widget.NewFormItem(lang.L("settings.suffix"), s.suffix),
		widget.NewFormItem(lang.L("settings.hq"), s.hq),
		widget.NewFormItem(lang.L("settings.store"), s.storeID),
		widget.NewFormItem(lang.L("settings.token"), s.token),
		widget.NewFormItem(lang.L("settings.secret"), s.secret),
		widget.NewFormItem(lang.L("settings.lock"), s.lockFor),
	)
	save := u.button(lang.L("settings.save")+" (F5)", s.save)
	save.Importance = widget.HighImportance
	s.log = widget.NewLabel("")
	s.log.TextStyle.Monospace = true
	s.form = container.NewVBox(title(lang.L("settings.title")), f,
		container.NewHBox(save, u.button(lang.L("settings.test")+" (F6)", s.test), u.button(lang.L("key.back"), esc)))
	return s
}

// config reads the form into a Config (validated).
func (s *settingsScreen) config() (counter.Config, error) {
	c := s.u.c.Config()
	c.Port = strings.TrimSpace(s.port.Text)
	b, err := strconv.Atoi(strings.TrimSpace(s.baud.Text))
	if err != nil {
		return c, fmt.Errorf("%s: %q", lang.L("settings.baud"), s.baud.Text)
	}
	c.Baud = b
	c.Suffix = strings.TrimSpace(s.suffix.Text)
	c.HQURL = strings.TrimSpace(s.hq.Text)
	c.StoreID = strings.TrimSpace(s.storeID.Text)
	c.Token = strings.TrimSpace(s.token.Text)
	c.SecretFile = strings.TrimSpace(s.secret.Text)
	d, err := time.ParseDuration(strings.TrimSpace(s.lockFor.Text))
	if err != nil {
		return c, fmt.Errorf("%s: %q", lang.L("settings.lock"), s.lockFor.Text)
	}
	c.LockAfter = d
	return c, c.Validate()
}

func (s *settingsScreen) save() {
	c, err := s.config()
	if err == nil {
		err = s.u.c.SaveSettings(c)
	}
	var ae *counter.ApplyError
	switch {
	case errors.As(err, &ae):
		s.result = lang.L("settings.saved_not_applied", map[string]any{"Err": ae.Err.Error()})
	case err != nil:
		s.result = lang.L("settings.invalid", map[string]any{"Err": err.Error()})
	default:
		s.result = lang.L("settings.saved")
	}
	s.u.Refresh()
}

func (s *settingsScreen) test() {
	c, err := s.config()
	if err == nil {
		err = s.u.c.TestDevice(c)
	}
	if err != nil {
		s.result = lang.L("settings.test_failed", map[string]any{"Err": err.Error()})
	} else {
		s.result = lang.L("settings.test_started", map[string]any{"Port": c.Port})
	}
	s.u.Refresh()
}

func (s *settingsScreen) build() fyne.CanvasObject {
	s.log.SetText(s.u.scanLogText(12))
	logBox := container.NewVBox(text(lang.L("settings.log", map[string]any{"State": deviceLabel(s.u.c.DeviceState())}), 1, true), s.log)
	return container.NewGridWithColumns(2, container.NewVBox(s.form, text(s.result, 1, true)), container.NewVScroll(logBox))
}

func (s *settingsScreen) hints() []hint {
	return []hint{{"Tab", lang.L("key.next_field")}, {"F5", lang.L("settings.save")}, {"F6", lang.L("settings.test")}, {"Esc", lang.L("key.back")}}
}

func (s *settingsScreen) onKey(k fyne.KeyName) bool {
	switch k {
	case fyne.KeyF5:
		s.save()
	case fyne.KeyF6:
		s.test()
	default:
		return false
	}
	return true
}
