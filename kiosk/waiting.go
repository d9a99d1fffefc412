package kiosk

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
)

// waitingScreen waits for the next customer's scan. It shows the device and sync state,
// today's completion rate and this pharmacist's points; 1 opens the manual ID entry.
type waitingScreen struct{ u *UI }

func newWaiting(u *UI) *waitingScreen { return &waitingScreen{u: u} }

// todayRate returns today's visits and completion rate (all pharmacists) from the store.
func (u *UI) todayRate() (visits int, rate float64) {
	d := flows.DayOf(u.now())
	vs, err := u.deps.Store.Visits(u.ctx, d, d)
	if err != nil {
		u.log.Warn("today's visits", "err", err)
		return 0, 0
	}
	rows := flows.Completion(vs, "all")
	if len(rows) == 0 {
		return 0, 0
	}
	return rows[0].Visits, rows[0].Rate
}

func (u *UI) pointsOf(id string) (int, bool) {
	rows, err := u.deps.Store.Points()
	if err != nil {
		return 0, false
	}
	for _, r := range rows {
		if r.PharmacistID == id {
			return r.Points, true
		}
	}
	return 0, false
}

func (s *waitingScreen) build() fyne.CanvasObject {
	u := s.u
	n, rate := u.todayRate()
	rows := []fyne.CanvasObject{
		title(lang.L("waiting.title")),
		text(lang.L("waiting.prompt"), 1.2, false),
		text(lang.L("waiting.device", map[string]any{"State": u.deviceLabel()}), 1, false),
		text(lang.L("waiting.today", map[string]any{"Rate": fmt.Sprintf("%.0f", rate), "N": n}), 1.2, true),
	}
	if u.pharmacist != nil {
		if pts, ok := u.pointsOf(u.pharmacist.ID); ok {
			rows = append(rows, text(lang.L("waiting.points", map[string]any{"Points": pts}), 1, false))
		}
	}
	rows = append(rows,
		s.u.option(1, lang.L("waiting.manual"), false, func() { s.onRune('1') }),
		s.u.option(2, lang.L("waiting.manager"), false, func() { s.onRune('2') }),
		s.u.option(3, lang.L("waiting.settings"), false, func() { s.onRune('3') }),
		s.u.option(4, lang.L("waiting.signout"), false, func() { s.onRune('4') }),
	)
	return container.NewVBox(rows...)
}

func (s *waitingScreen) hints() []hint {
	return []hint{{lang.L("key.scan"), lang.L("key.scan_customer")}, {"1", lang.L("waiting.manual")},
		{"2", lang.L("waiting.manager")}, {"3", lang.L("waiting.settings")}, {"4", lang.L("waiting.signout")}}
}

func (s *waitingScreen) onRune(r rune) bool {
	u := s.u
	switch r {
	case '1':
		u.message = ""
		u.show(newManualID(u, s))
	case '2':
		u.managerGate(s, func() { u.show(newManager(u, s)) })
	case '3':
		u.managerGate(s, func() { u.show(newSettings(u, s)) })
	case '4':
		u.signOut()
	default:
		return false
	}
	return true
}

func (s *waitingScreen) onKey(fyne.KeyName) bool { return false }

// manualIDScreen: type an ID number (digits and X only) for a card that cannot be read.
// It is checked exactly as the classifier checks a scanned one.
type manualIDScreen struct {
	u    *UI
	back screen
	buf  []rune
	err  string
}

func newManualID(u *UI, back screen) *manualIDScreen { return &manualIDScreen{u: u, back: back} }

func (s *manualIDScreen) build() fyne.CanvasObject {
	shown := string(s.buf) + strings.Repeat("_", max(0, 18-len(s.buf)))
	rows := []fyne.CanvasObject{title(lang.L("manual.title")), text(lang.L("manual.prompt"), 1, false),
		text(groupID(shown), 2, true)}
	if s.err != "" {
		t := text(s.err, 1.1, true)
		t.Color = s.u.th.Color(ColorAlertRed, 0)
		rows = append(rows, t)
	}
	return container.NewVBox(rows...)
}

// groupID spaces an 18-character ID as 6-8-4 for reading.
func groupID(s string) string {
	rs := []rune(s)
	if len(rs) != 18 {
		return s
	}
	return string(rs[:6]) + " " + string(rs[6:14]) + " " + string(rs[14:])
}

func (s *manualIDScreen) hints() []hint {
	return []hint{{"0–9 X", lang.L("key.id_digits")}, {"Enter", lang.L("key.confirm")}, {"Backspace", lang.L("key.delete")}, {"Esc", lang.L("key.back")}}
}

func (s *manualIDScreen) onRune(r rune) bool {
	if (r >= '0' && r <= '9') || r == 'x' || r == 'X' {
		if len(s.buf) < 18 {
			if r == 'x' {
				r = 'X'
			}
			s.buf = append(s.buf, r)
			s.err = ""
			s.u.refresh()
		}
		return true
	}
	return false
}

func (s *manualIDScreen) onKey(k fyne.KeyName) bool {
	switch k {
	case fyne.KeyReturn, fyne.KeyEnter:
		s.submit()
	case fyne.KeyBackspace:
		if len(s.buf) == 0 {
			s.u.show(s.back)
			return true
		}
		s.buf = s.buf[:len(s.buf)-1]
		s.u.refresh()
	case fyne.KeyEscape:
		s.buf = nil
		s.u.show(s.back)
	default:
		return false
	}
	return true
}

func (s *manualIDScreen) submit() {
	raw := string(s.buf)
	if _, err := devices.NormaliseIDNumber(raw, s.u.now()); err != nil {
		s.err = lang.L("manual.invalid", map[string]any{"Err": errText(err)})
		s.u.refresh()
		return
	}
	scan := s.u.deps.Classifier.Classify(devices.MakeFrame([]byte(raw), s.u.now()))
	for i := range s.buf { // the raw number lives no longer than needed
		s.buf[i] = 0
	}
	s.buf = nil
	if scan.Kind != devices.KindIDNumber || !scan.Valid {
		s.err = lang.L("manual.invalid", map[string]any{"Err": scanProblem(scan)})
		s.u.refresh()
		return
	}
	s.u.HandleScan(scan)
}
