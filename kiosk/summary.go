package kiosk

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/flows"
)

// summaryScreen shows the finished visit: each step's record, the outcome and the
// scheduled follow-up. Enter returns to the waiting screen.
type summaryScreen struct {
	u *UI
	v flows.Visit
}

func newSummary(u *UI, v flows.Visit) *summaryScreen { return &summaryScreen{u: u, v: v} }

func (s *summaryScreen) build() fyne.CanvasObject {
	u, v := s.u, s.v
	rows := []fyne.CanvasObject{title(lang.L("summary.title")),
		text(lang.L("visit.customer", map[string]any{"Masked": v.CustomerMasked}), 1.1, true)}
	if v.Identify != nil {
		var parts []string
		for _, c := range v.Identify.Adherence {
			parts = append(parts, fmt.Sprintf("%s %d%% %s", u.className(c.Class), flows.Percent(c), levelLabel(c.Level)))
		}
		if len(parts) == 0 {
			parts = append(parts, lang.L("identify.no_class"))
		}
		if v.Identify.Offline {
			parts = append(parts, lang.L("summary.offline"))
		}
		rows = append(rows, text("1 "+lang.L("step.1")+"：  "+strings.Join(parts, "；"), 1, false))
	}
	if v.Questionnaire != nil {
		rows = append(rows, text("2 "+lang.L("step.2")+"：  "+lang.L("summary.answers", map[string]any{"N": len(v.Questionnaire.Answers)}), 1, false))
	}
	if v.Recommend != nil {
		var parts []string
		for _, it := range v.Recommend.Items {
			t := it.Title
			if u.deps.Locale == LocaleEn {
				t = it.TitleEn
			}
			st := lang.L("rec.declined")
			if it.Accepted != nil && *it.Accepted {
				st = lang.L("rec.accepted")
			}
			parts = append(parts, t+" ("+st+")")
		}
		rows = append(rows, text("3 "+lang.L("step.3")+"：  "+strings.Join(parts, "；"), 1, false))
	}
	if v.FollowUp != nil {
		line := lang.L("fu.declined")
		if f := v.FollowUp.FollowUp; f != nil {
			line = lang.L("summary.followup", map[string]any{"Channel": lang.L("fu.channel." + f.Channel),
				"At": f.DueAt.In(flows.Shanghai()).Format("2006-01-02 15:04")})
		}
		rows = append(rows, text("4 "+lang.L("step.4")+"：  "+line, 1, false))
	}
	outcome := lang.L("summary.outcome." + v.Outcome)
	rows = append(rows, text(outcome, 1.3, true))
	return container.NewVBox(rows...)
}

func (s *summaryScreen) hints() []hint {
	return []hint{{"Enter", lang.L("key.next_customer")}}
}

func (s *summaryScreen) onRune(rune) bool { return false }

func (s *summaryScreen) onKey(k fyne.KeyName) bool {
	if k == fyne.KeyReturn || k == fyne.KeyEnter || k == fyne.KeyEscape {
		s.u.visit, s.u.vs = nil, nil
		s.u.message = ""
		s.u.show(newWaiting(s.u))
		return true
	}
	return false
}

// confirmAbandonScreen asks whether to abandon the open visit (Esc, or a new customer
// scanned mid-visit). Enter abandons (saved as such), Backspace/Esc returns to the visit.
type confirmAbandonScreen struct {
	u      *UI
	back   screen
	reason string
	then   func()
}

func newConfirmAbandon(u *UI, back screen, reason string, then func()) *confirmAbandonScreen {
	return &confirmAbandonScreen{u: u, back: back, reason: reason, then: then}
}

func (s *confirmAbandonScreen) build() fyne.CanvasObject {
	u := s.u
	rows := []fyne.CanvasObject{title(lang.L("abandon.title"))}
	if s.reason == abandonNewCustomer {
		rows = append(rows, text(lang.L("abandon.new_customer"), 1.2, false))
	}
	if u.visit != nil {
		rows = append(rows, text(lang.L("abandon.current", map[string]any{"Masked": u.visit.CustomerMasked,
			"Step": lang.L(fmt.Sprintf("step.%d", max(1, flows.NextStep(*u.visit))))}), 1.1, false))
	}
	rows = append(rows,
		s.u.option(1, lang.L("abandon.yes"), true, func() { s.onKey(fyne.KeyReturn) }),
		s.u.option(2, lang.L("abandon.no"), false, func() { s.onKey(fyne.KeyBackspace) }))
	return container.NewVBox(rows...)
}

func (s *confirmAbandonScreen) hints() []hint {
	return []hint{{"Enter / 1", lang.L("abandon.yes")}, {"Backspace / Esc / 2", lang.L("abandon.no")}}
}

func (s *confirmAbandonScreen) onRune(r rune) bool {
	switch r {
	case '1':
		return s.onKey(fyne.KeyReturn)
	case '2':
		return s.onKey(fyne.KeyBackspace)
	}
	return false
}

func (s *confirmAbandonScreen) onKey(k fyne.KeyName) bool {
	u := s.u
	switch k {
	case fyne.KeyReturn, fyne.KeyEnter:
		u.abandon(s.reason)
		u.message = ""
		if s.then != nil {
			s.then()
			return true
		}
		u.show(newWaiting(u))
	case fyne.KeyBackspace, fyne.KeyEscape:
		u.pendingScan = nil
		u.show(s.back)
	default:
		return false
	}
	return true
}

// lockScreen hides everything after the idle time; any key or a badge scan unlocks to
// the sign-in screen.
type lockScreen struct{ u *UI }

func newLockScreen(u *UI) *lockScreen { return &lockScreen{u: u} }

func (s *lockScreen) build() fyne.CanvasObject {
	return container.NewCenter(container.NewVBox(title(lang.L("lock.title")), text(lang.L("lock.prompt"), 1.2, false)))
}

func (s *lockScreen) hints() []hint { return []hint{{lang.L("key.any"), lang.L("key.unlock")}} }

func (s *lockScreen) onRune(rune) bool { s.u.unlock(); return true }

func (s *lockScreen) onKey(fyne.KeyName) bool { s.u.unlock(); return true }
