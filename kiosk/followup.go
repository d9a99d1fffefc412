package kiosk

import (
	"net/url"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
)

// followUpScreen is step 4 (效果追踪): the customer's consent per channel (1 WeCom,
// 2 SMS), a QR code to add the store's WeCom contact / open the booking page, and the
// time the reminder will be sent. Enter records the step and completes the visit; with
// no consent the step is recorded as declined (done, nothing scheduled).
type followUpScreen struct {
	u  *UI
	qr fyne.CanvasObject
}

// followUpChannels are the consent options in key order.
var followUpChannels = []string{flows.ChannelWeCom, flows.ChannelSMS}

func newFollowUp(u *UI) *followUpScreen {
	s := &followUpScreen{u: u}
	link := u.followUpLink()
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

// maxCustomerChannel is WeCom's limit on the customer_channel parameter of a
// customer-acquisition link (returned as State in the add-contact callback).
const maxCustomerChannel = 64

// followUpLink is the URL in the QR code: the store's WeCom customer-acquisition link
// with the store id and customer_channel = the visit id. WeCom hands customer_channel
// back to HQ as State in its add-contact callback, and HQ binds the new WeCom contact to
// that visit's customer (sync/hq/followup.ContactEvents). The visit id is an opaque ULID: the link
// never carries a customer identifier (no customer key, no masked ID).
func (u *UI) followUpLink() string {
	base := u.cfg.FollowUpURL
	if base == "" {
		base = DefaultFollowUpURL
	}
	p, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := p.Query()
	q.Set("store", u.cfg.StoreID)
	if u.visit != nil && u.visit.ID != "" && len(u.visit.ID) <= maxCustomerChannel {
		q.Set("customer_channel", u.visit.ID)
	}
	p.RawQuery = q.Encode()
	return p.String()
}

func (s *followUpScreen) build() fyne.CanvasObject {
	u := s.u
	rows := []fyne.CanvasObject{text(lang.L("fu.prompt"), 1.1, false)}
	for i, ch := range followUpChannels {
		n := i + 1
		state := lang.L("fu.no")
		if u.vs.consent[ch] {
			state = lang.L("fu.yes")
		}
		rows = append(rows, s.u.option(n, lang.L("fu.channel."+ch)+"    ["+state+"]", u.vs.consent[ch], func() { s.toggle(n) }))
	}
	due := u.now().Add(u.policy().Delay).In(flows.Shanghai()).Format("2006-01-02 15:04")
	if s.anyConsent() {
		rows = append(rows, text(lang.L("fu.scheduled", map[string]any{"At": due}), 1.2, true))
	} else {
		rows = append(rows, text(lang.L("fu.declined"), 1.1, false))
	}
	left := container.NewVBox(rows...)
	right := container.NewVBox(text(lang.L("fu.qr"), 1, true), s.qr)
	return container.NewBorder(u.stepHeader(flows.StepFollowUp), nil, nil, right, left)
}

func (s *followUpScreen) anyConsent() bool {
	for _, ch := range followUpChannels {
		if s.u.vs.consent[ch] {
			return true
		}
	}
	return false
}

// policy is the follow-up policy for the consented channel: WeCom when the customer
// agreed to it, else SMS when agreed to that.
func (u *UI) policy() flows.FollowUpPolicy {
	p := u.deps.FollowUp
	if u.vs != nil && !u.vs.consent[p.Channel] {
		for _, ch := range followUpChannels {
			if u.vs.consent[ch] {
				p.Channel = ch
				break
			}
		}
	}
	return p
}

func (s *followUpScreen) hints() []hint {
	return []hint{{"1 / 2", lang.L("key.toggle_consent")}, {"Enter", lang.L("key.finish")}, {"Backspace", lang.L("key.back")}, {"Esc", lang.L("key.abandon")}}
}

func (s *followUpScreen) toggle(n int) {
	if n < 1 || n > len(followUpChannels) {
		return
	}
	ch := followUpChannels[n-1]
	s.u.vs.consent[ch] = !s.u.vs.consent[ch]
	s.u.refresh()
}

func (s *followUpScreen) onRune(r rune) bool {
	if n := digit(r); n >= 1 && n <= len(followUpChannels) {
		s.toggle(n)
		return true
	}
	return false
}

func (s *followUpScreen) onKey(k fyne.KeyName) bool {
	u := s.u
	switch k {
	case fyne.KeyReturn, fyne.KeyEnter:
		consent := map[string]bool{}
		for _, ch := range followUpChannels {
			consent[ch] = u.vs.consent[ch]
		}
		if err := flows.RecordFollowUp(u.visit, consent, u.policy(), u.now()); err != nil {
			u.say(true, "%s", err.Error())
			return true
		}
		u.saveVisit()
		u.message = ""
		u.show(newSummary(u, *u.visit))
	case fyne.KeyBackspace:
		if flows.StepsDone(*u.visit) == flows.StepRecommend {
			u.message = ""
			u.show(newRecommend(u))
		}
	default:
		return false
	}
	return true
}
