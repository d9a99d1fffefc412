package kiosk

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/flows"
)

// questionnaireScreen is step 2 (需求挖掘): the three mandatory questions of the
// customer's class, then the personalised follow-ups their answers open. The current
// question's choices are numbered: a digit answers it and moves to the next one.
// Enter records the step (follow-ups are optional), Backspace undoes the last answer.
type questionnaireScreen struct {
	u     *UI
	order []string // question ids in the order they were answered (for Backspace)
}

func newQuestionnaire(u *UI) *questionnaireScreen {
	s := &questionnaireScreen{u: u}
	if u.vs != nil {
		for _, q := range u.vs.q.Visible(u.vs.answers) { // coming back from step 3
			if _, ok := u.vs.answers[q.ID]; ok {
				s.order = append(s.order, q.ID)
			}
		}
	}
	return s
}

func (u *UI) loc() string { return string(u.deps.Locale) }

// current is the first visible question without an answer.
func (s *questionnaireScreen) current() (flows.Question, bool) {
	vs := s.u.vs
	for _, q := range vs.q.Visible(vs.answers) {
		if _, ok := vs.answers[q.ID]; !ok {
			return q, true
		}
	}
	return flows.Question{}, false
}

func (s *questionnaireScreen) build() fyne.CanvasObject {
	u := s.u
	vs := u.vs
	qt := vs.q.Title
	if u.deps.Locale == LocaleEn {
		qt = vs.q.TitleEn
	}
	rows := []fyne.CanvasObject{u.stepHeader(flows.StepQuestionnaire), text(qt, 1.2, true)}
	cur, hasCur := s.current()
	for i, q := range vs.q.Visible(vs.answers) {
		mark := "  "
		if !q.Mandatory {
			mark = "＋"
		}
		label := mark + q.TextFor(u.loc())
		if a, ok := vs.answers[q.ID]; ok {
			c, _ := q.Choice(a)
			sep := "：  "
			if strings.HasSuffix(label, "？") || strings.HasSuffix(label, "?") {
				sep = "  " // a question mark already ends the question
			}
			rows = append(rows, text("✓ "+label+sep+"→ "+c.LabelFor(u.loc()), 1, false))
			continue
		}
		if hasCur && q.ID == cur.ID {
			rows = append(rows, text(label, 1.2, true))
			opts := []fyne.CanvasObject{}
			for j, c := range q.Choices {
				n := j + 1
				if n > 9 {
					break
				}
				opts = append(opts, s.u.option(n, c.LabelFor(u.loc()), false, func() { s.answer(n) }))
			}
			rows = append(rows, container.NewGridWithColumns(min(len(opts), 4), opts...))
			continue
		}
		_ = i
		rows = append(rows, text("   "+label, 1, false))
	}
	if !hasCur {
		rows = append(rows, text(lang.L("q.done"), 1.1, true))
	} else if len(vs.q.Missing(vs.answers)) == 0 {
		rows = append(rows, text(lang.L("q.optional"), 1, false))
	}
	return container.NewVScroll(container.NewVBox(rows...))
}

func (s *questionnaireScreen) hints() []hint {
	return []hint{{"1–9", lang.L("key.answer")}, {"Enter", lang.L("key.next")}, {"Backspace", lang.L("key.undo_answer")}, {"Esc", lang.L("key.abandon")}}
}

func (s *questionnaireScreen) answer(n int) {
	q, ok := s.current()
	if !ok {
		return
	}
	c, ok := q.ChoiceByKey(n)
	if !ok {
		return
	}
	s.u.vs.answers[q.ID] = c.ID
	s.order = append(s.order, q.ID)
	s.u.message = ""
	s.u.refresh()
}

func (s *questionnaireScreen) onRune(r rune) bool {
	if n := digit(r); n > 0 {
		s.answer(n)
		return true
	}
	return false
}

func (s *questionnaireScreen) onKey(k fyne.KeyName) bool {
	u := s.u
	switch k {
	case fyne.KeyReturn, fyne.KeyEnter:
		s.confirm()
	case fyne.KeyBackspace:
		if len(s.order) == 0 {
			u.message = ""
			u.show(newIdentify(u))
			return true
		}
		last := s.order[len(s.order)-1]
		s.order = s.order[:len(s.order)-1]
		delete(u.vs.answers, last)
		u.vs.answers = u.vs.q.Prune(u.vs.answers)
		u.refresh()
	default:
		return false
	}
	return true
}

func (s *questionnaireScreen) confirm() {
	u := s.u
	err := flows.RecordAnswers(u.visit, u.vs.q, u.vs.answers, u.now())
	var miss *flows.MissingAnswersError
	if errors.As(err, &miss) {
		texts := miss.Texts
		if u.deps.Locale == LocaleEn {
			texts = nil
			for _, id := range miss.IDs {
				q, _ := u.vs.q.Question(id)
				texts = append(texts, q.TextEn)
			}
		}
		u.say(true, "%s", lang.L("q.missing", map[string]any{"List": strings.Join(texts, "；")}))
		return
	}
	if err != nil {
		u.say(true, "%s", err.Error())
		return
	}
	u.saveVisit()
	a := u.vs.analysis
	level := ""
	if w, ok := a.Worst(); ok {
		level = w.Level
	}
	recs, err := u.deps.KB.Recommend(a.PrimaryClass(), level, u.visit.Questionnaire.Answers)
	if err != nil {
		u.say(true, "%s", err.Error())
		return
	}
	u.vs.recs = recs
	u.message = ""
	u.show(newRecommend(u))
}
