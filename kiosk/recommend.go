package kiosk

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/flows"
)

// recommendScreen is step 3 (方案推荐): exactly two non-prescription adjunct services or
// products with the reason for each. 1 and 2 toggle accepted/declined, Enter records.
type recommendScreen struct {
	u        *UI
	accepted [2]bool
}

func newRecommend(u *UI) *recommendScreen {
	s := &recommendScreen{u: u}
	if u.visit != nil && u.visit.Recommend != nil { // coming back from step 4
		for i, it := range u.visit.Recommend.Items {
			if i < 2 && it.Accepted != nil {
				s.accepted[i] = *it.Accepted
			}
		}
	}
	return s
}

func (s *recommendScreen) build() fyne.CanvasObject {
	u := s.u
	rows := []fyne.CanvasObject{u.stepHeader(flows.StepRecommend), text(lang.L("rec.prompt"), 1.1, false)}
	for i, it := range u.vs.recs {
		if i >= 2 {
			break
		}
		n := i + 1
		t, r := it.Title, it.Reason
		if u.deps.Locale == LocaleEn {
			t, r = it.TitleEn, it.ReasonEn
		}
		state := lang.L("rec.declined")
		if s.accepted[i] {
			state = lang.L("rec.accepted")
		}
		rows = append(rows,
			s.u.option(n, t+"    ["+state+"]", s.accepted[i], func() { s.toggle(n) }),
			wrap(lang.L("rec.reason", map[string]any{"Reason": r})))
	}
	return container.NewVScroll(container.NewVBox(rows...))
}

func (s *recommendScreen) hints() []hint {
	return []hint{{"1 / 2", lang.L("key.toggle_accept")}, {"Enter", lang.L("key.next")}, {"Backspace", lang.L("key.back")}, {"Esc", lang.L("key.abandon")}}
}

func (s *recommendScreen) toggle(n int) {
	if n < 1 || n > len(s.u.vs.recs) || n > 2 {
		return
	}
	s.accepted[n-1] = !s.accepted[n-1]
	s.u.refresh()
}

func (s *recommendScreen) onRune(r rune) bool {
	if n := digit(r); n == 1 || n == 2 {
		s.toggle(n)
		return true
	}
	return false
}

func (s *recommendScreen) onKey(k fyne.KeyName) bool {
	u := s.u
	switch k {
	case fyne.KeyReturn, fyne.KeyEnter:
		items := make([]flows.Recommendation, len(u.vs.recs))
		for i, it := range u.vs.recs {
			acc := i < 2 && s.accepted[i]
			it.Accepted = &acc
			items[i] = it
		}
		if err := flows.RecordRecommendations(u.visit, items, u.now()); err != nil {
			u.say(true, "%s", err.Error())
			return true
		}
		u.saveVisit()
		u.message = ""
		u.show(newFollowUp(u))
	case fyne.KeyBackspace:
		if flows.StepsDone(*u.visit) == flows.StepQuestionnaire { // step 2 is the latest: it may be redone
			u.message = ""
			u.show(newQuestionnaire(u))
		}
	default:
		return false
	}
	return true
}
