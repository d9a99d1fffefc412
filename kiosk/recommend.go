package kiosk

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/flows"
)

// recommendScreen renders step 3 (方案推荐, counter.RecommendPage): the two
// recommendations with the reason for each and the customer's answer so far.
type recommendScreen struct{ u *UI }

func (s *recommendScreen) build() fyne.CanvasObject {
	u := s.u
	vs, _ := u.c.Visit()
	rows := []fyne.CanvasObject{u.stepHeader(flows.StepRecommend), text(lang.L("rec.prompt"), 1.1, false)}
	for i, it := range vs.Recs {
		if i >= 2 {
			break
		}
		t, r := it.Title, it.Reason
		if u.en() {
			t, r = it.TitleEn, it.ReasonEn
		}
		state := lang.L("rec.declined")
		if vs.Accepted[i] {
			state = lang.L("rec.accepted")
		}
		rows = append(rows,
			u.option(i+1, t+"    ["+state+"]", vs.Accepted[i], u.press(rune('1'+i))),
			wrap(lang.L("rec.reason", map[string]any{"Reason": r})))
	}
	return container.NewVScroll(container.NewVBox(rows...))
}

func (s *recommendScreen) hints() []hint {
	return []hint{{"1 / 2", lang.L("key.toggle_accept")}, {"Enter", lang.L("key.next")}, {"Backspace", lang.L("key.back")}, {"Esc", lang.L("key.abandon")}}
}
