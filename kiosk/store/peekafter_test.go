package store

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
)

// TestPeekAfter: PeekAfter starts after the given seq, keeps Peek's limits and skips
// parked entries; Peek is PeekAfter(0).
func TestPeekAfter(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		mustSave(t, s, visitAt(fmt.Sprintf("V%d", i), t0.Add(time.Duration(i)*time.Minute), custKey(i), 4, true))
	}
	all := outboxAll(t, s)
	if len(all) != 6 {
		t.Fatalf("outbox has %d", len(all))
	}
	ids := func(after uint64, max, maxBytes int) string {
		t.Helper()
		es, err := s.PeekAfter(ctx, after, max, maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, e := range es {
			if len(e.Body) == 0 {
				t.Fatalf("entry %d without body", e.Seq)
			}
			out += e.ID
		}
		return out
	}
	if got := ids(0, 10, 1<<20); got != "V0V1V2V3V4V5" {
		t.Fatalf("PeekAfter(0) = %s", got)
	}
	if got := ids(all[1].Seq, 2, 1<<20); got != "V2V3" {
		t.Fatalf("PeekAfter(V1, 2) = %s", got)
	}
	if got := ids(all[1].Seq, 10, 1); got != "V2" {
		t.Fatalf("PeekAfter with a tiny byte limit = %s, want one entry", got)
	}
	if got := ids(all[5].Seq, 10, 1<<20); got != "" {
		t.Fatalf("PeekAfter(last) = %s", got)
	}
	if got := ids(math.MaxUint64, 10, 1<<20); got != "" {
		t.Fatalf("PeekAfter(max) = %s", got)
	}
	if err := s.Park(ctx, []uint64{all[3].Seq}, "bad"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, []uint64{all[0].Seq, all[1].Seq}); err != nil {
		t.Fatal(err)
	}
	if got := ids(all[0].Seq, 10, 1<<20); got != "V2V4V5" {
		t.Fatalf("PeekAfter after park/ack = %s", got)
	}
	if _, err := s.PeekAfter(ctx, 0, 0, 1); err == nil {
		t.Fatal("PeekAfter(max 0) accepted")
	}
}
