package effect_test

import (
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
)

func TestHealth(t *testing.T) {
	b := effect.NewBuilder(nil, nil)
	at := F.Time().Add(9 * time.Hour)
	add := func(store string, day flows.Day, steps int, complete bool, secs ...float64) {
		t.Helper()
		v := effect.VisitFact{StoreID: store, CustomerKey: "c", StartedAt: day.Time().Add(9 * time.Hour), StepsDone: steps, Complete: complete}
		total := 0.0
		for i, s := range secs {
			v.StepSeconds[i], v.StepTimed[i] = s, true
			total += s
		}
		if complete {
			v.VisitSeconds, v.VisitTimed = total, true
		}
		if err := b.AddVisit(v); err != nil {
			t.Fatal(err)
		}
	}
	// S1: four complete visits of 60, 100, 120 and 200 s (step 1: 10, 20, 30, 40 s), one
	// abandoned after step 2, one that never got past the scan; one visit outside the
	// period.
	add("S1", F, 4, true, 10, 20, 15, 15)
	add("S1", F, 4, true, 20, 30, 25, 25)
	add("S1", F+1, 4, true, 30, 30, 30, 30)
	add("S1", F+9, 4, true, 40, 60, 60, 40)
	add("S1", F+2, 2, false, 50, 50)
	add("S1", F+3, 0, false)
	add("S1", F+25, 4, true, 999, 999, 999, 999)
	// S2: one complete visit of 100 s.
	add("S2", F, 4, true, 25, 25, 25, 25)

	now := (F + 19).Time().Add(23 * time.Hour) // the period is [F, F+19]
	due := at.Add(24 * time.Hour)
	h2, h72 := 2*time.Hour, 72*time.Hour
	for _, f := range []effect.FollowUpFact{
		{StoreID: "S1", DueAt: due, SentAt: due.Add(h2), OpenedAt: due.Add(h2 + h72)},                               // on time, opened at the limit
		{StoreID: "S1", DueAt: due, SentAt: due.Add(h2 + time.Second), OpenedAt: due.Add(h2 + h72 + 2*time.Second)}, // late (overdue, answered by the send), opened 72 h 1 s after
		{StoreID: "S1", DueAt: due}, // never sent: overdue, not answered
		{StoreID: "S1", DueAt: due, SentAt: due, OpenedAt: due.Add(h72 + 2*h72)},              // not opened by send + 72 h: overdue, answered 144 h later: no
		{StoreID: "S1", DueAt: due, SentAt: due, OpenedAt: due.Add(h72 + h72)},                // opened exactly 72 h after becoming overdue: answered
		{StoreID: "S1", DueAt: now.Add(-time.Hour)},                                           // due an hour ago: pending
		{StoreID: "S1", DueAt: now.Add(-h2), SentAt: now.Add(-time.Minute)},                   // sent in time, open window running
		{StoreID: "S1", DueAt: due, OpenedAt: due.Add(time.Hour)},                             // opened without a recorded send: not overdue
		{StoreID: "S1", DueAt: due.Add(-10 * 24 * time.Hour)},                                 // due before the period
		{StoreID: "S2", DueAt: due, SentAt: due.Add(time.Hour), OpenedAt: now.Add(time.Hour)}, // opened after now: not yet known
	} {
		if err := b.AddFollowUp(f); err != nil {
			t.Fatal(err)
		}
	}
	d := b.Build()
	h, err := d.Health(effect.HealthParams{From: F, To: F + 19, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Stores) != 2 || h.Chain == nil || h.Targets.Completeness != 0.95 || h.Targets.Coordination != 0.85 {
		t.Fatalf("health %+v", h)
	}
	s1 := h.Stores[0]
	if s1.StoreID != "S1" || s1.Visits != 6 {
		t.Fatalf("S1 %+v", s1)
	}
	for i, want := range [4][2]int{{5, 6}, {5, 6}, {4, 6}, {4, 6}} {
		if c := s1.Completeness[i]; c.Num != want[0] || c.Den != want[1] || !near(*c.Rate, float64(want[0])/float64(want[1])) {
			t.Errorf("completeness step %d: %+v", i+1, c)
		}
	}
	// step 1 over 10, 20, 30, 40, 50: median 30, p90 = 40 + 0.6 × 10 = 46
	if s := s1.StepSeconds[0]; s.N != 5 || *s.Median != 30 || !near(*s.P90, 46) {
		t.Errorf("step 1 %+v", s)
	}
	// visits 60, 100, 120, 200: median 110, p90 = 120 + 0.7 × 80 = 176; ≤ 120 s: 3 of 4
	if s := s1.VisitSeconds; s.N != 4 || *s.Median != 110 || !near(*s.P90, 176) {
		t.Errorf("visit %+v", s)
	}
	if w := s1.WithinTarget; w.Num != 3 || w.Den != 4 {
		t.Errorf("within target %+v", w)
	}
	// Sent within 2 h: rows 1, 4, 5, 7 of the 7 decided (row 6 is pending; row 9 is
	// outside the period).
	if s := s1.SentOnTime; s.Num != 4 || s.Den != 7 {
		t.Errorf("sent on time %+v", s)
	}
	// Opened within 72 h of the send: row 1 only of rows 1, 2, 4, 5 (row 7's window runs).
	if s := s1.Opened72h; s.Num != 1 || s.Den != 4 {
		t.Errorf("opened %+v", s)
	}
	// Overdue: rows 2, 3, 4, 5; answered within 72 h: rows 2 and 5.
	if s1.Overdue != 4 || s1.OverdueAnswered.Num != 2 || s1.OverdueAnswered.Den != 4 {
		t.Errorf("overdue %d answered %+v", s1.Overdue, s1.OverdueAnswered)
	}
	s2 := h.Stores[1]
	if s2.Visits != 1 || s2.Opened72h.Den != 1 || s2.Opened72h.Num != 0 || s2.SentOnTime.Num != 1 {
		t.Errorf("S2 %+v", s2)
	}
	// The chain row pools the stores: visit durations 60, 100, 100, 120, 200; S2's
	// follow-up, whose open comes after now, is overdue (not opened in 72 h).
	c := h.Chain
	if c.StoreID != "" || c.Visits != 7 || c.VisitSeconds.N != 5 || *c.VisitSeconds.Median != 100 || c.Completeness[3].Num != 5 ||
		!is(c.SentOnTime, 5, 8) || !is(c.Opened72h, 1, 5) || c.Overdue != 5 || !is(c.OverdueAnswered, 2, 5) {
		t.Errorf("chain %+v", c)
	}
	// A store's report has no chain row.
	h, _ = d.Health(effect.HealthParams{From: F, To: F + 19, Now: now, StoreID: "S2"})
	if h.Chain != nil || len(h.Stores) != 1 || h.Stores[0].StoreID != "S2" {
		t.Errorf("S2 only %+v", h)
	}
	if _, err := d.Health(effect.HealthParams{From: F + 1, To: F, Now: now}); err == nil {
		t.Error("from after to")
	}
	if h, err := d.Health(effect.HealthParams{From: F, To: F, Now: now, StoreID: "S9"}); err != nil || len(h.Stores) != 0 {
		t.Errorf("unknown store %+v %v", h, err)
	}
}

func TestVisitFactOf(t *testing.T) {
	t0 := F.Time().Add(9 * time.Hour)
	yes := true
	v := flows.Visit{ID: "v1", StoreID: "S1", CustomerKey: "c", StartedAt: t0, EndedAt: t0.Add(95 * time.Second), Outcome: flows.OutcomeComplete,
		Identify:      &flows.IdentifyStep{At: t0.Add(20 * time.Second), Adherence: []flows.ClassResult{{Class: flows.ClassDiabetes}, {Class: flows.ClassHypertension}}},
		Questionnaire: &flows.QuestionnaireStep{At: t0.Add(50 * time.Second), Class: flows.ClassDiabetes},
		Recommend:     &flows.RecommendStep{At: t0.Add(70 * time.Second), Items: []flows.Recommendation{{ID: "a", Accepted: &yes}, {ID: "b"}}},
		FollowUp:      &flows.FollowUpStep{At: t0.Add(95 * time.Second)},
	}
	f := effect.VisitFactOf(v)
	if !f.Complete || f.StepsDone != 4 || f.StepSeconds != [4]float64{20, 30, 20, 25} || f.StepTimed != [4]bool{true, true, true, true} ||
		f.VisitSeconds != 95 || !f.VisitTimed || len(f.Classes) != 2 || f.QuestionnaireClass != flows.ClassDiabetes ||
		len(f.Recommendations) != 2 || f.Recommendations[1].Accepted != nil {
		t.Errorf("%+v", f)
	}
	v.Outcome, v.FollowUp = flows.OutcomeAbandoned, nil
	if f := effect.VisitFactOf(v); f.Complete || f.StepsDone != 3 || f.VisitTimed {
		t.Errorf("abandoned %+v", f)
	}
}

// is reports whether s is num of den with its rate.
func is(s effect.Share, num, den int) bool {
	return s.Num == num && s.Den == den && s.Rate != nil && near(*s.Rate, float64(num)/float64(den))
}
