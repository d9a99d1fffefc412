package followup

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLinkRejectsAuditedPerMinute: rejected link requests (forged tokens,
// over the rate limit) are counted and written as one audit entry per minute, not one
// fsync'ed entry each — a script hammering /f/ costs HQ no disk writes. It fails on the
// code before the fix (one audit entry, one commit, per rejected request).
func TestLinkRejectsAuditedPerMinute(t *testing.T) {
	e := newLinkEnv(t, 40)
	for range 50 { // 40 within the burst (forged), the rest over the rate limit
		e.get(t, "/f/forged-token-text")
	}
	count := func() (int, string) {
		n, detail := 0, ""
		for _, en := range auditLog(e.st, "customer-link") {
			if en.Action == "link.reject" {
				n++
				detail = en.Detail
			}
		}
		return n, detail
	}
	if n, _ := count(); n != 0 {
		t.Fatalf("%d audit entries written on the requests' path, want none (counted in memory)", n)
	}
	if err := e.h.FlushAudit(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if n, _ := count(); n != 0 {
		t.Fatalf("the current minute was written before it ended (%d entries)", n)
	}
	e.clk.Add(time.Minute)
	if err := e.h.FlushAudit(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	n, detail := count()
	if n != 1 || !strings.Contains(detail, "count=50") || !strings.Contains(detail, "rate_limited=10") {
		t.Fatalf("%d entries (%q), want one counting 50 rejects, 10 of them rate limited", n, detail)
	}
	if code, _ := e.get(t, e.link); code != http.StatusOK {
		t.Fatalf("the real link after the flood: %d", code)
	}
}
