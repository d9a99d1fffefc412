package wecom_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/hq/wecom/wecomtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func fastHTTP() wecom.HTTPConfig {
	return wecom.HTTPConfig{Timeout: 2 * time.Second, RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Logger: quiet()}
}

func newClient(t *testing.T, srv *wecomtest.Server, clk *clock) *wecom.Client {
	t.Helper()
	c, err := wecom.NewClient(wecom.Config{BaseURL: srv.URL, CorpID: "corp", CorpSecret: "sec", HTTP: fastHTTP(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var msg = wecom.MsgTemplate{Sender: "staff01", ExternalUserID: "wmEXT1", Text: "请按时服药",
	Link: wecom.Link{Title: "复诊", URL: "https://hq.example/f/abc"}}

func TestTokenCachedAndRefreshedBeforeExpiry(t *testing.T) {
	srv := wecomtest.New("corp", "sec")
	defer srv.Close()
	clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	c := newClient(t, srv, clk)
	ctx := context.Background()
	for range 3 {
		if _, err := c.AddMsgTemplate(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.TokensIssued(); n != 1 {
		t.Fatalf("token fetched %d times for 3 sends, want 1 (cached)", n)
	}
	clk.Add(7200*time.Second - 5*time.Minute - time.Second)
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.TokensIssued(); n != 1 {
		t.Fatalf("token refreshed too early (%d fetches)", n)
	}
	clk.Add(2 * time.Second) // 7200 s − 5 min + 1 s: still valid at WeCom, but inside the margin
	tok, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.TokensIssued(); n != 2 || tok != "tok-2" {
		t.Fatalf("token not refreshed before expiry: fetches=%d token=%s", n, tok)
	}
	if got := srv.Messages(); len(got) != 3 || got[0].LinkURL != msg.Link.URL || got[0].Sender != "staff01" || got[0].ExternalUserID[0] != "wmEXT1" {
		t.Fatalf("messages at fake: %+v", got)
	}
}

func TestTokenRefreshedOn42001And40014(t *testing.T) {
	for _, code := range []int{wecom.CodeTokenExpired, wecom.CodeInvalidToken} {
		srv := wecomtest.New("corp", "sec")
		clk := &clock{t: time.Now()}
		c := newClient(t, srv, clk)
		if _, err := c.AddMsgTemplate(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		srv.QueueSendCodes(code)
		id, err := c.AddMsgTemplate(context.Background(), msg)
		if err != nil {
			t.Fatalf("errcode %d: %v", code, err)
		}
		if id == "" || srv.TokensIssued() != 2 || srv.SendCalls() != 3 || len(srv.Messages()) != 2 {
			t.Fatalf("errcode %d: msgid=%q tokens=%d calls=%d msgs=%d", code, id, srv.TokensIssued(), srv.SendCalls(), len(srv.Messages()))
		}
		srv.Close()
	}
}

func TestRateLimitAndFailures(t *testing.T) {
	srv := wecomtest.New("corp", "sec")
	defer srv.Close()
	c := newClient(t, srv, &clock{t: time.Now()})
	srv.QueueSendCodes(wecom.CodeRateLimited, 41001)
	_, err := c.AddMsgTemplate(context.Background(), msg)
	if !wecom.IsRateLimited(err) {
		t.Fatalf("45009: got %v", err)
	}
	_, err = c.AddMsgTemplate(context.Background(), msg)
	var ae *wecom.APIError
	if !errors.As(err, &ae) || ae.Code != 41001 || wecom.IsRateLimited(err) {
		t.Fatalf("41001: got %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("failed sends were recorded as messages")
	}
	bad, err := wecom.NewClient(wecom.Config{BaseURL: srv.URL, CorpID: "corp", CorpSecret: "wrong", HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.AddMsgTemplate(context.Background(), msg); !errors.Is(err, wecom.ErrToken) {
		t.Fatalf("bad secret: want ErrToken, got %v", err)
	}
}

func TestNotDeliveredWhenServerDown(t *testing.T) {
	srv := wecomtest.New("corp", "sec")
	c := newClient(t, srv, &clock{t: time.Now()})
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	_, err := c.AddMsgTemplate(context.Background(), msg)
	if !errors.Is(err, wecom.ErrNotDelivered) {
		t.Fatalf("want ErrNotDelivered, got %v", err)
	}
}

func TestRobotThrottleAndErrors(t *testing.T) {
	srv := wecomtest.New("corp", "sec")
	defer srv.Close()
	clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	var slept []time.Duration
	r, err := wecom.NewRobot(wecom.RobotConfig{BaseURL: srv.URL, HTTP: fastHTTP(), Now: clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error { slept = append(slept, d); clk.Add(d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 20 {
		clk.Add(time.Second)
		if err := r.Text(ctx, "k1", "notice", "@all"); err != nil {
			t.Fatalf("msg %d: %v", i, err)
		}
	}
	if len(slept) != 0 {
		t.Fatalf("throttled within the first 20: %v", slept)
	}
	if err := r.Markdown(ctx, "k2", "**other robot**"); err != nil || len(slept) != 0 {
		t.Fatalf("another key must not be throttled by k1: err=%v slept=%v", err, slept)
	}
	if err := r.Text(ctx, "k1", "21st"); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 1 || slept[0] != 41*time.Second {
		t.Fatalf("21st message: slept %v, want one wait of 41s (first send at +1s, now +20s)", slept)
	}
	if n := len(srv.RobotMessages()); n != 22 {
		t.Fatalf("robot messages at fake: %d, want 22", n)
	}
	var ae *wecom.APIError
	if err := r.Text(ctx, "bad", "x"); !errors.As(err, &ae) || ae.Code != wecom.CodeBadWebhookKey {
		t.Fatalf("bad key: %v", err)
	}
	srv.QueueRobotCodes(wecom.CodeRateLimited)
	if err := r.Text(ctx, "k3", "x"); !wecom.IsRateLimited(err) {
		t.Fatalf("robot 45009: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	blocked, _ := wecom.NewRobot(wecom.RobotConfig{BaseURL: srv.URL, HTTP: fastHTTP(), PerMinute: 1})
	_ = blocked.Text(ctx, "k4", "one")
	if err := blocked.Text(cctx, "k4", "two"); !errors.Is(err, context.Canceled) {
		t.Fatalf("throttled send must stop with ctx: %v", err)
	}
}

func TestTruncateUTF8(t *testing.T) {
	s := strings.Repeat("用药", 1000) // 6000 bytes
	got := wecom.TruncateUTF8(s, wecom.RobotTextMax)
	if len(got) > wecom.RobotTextMax || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Fatalf("len=%d valid=%v", len(got), utf8.ValidString(got))
	}
	if wecom.TruncateUTF8("短", 10) != "短" {
		t.Fatal("short string changed")
	}
}
