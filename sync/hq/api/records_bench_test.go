package api

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// BenchmarkParseRecords decodes a 500-record batch: as HQ does (parseRecords), and the
// record-by-record fallback alone as the same-run baseline.
func BenchmarkParseRecords(b *testing.B) {
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())
	req := wire.RecordsRequest{StoreID: "S001"}
	for i := range wire.MaxBatchRecords {
		at := start.Add(time.Duration(i) * time.Minute)
		req.Records = append(req.Records, flows.Visit{
			ID: fmt.Sprintf("01J%023d", i), StoreID: "S001", PharmacistID: "P01", CustomerKey: "0123456789abcdef0123456789abcdef",
			StartedAt: at, UpdatedAt: at.Add(5 * time.Minute), EndedAt: at.Add(5 * time.Minute), Outcome: flows.OutcomeComplete,
			Identify:      &flows.IdentifyStep{At: at, AsOf: flows.DayOf(at), Adherence: []flows.ClassResult{{Class: "hypertension", PDC: 0.67, CoveredDays: 60, PeriodDays: 90, DaysWithoutSupply: 12, Fills: 2, Level: flows.LevelYellow}}},
			Questionnaire: &flows.QuestionnaireStep{At: at, Class: "hypertension", Answers: map[string]string{"q1": "a", "q2": "b", "q3": "c"}},
			Recommend:     &flows.RecommendStep{At: at, Items: []flows.Recommendation{{ID: "k1", Title: "血压计", Reason: "r"}, {ID: "k2", Title: "随访", Reason: "r"}}},
		})
	}
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{}
	p := hq.Principal{StoreID: "S001"}
	// cpu reports the process's CPU time per record (all threads: the fast path decodes
	// in parallel), which unlike ns/op does not depend on other work on the machine.
	cpu := func(b *testing.B, cpu0 time.Duration) {
		b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/1e3/float64(b.N*wire.MaxBatchRecords), "cpu-µs/rec")
	}
	b.Run("hq", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		cpu0 := processCPU()
		for b.Loop() {
			if r, _, err := s.parseRecords(body, p); err != nil || len(r.Records) != wire.MaxBatchRecords {
				b.Fatal(err)
			}
		}
		cpu(b, cpu0)
	})
	b.Run("record-by-record-baseline", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		cpu0 := processCPU()
		for b.Loop() {
			if _, raws, err := slowRecords(body); err != nil || len(raws) != wire.MaxBatchRecords {
				b.Fatal(err)
			}
		}
		cpu(b, cpu0)
	})
}
