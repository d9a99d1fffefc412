package kiosk

import (
	"testing"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/kiosk/demo"
)

// After a crash mid-visit the same pharmacist's sign-in offers the visit in the words of
// the screen: customer (short mask) and the step reached; Enter resumes it there.
func TestResumeOfferShown(t *testing.T) {
	dir := t.TempDir()
	copySeeded(t, dir)
	h := newHarness(t, harnessOpts{dataDir: dir})
	h.signIn(1, "1234")
	h.serialScan(demo.Customers()[0].ID) // 11010519491231002X
	h.loaded()
	h.key(fyne.KeyReturn)
	h.typeRune('1')
	id := h.vs().Visit.ID
	h.c.Close() // the process dies: nothing is ended, the store file stays as it was
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}

	h = newHarness(t, harnessOpts{dataDir: dir})
	h.signIn(1, "1234")
	h.mustBe("resume offer", is[*resumeScreen](h))
	h.mustShow("继续未完成的服务（顾客 1101…002X，已到第 2 步）")
	h.key(fyne.KeyReturn)
	h.mustBe("step 2", is[*questionnaireScreen](h))
	if vs := h.vs(); vs.Visit.ID != id || len(vs.Answers) != 1 {
		t.Fatalf("resumed %s with answers %v", vs.Visit.ID, vs.Answers)
	}
	h.mustShow("✓ ")
}
