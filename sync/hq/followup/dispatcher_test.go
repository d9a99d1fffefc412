package followup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

func newDispatcher(t *testing.T, st DispatchStore, ch Channel, clk *clock) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(st, ch, DispatcherConfig{Interval: 10 * time.Millisecond, LinkBase: "http://hq.test/",
		Signer: testSigner(t), Logger: quiet(), Now: clk.Now, RetryDelay: time.Minute, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDispatchSendsOnlyDueAndRecordsAttempts(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	ctx := context.Background()
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	mustEnqueue(t, st, visit("V2", "S001", "P01", clk.Now().Add(time.Hour), true))
	ch := &recChannel{}
	d := newDispatcher(t, st, ch, clk)
	if n, err := d.DispatchDue(ctx); err != nil || n != 1 {
		t.Fatalf("dispatch: n=%d err=%v", n, err)
	}
	if got := ch.Calls(); len(got) != 1 || got[0] != "S001:V1-f1" {
		t.Fatalf("calls %v", got)
	}
	link := ch.links[0]
	if !strings.HasPrefix(link, "http://hq.test/f/") {
		t.Fatalf("link %q", link)
	}
	id, _, err := testSigner(t).Verify(strings.TrimPrefix(link, "http://hq.test/f/"), clk.Now())
	if err != nil || id != "S001:V1-f1" {
		t.Fatalf("link token: %q %v", id, err)
	}
	it := get(t, st, "S001:V1-f1")
	if it.Status != hq.StatusSent || !it.SentAt.Equal(clk.Now()) || it.Attempts != 1 {
		t.Fatalf("item %+v", it)
	}
	att, _ := st.Attempts(ctx, "S001:V1-f1")
	if len(att) != 1 || att[0].Status != hq.StatusSent || att[0].MsgID != "m" {
		t.Fatalf("attempts %+v", att)
	}
	// Nothing more is due; a second round sends nothing.
	if n, _ := d.DispatchDue(ctx); n != 0 || len(ch.Calls()) != 1 {
		t.Fatalf("resent: n=%d calls=%v", n, ch.Calls())
	}
	clk.Add(time.Hour)
	if n, _ := d.DispatchDue(ctx); n != 1 || len(ch.Calls()) != 2 {
		t.Fatalf("V2 at its due time: n=%d calls=%v", n, ch.Calls())
	}
	acts := map[string]int{}
	entries := auditLog(st, "hq")
	for _, e := range entries {
		acts[e.Action]++
	}
	if acts["token.create"] != 2 || acts["followup.send_attempt"] != 2 || acts["followup.send_result"] != 2 {
		t.Fatalf("audit actions %v", acts)
	}
}

// Due follow-ups live in the bbolt file: closing HQ and opening the file again, a new
// dispatcher sends them.
func TestRestartSendsDueFollowUps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hq.db")
	clk := newClock()
	st := openStore(t, path)
	for _, id := range []string{"V1", "V2", "V3"} {
		mustEnqueue(t, st, visit(id, "S001", "P01", clk.Now().Add(24*time.Hour), true))
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Add(25 * time.Hour)
	st2 := openStore(t, path)
	defer st2.Close()
	ch := &recChannel{}
	d := newDispatcher(t, st2, ch, clk)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(ch.Calls()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if got := ch.Calls(); len(got) != 3 {
		t.Fatalf("after restart sent %v, want 3", got)
	}
	for _, id := range []string{"S001:V1-f1", "S001:V2-f1", "S001:V3-f1"} {
		if it := get(t, st2, id); it.Status != hq.StatusSent {
			t.Fatalf("%s: %s", id, it.Status)
		}
	}
}

// HQ crashes while the channel is sending: the database as it is on disk at that
// moment (the attempt committed, the result not) is opened by a new HQ, which must not
// send again but, once the crashed owner's lease has run out, mark the follow-up
// "unknown".
func TestCrashMidSendIsNotResent(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	ctx := context.Background()
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	snap := filepath.Join(t.TempDir(), "crash.db")
	ch := &recChannel{during: func() {
		f, err := os.Create(snap)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if _, err := st.Backup(ctx, f, nil); err != nil {
			t.Error(err)
		}
	}}
	if _, err := newDispatcher(t, st, ch, clk).DispatchDue(ctx); err != nil {
		t.Fatal(err)
	}
	st2 := openStore(t, snap)
	defer st2.Close()
	it := get(t, st2, "S001:V1-f1")
	if it.Status != hq.StatusSending {
		t.Fatalf("snapshot status %q, want sending (attempt recorded before the send)", it.Status)
	}
	ch2 := &recChannel{}
	d2 := newDispatcher(t, st2, ch2, clk)
	rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_ = d2.Run(rctx)
	if it := get(t, st2, "S001:V1-f1"); it.Status != hq.StatusSending {
		t.Fatalf("a send under a live lease was settled at start-up: %+v (another HQ process may still be sending it)", it)
	}
	clk.Add(48 * time.Hour)
	if _, err := d2.DispatchDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ch2.Calls()) != 0 {
		t.Fatalf("follow-up resent after crash: %v", ch2.Calls())
	}
	it = get(t, st2, "S001:V1-f1")
	if it.Status != hq.StatusUnknown || !strings.Contains(it.LastReason, "check") {
		t.Fatalf("after restart: %+v", it)
	}
	att, _ := st2.Attempts(ctx, "S001:V1-f1")
	if len(att) != 1 || att[0].Status != hq.StatusUnknown {
		t.Fatalf("attempts: %+v", att)
	}
	// It shows up as overdue (not confirmed sent) for a person to check.
	rows, _ := Overdue(ctx, st2, OverdueRule{}, "S001", clk.Now())
	if len(rows) != 1 || rows[0].Reason != OverdueNotSent || rows[0].Status != hq.StatusUnknown {
		t.Fatalf("overdue: %+v", rows)
	}
}

func TestRetryLaterThenGiveUp(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	ctx := context.Background()
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	ch := &recChannel{result: func(n int) (SendResult, error) {
		return SendResult{Status: SendRetry, Reason: "wecom errcode 45009"}, nil
	}}
	d := newDispatcher(t, st, ch, clk)
	_, _ = d.DispatchDue(ctx)
	it := get(t, st, "S001:V1-f1")
	if it.Status != hq.StatusScheduled || !it.NextAt.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("after retry-later: %+v", it)
	}
	_, _ = d.DispatchDue(ctx) // too early
	if len(ch.Calls()) != 1 {
		t.Fatalf("retried before the delay: %v", ch.Calls())
	}
	clk.Add(time.Minute)
	_, _ = d.DispatchDue(ctx)
	clk.Add(time.Minute)
	_, _ = d.DispatchDue(ctx)
	it = get(t, st, "S001:V1-f1")
	if len(ch.Calls()) != 3 || it.Status != hq.StatusFailed || !strings.Contains(it.LastReason, "gave up after 3") {
		t.Fatalf("calls=%d item=%+v", len(ch.Calls()), it)
	}
	clk.Add(time.Hour)
	_, _ = d.DispatchDue(ctx)
	if len(ch.Calls()) != 3 {
		t.Fatal("failed follow-up sent again")
	}
}

func TestAmbiguousErrorAndRefusal(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	ctx := context.Background()
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	mustEnqueue(t, st, visit("V2", "S001", "P01", clk.Now(), true))
	ch := &recChannel{result: func(n int) (SendResult, error) {
		if n == 1 {
			return SendResult{}, errors.New("connection reset after request was written")
		}
		return SendResult{Status: SendFailed, Reason: "wecom errcode 41001: missing or bad fields"}, nil
	}}
	d := newDispatcher(t, st, ch, clk)
	_, _ = d.DispatchDue(ctx)
	a := get(t, st, "S001:V1-f1")
	b := get(t, st, "S001:V2-f1")
	if a.Status != hq.StatusUnknown || b.Status != hq.StatusFailed || !strings.Contains(b.LastReason, "41001") {
		t.Fatalf("V1 %+v\nV2 %+v", a, b)
	}
	clk.Add(time.Hour)
	_, _ = d.DispatchDue(ctx)
	if len(ch.Calls()) != 2 {
		t.Fatalf("resent: %v", ch.Calls())
	}
}

func TestEarlySendingForDemos(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now().Add(24*time.Hour), true))
	mustEnqueue(t, st, visit("V2", "S001", "P01", clk.Now().Add(25*time.Hour), true))
	ch := &recChannel{}
	d, err := NewDispatcher(st, ch, DispatcherConfig{LinkBase: "http://hq.test", Signer: testSigner(t), Logger: quiet(), Now: clk.Now, Early: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := d.DispatchDue(context.Background()); n != 1 || ch.Calls()[0] != "S001:V1-f1" {
		t.Fatalf("early send: n=%d calls=%v", n, ch.Calls())
	}
}

func TestResolveUnknown(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	ctx := context.Background()
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	mustEnqueue(t, st, visit("V2", "S001", "P01", clk.Now(), true))
	ch := &recChannel{result: func(n int) (SendResult, error) {
		if n <= 2 {
			return SendResult{}, errors.New("timeout after write")
		}
		return SendResult{Status: SendOK}, nil
	}}
	d := newDispatcher(t, st, ch, clk)
	_, _ = d.DispatchDue(ctx)
	if err := Resolve(ctx, st, "S001:V1-f1", "admin", true, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := Resolve(ctx, st, "S001:V2-f1", "admin", false, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := Resolve(ctx, st, "S001:V1-f1", "admin", true, clk.Now()); !errors.Is(err, hq.ErrInvalid) {
		t.Fatalf("resolving a sent follow-up: %v", err)
	}
	_, _ = d.DispatchDue(ctx)
	a := get(t, st, "S001:V1-f1")
	b := get(t, st, "S001:V2-f1")
	if a.Status != hq.StatusSent || b.Status != hq.StatusSent || b.Attempts != 2 || len(ch.Calls()) != 3 {
		t.Fatalf("V1 %+v\nV2 %+v\ncalls %v", a, b, ch.Calls())
	}
}

// A follow-up that reaches HQ long after its due time (the store PC was off for days) is
// not sent but marked failed and reported overdue.
func TestTooLateIsNotSent(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	ctx := context.Background()
	mustEnqueue(t, st, visit("OLD", "S001", "P01", clk.Now().Add(-4*24*time.Hour), true))
	mustEnqueue(t, st, visit("LATE", "S001", "P01", clk.Now().Add(-48*time.Hour), true))
	ch := &recChannel{}
	d := newDispatcher(t, st, ch, clk)
	if _, err := d.DispatchDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ch.Calls(); len(got) != 1 || got[0] != "S001:LATE-f1" {
		t.Fatalf("calls %v: want only the follow-up within the 72 h window", got)
	}
	it := get(t, st, "S001:OLD-f1")
	if it.Status != hq.StatusFailed || !strings.Contains(it.LastReason, "too late") {
		t.Fatalf("old follow-up: %+v", it)
	}
	rows, err := Overdue(ctx, st, OverdueRule{}, "S001", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		found = found || r.FollowUpID == "S001:OLD-f1"
	}
	if !found {
		t.Fatalf("a follow-up too late to send is not reported overdue: %+v", rows)
	}
}
