// Package wecom is a small client for the two WeCom (企业微信) APIs HQ uses: customer
// contact (gettoken + externalcontact/add_msg_template) to reach customers who added a
// store's staff member as a contact, and the group robot webhook for store staff notices.
// All requests go through go-retryablehttp with a client timeout, jittered backoff and
// slog logging; the base URL is configurable so tests run against a local fake server.
package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// DefaultBaseURL is WeCom's public API host.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

// WeCom error codes this package acts on.
const (
	CodeOK            = 0
	CodeInvalidToken  = 40014 // invalid access_token: refresh and retry once
	CodeTokenExpired  = 42001 // access_token expired: refresh and retry once
	CodeRateLimited   = 45009 // API frequency limit: retry later
	CodeBadWebhookKey = 93000 // invalid webhook key
)

// APIError is a WeCom answer with a non-zero errcode.
type APIError struct {
	Code int
	Msg  string
}

// Error implements error.
func (e *APIError) Error() string { return fmt.Sprintf("wecom errcode %d: %s", e.Code, e.Msg) }

// ErrNotDelivered wraps transport failures after which the request certainly did not
// reach WeCom's application (connection refused, DNS failure, 502/503/504, 429): the
// caller may retry later without risking a duplicate.
const ErrNotDelivered = sentinel("wecom: request not delivered")

// ErrToken wraps failures to obtain an access token: no message was sent.
const ErrToken = sentinel("wecom: no access token")

// IsRateLimited reports whether err is WeCom's 45009 frequency limit.
func IsRateLimited(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == CodeRateLimited
}

// HTTPConfig tunes the retrying HTTP client.
type HTTPConfig struct {
	Timeout      time.Duration // per request; default 10 s
	RetryMax     int           // default 3
	RetryWaitMin time.Duration // default 500 ms
	RetryWaitMax time.Duration // default 30 s; also the clamp for Retry-After
	Logger       *slog.Logger  // default slog.Default()
}

func (c HTTPConfig) withDefaults() HTTPConfig {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 3
	}
	if c.RetryWaitMin <= 0 {
		c.RetryWaitMin = 500 * time.Millisecond
	}
	if c.RetryWaitMax <= 0 {
		c.RetryWaitMax = 30 * time.Second
	}
	if c.RetryWaitMax < c.RetryWaitMin {
		c.RetryWaitMax = c.RetryWaitMin
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// jitterBackoff is exponential backoff with jitter in [d/2, d], honouring Retry-After on
// 429/503 but never waiting longer than max.
func jitterBackoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d := retryablehttp.DefaultBackoff(min, max, attempt, resp); d > 0 && resp.Header.Get("Retry-After") != "" {
			return clamp(d, 0, max)
		}
	}
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	d = clamp(d, min, max)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return max(lo, min(d, hi))
}

// notDelivered reports whether a transport error happened before the request could
// reach the server.
func notDelivered(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func gatewayStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable ||
		code == http.StatusGatewayTimeout || code == http.StatusTooManyRequests
}

// newHTTP builds a retrying client. idempotent requests (GET gettoken) retry on any
// transport error or 5xx; non-idempotent ones (sends) only when the request certainly
// was not delivered, so retries never duplicate a message.
func newHTTP(cfg HTTPConfig, idempotent bool, r *redactor) *retryablehttp.Client {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	rc.Logger = redactingLogger{l: cfg.Logger, r: r}
	rc.RetryMax = cfg.RetryMax
	rc.RetryWaitMin = cfg.RetryWaitMin
	rc.RetryWaitMax = cfg.RetryWaitMax
	rc.Backoff = jitterBackoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if idempotent {
			return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		}
		if err != nil {
			return notDelivered(err), nil
		}
		return gatewayStatus(resp.StatusCode), nil
	}
	return rc
}

// do sends req and decodes a JSON body into out. Every failure comes back as an *Error
// naming only the API path: the request URL (with its secret query) never does.
func do(rc *retryablehttp.Client, r *redactor, req *retryablehttp.Request, out any) error {
	path := req.URL.Path
	resp, err := rc.Do(req)
	if err != nil {
		return r.transportError(path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return r.transportError(path+": read body", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("%s: HTTP %d", path, resp.StatusCode)
		if gatewayStatus(resp.StatusCode) {
			return &Error{Code: ReasonUnreachable, Msg: msg, errs: []error{ErrNotDelivered}}
		}
		return &Error{Code: ReasonHTTPStatus, Msg: msg}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Code: ReasonBadAnswer, Msg: r.scrub(fmt.Sprintf("%s: decode answer: %v", path, err))}
	}
	return nil
}

type errResp struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// err turns a non-zero errcode into an *Error wrapping the *APIError.
func (e errResp) err(r *redactor, path string) error {
	if e.ErrCode == CodeOK {
		return nil
	}
	ae := &APIError{Code: e.ErrCode, Msg: r.scrub(e.ErrMsg)}
	code := ReasonAPI
	if ae.Code == CodeRateLimited {
		code = ReasonRateLimited
	}
	return &Error{Code: code, Msg: path + ": " + ae.Error(), errs: []error{ae}}
}

// tokenError marks an *Error from gettoken as ErrToken (no message was sent).
func tokenError(err error) error {
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Code: ReasonRequest, Msg: "gettoken: request failed"}
	}
	out := *e
	out.errs = append(append([]error(nil), e.errs...), ErrToken)
	return &out
}

// Config configures the customer-contact client.
type Config struct {
	BaseURL    string // default DefaultBaseURL
	CorpID     string
	CorpSecret string
	HTTP       HTTPConfig
	// RefreshBefore: the cached token is replaced this long before expires_in runs out
	// (default 5 min, at most half the lifetime).
	RefreshBefore time.Duration
	Now           func() time.Time // default time.Now
}

// Client talks to the customer-contact API. It caches the access token. Safe for
// concurrent use.
type Client struct {
	cfg     Config
	red     *redactor
	get     *retryablehttp.Client
	post    *retryablehttp.Client
	mu      sync.Mutex
	token   string
	expires time.Time // refresh at or after this instant
}

// NewClient checks cfg and builds a client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.CorpID == "" || cfg.CorpSecret == "" {
		return nil, errors.New("wecom: corp id and corp secret are required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("wecom: base url: %w", err)
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.HTTP = cfg.HTTP.withDefaults()
	red := &redactor{}
	red.add(cfg.CorpSecret)
	return &Client{cfg: cfg, red: red, get: newHTTP(cfg.HTTP, true, red), post: newHTTP(cfg.HTTP, false, red)}, nil
}

// Token returns a valid access token, fetching a new one when the cached one is missing
// or close to expiry.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if c.token != "" && now.Before(c.expires) {
		return c.token, nil
	}
	q := url.Values{"corpid": {c.cfg.CorpID}, "corpsecret": {c.cfg.CorpSecret}}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, c.cfg.BaseURL+"/cgi-bin/gettoken?"+q.Encode(), nil)
	if err != nil {
		return "", tokenError(c.red.wrap("gettoken", err))
	}
	var out struct {
		errResp
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := do(c.get, c.red, req, &out); err != nil {
		return "", tokenError(err)
	}
	if err := out.err(c.red, req.URL.Path); err != nil {
		return "", tokenError(err)
	}
	if out.AccessToken == "" || out.ExpiresIn <= 0 {
		return "", tokenError(&Error{Code: ReasonNoToken, Msg: "gettoken answer without access_token/expires_in"})
	}
	c.red.add(out.AccessToken)
	life := time.Duration(out.ExpiresIn) * time.Second
	c.token = out.AccessToken
	c.expires = now.Add(life - min(c.cfg.RefreshBefore, life/2))
	c.cfg.HTTP.Logger.Debug("wecom access token refreshed", "expires_in", out.ExpiresIn)
	return c.token, nil
}

// invalidate drops the cached token if it is still tok.
func (c *Client) invalidate(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// Link is a link attachment of a message template.
type Link struct {
	Title  string `json:"title"`
	PicURL string `json:"picurl,omitempty"`
	Desc   string `json:"desc,omitempty"`
	URL    string `json:"url"`
}

// MsgTemplate is the add_msg_template request for one external contact.
type MsgTemplate struct {
	Sender         string // staff member's WeCom userid
	ExternalUserID string
	Text           string
	Link           Link
}

type msgTemplateBody struct {
	ChatType       string   `json:"chat_type"`
	ExternalUserID []string `json:"external_userid"`
	Sender         string   `json:"sender"`
	Text           struct {
		Content string `json:"content"`
	} `json:"text"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	MsgType string `json:"msgtype"`
	Link    Link   `json:"link"`
}

// AddMsgTemplate creates a single-chat message task; the staff member confirms the
// send in their WeCom client. It returns WeCom's msgid. A 42001/40014 answer refreshes
// the token and retries once; other errcodes come back as *APIError; a failure listed in
// fail_list is an *APIError too.
func (c *Client) AddMsgTemplate(ctx context.Context, m MsgTemplate) (string, error) {
	body := msgTemplateBody{ChatType: "single", ExternalUserID: []string{m.ExternalUserID}, Sender: m.Sender}
	body.Text.Content = TruncateUTF8(m.Text, 4000)
	body.Attachments = []attachment{{MsgType: "link", Link: m.Link}}
	data, err := json.Marshal(body)
	if err != nil {
		return "", c.red.wrap("add_msg_template: encode", err)
	}
	for try := 0; ; try++ {
		tok, err := c.Token(ctx)
		if err != nil {
			return "", err
		}
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost,
			c.cfg.BaseURL+"/cgi-bin/externalcontact/add_msg_template?access_token="+url.QueryEscape(tok), bytes.NewReader(data))
		if err != nil {
			return "", c.red.wrap("add_msg_template", err)
		}
		req.Header.Set("Content-Type", "application/json")
		var out struct {
			errResp
			MsgID    string   `json:"msgid"`
			FailList []string `json:"fail_list"`
		}
		if err := do(c.post, c.red, req, &out); err != nil {
			return "", err
		}
		if out.ErrCode == CodeTokenExpired || out.ErrCode == CodeInvalidToken {
			c.invalidate(tok)
			if try == 0 {
				continue
			}
		}
		if err := out.err(c.red, req.URL.Path); err != nil {
			return "", err
		}
		if len(out.FailList) > 0 {
			ae := &APIError{Code: -1, Msg: "external contact unreachable (fail_list)"}
			return "", &Error{Code: ReasonAPI, Msg: req.URL.Path + ": " + ae.Error(), errs: []error{ae}}
		}
		return out.MsgID, nil
	}
}

// TruncateUTF8 cuts s to at most n bytes on a rune boundary, marking a cut with "…".
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + ell
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }

// Unwrap: a bad signature and a foreign receiveid are invalid callback messages.
func (e sentinel) Unwrap() error {
	if e == ErrSignature || e == ErrReceiveID {
		return ErrCallback
	}
	return nil
}
