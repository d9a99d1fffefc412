package kiosk

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"

	"github.com/pharmachain/counter/flows"
)

// identifyScreen renders step 1 (进店识别, counter.IdentifyPage): per chronic class the
// PDC, days without supply, the level as colour AND text label, and the fills the result
// used. It says so when HQ could not be reached and only this store's records were used.
type identifyScreen struct{ u *UI }

func (u *UI) className(c string) string { return className(c) }

// levelLabel is the text that always accompanies a level colour (colour-blind safe).
func levelLabel(level string) string { return lang.L("level." + levelKey(level)) }

func levelKey(level string) string {
	switch level {
	case flows.LevelRed, flows.LevelYellow, flows.LevelOK, flows.LevelUnknown:
		return level
	}
	return "none"
}

// levelBadge is a coloured box with the level's text label.
func (u *UI) levelBadge(level string) fyne.CanvasObject {
	bg := canvas.NewRectangle(u.th.Color(LevelColor(level), 0))
	bg.CornerRadius = 6
	fg := color.Color(color.White)
	if level == flows.LevelYellow {
		fg = color.Black // black on yellow: contrast ≥ 7:1
	}
	t := canvas.NewText(" "+levelLabel(level)+" ", fg)
	t.TextStyle.Bold = true
	t.TextSize = theme.TextSize() * 1.2
	return container.NewStack(bg, container.NewPadded(t))
}

func (s *identifyScreen) build() fyne.CanvasObject {
	u := s.u
	rows := []fyne.CanvasObject{u.stepHeader(flows.StepIdentify)}
	vs, ok := u.c.Visit()
	if !ok {
		return container.NewVBox(rows...)
	}
	if vs.Loading {
		rows = append(rows, text(lang.L("identify.loading", lookback()), 1.2, false))
		return container.NewVBox(rows...)
	}
	if vs.Offline {
		t := text(lang.L("identify.offline"), 1.2, true)
		t.Color = u.th.Color(ColorAlertRed, 0)
		bg := canvas.NewRectangle(u.th.Color(ColorBanner, 0))
		rows = append(rows, container.NewStack(bg, container.NewPadded(t)))
	}
	a := vs.Analysis
	if len(a.Classes) == 0 {
		rows = append(rows, text(lang.L("identify.no_class", lookback()), 1.2, false))
	}
	byID := map[string]flows.Purchase{}
	for _, p := range a.Shown {
		byID[p.ID] = p
	}
	for _, c := range a.Classes {
		head := container.NewHBox(text(u.className(c.Class), 1.4, true), u.levelBadge(c.Level))
		stats := text(lang.L("identify.stats", map[string]any{
			"PDC": flows.Percent(c), "Covered": c.CoveredDays, "Period": c.PeriodDays,
			"Gap": c.DaysWithoutSupply, "Fills": c.Fills}), 1.2, false)
		rows = append(rows, head, stats)
		if alert := u.alertText(c); alert != "" {
			t := text(alert, 1.15, true)
			t.Color = u.th.Color(LevelColor(c.Level), 0)
			if c.Level == flows.LevelYellow {
				t.Color = color.NRGBA{0x8a, 0x5a, 0x00, 0xff} // dark amber text on white
			}
			rows = append(rows, t)
		}
		for _, id := range c.FillIDs {
			p, ok := byID[id]
			if !ok {
				continue
			}
			rows = append(rows, text(u.fillLine(p, a, vs.Content.Data.Catalog), 0.9, false))
		}
	}
	if note := unknownDrugsText(a); note != "" {
		rows = append(rows, wrap(note))
	}
	return container.NewVScroll(container.NewVBox(rows...))
}

func (u *UI) fillLine(p flows.Purchase, a flows.Analysis, cat *flows.Catalog) string {
	days := 0
	for _, l := range a.Lines {
		if l.PurchaseID == p.ID {
			days = l.DaysSupply
			break
		}
	}
	name := p.Name
	if name == "" && cat != nil {
		if d, ok := cat.Lookup(p.DrugCode); ok {
			name = d.Name
		}
	}
	if name == "" {
		name = p.DrugCode
	}
	return "    • " + lang.L("identify.fill", map[string]any{
		"Date": flows.DayOf(p.SoldAt).String(), "Name": name, "Qty": fmt.Sprintf("%g", p.Quantity),
		"Days": days, "Store": p.StoreID})
}

// alertText is the class's alert in the UI's language.
func (u *UI) alertText(c flows.ClassResult) string { return alertText(c) }

func (s *identifyScreen) hints() []hint {
	return []hint{{"Enter", lang.L("key.next")}, {"Esc", lang.L("key.abandon")}}
}
