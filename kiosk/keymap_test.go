package kiosk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
)

func (h *harness) mustBe(what string, ok bool) {
	h.t.Helper()
	if !ok {
		h.t.Fatalf("expected %s; screen is %T showing:\n%s", what, h.u.cur, strings.Join(h.texts(), " | "))
	}
}

func is[T view](h *harness) bool { _, ok := h.u.cur.(T); return ok }

// Every screen's key map: the keys it shows at the bottom do what they say.
func TestKeyMapVisitScreens(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	// sign-in: F2 asks the manager's PIN (add pharmacist); Esc returns.
	h.mustShow("1–9")
	h.key(fyne.KeyF2)
	h.mustBe("manager PIN", is[*pinScreen](h))
	h.mustShow("王芳，请输入 PIN")
	h.key(fyne.KeyEscape)
	h.mustBe("sign-in", is[*signInScreen](h))
	// PIN: digits, Backspace deletes one, Backspace on empty goes back.
	h.typeRune('1')
	h.typeString("12")
	h.key(fyne.KeyBackspace)
	if p := h.u.cur.(*pinScreen); p.p.Digits() != 1 {
		t.Fatalf("PIN buffer has %d digits after Backspace", p.p.Digits())
	}
	h.typeString("234")
	h.key(fyne.KeyReturn)
	h.mustBe("waiting", is[*waitingScreen](h))

	// waiting: 1 manual entry (Esc back), 4 signs out.
	h.typeRune('1')
	h.mustBe("manual ID", is[*manualIDScreen](h))
	h.key(fyne.KeyEscape)
	h.mustBe("waiting", is[*waitingScreen](h))

	h.serialScan(demo.Customers()[2].ID)
	h.loaded()
	// identify: digits and Backspace do nothing, Enter goes on.
	h.typeRune('3')
	h.key(fyne.KeyBackspace)
	h.mustBe("step 1", is[*identifyScreen](h))
	h.mustShow("Enter")
	h.mustShow("Esc")
	h.key(fyne.KeyReturn)
	// questionnaire: Enter with missing answers names them; digits answer; Backspace undoes.
	h.mustBe("step 2", is[*questionnaireScreen](h))
	h.key(fyne.KeyReturn)
	h.mustShow("还有必答题未回答")
	h.mustBe("still step 2", is[*questionnaireScreen](h))
	h.typeRune('2')
	if len(h.vs().Answers) != 1 {
		t.Fatalf("answers %v after one digit", h.vs().Answers)
	}
	h.typeRune('9') // no 9th choice: ignored
	if len(h.vs().Answers) != 1 {
		t.Fatalf("answers %v after an out-of-range digit", h.vs().Answers)
	}
	h.key(fyne.KeyBackspace)
	if len(h.vs().Answers) != 0 {
		t.Fatalf("answers %v after Backspace", h.vs().Answers)
	}
	h.key(fyne.KeyBackspace) // nothing to undo: back to step 1
	h.mustBe("step 1 again", is[*identifyScreen](h))
	h.key(fyne.KeyReturn)
	h.typeString("121")
	h.mustShow("＋") // a personalised follow-up opened by the answers
	h.key(fyne.KeyReturn)
	// recommend: 1/2 toggle, Backspace back to step 2 (answers kept), Enter on.
	h.mustBe("step 3", is[*recommendScreen](h))
	h.typeRune('2')
	h.typeRune('2')
	h.typeRune('2')
	if acc := h.vs().Accepted; acc != [2]bool{false, true} {
		t.Fatalf("accepted %v", acc)
	}
	h.key(fyne.KeyBackspace)
	h.mustBe("step 2 again", is[*questionnaireScreen](h))
	if len(h.vs().Answers) < 3 {
		t.Fatalf("answers lost going back: %v", h.vs().Answers)
	}
	h.key(fyne.KeyReturn)
	h.key(fyne.KeyReturn)
	// follow-up: 2 toggles SMS, Backspace back to step 3, Enter without consent = declined.
	h.mustBe("step 4", is[*followUpScreen](h))
	h.typeRune('2')
	h.mustShow("短信提醒    [同意]")
	h.typeRune('2')
	h.mustShow("顾客未同意随访")
	h.key(fyne.KeyBackspace)
	h.mustBe("step 3 again", is[*recommendScreen](h))
	h.key(fyne.KeyReturn)
	id := h.vs().Visit.ID
	h.key(fyne.KeyReturn)
	h.mustBe("summary", is[*summaryScreen](h))
	v := h.visit(id)
	if v.Outcome != flows.OutcomeComplete || v.FollowUp == nil || !v.FollowUp.Declined {
		t.Fatalf("declined follow-up visit: %+v", v.FollowUp)
	}
	h.key(fyne.KeyReturn)
	h.mustBe("waiting", is[*waitingScreen](h))
	h.typeRune('4')
	h.mustBe("signed out", is[*signInScreen](h) && h.pharmacist() == "")
}

func TestKeyMapManagerAndSettings(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.signIn(2, "2345") // 李娜, not a manager
	h.typeRune('2')     // manager view asks the manager's PIN
	h.mustShow("王芳，请输入 PIN")
	h.typeString("2345") // 李娜's PIN is not the manager's
	h.key(fyne.KeyReturn)
	h.mustShow("PIN 不正确")
	h.typeString("1234")
	h.key(fyne.KeyReturn)
	h.mustBe("manager", is[*managerScreen](h))
	h.mustShow("店长视图")
	for _, s := range []string{"完成率（每百次服务完成数）", "步骤漏斗", "归因热力图", "近 30 天完成率趋势", "自检清单"} {
		h.mustShow(s)
	}
	h.typeRune('1')
	if m := h.u.cur.(*managerScreen); m.p.Period != counter.PeriodToday {
		t.Fatalf("period %s after 1", m.p.Period)
	}
	h.typeRune('4')
	h.mustShow("已导出")
	files, _ := filepath.Glob(filepath.Join(h.c.Config().DataDir, "exports", "*.csv"))
	if len(files) != 1 {
		t.Fatalf("exports %v", files)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(b), "as_of,period,pharmacist_id") || !strings.Contains(string(b), "month,P01,王芳") {
		t.Fatalf("CSV:\n%s", b)
	}
	h.typeRune('5')
	h.mustShow("未完成的服务")
	h.key(fyne.KeyBackspace)
	h.mustShow("店长视图")
	h.typeRune('7')
	h.mustBe("settings", is[*settingsScreen](h))
	s := h.u.cur.(*settingsScreen)
	s.baud.SetText("19200")
	s.hq.SetText("not a url")
	h.key(fyne.KeyF5)
	h.mustShow("设置无效")
	s.hq.SetText("http://hq.example.cn:8080")
	h.key(fyne.KeyF5)
	h.mustShow("已保存")
	var saved counter.Config
	if err := h.st.LoadConfig(&saved); err != nil || saved.Baud != 19200 || saved.HQURL != "http://hq.example.cn:8080" {
		t.Fatalf("saved config %+v, %v", saved, err)
	}
	h.key(fyne.KeyEscape)
	h.mustBe("manager", is[*managerScreen](h))
	h.typeRune('6')
	h.mustBe("add pharmacist", is[*addPharmacistScreen](h))
	a := h.u.cur.(*addPharmacistScreen)
	a.id.SetText("P09")
	a.name.SetText("Zhou Min")
	a.pin.SetText("12") // too short
	a.save()
	h.mustShow("PIN 须为 4–12 位数字")
	a.pin.SetText("9090")
	a.save()
	h.mustBe("manager", is[*managerScreen](h))
	found := false
	for _, p := range h.c.Roster() {
		found = found || p.ID == "P09" && counter.CheckPIN(p, "9090")
	}
	if !found {
		t.Fatal("locally added pharmacist not in the roster")
	}
	h.key(fyne.KeyBackspace)
	h.mustBe("waiting", is[*waitingScreen](h))
}

// First start of an offline install: no roster, F2 adds the first manager without a PIN.
func TestFirstManagerOnEmptyRoster(t *testing.T) {
	h := newHarness(t, harnessOpts{noSeed: true})
	h.mustShow("名册为空")
	h.key(fyne.KeyF2)
	h.mustBe("add pharmacist", is[*addPharmacistScreen](h))
	a := h.u.cur.(*addPharmacistScreen)
	if !a.manager.Checked {
		t.Fatal("the first pharmacist should default to manager")
	}
	a.id.SetText("M1")
	a.pin.SetText("4321")
	a.save()
	h.mustBe("sign-in", is[*signInScreen](h))
	h.signIn(1, "4321")
}
