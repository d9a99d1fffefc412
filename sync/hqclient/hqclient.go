// Package hqclient is the kiosk's client for HQ's read API: chain-wide purchase
// history (step 1), the store roster and the store's points. Every call has a short
// budget (800 ms by default) so the counter never waits on a slow HQ: the caller falls
// back to its local store when a call fails.
package hqclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

// DefaultTimeout is the budget of one call.
const DefaultTimeout = 800 * time.Millisecond

// EffectTimeout bounds the effect report call: HQ computes a store's report on
// request (up to about a second at a busy store), and the manager view asks for it in
// the background, never at the counter.
const EffectTimeout = 15 * time.Second

// Client calls HQ with a store token.
type Client struct {
	base    string
	token   string
	timeout time.Duration
	hc      *http.Client
	slow    *http.Client // reports computed on request (EffectTimeout)
}

// New builds a client; timeout ≤ 0 takes DefaultTimeout.
func New(baseURL, token string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, timeout: timeout,
		hc: &http.Client{Timeout: timeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
			ResponseHeaderTimeout: timeout, TLSHandshakeTimeout: timeout,
		}},
		slow: &http.Client{Timeout: EffectTimeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 1, IdleConnTimeout: 90 * time.Second,
			ResponseHeaderTimeout: EffectTimeout, TLSHandshakeTimeout: timeout,
		}}}
}

// Error is an answer from HQ other than 200.
type Error struct {
	Status int
	Msg    string // HQ's {"error": …}
}

func (e *Error) Error() string { return fmt.Sprintf("HQ %d: %s", e.Status, e.Msg) }

// errOffline wraps failures to reach HQ in time (network down, timeout, 5xx).
var errOffline = errors.New("HQ unreachable")

// IsOffline reports whether err is a failure to reach HQ in time (network down, timeout,
// 5xx), as opposed to an answer from HQ (a refused token, a bad request).
func IsOffline(err error) bool { return errors.Is(err, errOffline) }

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.getWith(ctx, c.hc, c.timeout, path, q, out)
}

func (c *Client) getWith(ctx context.Context, hc *http.Client, timeout time.Duration, path string, q url.Values, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("hq request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %w", errOffline, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%w: GET %s: read: %w", errOffline, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e wire.ErrorResponse
		_ = json.Unmarshal(body, &e)
		herr := &Error{Status: resp.StatusCode, Msg: e.Error}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			return fmt.Errorf("%w: GET %s: %w", errOffline, path, herr)
		}
		return fmt.Errorf("GET %s: %w", path, herr)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: answer not understood: %w", path, err)
	}
	return nil
}

// History fetches a customer's chain-wide purchases and HQ's continuity analysis
// (days: lookback, ≤ 0 → flows.DefaultLookbackDays; asOf 0 → HQ's today). The purchases
// returned are those the analysis used (lookback plus carry-in horizon); cache them
// locally. It never takes longer than the client's budget: the counter then works from
// its local store.
func (c *Client) History(ctx context.Context, customerKey string, days int, asOf flows.Day) (wire.HistoryResponse, error) {
	q := url.Values{}
	if days > 0 {
		q.Set("days", strconv.Itoa(days))
	}
	if asOf != 0 {
		q.Set("as_of", asOf.String())
	}
	var r wire.HistoryResponse
	err := c.get(ctx, "/api/v1/customers/"+url.PathEscape(customerKey)+"/history", q, &r)
	return r, err
}

// Roster fetches the store's pharmacists (with PIN hashes) for offline sign-in.
func (c *Client) Roster(ctx context.Context) (wire.RosterResponse, error) {
	var r wire.RosterResponse
	err := c.get(ctx, wire.PathRoster, nil, &r)
	return r, err
}

// Points fetches the store's points per pharmacist.
func (c *Client) Points(ctx context.Context) (wire.PointsResponse, error) {
	var r wire.PointsResponse
	err := c.get(ctx, wire.PathPoints, nil, &r)
	return r, err
}

// Effect fetches the store's effect report (GET /api/v1/reports/effect) for the
// period [from, to] as of HQ's today, within EffectTimeout.
func (c *Client) Effect(ctx context.Context, from, to flows.Day) (wire.EffectResponse, error) {
	var r wire.EffectResponse
	err := c.getWith(ctx, c.slow, EffectTimeout, wire.PathEffect, url.Values{"from": {from.String()}, "to": {to.String()}}, &r)
	return r, err
}

// Healthz reports whether HQ answers /healthz within the budget (the first-start
// screen's "HQ reachable" check).
func (c *Client) Healthz(ctx context.Context) error {
	var r map[string]string
	return c.get(ctx, wire.PathHealth, nil, &r)
}
