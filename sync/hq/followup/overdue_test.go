package followup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/hq/wecom/wecomtest"
)

func TestOverdueRule(t *testing.T) {
	due := newClock().Now()
	r := OverdueRule{}
	it := hq.FollowUpItem{}
	it.FollowUp.DueAt = due
	if _, _, over := r.Check(it, due.Add(2*time.Hour-time.Second)); over {
		t.Fatal("overdue before 2 h")
	}
	if reason, since, over := r.Check(it, due.Add(2*time.Hour)); !over || reason != OverdueNotSent || !since.Equal(due.Add(2*time.Hour)) {
		t.Fatalf("at 2 h: %v %v %v", reason, since, over)
	}
	it.SentAt = due.Add(time.Hour)
	if _, _, over := r.Check(it, due.Add(72*time.Hour)); over {
		t.Fatal("sent item overdue before 72 h after the send")
	}
	if reason, _, over := r.Check(it, due.Add(73*time.Hour)); !over || reason != OverdueNotOpened {
		t.Fatalf("not opened: %v %v", reason, over)
	}
	it.OpenedAt = due.Add(80 * time.Hour)
	if _, _, over := r.Check(it, due.Add(100*time.Hour)); over {
		t.Fatal("opened item overdue")
	}
}

func TestFollowupsHandlerAuthAndRows(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	ctx := context.Background()
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	mustEnqueue(t, st, visit("V2", "S002", "P07", clk.Now(), true))
	mustEnqueue(t, st, visit("V3", "S001", "P01", clk.Now().Add(10*time.Hour), true))
	clk.Add(3 * time.Hour)
	callers := map[string]Caller{"admin": {Admin: true}, "s1": {StoreID: "S001"}}
	h := FollowupsHandler(st, func(r *http.Request) (Caller, bool) {
		c, ok := callers[r.Header.Get("X-Test-Caller")]
		return c, ok
	}, clk.Now)
	call := func(caller, query string) (int, FollowupsResponse) {
		r := httptest.NewRequest("GET", "/api/v1/followups?"+query, nil)
		r.Header.Set("X-Test-Caller", caller)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out FollowupsResponse
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, out := call("admin", "status=overdue"); code != 200 || len(out.Rows) != 2 {
		t.Fatalf("admin all: %d %+v", code, out)
	}
	if code, out := call("admin", "status=overdue&store_id=S002"); code != 200 || len(out.Rows) != 1 || out.Rows[0].PharmacistID != "P07" {
		t.Fatalf("admin S002: %d %+v", code, out)
	}
	if code, out := call("s1", "status=overdue"); code != 200 || len(out.Rows) != 1 || out.Rows[0].FollowUpID != "S001:V1-f1" || out.Rows[0].Reason != OverdueNotSent {
		t.Fatalf("store own: %d %+v", code, out)
	}
	if code, _ := call("s1", "status=overdue&store_id=S002"); code != http.StatusForbidden {
		t.Fatalf("store reading another: %d", code)
	}
	if code, _ := call("nobody", "status=overdue"); code != http.StatusUnauthorized {
		t.Fatalf("no caller: %d", code)
	}
	if code, _ := call("admin", "status=open"); code != http.StatusBadRequest {
		t.Fatalf("bad status: %d", code)
	}
	r := httptest.NewRequest("GET", "/api/v1/followups?status=overdue", nil)
	r.Header.Set("X-Test-Caller", "admin")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if strings.Contains(w.Body.String(), testCustomerKey) {
		t.Fatal("overdue report carries the customer key")
	}
	_ = ctx
}

func TestEscalationAndDailySummaryToRobot(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock() // 10:00 Shanghai
	ctx := context.Background()
	srv := wecomtest.New("corp", "sec")
	defer srv.Close()
	robot, err := wecom.NewRobot(wecom.RobotConfig{BaseURL: srv.URL, Now: clk.Now,
		HTTP: wecom.HTTPConfig{Timeout: 2 * time.Second, RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond, Logger: quiet()}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDispatcher(st, &recChannel{result: func(int) (SendResult, error) {
		return SendResult{Status: SendRetry, Reason: "wecom down"}, nil
	}}, DispatcherConfig{LinkBase: "http://hq.test", Signer: testSigner(t), Logger: quiet(), Now: clk.Now,
		Notifier: &RobotNotifier{Robot: robot, Keys: map[string]string{"S001": "key-s1"}, Logger: quiet()}})
	if err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	if err := d.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.RobotMessages()); n != 0 {
		t.Fatalf("notices before anything is overdue: %d", n)
	}
	clk.Add(2 * time.Hour) // 12:00: V1 not sent within 2 h
	_ = d.Tick(ctx)
	clk.Add(time.Minute) // next overdue scan: already escalated, nothing new
	_ = d.Tick(ctx)
	msgs := srv.RobotMessages()
	if len(msgs) != 1 || msgs[0].Key != "key-s1" || !strings.Contains(msgs[0].Content, "S001:V1-f1") || !strings.Contains(msgs[0].Content, "未确认发送") {
		t.Fatalf("escalation (once): %+v", msgs)
	}
	clk.Add(8 * time.Hour) // 20:01: daily summary
	_ = d.Tick(ctx)
	clk.Add(time.Minute) // the next check finds it posted
	_ = d.Tick(ctx)
	msgs = srv.RobotMessages()
	if len(msgs) != 2 || !strings.Contains(msgs[1].Content, "随访日报") || !strings.Contains(msgs[1].Content, "逾期随访 1 条") ||
		!strings.Contains(msgs[1].Content, "今日到期 1") {
		t.Fatalf("daily summary (once): %+v", msgs)
	}
	if txt, err := DailySummary(ctx, st, OverdueRule{}, "S002", clk.Now()); err != nil || !strings.Contains(txt, "今日到期 0") || !strings.Contains(txt, "逾期随访 0 条") {
		t.Fatalf("summary of a store without follow-ups: %q %v", txt, err)
	}
	if strings.Contains(msgs[0].Content+msgs[1].Content, testCustomerKey) {
		t.Fatal("notice carries the customer key")
	}
}
