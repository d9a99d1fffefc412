package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Group robot limits (WeCom documentation).
const (
	RobotPerMinute   = 20
	RobotTextMax     = 2048 // bytes of UTF-8
	RobotMarkdownMax = 4096
)

// RobotConfig configures group-robot webhooks.
type RobotConfig struct {
	BaseURL string // default DefaultBaseURL
	HTTP    HTTPConfig
	// PerMinute caps messages per robot key in any 60 s window (default and maximum 20).
	PerMinute int
	Now       func() time.Time                                 // default time.Now
	Sleep     func(ctx context.Context, d time.Duration) error // default: timer honouring ctx
}

// Robot posts to group robots (store staff groups). Each key is throttled on its own to
// at most PerMinute messages per sliding minute: Send waits (honouring ctx) rather than
// earn a 45009. Safe for concurrent use.
type Robot struct {
	cfg  RobotConfig
	red  *redactor
	post *retryablehttp.Client
	mu   sync.Mutex
	sent map[string][]time.Time // key → send times within the last minute, oldest first
}

// NewRobot builds a robot client.
func NewRobot(cfg RobotConfig) (*Robot, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("wecom robot: base url: %w", err)
	}
	if cfg.PerMinute <= 0 || cfg.PerMinute > RobotPerMinute {
		cfg.PerMinute = RobotPerMinute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	cfg.HTTP = cfg.HTTP.withDefaults()
	red := &redactor{}
	return &Robot{cfg: cfg, red: red, post: newHTTP(cfg.HTTP, false, red), sent: map[string][]time.Time{}}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reserve blocks until key may send and records the send time.
func (r *Robot) reserve(ctx context.Context, key string) error {
	for {
		r.mu.Lock()
		now := r.cfg.Now()
		win := r.sent[key]
		for len(win) > 0 && !now.Before(win[0].Add(time.Minute)) {
			win = win[1:]
		}
		if len(win) < r.cfg.PerMinute {
			r.sent[key] = append(win, now)
			r.mu.Unlock()
			return nil
		}
		wait := win[0].Add(time.Minute).Sub(now)
		r.sent[key] = win
		r.mu.Unlock()
		if err := r.cfg.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("wecom robot: throttled: %w", err)
		}
	}
}

// Text posts a text message (cut to 2048 bytes), mentioning userids in mention.
func (r *Robot) Text(ctx context.Context, key, content string, mention ...string) error {
	msg := map[string]any{"msgtype": "text", "text": map[string]any{
		"content": TruncateUTF8(content, RobotTextMax), "mentioned_list": mention}}
	return r.send(ctx, key, msg)
}

// Markdown posts a markdown message (cut to 4096 bytes).
func (r *Robot) Markdown(ctx context.Context, key, content string) error {
	msg := map[string]any{"msgtype": "markdown", "markdown": map[string]any{
		"content": TruncateUTF8(content, RobotMarkdownMax)}}
	return r.send(ctx, key, msg)
}

func (r *Robot) send(ctx context.Context, key string, msg any) error {
	if key == "" {
		return &Error{Code: ReasonRequest, Msg: "robot: empty webhook key"}
	}
	r.red.add(key)
	if err := r.reserve(ctx, key); err != nil {
		return r.red.wrap("robot", err)
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return r.red.wrap("robot: encode", err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost,
		r.cfg.BaseURL+"/cgi-bin/webhook/send?key="+url.QueryEscape(key), bytes.NewReader(data))
	if err != nil {
		return r.red.wrap("robot", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var out errResp
	if err := do(r.post, r.red, req, &out); err != nil {
		return r.red.wrap("robot", err)
	}
	return r.red.wrap("robot", out.err(r.red, req.URL.Path))
}
