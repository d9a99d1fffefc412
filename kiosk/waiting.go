package kiosk

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/kiosk/counter"
)

// waitingScreen renders counter.WaitingPage: the device state, today's completion rate,
// this pharmacist's points and the menu.
type waitingScreen struct{ u *UI }

func (s *waitingScreen) build() fyne.CanvasObject {
	u := s.u
	n, rate := u.c.TodayRate()
	rows := []fyne.CanvasObject{
		title(lang.L("waiting.title")),
		text(lang.L("waiting.prompt"), 1.2, false),
		text(lang.L("waiting.device", map[string]any{"State": deviceLabel(u.c.DeviceState())}), 1, false),
		text(lang.L("waiting.today", map[string]any{"Rate": fmt.Sprintf("%.0f", rate), "N": n}), 1.2, true),
	}
	if p, ok := u.c.Pharmacist(); ok {
		if pts, ok := u.c.Points(p.ID); ok {
			rows = append(rows, text(lang.L("waiting.points", map[string]any{"Points": pts}), 1, false))
		}
	}
	for i, k := range []string{"waiting.manual", "waiting.manager", "waiting.settings", "waiting.signout"} {
		rows = append(rows, u.option(i+1, lang.L(k), false, u.press(rune('1'+i))))
	}
	return container.NewVBox(rows...)
}

func (s *waitingScreen) hints() []hint {
	return []hint{{lang.L("key.scan"), lang.L("key.scan_customer")}, {"1", lang.L("waiting.manual")},
		{"2", lang.L("waiting.manager")}, {"3", lang.L("waiting.settings")}, {"4", lang.L("waiting.signout")}}
}

// manualIDScreen renders counter.ManualIDPage: the digits typed, grouped for reading.
type manualIDScreen struct {
	u *UI
	p *counter.ManualIDPage
}

func (s *manualIDScreen) build() fyne.CanvasObject {
	typed := s.p.Typed()
	shown := typed + strings.Repeat("_", max(0, 18-len(typed)))
	rows := []fyne.CanvasObject{title(lang.L("manual.title")), text(lang.L("manual.prompt"), 1, false),
		text(groupID(shown), 2, true)}
	if s.p.Err != nil {
		t := text(lang.L("manual.invalid", map[string]any{"Err": argText(s.p.Err)}), 1.1, true)
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
