package flows

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 6, 30, 9, 0, 0, 0, Shanghai())

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func htAnswers() map[string]string {
	return map[string]string{"bp_measure": "rarely", "missed_doses": "one_two", "side_effects": "none", "miss_reason": "forget"}
}

// runVisit drives a visit through n steps with the given step durations (seconds).
func runVisit(t *testing.T, id, store, ph string, start time.Time, n int, secs [4]int, consent bool) Visit {
	t.Helper()
	_, qs, kb, _ := loadAssets(t)
	v := NewVisit(id, store, ph, Customer{Key: "0123456789abcdef0123456789abcdef", Masked: "1101**********002X"}, start)
	now := start
	a := Analyze(mkFills(t, "04-02 amlodipine 30", "05-20 amlodipine 30"), nil, DayOf(start), DefaultAdherenceOptions())
	steps := []func() error{
		func() error { return RecordIdentify(&v, a, false, now) },
		func() error { return RecordAnswers(&v, qs.For(ClassHypertension), htAnswers(), now) },
		func() error {
			recs, err := kb.Recommend(ClassHypertension, LevelYellow, htAnswers(), ReasonWords{})
			if err != nil {
				return err
			}
			recs[0].Accepted, recs[1].Accepted = yes(), no()
			return RecordRecommendations(&v, recs, now)
		},
		func() error {
			pol := testPolicy(t)
			pol.ClassNames = map[string]string{ClassHypertension: "高血压", ClassGeneral: "慢病"}
			return RecordFollowUp(&v, map[string]bool{ChannelWeCom: consent}, pol, now)
		},
	}
	for i := 0; i < n; i++ {
		now = now.Add(time.Duration(secs[i]) * time.Second)
		if err := steps[i](); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
	return v
}

func TestVisitHappyPath(t *testing.T) {
	v := runVisit(t, "01J0VISIT", "S1", "P1", t0, 4, [4]int{10, 60, 30, 20}, true)
	if !Complete(v) || v.Outcome != OutcomeComplete || StepsDone(v) != 4 || NextStep(v) != 0 {
		t.Fatalf("visit not complete: %+v", v)
	}
	end := t0.Add(120 * time.Second)
	if !v.EndedAt.Equal(end) {
		t.Errorf("ended %v, want %v", v.EndedAt, end)
	}
	f := v.FollowUp.FollowUp
	if f == nil || v.FollowUp.Declined {
		t.Fatalf("no follow-up scheduled: %+v", v.FollowUp)
	}
	if !f.DueAt.Equal(end.Add(24*time.Hour)) || f.ID != "01J0VISIT-f1" || f.Channel != ChannelWeCom || !f.Consent ||
		f.CustomerKey != v.CustomerKey || f.PharmacistID != "P1" || f.StoreID != "S1" {
		t.Errorf("follow-up %+v", f)
	}
	if !strings.Contains(f.Text, "高血压") || !strings.Contains(f.Text, v.Recommend.Items[0].Title) || strings.Contains(f.Text, v.Recommend.Items[1].Title) {
		t.Errorf("reminder text %q", f.Text)
	}
	if v.Identify.Adherence[0].Level != LevelYellow || v.Questionnaire.Class != ClassHypertension {
		t.Errorf("steps %+v %+v", v.Identify, v.Questionnaire)
	}
	// The record survives JSON (it is what the store saves and HQ receives).
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back Visit
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if StepsDone(back) != 4 || !Complete(back) || *back.Recommend.Items[1].Accepted {
		t.Errorf("round trip lost data: %s", b)
	}
	if strings.Contains(string(b), "11010519491231002X") {
		t.Error("raw ID in visit record")
	}
}

func TestFollowUpWithoutConsent(t *testing.T) {
	v := runVisit(t, "V2", "S1", "P1", t0, 4, [4]int{1, 1, 1, 1}, false)
	if !Complete(v) || !v.FollowUp.Declined || v.FollowUp.FollowUp != nil {
		t.Fatalf("declined follow-up: %+v", v.FollowUp)
	}
	// Consent for another channel does not count.
	v = runVisit(t, "V3", "S1", "P1", t0, 3, [4]int{1, 1, 1, 1}, false)
	if err := RecordFollowUp(&v, map[string]bool{ChannelSMS: true}, testPolicy(t), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !v.FollowUp.Declined || !v.FollowUp.Consent[ChannelSMS] {
		t.Fatalf("sms consent with wecom policy: %+v", v.FollowUp)
	}
	// A configured policy: SMS after 48 h with custom text.
	v = runVisit(t, "V4", "S1", "P1", t0, 3, [4]int{1, 1, 1, 1}, false)
	pol := FollowUpPolicy{Delay: 48 * time.Hour, Channel: ChannelSMS, Text: "{{.ClassName}}复诊提醒 {{.VisitID}}",
		ClassNames: map[string]string{ClassHypertension: "高血压"}}
	now := t0.Add(time.Hour)
	if err := RecordFollowUp(&v, map[string]bool{ChannelSMS: true}, pol, now); err != nil {
		t.Fatal(err)
	}
	if f := v.FollowUp.FollowUp; f == nil || f.Text != "高血压复诊提醒 V4" || !f.DueAt.Equal(now.Add(48*time.Hour)) || f.Channel != ChannelSMS {
		t.Fatalf("custom policy: %+v", v.FollowUp.FollowUp)
	}
	// A broken template is an error and leaves the step undone.
	v = runVisit(t, "V5", "S1", "P1", t0, 3, [4]int{1, 1, 1, 1}, false)
	if err := RecordFollowUp(&v, map[string]bool{ChannelWeCom: true}, FollowUpPolicy{Text: "{{.Nope"}, now); err == nil || v.FollowUp != nil {
		t.Fatalf("broken template: %v", err)
	}
	if err := RecordFollowUp(&v, map[string]bool{ChannelWeCom: true}, FollowUpPolicy{Text: "{{.Nope}}"}, now); err == nil || v.FollowUp != nil {
		t.Fatalf("unknown template field: %v", err)
	}
	// Without a reminder text nothing is scheduled: the text is the messages file's.
	if err := RecordFollowUp(&v, map[string]bool{ChannelWeCom: true}, DefaultFollowUpPolicy(), now); err == nil || v.FollowUp != nil {
		t.Fatalf("no reminder text: %v", err)
	}
}

func TestStepOrder(t *testing.T) {
	_, qs, kb, _ := loadAssets(t)
	v := NewVisit("V", "S", "P", Customer{Key: "k"}, t0)
	recs, _ := kb.Recommend(ClassHypertension, LevelOK, htAnswers(), ReasonWords{})
	recs[0].Accepted, recs[1].Accepted = yes(), yes()

	var so *StepOrderError
	if err := RecordAnswers(&v, qs.For(ClassHypertension), htAnswers(), t0); !errors.As(err, &so) || so.Next != 1 || so.Step != 2 {
		t.Fatalf("answers before identify: %v", err)
	}
	if err := RecordRecommendations(&v, recs, t0); !errors.As(err, &so) || so.Next != 1 {
		t.Fatalf("recommend before identify: %v", err)
	}
	if err := RecordFollowUp(&v, nil, testPolicy(t), t0); !errors.As(err, &so) || so.Next != 1 {
		t.Fatalf("follow-up before identify: %v", err)
	}
	if NextStep(v) != 1 {
		t.Fatal("next step of a new visit")
	}
	if err := RecordIdentify(&v, Analysis{}, true, t0); err != nil {
		t.Fatal(err)
	}
	if !v.Identify.Offline || v.Identify.Adherence == nil {
		t.Errorf("identify step %+v", v.Identify)
	}
	// Re-identifying (the latest step) is allowed.
	if err := RecordIdentify(&v, Analysis{}, false, t0); err != nil {
		t.Fatal(err)
	}
	// Mandatory answers missing: refused, names them, nothing recorded.
	err := RecordAnswers(&v, qs.For(ClassHypertension), map[string]string{"bp_measure": "daily"}, t0)
	var me *MissingAnswersError
	if !errors.As(err, &me) || strings.Join(me.IDs, ",") != "missed_doses,side_effects" || v.Questionnaire != nil {
		t.Fatalf("missing answers: %v", err)
	}
	if err := RecordAnswers(&v, qs.For(ClassHypertension), htAnswers(), t0); err != nil {
		t.Fatal(err)
	}
	if err := RecordIdentify(&v, Analysis{}, false, t0); err == nil {
		t.Fatal("identify redone after questionnaire")
	}
	// Recommendations: exactly two, distinct, decided.
	if err := RecordRecommendations(&v, recs[:1], t0); err == nil {
		t.Fatal("one recommendation accepted")
	}
	dup := []Recommendation{recs[0], recs[0]}
	if err := RecordRecommendations(&v, dup, t0); err == nil {
		t.Fatal("duplicate recommendation accepted")
	}
	undecided := []Recommendation{recs[0], {ID: recs[1].ID, Title: recs[1].Title}}
	if err := RecordRecommendations(&v, undecided, t0); err == nil || !strings.Contains(err.Error(), "accepted/declined") {
		t.Fatalf("undecided: %v", err)
	}
	if err := RecordRecommendations(&v, recs, t0); err != nil {
		t.Fatal(err)
	}
	*recs[0].Accepted = false // the caller's pointer must not alias the record
	if !*v.Recommend.Items[0].Accepted {
		t.Error("recorded recommendation aliases the caller's bool")
	}
	if NextStep(v) != 4 || StepsDone(v) != 3 {
		t.Fatalf("next %d done %d", NextStep(v), StepsDone(v))
	}
	if err := RecordFollowUp(&v, nil, testPolicy(t), t0); err != nil {
		t.Fatal(err)
	}
	if err := RecordFollowUp(&v, nil, testPolicy(t), t0); !errors.Is(err, ErrVisitEnded) {
		t.Fatalf("step after completion: %v", err)
	}
	if err := Abandon(&v, "idle", t0); !errors.Is(err, ErrVisitEnded) {
		t.Fatalf("abandon after completion: %v", err)
	}
}

func TestAbandon(t *testing.T) {
	v := runVisit(t, "V", "S", "P", t0, 2, [4]int{5, 5, 0, 0}, false)
	if err := Abandon(&v, "new_customer", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v.Outcome != OutcomeAbandoned || v.AbandonReason != "new_customer" || StepsDone(v) != 2 || NextStep(v) != 0 || Complete(v) {
		t.Fatalf("abandoned visit %+v", v)
	}
	_, qs, kb, _ := loadAssets(t)
	recs, _ := kb.Recommend(ClassHypertension, LevelOK, nil, ReasonWords{})
	recs[0].Accepted, recs[1].Accepted = yes(), yes()
	if err := RecordRecommendations(&v, recs, t0); !errors.Is(err, ErrVisitEnded) {
		t.Fatalf("step after abandon: %v", err)
	}
	_ = qs
}

// TestCompletionNumbers checks the report on a small known data set:
//
//	P1: A complete (10/60/30/20 s), B complete (20/40/30/40 s), C abandoned after step 2
//	P2: D complete (30/80/60/60 s) on the next day, E abandoned after step 1, F in progress (nothing done)
func TestCompletionNumbers(t *testing.T) {
	day2 := t0.Add(24 * time.Hour)
	visits := []Visit{
		runVisit(t, "A", "S1", "P1", t0, 4, [4]int{10, 60, 30, 20}, true),
		runVisit(t, "B", "S1", "P1", t0.Add(time.Hour), 4, [4]int{20, 40, 30, 40}, false),
		runVisit(t, "C", "S1", "P1", t0.Add(2*time.Hour), 2, [4]int{30, 50, 0, 0}, false),
		runVisit(t, "D", "S2", "P2", day2, 4, [4]int{30, 80, 60, 60}, true),
		runVisit(t, "E", "S2", "P2", day2.Add(time.Hour), 1, [4]int{5, 0, 0, 0}, false),
		NewVisit("F", "S2", "P2", Customer{Key: "k"}, day2.Add(2*time.Hour)),
	}
	if err := Abandon(&visits[2], "idle", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := Abandon(&visits[4], "new_customer", day2.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}

	rows := Completion(visits, ByPharmacist)
	if len(rows) != 2 || rows[0].Key != "P1" || rows[1].Key != "P2" {
		t.Fatalf("rows %+v", rows)
	}
	p1, p2 := rows[0], rows[1]
	if p1.Visits != 3 || p1.Completed != 2 || p1.Abandoned != 1 || math.Abs(p1.Rate-66.6667) > 0.001 {
		t.Errorf("P1 %+v", p1)
	}
	if p1.Funnel != [4]int{3, 3, 2, 2} || p1.Stalled != [4]int{0, 0, 1, 0} {
		t.Errorf("P1 funnel %v stalled %v", p1.Funnel, p1.Stalled)
	}
	if p1.AvgStepSeconds != [4]float64{20, 50, 30, 30} {
		t.Errorf("P1 avg %v", p1.AvgStepSeconds)
	}
	if p2.Visits != 3 || p2.Completed != 1 || p2.Abandoned != 1 || p2.InProgress != 1 || math.Abs(p2.Rate-33.3333) > 0.001 {
		t.Errorf("P2 %+v", p2)
	}
	if p2.Funnel != [4]int{2, 1, 1, 1} || p2.Stalled != [4]int{1, 1, 0, 0} {
		t.Errorf("P2 funnel %v stalled %v", p2.Funnel, p2.Stalled)
	}
	if p2.AvgStepSeconds != [4]float64{17.5, 80, 60, 60} {
		t.Errorf("P2 avg %v", p2.AvgStepSeconds)
	}

	days := Completion(visits, ByDay)
	if len(days) != 2 || days[0].Key != "2026-06-30" || days[1].Key != "2026-07-01" || days[0].Completed != 2 || days[1].Completed != 1 {
		t.Errorf("by day %+v", days)
	}
	stores := Completion(visits, ByStore)
	if len(stores) != 2 || stores[0].Key != "S1" || stores[0].Visits != 3 || stores[1].Key != "S2" {
		t.Errorf("by store %+v", stores)
	}
	steps := Completion(visits, ByStep)
	if len(steps) != 4 {
		t.Fatalf("by step %+v", steps)
	}
	for i, want := range []int{5, 4, 3, 3} {
		if steps[i].Key != string(rune('1'+i)) || steps[i].Completed != want || math.Abs(steps[i].Rate-float64(want)*100/6) > 1e-9 {
			t.Errorf("step %d row %+v", i+1, steps[i])
		}
	}
	all := Completion(visits, "bogus")
	if len(all) != 1 || all[0].Key != ByAll || all[0].Visits != 6 || all[0].Completed != 3 || all[0].Rate != 50 {
		t.Errorf("total %+v", all)
	}
	if len(Completion(nil, ByPharmacist)) != 0 || len(Completion(nil, ByStep)) != 4 {
		t.Error("empty report")
	}

	// Incremental rollup: adding every visit equals the batch; replacing a visit's
	// older version (Remove + Add) keeps the numbers right.
	var r Rollup
	for _, v := range visits {
		r.Add(v)
	}
	if r != all[0].Rollup {
		t.Errorf("rollup %+v != batch %+v", r, all[0].Rollup)
	}
	older := runVisit(t, "F", "S2", "P2", day2.Add(2*time.Hour), 0, [4]int{}, false)
	newer := runVisit(t, "F", "S2", "P2", day2.Add(2*time.Hour), 4, [4]int{1, 1, 1, 1}, false)
	r.Remove(older)
	r.Add(newer)
	if r.Visits != 6 || r.Completed != 4 || r.InProgress != 0 || r.Rate() != 400.0/6 {
		t.Errorf("after replacing F: %+v", r)
	}
	if c := VisitContribution(visits[2]); c.Visits != 1 || c.Completed != 0 || c.Abandoned != 1 || c.Stalled[2] != 1 {
		t.Errorf("abandoned contribution %+v", c)
	}
	if (Rollup{}).Rate() != 0 || (Rollup{}).AvgStepSeconds() != [4]float64{} {
		t.Error("empty rollup")
	}
	b, _ := json.Marshal(p1)
	if !strings.Contains(string(b), `"rate":66.66`) || !strings.Contains(string(b), `"funnel":[3,3,2,2]`) {
		t.Errorf("row JSON %s", b)
	}
}

func TestPoints(t *testing.T) {
	_, _, _, pr := loadAssets(t)
	at := t0.Add(time.Hour)
	e, err := pr.Event(PointsLinkOpened, "S1", "P1", "V1-f1", at)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "V1-f1:link_opened" || e.Points != 2 || e.Kind != PointsLinkOpened || e.Ref != "V1-f1" || !e.At.Equal(at) {
		t.Errorf("event %+v", e)
	}
	e2, _ := pr.Event(PointsLinkOpened, "S1", "P1", "V1-f1", at.Add(time.Hour))
	if e2.ID != e.ID {
		t.Error("same event must have the same id")
	}
	if _, err := pr.Event("selfie", "S1", "P1", "V1", at); err == nil {
		t.Error("unknown kind")
	}
	if _, err := pr.Event(PointsVisitComplete, "S1", "P1", "", at); err == nil {
		t.Error("empty ref")
	}
	v := runVisit(t, "V9", "S1", "P1", t0, 4, [4]int{1, 1, 1, 1}, true)
	ce, ok, err := pr.CompletionEvent(v)
	if err != nil || !ok || ce.ID != "V9:visit_complete" || ce.Points != 1 || !ce.At.Equal(v.EndedAt) {
		t.Errorf("completion event %+v %v %v", ce, ok, err)
	}
	part := runVisit(t, "V8", "S1", "P1", t0, 2, [4]int{1, 1, 1, 1}, true)
	if _, ok, _ := pr.CompletionEvent(part); ok {
		t.Error("incomplete visit earned points")
	}

	for in, want := range map[string]string{
		`[]`: "want an object",
		`{"visit_complete":1,"visit_complete":2,"link_opened":2,"revisit_booked":3}`: `field visit_complete: duplicate key`,
		`{"visit_complete":1,"link_opened":2}`:                                       `field revisit_booked: is missing`,
		`{"visit_complete":-1,"link_opened":2,"revisit_booked":3}`:                   "0–1000",
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"Bad Kind":1}`:       "bad kind",
		`null`: "want an object, got null",
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3} {}`: "trailing",
	} {
		if _, _, err := LoadPoints([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadPoints(%s) = %v, want %q", in, err, want)
		}
	}
}

func TestVisitContentVersionJSON(t *testing.T) {
	v := NewVisit("V1", "S1", "P1", Customer{Key: strings.Repeat("a", 32)}, time.Unix(0, 0))
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), "content_version") {
		t.Errorf("version 0 (the embedded default) is written: %s", b)
	}
	v.ContentVersion = 2
	b, _ = json.Marshal(v)
	var back Visit
	if err := json.Unmarshal(b, &back); err != nil || back.ContentVersion != 2 || !strings.Contains(string(b), `"content_version":2`) {
		t.Errorf("round trip: %s → %d (%v)", b, back.ContentVersion, err)
	}
}

// testPolicy is the default policy with the embedded messages file's reminder.
func testPolicy(t testing.TB) FollowUpPolicy {
	t.Helper()
	d, err := LoadData(assetFS)
	if err != nil {
		t.Fatal(err)
	}
	p := DefaultFollowUpPolicy()
	p.Text = d.Messages.Reminder
	return p
}
