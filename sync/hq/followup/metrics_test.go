package followup

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestOverdueMetric(t *testing.T) {
	st, _ := newTestStore(t)
	now := time.Now()
	// One follow-up due 3 h ago and never sent (overdue), one due tomorrow (not overdue).
	for i, due := range []time.Time{now.Add(-3 * time.Hour), now.Add(24 * time.Hour)} {
		mustEnqueue(t, st, visit("01OVERDUEMETRIC00000000000"+string(rune('1'+i)), "S001", "P01", due, true))
	}
	clock := now
	c := NewOverdueCollector(st, func() time.Time { return clock }, time.Minute, slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	gather := func() map[string]float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() != "hq_followups_overdue" {
				continue
			}
			for _, m := range mf.GetMetric() {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				out[strings.Join(labels, ",")] = m.GetGauge().GetValue()
			}
		}
		return out
	}
	if got := gather(); len(got) != 1 || got["reason=not_sent,store=S001"] != 1 {
		t.Fatalf("overdue now: %v, want one not_sent in S001", got)
	}
	// Two days later both are overdue, once the cache has expired.
	clock = now.Add(30 * time.Second)
	mustEnqueue(t, st, visit("01OVERDUEMETRIC000000000009", "S001", "P01", now.Add(-4*time.Hour), true))
	if got := gather(); got["reason=not_sent,store=S001"] != 1 {
		t.Fatalf("within the cache period the count must not be recomputed: %v", got)
	}
	clock = now.Add(48 * time.Hour)
	if got := gather(); got["reason=not_sent,store=S001"] != 3 {
		t.Fatalf("overdue after two days: %v, want 3 not_sent", got)
	}
}
