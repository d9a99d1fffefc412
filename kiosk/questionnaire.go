package kiosk

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/flows"
)

// questionnaireScreen renders step 2 (需求挖掘, counter.QuestionnairePage): the questions
// answered so far with their answers, the current one with its numbered choices, the
// ones still to come, ＋ marking the optional follow-ups.
type questionnaireScreen struct{ u *UI }

func (s *questionnaireScreen) build() fyne.CanvasObject {
	u := s.u
	vs, _ := u.c.Visit()
	qt := vs.Q.Title
	if u.en() {
		qt = vs.Q.TitleEn
	}
	rows := []fyne.CanvasObject{u.stepHeader(flows.StepQuestionnaire), text(qt, 1.2, true)}
	cur, hasCur := vs.Current()
	for _, q := range vs.Q.Visible(vs.Answers) {
		mark := "  "
		if !q.Mandatory {
			mark = "＋"
		}
		label := mark + q.TextFor(u.loc())
		if a, ok := vs.Answers[q.ID]; ok {
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
				if j >= 9 {
					break
				}
				opts = append(opts, u.option(j+1, c.LabelFor(u.loc()), false, u.press(rune('1'+j))))
			}
			rows = append(rows, container.NewGridWithColumns(min(len(opts), 4), opts...))
			continue
		}
		rows = append(rows, text("   "+label, 1, false))
	}
	if !hasCur {
		rows = append(rows, text(lang.L("q.done"), 1.1, true))
	} else if len(vs.Q.Missing(vs.Answers)) == 0 {
		rows = append(rows, text(lang.L("q.optional"), 1, false))
	}
	return container.NewVScroll(container.NewVBox(rows...))
}

func (s *questionnaireScreen) hints() []hint {
	return []hint{{"1–9", lang.L("key.answer")}, {"Enter", lang.L("key.next")}, {"Backspace", lang.L("key.undo_answer")}, {"Esc", lang.L("key.abandon")}}
}
