package effect_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
)

func TestVisitFactBinaryRoundTrip(t *testing.T) {
	yes, no := true, false
	for _, f := range []effect.VisitFact{
		{},
		{VisitID: "01J…", CustomerKey: "9f86d081884c7d659a2feaa0c55ad015", StoreID: "S001",
			StartedAt: time.Date(2026, 6, 1, 9, 0, 0, 123456789, flows.Shanghai()), Complete: true, StepsDone: 4,
			StepSeconds: [4]float64{12.5, 30, 0, 61.25}, StepTimed: [4]bool{true, true, false, true}, VisitSeconds: 110.5, VisitTimed: true,
			Classes: []string{flows.ClassHypertension, flows.ClassHyperlipidemia}, QuestionnaireClass: flows.ClassHypertension,
			Recommendations: []effect.RecommendationFact{{ItemID: "pill_organiser", Accepted: &yes}, {ItemID: "refill_plan", Accepted: &no}, {ItemID: "x"}}},
		{VisitID: "v2", StoreID: "S002", StartedAt: time.Date(2026, 6, 2, 9, 0, 0, 0, flows.Shanghai()), ContentVersion: 3,
			Recommendations: []effect.RecommendationFact{{ItemID: "pill_organiser", Accepted: &yes}}},
	} {
		b, err := f.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var g effect.VisitFact
		if err := g.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !g.StartedAt.Equal(f.StartedAt) {
			t.Fatalf("started %v, want %v", g.StartedAt, f.StartedAt)
		}
		g.StartedAt = f.StartedAt
		if !reflect.DeepEqual(g, f) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", g, f)
		}
		// Every truncation is an error, never a panic.
		for i := range b {
			if err := new(effect.VisitFact).UnmarshalBinary(b[:i]); err == nil {
				t.Fatalf("truncated to %d bytes: no error", i)
			}
		}
	}
	// Unknown classes are dropped.
	b, _ := effect.VisitFact{Classes: []string{"asthma", flows.ClassDiabetes}}.MarshalBinary()
	var g effect.VisitFact
	if err := g.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(g.Classes, []string{flows.ClassDiabetes}) {
		t.Fatalf("%+v %v", g, err)
	}
}

func FuzzVisitFactBinary(f *testing.F) {
	b, _ := effect.VisitFact{VisitID: "v", StoreID: "S1", StepsDone: 2}.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var v effect.VisitFact
		if v.UnmarshalBinary(data) != nil {
			return
		}
		again, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var w effect.VisitFact
		if err := w.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded fact does not decode: %v", err)
		}
	})
}
