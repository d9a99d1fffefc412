package kiosk

import (
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
)

// The frame around every screen: the banner on top, the status line and the key map
// at the bottom.

// banner is the top line: store, pharmacist, device, HQ, backlog, last sync, refused.
func (u *UI) banner() fyne.CanvasObject {
	s := u.c.Status()
	parts := []string{lang.L("banner.store", map[string]any{"Store": s.StoreID})}
	if s.Pharmacist != "" {
		parts = append(parts, lang.L("banner.pharmacist", map[string]any{"Name": s.Pharmacist}))
	}
	parts = append(parts, lang.L("banner.device", map[string]any{"State": deviceLabel(s.Device)}))
	switch s.HQ {
	case counter.HQNone:
		parts = append(parts, lang.L("banner.hq_none"))
	case counter.HQOffline:
		parts = append(parts, lang.L("banner.hq_offline"))
	default:
		parts = append(parts, lang.L("banner.hq_online"))
	}
	parts = append(parts, lang.L("banner.backlog", map[string]any{"N": s.Outbox.Pending}))
	last := lang.L("banner.never")
	if !s.Outbox.LastSync.IsZero() {
		last = s.Outbox.LastSync.In(flows.Shanghai()).Format("01-02 15:04")
	}
	parts = append(parts, lang.L("banner.last_sync", map[string]any{"At": last}))
	if s.Outbox.Rejected > 0 {
		parts = append(parts, lang.L("banner.rejected", map[string]any{"N": s.Outbox.Rejected}))
	}
	cs := u.c.ContentState()
	parts = append(parts, contentLabel(cs))
	txt := canvas.NewText(strings.Join(parts, "  ·  "), theme.Color(theme.ColorNameForeground))
	txt.TextSize = textSize() * 0.85
	bgc := u.th.Color(theme.ColorNameHeaderBackground, 0)
	if s.Warn() || cs.Refused != nil {
		bgc = u.th.Color(ColorBanner, 0)
	}
	bar := container.NewStack(canvas.NewRectangle(bgc), container.NewPadded(txt))
	if cs.Refused == nil {
		return bar
	}
	return container.NewVBox(bar, u.contentRefused(cs))
}

// contentLabel is the banner's content version: the one new visits start on, and the
// one waiting for the open visit to end.
func contentLabel(cs counter.ContentState) string {
	if cs.Next >= 0 {
		return lang.L("banner.content_next", map[string]any{"V": cs.Version, "Next": cs.Next})
	}
	return lang.L("banner.content", map[string]any{"V": cs.Version})
}

// contentRefused is the line under the banner while the kiosk refuses the pack HQ
// assigned: which, why, and that it keeps the content it runs.
func (u *UI) contentRefused(cs counter.ContentState) fyne.CanvasObject {
	r := cs.Refused
	t := canvas.NewText(lang.L("banner.content_refused", map[string]any{"V": r.Version, "Why": noteText(r.Why), "Cur": cs.Version}), color.White)
	t.TextStyle.Bold = true
	t.TextSize = textSize() * 0.85
	return container.NewStack(canvas.NewRectangle(u.th.Color(ColorAlertRed, 0)), container.NewPadded(t))
}

func deviceLabel(state string) string {
	switch state {
	case devices.StateConnected:
		return lang.L("device.connected")
	case devices.StateWaiting:
		return lang.L("device.waiting")
	case devices.StateError:
		return lang.L("device.error")
	}
	return lang.L("device.none")
}

// message is the transient status line under the screen.
func (u *UI) message() fyne.CanvasObject {
	m, ok := u.c.Message()
	if !ok {
		return layout.NewSpacer()
	}
	t := canvas.NewText(u.note(m.Text), theme.Color(theme.ColorNameForeground))
	if m.Err {
		t.Color = u.th.Color(ColorAlertRed, 0)
	}
	t.TextStyle.Bold = true
	t.TextSize = textSize()
	return container.NewPadded(t)
}

// hintBar is the key map of the screen at the bottom.
func (u *UI) hintBar(hs []hint) fyne.CanvasObject {
	objs := []fyne.CanvasObject{}
	for _, h := range hs {
		k := canvas.NewText(" "+h.key+" ", color.White)
		k.TextStyle.Bold = true
		k.TextSize = textSize() * 0.9
		bg := canvas.NewRectangle(color.NRGBA{0x33, 0x33, 0x33, 0xff})
		bg.CornerRadius = 4
		l := canvas.NewText(h.label, theme.Color(theme.ColorNameForeground))
		l.TextSize = textSize() * 0.9
		gap := canvas.NewRectangle(color.Transparent)
		gap.SetMinSize(fyne.NewSize(18, 1))
		objs = append(objs, container.NewStack(bg, k), l, gap)
	}
	bg := canvas.NewRectangle(color.NRGBA{0xee, 0xee, 0xee, 0xff})
	return container.NewStack(bg, container.NewPadded(container.NewHBox(objs...)))
}
