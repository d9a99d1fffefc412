package kiosk

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
)

// summaryScreen renders counter.SummaryPage: each step's record, the outcome and the
// scheduled follow-up.
type summaryScreen struct {
	u *UI
	p *counter.SummaryPage
}

func (s *summaryScreen) build() fyne.CanvasObject {
	u, v := s.u, s.p.Visit
	rows := []fyne.CanvasObject{title(lang.L("summary.title")),
		text(lang.L("visit.customer", map[string]any{"Masked": v.CustomerMasked}), 1.1, true)}
	step := func(n int, line string) {
		rows = append(rows, text(fmt.Sprintf("%d %s：  %s", n, lang.L(fmt.Sprintf("step.%d", n)), line), 1, false))
	}
	if v.Identify != nil {
		var parts []string
		for _, c := range v.Identify.Adherence {
			parts = append(parts, fmt.Sprintf("%s %d%% %s", u.className(c.Class), flows.Percent(c), levelLabel(c.Level)))
		}
		if len(parts) == 0 {
			parts = append(parts, lang.L("identify.no_class", lookback()))
		}
		if v.Identify.Offline {
			parts = append(parts, lang.L("summary.offline"))
		}
		step(1, strings.Join(parts, "；"))
	}
	if v.Questionnaire != nil {
		step(2, lang.L("summary.answers", map[string]any{"N": len(v.Questionnaire.Answers)}))
	}
	if v.Recommend != nil {
		var parts []string
		for _, it := range v.Recommend.Items {
			t := it.Title
			if u.en() {
				t = it.TitleEn
			}
			st := lang.L("rec.declined")
			if it.Accepted != nil && *it.Accepted {
				st = lang.L("rec.accepted")
			}
			parts = append(parts, t+" ("+st+")")
		}
		step(3, strings.Join(parts, "；"))
	}
	if v.FollowUp != nil {
		line := lang.L("fu.declined")
		if f := v.FollowUp.FollowUp; f != nil {
			line = lang.L("summary.followup", map[string]any{"Channel": lang.L("fu.channel." + f.Channel),
				"At": f.DueAt.In(flows.Shanghai()).Format("2006-01-02 15:04")})
		}
		step(4, line)
	}
	rows = append(rows, text(lang.L("summary.outcome."+v.Outcome), 1.3, true))
	return container.NewVBox(rows...)
}

func (s *summaryScreen) hints() []hint { return []hint{{"Enter", lang.L("key.next_customer")}} }

// confirmAbandonScreen renders counter.ConfirmAbandonPage.
type confirmAbandonScreen struct {
	u *UI
	p *counter.ConfirmAbandonPage
}

func (s *confirmAbandonScreen) build() fyne.CanvasObject {
	u := s.u
	rows := []fyne.CanvasObject{title(lang.L("abandon.title"))}
	if s.p.Reason == counter.AbandonNewCustomer {
		rows = append(rows, text(lang.L("abandon.new_customer"), 1.2, false))
	}
	if vs, ok := u.c.Visit(); ok {
		rows = append(rows, text(lang.L("abandon.current", map[string]any{"Masked": vs.Visit.CustomerMasked,
			"Step": lang.L(fmt.Sprintf("step.%d", max(1, flows.NextStep(vs.Visit))))}), 1.1, false))
	}
	rows = append(rows, u.option(1, lang.L("abandon.yes"), true, u.press('1')), u.option(2, lang.L("abandon.no"), false, u.press('2')))
	return container.NewVBox(rows...)
}

func (s *confirmAbandonScreen) hints() []hint {
	return []hint{{"Enter / 1", lang.L("abandon.yes")}, {"Backspace / Esc / 2", lang.L("abandon.no")}}
}

// resumeScreen renders counter.ResumePage: the visit a crash interrupted, offered to
// its pharmacist.
type resumeScreen struct {
	u *UI
	p *counter.ResumePage
}

func (s *resumeScreen) build() fyne.CanvasObject {
	v := s.p.Visit
	return container.NewVBox(title(lang.L("resume.title")),
		text(lang.L("resume.offer", map[string]any{"Masked": shortMask(v.CustomerMasked), "Step": s.p.Step()}), 1.3, true),
		text(lang.L("resume.started", map[string]any{"At": v.StartedAt.In(flows.Shanghai()).Format("15:04")}), 1, false),
		s.u.option(1, lang.L("resume.yes"), true, s.u.press('1')),
		s.u.option(2, lang.L("resume.no"), false, s.u.press('2')))
}

// shortMask shortens a masked ID for a sentence: 1101**********002X → 1101…002X.
func shortMask(m string) string {
	if i, j := strings.IndexByte(m, '*'), strings.LastIndexByte(m, '*'); i > 0 && j > i {
		return m[:i] + "…" + m[j+1:]
	}
	return m
}

func (s *resumeScreen) hints() []hint {
	return []hint{{"Enter / 1", lang.L("resume.yes")}, {"Esc / 2", lang.L("resume.no")}}
}

// lockScreen renders counter.LockPage.
type lockScreen struct{}

func (*lockScreen) build() fyne.CanvasObject {
	return container.NewCenter(container.NewVBox(title(lang.L("lock.title")), text(lang.L("lock.prompt"), 1.2, false)))
}

func (*lockScreen) hints() []hint { return []hint{{lang.L("key.any"), lang.L("key.unlock")}} }
