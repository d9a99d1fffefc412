package kiosk

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/pharmachain/counter/kiosk/demo"
)

// Image snapshots rendered with the bundled CJK font (the theme supplies every font, and
// every character the UI uses is in the bundled subset — see TestFontCoversUI), so they
// do not depend on the fonts installed on the machine. Masters: testdata/*.png; on a
// mismatch fyne writes testdata/failed/*.png.
func TestSnapshots(t *testing.T) {
	h := newHarness(t, harnessOpts{hqDown: true})
	h.w.Resize(fyne.NewSize(1280, 800))
	test.AssertRendersToImage(t, "signin.png", h.w.Canvas())
	h.signIn(1, "1234")
	h.serialScan(demo.Customers()[2].ID)
	h.loaded()
	test.AssertRendersToImage(t, "identify_red_offline.png", h.w.Canvas())
	h.key(fyne.KeyReturn)
	h.typeString("12")
	test.AssertRendersToImage(t, "questionnaire.png", h.w.Canvas())
}
