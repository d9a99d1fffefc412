package kiosk

import (
	"context"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/kiosk/counter/countertest"
)

// The manager view shows the numbers of the known data set.
func TestManagerViewShowsKnownData(t *testing.T) {
	h := newHarness(t, harnessOpts{noSeed: true})
	for _, v := range countertest.KnownVisits(t, h.dom, testNow) {
		if err := h.st.SaveVisit(context.Background(), v); err != nil {
			t.Fatal(err)
		}
	}
	h.key(fyne.KeyF2) // empty roster: add the manager first
	a := h.u.cur.(*addPharmacistScreen)
	a.id.SetText("P01")
	a.name.SetText("Wang Fang")
	a.pin.SetText("1234")
	a.save()
	h.signIn(1, "1234")
	h.mustShow("今日完成率 67（3 次服务）")
	h.typeRune('2')
	h.typeString("1234")
	h.key(fyne.KeyReturn)
	h.mustShow("Wang Fang")
	h.mustShow("67  (2/3)")    // P01 today
	h.mustShow("75  (3/4)")    // P01 this week and month
	h.mustShow("50  (1/2)")    // P02 this month
	h.mustShow("67  (4/6)")    // store, this month
	h.mustShow("5 (83%)")      // funnel: questionnaire 5 of 6
	h.mustShow("逾期未发出的随访 2 条") // 11-10 and 10-30: due more than 72 h ago, never reached HQ
}
