package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
)

// custKey derives a deterministic customer key for tests.
func custKey(n int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("customer-%d", n)))
	return hex.EncodeToString(h[:16])
}

func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

var t0 = time.Date(2026, 6, 30, 10, 15, 0, 0, flows.Shanghai())

// visitAt builds a visit with the first `steps` steps recorded; outcome in progress
// unless finish is set (complete if 4 steps, else abandoned).
func visitAt(id string, start time.Time, customer string, steps int, finish bool) flows.Visit {
	v := flows.NewVisit(id, "S001", "P07", flows.Customer{Key: customer, Masked: "1101**********002X"}, start)
	at := start
	tick := func() time.Time { at = at.Add(40 * time.Second); return at }
	if steps >= 1 {
		v.Identify = &flows.IdentifyStep{At: tick(), AsOf: flows.DayOf(start), Adherence: []flows.ClassResult{{
			Class: "hypertension", PDC: 0.6667, CoveredDays: 60, PeriodDays: 90, PeriodStart: flows.DayOf(start) - 89,
			DaysWithoutSupply: 12, Fills: 2, Level: flows.LevelYellow, FillIDs: []string{"S001:1001:1", "S001:1077:1"},
		}}}
	}
	if steps >= 2 {
		v.Questionnaire = &flows.QuestionnaireStep{At: tick(), Class: "hypertension", Answers: map[string]string{
			"htn_measure": "weekly", "htn_missed": "one_two", "htn_side_effects": "dizziness", "htn_dizzy_when": "standing",
		}}
	}
	if steps >= 3 {
		yes, no := true, false
		v.Recommend = &flows.RecommendStep{At: tick(), Items: []flows.Recommendation{
			{ID: "bp-monitor-calibration", Title: "血压计校准", Reason: "每周自测血压，校准保证读数可靠", Accepted: &yes},
			{ID: "pill-organiser", Title: "家庭分药盒", Reason: "近7天漏服1–2次，分药盒帮助按时服药", Accepted: &no},
		}}
	}
	if steps >= 4 {
		fat := tick()
		v.FollowUp = &flows.FollowUpStep{At: fat, Consent: map[string]bool{flows.ChannelWeCom: true}, FollowUp: &flows.FollowUp{
			ID: id + "-f1", VisitID: id, StoreID: "S001", PharmacistID: "P07", CustomerKey: customer,
			Channel: flows.ChannelWeCom, DueAt: fat.Add(24 * time.Hour), Consent: true,
			Text: "您好，感谢您昨天到店咨询高血压用药。请按时按量服药，如有不适请及时联系药师。",
		}}
	}
	v.UpdatedAt = at
	if finish {
		v.EndedAt = at
		v.Outcome = flows.OutcomeAbandoned
		if steps == 4 {
			v.Outcome = flows.OutcomeComplete
		}
	}
	return v
}

func mustSave(t testing.TB, s *Store, v flows.Visit) {
	t.Helper()
	if err := s.SaveVisit(context.Background(), v); err != nil {
		t.Fatalf("SaveVisit %s: %v", v.ID, err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
