package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/followup"
)

func TestOverdueMetric(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "hq.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := followup.NewStore(db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ctx := context.Background()
	// One follow-up due 3 h ago and never sent (overdue), one due tomorrow (not overdue).
	for i, due := range []time.Time{now.Add(-3 * time.Hour), now.Add(24 * time.Hour)} {
		v := completedVisit(t, "01OVERDUEMETRIC00000000000"+string(rune('1'+i)), due.Add(-24*time.Hour))
		v.FollowUp.FollowUp.DueAt = due
		if err := st.Enqueue(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	clock := now
	c := newOverdueCollector(st, func() time.Time { return clock }, time.Minute, slog.New(slog.DiscardHandler))
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
	st.Enqueue(ctx, func() flows.Visit {
		v := completedVisit(t, "01OVERDUEMETRIC000000000009", now.Add(-28*time.Hour))
		return v
	}())
	if got := gather(); got["reason=not_sent,store=S001"] != 1 {
		t.Fatalf("within the cache period the count must not be recomputed: %v", got)
	}
	clock = now.Add(48 * time.Hour)
	if got := gather(); got["reason=not_sent,store=S001"] != 3 {
		t.Fatalf("overdue after two days: %v, want 3 not_sent", got)
	}
}
