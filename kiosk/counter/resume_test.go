package counter

import (
	"maps"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/demo"
)

// crashMidVisit signs P01 in, scans customer B, records step 1 and answers two of step
// 2's questions, then stops the core and closes the store without ending anything, as a
// crash does. It returns the data dir and the visit id.
func crashMidVisit(t *testing.T) (string, string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	copySeeded(t, dir)
	r := newRig(t, rigOpts{dataDir: dir})
	r.signIn(1, "1234")
	r.scan(demo.Customers()[1].ID)
	r.loaded()
	r.key(KeyEnter)
	r.press("12")
	vs := r.vs()
	if len(vs.Answers) != 2 {
		t.Fatalf("answers %v", vs.Answers)
	}
	r.c.Close()
	if err := r.st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, vs.Visit.ID, vs.Answers
}

// The same pharmacist signing in again within 10 minutes is offered the open visit;
// Enter resumes it at step 2 with the two answers given, and it finishes normally.
func TestResumeAfterCrash(t *testing.T) {
	dir, id, answers := crashMidVisit(t)
	r := newRig(t, rigOpts{dataDir: dir, now: testNow.Add(3 * time.Minute)})
	if v := r.stored(id); v.Outcome != flows.OutcomeInProgress {
		t.Fatalf("a recent open visit was closed at start: %s", v.Outcome)
	}
	r.signIn(1, "1234")
	r.mustBe(ScreenResume)
	p := r.c.Page().(*ResumePage)
	if p.Visit.ID != id || p.Step() != 2 || p.Visit.CustomerMasked != "4405**********0014" {
		t.Fatalf("offer %s step %d for %s", p.Visit.ID, p.Step(), p.Visit.CustomerMasked)
	}
	r.key(KeyEnter)
	r.mustBe(ScreenQuestionnaire)
	vs := r.vs()
	if vs.Visit.ID != id || !maps.Equal(vs.Answers, answers) {
		t.Fatalf("resumed %s with answers %v, want %v", vs.Visit.ID, vs.Answers, answers)
	}
	r.key(KeyBackspace) // the answers' order is known again: Backspace undoes the last one
	if len(r.vs().Answers) != 1 {
		t.Fatalf("answers after Backspace %v", r.vs().Answers)
	}
	r.press("21")
	r.key(KeyEnter)
	r.mustBe(ScreenRecommend)
	r.key(KeyEnter)
	r.key(KeyEnter)
	r.mustBe(ScreenSummary)
	if v := r.stored(id); v.Outcome != flows.OutcomeComplete || len(v.Questionnaire.Answers) < 3 {
		t.Fatalf("resumed visit %s answers %v", v.Outcome, v.Questionnaire.Answers)
	}
}

// Esc on the offer abandons the visit as a lock would (idle).
func TestResumeOfferEscAbandons(t *testing.T) {
	dir, id, _ := crashMidVisit(t)
	r := newRig(t, rigOpts{dataDir: dir, now: testNow.Add(time.Minute)})
	r.signIn(1, "1234")
	r.mustBe(ScreenResume)
	r.key(KeyEscape)
	r.mustBe(ScreenWaiting)
	if v := r.stored(id); v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != AbandonIdle {
		t.Fatalf("visit %s/%s, want abandoned/idle", v.Outcome, v.AbandonReason)
	}
	if _, ok := r.c.Visit(); ok {
		t.Fatal("a visit is open after Esc")
	}
}

// Another pharmacist is not offered it; it stays offered to its own pharmacist until 10
// minutes after its last save, then it is abandoned.
func TestResumeOnlyForItsPharmacistWithinTenMinutes(t *testing.T) {
	dir, id, _ := crashMidVisit(t)
	r := newRig(t, rigOpts{dataDir: dir, now: testNow.Add(2 * time.Minute)})
	r.signIn(2, "2345")
	r.mustBe(ScreenWaiting)
	r.press("4")                   // sign out
	r.clk.Advance(7 * time.Minute) // 9 minutes or so after the draft's last save
	r.c.Tick()
	if v := r.stored(id); v.Outcome != flows.OutcomeInProgress {
		t.Fatalf("visit %s/%s before 10 minutes, want still open", v.Outcome, v.AbandonReason)
	}
	r.clk.Advance(2 * time.Minute)
	r.c.Tick()
	if v := r.stored(id); v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != AbandonIdle {
		t.Fatalf("visit %s/%s 10 minutes after the crash, want abandoned/idle", v.Outcome, v.AbandonReason)
	}
	r.signIn(1, "1234")
	r.mustBe(ScreenWaiting)
}

// A visit left open longer ago than 10 minutes is saved as abandoned at start.
func TestOldOpenVisitAbandonedAtStart(t *testing.T) {
	dir, id, _ := crashMidVisit(t)
	r := newRig(t, rigOpts{dataDir: dir, now: testNow.Add(ResumeWithin + time.Minute)})
	if v := r.stored(id); v.Outcome != flows.OutcomeAbandoned || v.AbandonReason != AbandonIdle {
		t.Fatalf("visit %s/%s, want abandoned/idle at start", v.Outcome, v.AbandonReason)
	}
	r.signIn(1, "1234")
	r.mustBe(ScreenWaiting)
}

// Scanning the same customer's card on the offer resumes the visit.
func TestResumeByScanningTheSameCustomer(t *testing.T) {
	dir, id, _ := crashMidVisit(t)
	r := newRig(t, rigOpts{dataDir: dir, now: testNow.Add(time.Minute)})
	r.signIn(1, "1234")
	r.scan(demo.Customers()[1].ID)
	r.mustBe(ScreenQuestionnaire)
	if vs := r.vs(); vs.Visit.ID != id || len(vs.Answers) != 2 {
		t.Fatalf("resumed %s answers %v", vs.Visit.ID, vs.Answers)
	}
}
