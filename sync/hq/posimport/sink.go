package posimport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// HTTPConfig configures an HTTPSink. Zero values take the defaults in brackets (the
// kiosk drainer's, but more patient: a night's import should outlast an HQ restart).
type HTTPConfig struct {
	BaseURL string // HQ base URL, e.g. http://hq.example:8080
	Token   string // an admin token (any store), or a store token (that store's rows)

	HTTPTimeout   time.Duration // per request [60 s]
	HTTPClient    *http.Client  // optional; its Timeout is set to HTTPTimeout if zero
	RetryMax      int           // retries of one batch [8]
	RetryWaitMin  time.Duration // [500 ms]
	RetryWaitMax  time.Duration // [30 s]
	RetryAfterCap time.Duration // a Retry-After is clamped to this [5 min]
	Logger        *slog.Logger  // [discard]
	Now           func() time.Time
}

// HTTPSink posts batches to a running HQ: POST /api/v1/purchases with go-retryablehttp,
// the kiosk drainer's retry policy (drain.CheckRetry, drain.RetryBackoff).
type HTTPSink struct {
	cfg HTTPConfig
	rc  *retryablehttp.Client
}

// NewHTTPSink builds a sink posting to cfg.BaseURL.
func NewHTTPSink(cfg HTTPConfig) *HTTPSink {
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 60 * time.Second
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 8
	} else if cfg.RetryMax < 0 {
		cfg.RetryMax = 0
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = 500 * time.Millisecond
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = 30 * time.Second
	}
	if cfg.RetryAfterCap <= 0 {
		cfg.RetryAfterCap = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	hc := cfg.HTTPClient
	if hc == nil {
		hc = cleanhttp.DefaultPooledClient()
	}
	if hc.Timeout == 0 {
		hc.Timeout = cfg.HTTPTimeout
	}
	return &HTTPSink{cfg: cfg, rc: &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       cfg.Logger,
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.RetryMax,
		CheckRetry:   drain.CheckRetry,
		Backoff:      drain.RetryBackoff(cfg.RetryAfterCap, cfg.Now),
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}}
}

// Put posts one batch. A body over the API's limit is errTooLarge (Import splits it).
func (s *HTTPSink) Put(ctx context.Context, batch []flows.Purchase) (Result, error) {
	body, err := json.Marshal(wire.PurchasesRequest{Purchases: batch})
	if err != nil {
		return Result{}, fmt.Errorf("encode batch: %w", err)
	}
	if len(body) > wire.MaxBodyBytes {
		return Result{}, errTooLarge
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, s.cfg.BaseURL+wire.PathPurchases, body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	if len(batch) > 0 {
		// The same rows give the same key: a resent batch is recognisably the same.
		h := sha256.Sum256([]byte(batch[0].ID + "\x00" + batch[len(batch)-1].ID + "\x00" + strconv.Itoa(len(batch))))
		req.Header.Set(wire.HeaderIdempotencyKey, "posimport-"+hex.EncodeToString(h[:12]))
	}
	resp, err := s.rc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{}, fmt.Errorf("%w: %s: %v", ErrUnavailable, s.cfg.BaseURL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusOK:
		var ir wire.IngestResponse
		if err := json.Unmarshal(data, &ir); err != nil {
			return Result{}, fmt.Errorf("%w: unreadable answer: %v", ErrUnavailable, err)
		}
		if ir.Accepted+ir.Duplicates != len(batch) {
			return Result{}, fmt.Errorf("%w: HQ counted %d of a batch of %d", ErrUnavailable, ir.Accepted+ir.Duplicates, len(batch))
		}
		return Result{Accepted: ir.Accepted, Duplicates: ir.Duplicates, UnknownCodes: ir.UnknownCodes}, nil
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		return Result{}, errTooLarge
	case resp.StatusCode == http.StatusUnauthorized:
		return Result{}, fmt.Errorf("%w: HQ refused the token (401): check --token", ErrUnavailable)
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return Result{}, fmt.Errorf("%w (%d): %s", ErrRefused, resp.StatusCode, hqMessage(data))
	}
	return Result{}, fmt.Errorf("%w: %s answered %d after %d retries: %s", ErrUnavailable, s.cfg.BaseURL, resp.StatusCode, s.cfg.RetryMax, hqMessage(data))
}

// hqMessage is the "error" of HQ's JSON error body, or the body's start.
func hqMessage(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// StoreSink puts batches straight into an HQ store (offline: HQ stopped, --data DIR),
// resolving drug codes against Catalog as HQ's API does.
type StoreSink struct {
	Store   hq.PurchaseStore
	Catalog *flows.Catalog
}

// Put resolves and ingests one batch in one commit.
func (s StoreSink) Put(ctx context.Context, batch []flows.Purchase) (Result, error) {
	var res Result
	seen := map[string]bool{}
	for i := range batch {
		if !flows.ResolvePurchase(s.Catalog, &batch[i]) && !seen[batch[i].DrugCode] {
			seen[batch[i].DrugCode] = true
			res.UnknownCodes = append(res.UnknownCodes, batch[i].DrugCode)
		}
	}
	r, err := s.Store.IngestPurchases(ctx, batch)
	if err != nil {
		if errors.Is(err, hq.ErrInvalid) {
			return Result{}, fmt.Errorf("%w: %v", ErrRefused, err)
		}
		return Result{}, err
	}
	res.Accepted, res.Duplicates = r.Accepted, r.Duplicates
	return res, nil
}
