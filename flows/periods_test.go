package flows

import (
	"testing"
	"time"
)

func TestHistoryRange(t *testing.T) {
	e := DayFromDate(2026, 6, 30)
	from, to := HistoryRange(e, AdherenceOptions{})
	if to != e || e-from+1 != HistoryDays || from != DayFromDate(2025, 10, 4) {
		t.Fatalf("HistoryRange = %s..%s", from, to)
	}
	if from, _ := HistoryRange(e, AdherenceOptions{LookbackDays: 30, HorizonDays: 10}); e-from+1 != 40 {
		t.Fatalf("custom range starts %s", from)
	}
}

// A purge with the shortest retention keeps every day an analysis made at the same
// moment reads, whatever the time of day.
func TestMinRetentionKeepsHistory(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 6, 30, 0, 0, 1, 0, Shanghai()),
		time.Date(2026, 6, 30, 12, 0, 0, 0, Shanghai()),
		time.Date(2026, 6, 30, 23, 59, 59, 0, Shanghai()),
	} {
		from, _ := HistoryRange(DayOf(now), DefaultAdherenceOptions())
		if cutoff := DayOf(now.Add(-MinRetention)); cutoff > from {
			t.Errorf("at %v a purge keeps days from %s, the analysis reads from %s", now, cutoff, from)
		}
		if cutoff := DayOf(now.Add(-MinRetention + 48*time.Hour)); cutoff <= from {
			t.Errorf("at %v MinRetention is not the shortest safe retention (two days less still keeps %s)", now, cutoff)
		}
	}
}

func TestVisitDay(t *testing.T) {
	// 23:30 UTC on 06-29 is 07:30 on 06-30 in Shanghai: the visit counts on 06-30.
	v := Visit{StartedAt: time.Date(2026, 6, 29, 23, 30, 0, 0, time.UTC)}
	if got := VisitDay(v); got != DayFromDate(2026, 6, 30) {
		t.Fatalf("VisitDay = %s", got)
	}
}
