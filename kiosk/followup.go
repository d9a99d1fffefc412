package kiosk

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
)

// followUpScreen renders step 4 (效果追踪, counter.FollowUpPage): consent per channel,
// the QR code of the store's WeCom link (counter.Core.FollowUpLink) and when the
// reminder will be sent.
type followUpScreen struct {
	u  *UI
	qr fyne.CanvasObject
}

func newFollowUp(u *UI) *followUpScreen {
	s := &followUpScreen{u: u}
	link := u.c.FollowUpLink()
	if img, err := devices.EncodeQR(link, 300); err == nil {
		ci := canvas.NewImageFromImage(img)
		ci.FillMode = canvas.ImageFillContain
		ci.ScaleMode = canvas.ImageScalePixels
		ci.SetMinSize(fyne.NewSize(300, 300))
		s.qr = ci
	} else {
		u.log.Warn("follow-up QR", "err", err)
		s.qr = text(link, 0.8, false)
	}
	return s
}

func (s *followUpScreen) build() fyne.CanvasObject {
	u := s.u
	vs, _ := u.c.Visit()
	rows := []fyne.CanvasObject{text(lang.L("fu.prompt"), 1.1, false)}
	for i, ch := range counter.FollowUpChannels() {
		state := lang.L("fu.no")
		if vs.Consent[ch] {
			state = lang.L("fu.yes")
		}
		rows = append(rows, u.option(i+1, lang.L("fu.channel."+ch)+"    ["+state+"]", vs.Consent[ch], u.press(rune('1'+i))))
	}
	if vs.AnyConsent() {
		due := u.c.FollowUpDue().In(flows.Shanghai()).Format("2006-01-02 15:04")
		rows = append(rows, text(lang.L("fu.scheduled", map[string]any{"At": due}), 1.2, true))
	} else {
		rows = append(rows, text(lang.L("fu.declined"), 1.1, false))
	}
	right := container.NewVBox(text(lang.L("fu.qr"), 1, true), s.qr)
	return container.NewBorder(u.stepHeader(flows.StepFollowUp), nil, nil, right, container.NewVBox(rows...))
}

func (s *followUpScreen) hints() []hint {
	return []hint{{"1 / 2", lang.L("key.toggle_consent")}, {"Enter", lang.L("key.finish")}, {"Backspace", lang.L("key.back")}, {"Esc", lang.L("key.abandon")}}
}
