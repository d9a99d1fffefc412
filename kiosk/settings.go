package kiosk

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/flows"
)

// settingsScreen (manager PIN): serial port (the ports found on this machine listed),
// baud, frame suffix, HQ URL, store id, token, chain-secret file, lock time; a live scan
// log for installers and a "test device" button. Saved into the store's config blob;
// command-line flags override it at the next start. Tab moves between fields, Esc goes
// back, F5 saves, F6 tests the device.
type settingsScreen struct {
	u                                         *UI
	back                                      screen
	port, suffix                              *kSelectEntry
	baud, hq, storeID, token, secret, lockFor *kEntry
	form                                      fyne.CanvasObject
	log                                       *widget.Label
	result                                    string
}

func newSettings(u *UI, back screen) *settingsScreen {
	s := &settingsScreen{u: u, back: back}
	esc := func() { s.leave() }
	c := u.cfg
	s.port = u.newKSelectEntry(SerialPorts(u.deps.ExtraPorts...))
	s.port.SetText(c.Port)
	s.suffix = u.newKSelectEntry(Suffixes)
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
	test := u.button(lang.L("settings.test")+" (F6)", s.test)
	s.log = widget.NewLabel("")
	s.log.TextStyle.Monospace = true
	s.form = container.NewVBox(title(lang.L("settings.title")), f,
		container.NewHBox(save, test, u.button(lang.L("key.back"), esc)))
	return s
}

// config reads the form into a Config (validated).
func (s *settingsScreen) config() (Config, error) {
	c := s.u.cfg
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
		err = s.u.deps.Store.SaveConfig(c)
	}
	if err != nil {
		s.result = lang.L("settings.invalid", map[string]any{"Err": err.Error()})
		s.u.refresh()
		return
	}
	s.u.cfg = c
	if s.u.deps.ApplyConfig != nil {
		s.u.deps.ApplyConfig(c)
	}
	s.result = lang.L("settings.saved")
	s.u.refresh()
}

func (s *settingsScreen) test() {
	c, err := s.config()
	if err == nil && s.u.deps.TestDevice != nil {
		err = s.u.deps.TestDevice(c)
	}
	if err != nil {
		s.result = lang.L("settings.test_failed", map[string]any{"Err": err.Error()})
	} else {
		s.result = lang.L("settings.test_started", map[string]any{"Port": c.Port})
	}
	s.u.refresh()
}

func (s *settingsScreen) leave() {
	s.u.message = ""
	s.u.show(s.back)
}

func (s *settingsScreen) build() fyne.CanvasObject {
	var b strings.Builder
	start := max(0, len(s.u.scanLog)-12)
	for _, e := range s.u.scanLog[start:] {
		fmt.Fprintf(&b, "%s  %s\n", e.At.In(flows.Shanghai()).Format("15:04:05.000"), e.Text)
	}
	if b.Len() == 0 {
		b.WriteString(lang.L("settings.log_empty"))
	}
	s.log.SetText(b.String())
	logBox := container.NewVBox(text(lang.L("settings.log", map[string]any{"State": s.u.deviceLabel()}), 1, true), s.log)
	res := text(s.result, 1, true)
	return container.NewBorder(nil, nil, nil, nil,
		container.NewGridWithColumns(2, container.NewVBox(s.form, res), container.NewVScroll(logBox)))
}

func (s *settingsScreen) hints() []hint {
	return []hint{{"Tab", lang.L("key.next_field")}, {"F5", lang.L("settings.save")}, {"F6", lang.L("settings.test")}, {"Esc", lang.L("key.back")}}
}

func (s *settingsScreen) onRune(rune) bool { return false }

func (s *settingsScreen) onKey(k fyne.KeyName) bool {
	switch k {
	case fyne.KeyF5:
		s.save()
	case fyne.KeyF6:
		s.test()
	case fyne.KeyEscape, fyne.KeyBackspace:
		s.leave()
	default:
		return false
	}
	return true
}
