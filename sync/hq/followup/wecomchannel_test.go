package followup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/hq/wecom/wecomtest"
)

func wecomSetup(t *testing.T, clk *clock) (*boltstore.Store, *wecomtest.Server, *Dispatcher) {
	t.Helper()
	st, _ := newTestStore(t)
	srv := wecomtest.New("corp", "sec")
	t.Cleanup(srv.Close)
	client, err := wecom.NewClient(wecom.Config{BaseURL: srv.URL, CorpID: "corp", CorpSecret: "sec", Now: clk.Now,
		HTTP: wecom.HTTPConfig{Timeout: 2 * time.Second, RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Logger: quiet()}})
	if err != nil {
		t.Fatal(err)
	}
	ch := Mux{"wecom": &WeComChannel{Client: client, Contacts: st, RateLimit: 15 * time.Minute}}
	return st, srv, newDispatcher(t, st, ch, clk)
}

func TestWeComChannelThroughDispatcher(t *testing.T) {
	clk := newClock()
	st, srv, d := wecomSetup(t, clk)
	ctx := context.Background()
	for _, id := range []string{"V1", "V2"} {
		mustEnqueue(t, st, visit(id, "S001", "P01", clk.Now(), true))
	}
	noContact := visit("V3", "S002", "P05", clk.Now(), true)
	mustEnqueue(t, st, noContact)
	if err := bindContact(ctx, st, hq.Contact{StoreID: "S001", CustomerKey: testCustomerKey, Sender: "staff01", ExternalUserID: "wmEXT1"}); err != nil {
		t.Fatal(err)
	}
	srv.QueueSendCodes(wecom.CodeRateLimited) // V1's first attempt: frequency limit
	_, _ = d.DispatchDue(ctx)

	v1 := get(t, st, "S001:V1-f1")
	v2 := get(t, st, "S001:V2-f1")
	v3 := get(t, st, "S002:V3-f1")
	if v1.Status != hq.StatusScheduled || !v1.NextAt.Equal(clk.Now().Add(15*time.Minute)) || !strings.Contains(v1.LastReason, "45009") {
		t.Fatalf("V1 after 45009: %+v", v1)
	}
	if v2.Status != hq.StatusSent {
		t.Fatalf("V2: %+v", v2)
	}
	if v3.Status != hq.StatusFailed || !strings.Contains(v3.LastReason, "no WeCom contact") {
		t.Fatalf("V3: %+v", v3)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].ExternalUserID[0] != "wmEXT1" || msgs[0].Sender != "staff01" ||
		!strings.Contains(msgs[0].LinkURL, "http://hq.test/f/") || !strings.Contains(msgs[0].Text, "降压药") {
		t.Fatalf("WeCom got %+v", msgs)
	}
	if strings.Contains(msgs[0].Text+msgs[0].LinkURL, testCustomerKey) {
		t.Fatal("customer key sent to WeCom")
	}
	// The token expires at WeCom (42001): the client refreshes and the retry goes out.
	srv.ExpireTokens()
	clk.Add(15 * time.Minute)
	_, _ = d.DispatchDue(ctx)
	v1 = get(t, st, "S001:V1-f1")
	if v1.Status != hq.StatusSent || v1.Attempts != 2 || srv.TokensIssued() != 2 {
		t.Fatalf("V1 after retry: %+v tokens=%d", v1, srv.TokensIssued())
	}
	att, _ := st.Attempts(ctx, "S001:V1-f1")
	if len(att) != 2 || att[0].Status != SendRetry || att[1].Status != hq.StatusSent || att[1].MsgID == "" {
		t.Fatalf("attempts %+v", att)
	}
}

func TestWeComFailuresRecorded(t *testing.T) {
	clk := newClock()
	st, srv, d := wecomSetup(t, clk)
	ctx := context.Background()
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	_ = bindContact(ctx, st, hq.Contact{StoreID: "S001", CustomerKey: testCustomerKey, Sender: "staff01", ExternalUserID: "wmEXT1"})
	srv.QueueSendCodes(41001)
	_, _ = d.DispatchDue(ctx)
	it := get(t, st, "S001:V1-f1")
	if it.Status != hq.StatusFailed || !strings.Contains(it.LastReason, "41001") {
		t.Fatalf("%+v", it)
	}
	// WeCom unreachable: certainly not delivered → retried later, not unknown.
	mustEnqueue(t, st, visit("V2", "S001", "P01", clk.Now(), true))
	srv.Close()
	_, _ = d.DispatchDue(ctx)
	it = get(t, st, "S001:V2-f1")
	if it.Status != hq.StatusScheduled || it.Attempts != 1 {
		t.Fatalf("WeCom down: %+v", it)
	}
}
