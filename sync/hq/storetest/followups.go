package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

// claim asks for due follow-ups at now with a one-minute lease.
func claim(t *testing.T, st hq.Store, owner string, now time.Time, limit int) []string {
	t.Helper()
	its, err := st.ClaimDue(bg(), hq.Claim{Owner: owner, Now: now, Lease: time.Minute, Limit: limit})
	if err != nil {
		t.Fatalf("claim by %s: %v", owner, err)
	}
	var out []string
	for _, it := range its {
		if it.LeaseOwner != owner || !it.LeaseUntil.Equal(now.Add(time.Minute)) || it.Status != hq.StatusScheduled {
			t.Fatalf("claimed item %+v: want scheduled, leased to %s until %v", it, owner, now.Add(time.Minute))
		}
		out = append(out, it.FollowUp.ID)
	}
	return out
}

func start(st hq.Store, id, owner string, at time.Time) (hq.FollowUpItem, error) {
	return st.StartAttempt(bg(), hq.AttemptStart{ID: id, Owner: owner, At: at, Lease: time.Minute,
		Audit: []hq.AuditEntry{{At: at, Actor: "hq", Action: "followup.send_attempt", Detail: "followup=" + id}}})
}

func status(t *testing.T, st hq.Store, id string) hq.FollowUpItem {
	t.Helper()
	it, err := st.FollowUp(bg(), id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func followUps(t *testing.T, open Opener) {
	t.Run("ClaimLeaseAndExpiry", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("a", "S001", "P01", t0.Add(-24*time.Hour), true))
		schedule(t, st, t0.Add(-time.Hour), visit("b", "S001", "P01", t0.Add(-24*time.Hour), true))
		schedule(t, st, t0.Add(time.Hour), visit("c", "S001", "P01", t0.Add(-24*time.Hour), true))
		if got := claim(t, st, "A", t0, 10); !slices.Equal(got, []string{"b-f1", "a-f1"}) {
			t.Fatalf("A claims %v, want the two due ones, earliest first", got)
		}
		if got := claim(t, st, "B", t0.Add(30*time.Second), 10); len(got) != 0 {
			t.Fatalf("B claims %v under A's live lease", got)
		}
		if got := claim(t, st, "B", t0.Add(time.Minute), 1); !slices.Equal(got, []string{"b-f1"}) {
			t.Fatalf("after A's lease expired B claims %v, want b-f1 (limit 1)", got)
		}
		its, err := st.ClaimDue(bg(), hq.Claim{Owner: "C", Now: t0.Add(2 * time.Minute), DueBy: t0.Add(2 * time.Hour), Lease: time.Minute, Limit: 10})
		if err != nil || len(its) != 3 {
			t.Fatalf("claim with DueBy ahead of now: %d items %v", len(its), err)
		}
		if it := status(t, st, "c-f1"); it.Status != hq.StatusScheduled || it.Attempts != 0 {
			t.Fatalf("a claim is no attempt: %+v", it)
		}
		for _, bad := range []hq.Claim{{Now: t0, Lease: time.Minute, Limit: 1}, {Owner: "X", Now: t0, Limit: 1}, {Owner: "X", Now: t0, Lease: time.Minute}} {
			if _, err := st.ClaimDue(bg(), bad); !errors.Is(err, hq.ErrInvalid) {
				t.Fatalf("claim %+v: %v", bad, err)
			}
		}
	})
	t.Run("ConcurrentClaimsAreDisjoint", func(t *testing.T) {
		st := open(t)
		for i := range 30 {
			schedule(t, st, t0.Add(-time.Duration(i)*time.Minute), visit(fmt.Sprintf("v%02d", i), "S001", "P01", t0.Add(-24*time.Hour), true))
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := range 5 {
			owner := fmt.Sprintf("replica-%d", w)
			wg.Go(func() {
				for {
					its, err := st.ClaimDue(bg(), hq.Claim{Owner: owner, Now: t0, Lease: time.Hour, Limit: 4})
					if err != nil {
						t.Error(err)
						return
					}
					if len(its) == 0 {
						return
					}
					mu.Lock()
					for _, it := range its {
						if prev, dup := seen[it.FollowUp.ID]; dup {
							t.Errorf("%s claimed by %s and %s", it.FollowUp.ID, prev, owner)
						}
						seen[it.FollowUp.ID] = owner
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 30 {
			t.Fatalf("%d of 30 follow-ups claimed", len(seen))
		}
	})
	t.Run("AttemptSentUnderLease", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("a", "S001", "P01", t0.Add(-24*time.Hour), true))
		claim(t, st, "A", t0, 10)
		if _, err := start(st, "a-f1", "B", t0); !errors.Is(err, hq.ErrLeaseLost) {
			t.Fatalf("start by a non-owner: %v", err)
		}
		if _, err := start(st, "nope", "A", t0); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("start of an unknown follow-up: %v", err)
		}
		it, err := start(st, "a-f1", "A", t0.Add(time.Second))
		if err != nil || it.Status != hq.StatusSending || it.Attempts != 1 || !it.LeaseUntil.Equal(t0.Add(time.Second+time.Minute)) {
			t.Fatalf("start: %+v %v", it, err)
		}
		if _, err := start(st, "a-f1", "A", t0.Add(time.Second)); !errors.Is(err, hq.ErrLeaseLost) {
			t.Fatalf("second start of the same claim: %v", err)
		}
		if got := claim(t, st, "B", t0.Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("a follow-up being sent was claimed again: %v", got)
		}
		if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: "a-f1", Owner: "B", Attempt: 1, At: t0, Status: hq.StatusSent}); !errors.Is(err, hq.ErrLeaseLost) {
			t.Fatalf("finish by a non-owner: %v", err)
		}
		done := t0.Add(3 * time.Second)
		err = st.FinishAttempt(bg(), hq.AttemptResult{ID: "a-f1", Owner: "A", Attempt: 1, At: done, Status: hq.StatusSent, MsgID: "m1",
			Audit: []hq.AuditEntry{hq.SendResultAudit("a-f1", 1, hq.StatusSent, "", "", done)}})
		if err != nil {
			t.Fatal(err)
		}
		it = status(t, st, "a-f1")
		if it.Status != hq.StatusSent || !it.SentAt.Equal(done) || it.LeaseOwner != "" || it.Attempts != 1 {
			t.Fatalf("after send: %+v", it)
		}
		att, err := st.Attempts(bg(), "a-f1")
		if err != nil || len(att) != 1 || att[0].Status != hq.StatusSent || att[0].MsgID != "m1" || att[0].Attempt != 1 ||
			!att[0].StartedAt.Equal(t0.Add(time.Second)) || !att[0].FinishedAt.Equal(done) || att[0].Channel != "wecom" {
			t.Fatalf("attempts: %+v %v", att, err)
		}
		if got := claim(t, st, "A", t0.Add(48*time.Hour), 10); len(got) != 0 {
			t.Fatalf("a sent follow-up was claimed again: %v", got)
		}
		if a := auditActions(t, st); a["followup.send_attempt"] != 1 || a["followup.send_result"] != 1 {
			t.Fatalf("audit %v", a)
		}
	})
	t.Run("RetryFailAndSkip", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("r", "S001", "P01", t0.Add(-24*time.Hour), true), visit("s", "S001", "P01", t0.Add(-24*time.Hour), true))
		claim(t, st, "A", t0, 10)
		// s was claimed too but is closed without a send (too late): no attempt recorded.
		if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: "s-f1", Owner: "A", At: t0, Status: hq.StatusFailed, Code: "too_late", Reason: "too late"}); err != nil {
			t.Fatal(err)
		}
		if it := status(t, st, "s-f1"); it.Status != hq.StatusFailed || it.Attempts != 0 || it.LastReason != "too late" || it.LastCode != "too_late" {
			t.Fatalf("closed without a send: %+v", it)
		}
		if att, _ := st.Attempts(bg(), "s-f1"); len(att) != 0 {
			t.Fatalf("attempts of a follow-up never sent: %+v", att)
		}
		if _, err := start(st, "r-f1", "A", t0); err != nil {
			t.Fatal(err)
		}
		next := t0.Add(10 * time.Minute)
		if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: "r-f1", Owner: "A", Attempt: 1, At: t0, Status: hq.StatusScheduled, Code: "wecom_rate_limited", Reason: "45009", NextAt: next}); err != nil {
			t.Fatal(err)
		}
		if it := status(t, st, "r-f1"); it.Status != hq.StatusScheduled || !it.NextAt.Equal(next) || it.LastReason != "45009" || it.LastCode != "wecom_rate_limited" || it.LeaseOwner != "" {
			t.Fatalf("after retry-later: %+v", it)
		}
		if att, _ := st.Attempts(bg(), "r-f1"); len(att) != 1 || att[0].Status != hq.AttemptRetry || att[0].Code != "wecom_rate_limited" || att[0].Reason != "45009" {
			t.Fatalf("retry attempt: %+v", att)
		}
		if got := claim(t, st, "A", next.Add(-time.Second), 10); len(got) != 0 {
			t.Fatalf("claimed before its retry time: %v", got)
		}
		if got := claim(t, st, "A", next, 10); !slices.Equal(got, []string{"r-f1"}) {
			t.Fatalf("at its retry time: %v", got)
		}
		if _, err := start(st, "r-f1", "A", next); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: "r-f1", Owner: "A", Attempt: 2, At: next, Status: hq.StatusFailed, Reason: "gave up"}); err != nil {
			t.Fatal(err)
		}
		if it := status(t, st, "r-f1"); it.Status != hq.StatusFailed || it.Attempts != 2 {
			t.Fatalf("failed: %+v", it)
		}
		if got := claim(t, st, "A", t0.Add(72*time.Hour), 10); len(got) != 0 {
			t.Fatalf("failed follow-ups claimed: %v", got)
		}
		if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: "s-f1", Owner: "A", At: t0, Status: "bogus"}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("bogus status: %v", err)
		}
	})
	t.Run("RecoverOnlyExpiredSends", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("a", "S001", "P01", t0.Add(-24*time.Hour), true), visit("b", "S001", "P01", t0.Add(-24*time.Hour), true))
		claim(t, st, "A", t0, 10)
		if _, err := start(st, "a-f1", "A", t0); err != nil { // lease to t0+1m
			t.Fatal(err)
		}
		// b stays merely claimed: an expired claim without a send is simply free again.
		const reason = "HQ stopped during the send; check the channel before resending"
		if n, err := st.RecoverExpired(bg(), t0.Add(30*time.Second), "interrupted", reason); err != nil || n != 0 {
			t.Fatalf("recovery during A's live send marked %d (%v): another replica's send must stay", n, err)
		}
		if it := status(t, st, "a-f1"); it.Status != hq.StatusSending {
			t.Fatalf("live send after recovery: %+v", it)
		}
		n, err := st.RecoverExpired(bg(), t0.Add(2*time.Minute), "interrupted", reason)
		if err != nil || n != 1 {
			t.Fatalf("recovery after the lease: %d %v, want 1", n, err)
		}
		it := status(t, st, "a-f1")
		if it.Status != hq.StatusUnknown || it.LastReason != reason || it.LastCode != "interrupted" || it.LeaseOwner != "" {
			t.Fatalf("recovered: %+v", it)
		}
		if att, _ := st.Attempts(bg(), "a-f1"); len(att) != 1 || att[0].Status != hq.StatusUnknown || att[0].Code != "interrupted" {
			t.Fatalf("recovered attempt: %+v", att)
		}
		if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: "a-f1", Owner: "A", Attempt: 1, At: t0.Add(3 * time.Minute), Status: hq.StatusSent}); !errors.Is(err, hq.ErrLeaseLost) {
			t.Fatalf("the late owner's result: %v, want ErrLeaseLost (the recovery's verdict stands)", err)
		}
		if got := claim(t, st, "B", t0.Add(3*time.Minute), 10); !slices.Equal(got, []string{"b-f1"}) {
			t.Fatalf("after recovery B claims %v, want only b-f1 (unknown is never resent)", got)
		}
		if n, _ := st.RecoverExpired(bg(), t0.Add(time.Hour), "interrupted", reason); n != 0 {
			t.Fatalf("second recovery: %d", n)
		}
		if a := auditActions(t, st); a["followup.send_result"] != 1 {
			t.Fatalf("recovery audit: %v", a)
		}
	})
	t.Run("Resolve", func(t *testing.T) {
		st := open(t)
		schedule(t, st, t0, visit("a", "S001", "P01", t0.Add(-24*time.Hour), true), visit("b", "S001", "P01", t0.Add(-24*time.Hour), true))
		claim(t, st, "A", t0, 10)
		for i, id := range []string{"a-f1", "b-f1"} {
			if _, err := start(st, id, "A", t0); err != nil {
				t.Fatal(err)
			}
			if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: id, Owner: "A", Attempt: 1, At: t0, Status: hq.StatusUnknown, Reason: fmt.Sprint("timeout ", i)}); err != nil {
				t.Fatal(err)
			}
		}
		at := t0.Add(time.Hour)
		if err := st.Resolve(bg(), hq.Resolution{ID: "a-f1", Sent: true, At: at, Code: "resolved", Reason: "resolved by admin: sent"}); err != nil {
			t.Fatal(err)
		}
		if err := st.Resolve(bg(), hq.Resolution{ID: "b-f1", Sent: false, At: at, Reason: "resolved by admin: resend",
			Audit: []hq.AuditEntry{{At: at, Actor: "admin", Action: "followup.resolve"}}}); err != nil {
			t.Fatal(err)
		}
		if it := status(t, st, "a-f1"); it.Status != hq.StatusSent || !it.SentAt.Equal(at) || it.LastReason != "resolved by admin: sent" || it.LastCode != "resolved" {
			t.Fatalf("resolved sent: %+v", it)
		}
		if it := status(t, st, "b-f1"); it.Status != hq.StatusScheduled || !it.NextAt.Equal(at) {
			t.Fatalf("resolved resend: %+v", it)
		}
		if got := claim(t, st, "A", at, 10); !slices.Equal(got, []string{"b-f1"}) {
			t.Fatalf("after resolve: %v", got)
		}
		if err := st.Resolve(bg(), hq.Resolution{ID: "a-f1", Sent: true, At: at}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("resolving a sent follow-up: %v", err)
		}
		if err := st.Resolve(bg(), hq.Resolution{ID: "zz", Sent: true, At: at}); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("resolving an unknown id: %v", err)
		}
		if a := auditActions(t, st); a["followup.resolve"] != 1 {
			t.Fatalf("audit %v", a)
		}
	})
	t.Run("UnopenedEscalatedAndDay", func(t *testing.T) {
		st := open(t)
		day := t0.Add(-24 * time.Hour)
		schedule(t, st, t0, visit("notsent", "S001", "P01", day, true), visit("sent", "S001", "P01", day, true),
			visit("opened", "S001", "P01", day, true), visit("other", "S002", "P05", day, true))
		schedule(t, st, t0.Add(48*time.Hour), visit("later", "S001", "P01", day, true))
		for _, id := range []string{"sent-f1", "opened-f1"} {
			if _, err := st.ClaimDue(bg(), hq.Claim{Owner: "A", Now: t0, Lease: time.Minute, Limit: 10}); err != nil {
				t.Fatal(err)
			}
			if _, err := start(st, id, "A", t0); err != nil {
				t.Fatal(err)
			}
			if err := st.FinishAttempt(bg(), hq.AttemptResult{ID: id, Owner: "A", Attempt: 1, At: t0, Status: hq.StatusSent}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.OpenLink(bg(), hq.LinkOpen{ID: "opened-f1", At: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		unopened := func(q hq.UnopenedQuery) []string {
			t.Helper()
			its, err := st.Unopened(bg(), q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range its {
				out = append(out, it.FollowUp.ID)
			}
			sort.Strings(out)
			return out
		}
		if got := unopened(hq.UnopenedQuery{DueBefore: t0, SentBefore: t0}); !slices.Equal(got, []string{"notsent-f1", "other-f1", "sent-f1"}) {
			t.Fatalf("due and sent by t0: %v", got)
		}
		if got := unopened(hq.UnopenedQuery{StoreID: "S001", DueBefore: t0, SentBefore: t0.Add(-time.Second)}); !slices.Equal(got, []string{"notsent-f1"}) {
			t.Fatalf("S001, sent before t0: %v", got)
		}
		if got := unopened(hq.UnopenedQuery{DueBefore: t0.Add(48 * time.Hour)}); !slices.Equal(got, []string{"later-f1", "notsent-f1", "other-f1"}) {
			t.Fatalf("due within 48 h, nothing sent: %v", got)
		}
		if err := st.MarkEscalated(bg(), []string{"notsent-f1", "zz"}, t0, []hq.AuditEntry{{At: t0, Actor: "hq", Action: "followup.escalate"}}); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkEscalated(bg(), []string{"notsent-f1"}, t0.Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		if it := status(t, st, "notsent-f1"); !it.EscalatedAt.Equal(t0) {
			t.Fatalf("escalated at %v, want the first mark %v", it.EscalatedAt, t0)
		}
		stats, err := st.FollowUpDay(bg(), day0)
		if err != nil {
			t.Fatal(err)
		}
		if s := stats["S001"]; s != (hq.FollowUpDayStats{Due: 3, Sent: 2, Opened: 1}) {
			t.Fatalf("S001 on day0: %+v", s)
		}
		if s, ok := stats["S002"]; !ok || s.Due != 1 {
			t.Fatalf("S002 on day0: %+v %v", s, ok)
		}
		stats, _ = st.FollowUpDay(bg(), day0+5)
		if s, ok := stats["S001"]; !ok || s != (hq.FollowUpDayStats{}) || len(stats) != 2 {
			t.Fatalf("a day without follow-ups: %+v (want every store with follow-ups, zero counts)", stats)
		}
	})
}
