// Package drain moves the kiosk's outbox to HQ: batches in outbox order (≤ 500 records
// or 1 MiB), posted with go-retryablehttp (jittered exponential backoff, Retry-After
// honoured but clamped, client timeout, an Idempotency-Key per batch). An entry leaves
// the outbox only after HQ's 200; a batch HQ refuses with a 4xx other than 401, 408 or
// 429 is parked as rejected with HQ's reason, never dropped.
package drain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/pharmachain/counter/sync/wire"
)

// Config configures a Drainer. Zero values take the defaults in brackets.
type Config struct {
	BaseURL string // HQ base URL, e.g. http://hq.example:8080
	Token   string // the store's bearer token
	StoreID string // this store's id (the records batch's store_id)

	HTTPTimeout time.Duration // per request [15 s]
	HTTPClient  *http.Client  // optional; its Timeout is set to HTTPTimeout if zero
	Logger      *slog.Logger  // [discard]

	MaxRecords int // per batch [500]
	MaxBytes   int // record bodies per batch [1 MiB]

	RetryMax      int           // retries of one batch inside DrainOnce [3]
	RetryWaitMin  time.Duration // first retry wait [500 ms]
	RetryWaitMax  time.Duration // longest backoff wait [1 min]
	RetryAfterCap time.Duration // a server's Retry-After is clamped to this [5 min]
	Interval      time.Duration // Run's poll interval while idle [3 s]

	Now func() time.Time // [time.Now]
	// Drained, if set, is called by Run after each attempt with its outcome (the
	// kiosk's banner can follow the backlog; tests wait on it).
	Drained func(Result, error)
}

func (c *Config) defaults() {
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxRecords <= 0 {
		c.MaxRecords = wire.MaxBatchRecords
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = wire.MaxBatchBytes
	}
	if c.RetryMax < 0 {
		c.RetryMax = 0
	} else if c.RetryMax == 0 {
		c.RetryMax = 3
	}
	if c.RetryWaitMin <= 0 {
		c.RetryWaitMin = 500 * time.Millisecond
	}
	if c.RetryWaitMax <= 0 {
		c.RetryWaitMax = time.Minute
	}
	if c.RetryAfterCap <= 0 {
		c.RetryAfterCap = 5 * time.Minute
	}
	if c.Interval <= 0 {
		c.Interval = 3 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
}

// Drainer drains one outbox to HQ. DrainOnce and Run may not run concurrently with
// each other on the same Drainer (Run serialises its own calls).
type Drainer struct {
	ob   wire.Outbox
	cfg  Config
	log  *slog.Logger
	rc   *retryablehttp.Client
	kick chan struct{}

	mu          sync.Mutex // serialises DrainOnce
	singleUntil uint64     // after a rejected batch: send one entry at a time up to this seq
}

// New builds a drainer for ob.
func New(ob wire.Outbox, cfg Config) *Drainer {
	cfg.defaults()
	hc := cfg.HTTPClient
	if hc == nil {
		hc = cleanhttp.DefaultPooledClient()
	}
	if hc.Timeout == 0 {
		hc.Timeout = cfg.HTTPTimeout
	}
	d := &Drainer{ob: ob, cfg: cfg, log: cfg.Logger, kick: make(chan struct{}, 1)}
	d.rc = &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       cfg.Logger, // *slog.Logger is a retryablehttp.LeveledLogger
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.RetryMax,
		CheckRetry:   CheckRetry,
		Backoff:      d.Backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return d
}

// CheckRetry is the drainer's go-retryablehttp retry policy (also used by HQ's POS
// importer): connection errors, 408, 429 and 5xx (not 501) are retried; never after the
// context ended.
func CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err == nil && resp.StatusCode == http.StatusRequestTimeout {
		return true, nil
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// Backoff is the retry wait: a 429/503 Retry-After (seconds or HTTP date) is honoured
// but clamped to RetryAfterCap; otherwise exponential from RetryWaitMin, capped at max,
// with "equal jitter" (half fixed, half random) so a fleet of kiosks does not retry in
// lock-step.
func (d *Drainer) Backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	return RetryBackoff(d.cfg.RetryAfterCap, d.cfg.Now)(min, max, attempt, resp)
}

// RetryBackoff is the drainer's backoff as a go-retryablehttp Backoff (also used by HQ's
// POS importer): Retry-After of a 429/503 honoured (plus up to 10 % jitter) but clamped
// to afterCap, else jittered exponential.
func RetryBackoff(afterCap time.Duration, now func() time.Time) retryablehttp.Backoff {
	return func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now()); ok {
				if ra >= afterCap {
					return afterCap
				}
				j := time.Duration(rand.Int64N(int64(ra/10) + 1)) // up to +10 %, never before ra
				return min2(ra+j, afterCap)
			}
		}
		return jitteredExp(min, max, attempt)
	}
}

func jitteredExp(min, max time.Duration, attempt int) time.Duration {
	if attempt > 30 {
		attempt = 30
	}
	base := min << uint(attempt)
	if base <= 0 || base > max {
		base = max
	}
	half := base / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func min2(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(1<<62/time.Second) {
			n = int64(1 << 62 / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// Result counts what DrainOnce did.
type Result struct {
	Batches    int // batches HQ acknowledged
	Sent       int // entries acknowledged (and removed from the outbox)
	Accepted   int // of Sent: new at HQ
	Duplicates int // of Sent: HQ had them already
	Parked     int // entries parked as rejected
	Rejects    []string
}

// ErrRejected wraps HQ's reason for a parked batch (only in logs/Result; DrainOnce
// goes on with the next batch).
const ErrRejected = sentinel("rejected by HQ")

// DrainOnce sends batches until the outbox has nothing pending, HQ is unreachable
// (after the retries), or ctx ends. Acknowledged entries leave the outbox; rejected
// ones are parked. The outbox's sync status is updated.
//
// One request is in flight at a time and batches go out in seq order. When the outbox
// implements wire.OutboxPeekAfter, the kiosk-side work overlaps HQ's: while batch N is
// being posted, batch N+1 is read and encoded (and thrown away if N is not accepted),
// and batch N's local Ack (a bbolt commit) runs while N+1 is posted. Acks stay in
// order (N+1's starts after N's finished) and DrainOnce returns only after the last
// one finished. An Ack that fails ends the drain with its error: those entries stay in
// the outbox and are resent later, which HQ counts as duplicates.
func (d *Drainer) DrainOnce(ctx context.Context) (res Result, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	synced := false // a batch was acknowledged: note the successful sync once, at the end
	defer func() {
		if synced {
			if rerr := d.ob.RecordSync(context.WithoutCancel(ctx), d.cfg.Now(), nil); rerr != nil {
				d.log.Warn("record sync", "err", rerr)
			}
		}
	}()

	// The local Ack of the last batch HQ acknowledged, possibly still running.
	var acking chan error
	var acked *batch
	finishAck := func() error {
		if acking == nil {
			return nil
		}
		aerr := <-acking
		acking = nil
		if aerr != nil {
			return fmt.Errorf("drain: ack: %w", aerr)
		}
		res.Batches++
		res.Sent += len(acked.seqs)
		res.Accepted += acked.ack.Accepted
		res.Duplicates += acked.ack.Duplicates
		synced = true
		return nil
	}
	// The next batch, possibly still being read and encoded.
	var prefetch chan *batch
	takePrefetch := func() *batch {
		if prefetch == nil {
			return nil
		}
		b := <-prefetch
		prefetch = nil
		return b
	}
	defer func() { // every return path waits for the goroutines it started
		takePrefetch()
		if aerr := finishAck(); aerr != nil && err == nil {
			err = aerr
		}
	}()

	pa, pipelined := d.ob.(wire.OutboxPeekAfter)
	var sentUpTo uint64 // highest seq HQ acknowledged in this drain
	var next *batch
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		cur := next
		next = nil
		if cur == nil {
			if !pipelined {
				if err := finishAck(); err != nil {
					return res, err
				}
			}
			cur = d.nextBatch(ctx, pa, sentUpTo)
		}
		if cur.err != nil {
			return res, cur.err
		}
		if len(cur.entries) == 0 {
			return res, nil
		}
		if pipelined && cur.reason == "" {
			prefetch = make(chan *batch, 1)
			go func(ch chan<- *batch, after uint64) {
				ch <- d.nextBatch(ctx, pa, after)
			}(prefetch, cur.seqs[len(cur.seqs)-1])
		}
		if cur.reason == "" {
			cur.ack, cur.reason, err = d.post(ctx, cur)
		}
		// The previous batch's Ack has had the whole POST to finish; settle it before
		// anything else touches the outbox.
		if aerr := finishAck(); aerr != nil {
			return res, aerr
		}
		switch {
		case err != nil:
			synced = false // the error is the newest state
			if rerr := d.ob.RecordSync(context.WithoutCancel(ctx), d.cfg.Now(), err); rerr != nil {
				d.log.Warn("record sync failure", "err", rerr)
			}
			return res, err
		case cur.reason != "":
			takePrefetch() // read past a batch that is not accepted: read again
			seqs := cur.seqs
			if len(seqs) > 1 {
				// Isolate the bad record(s): resend these one by one.
				d.singleUntil = seqs[len(seqs)-1]
				d.log.Warn("batch rejected; resending its entries one by one", "first_seq", seqs[0], "last_seq", seqs[len(seqs)-1], "reason", cur.reason)
				continue
			}
			if err := d.ob.Park(ctx, seqs, cur.reason); err != nil {
				return res, fmt.Errorf("drain: park rejected entry: %w", err)
			}
			res.Parked += len(seqs)
			res.Rejects = append(res.Rejects, cur.reason)
			d.log.Warn("entry parked as rejected", "seq", seqs[0], "id", cur.entries[0].ID, "reason", cur.reason)
			if err := d.ob.RecordSync(ctx, d.cfg.Now(), fmt.Errorf("%w: %s", ErrRejected, cur.reason)); err != nil {
				d.log.Warn("record sync", "err", err)
			}
		default:
			// HQ committed the batch: remove it locally. The Ack must not be cut short
			// by ctx (a shutdown would only cause duplicates later), and it runs while
			// the next batch is posted.
			sentUpTo = cur.seqs[len(cur.seqs)-1]
			acking, acked = make(chan error, 1), cur
			go func(ch chan<- error, seqs []uint64) {
				ch <- d.ob.Ack(context.WithoutCancel(ctx), seqs)
			}(acking, cur.seqs)
			next = takePrefetch()
		}
	}
}

// batch is one request's worth of outbox entries, encoded.
type batch struct {
	entries []wire.OutboxEntry
	seqs    []uint64
	path    string // wire.PathRecords or wire.PathPurchases
	body    []byte
	reason  string // the batch cannot be sent (unknown kind, invalid JSON): park it
	err     error  // reading the outbox failed

	ack wire.IngestResponse // HQ's answer
}

// nextBatch reads the next batch (after seq after when pa is set, else from the
// start) and encodes its request body. An empty batch means nothing is pending.
func (d *Drainer) nextBatch(ctx context.Context, pa wire.OutboxPeekAfter, after uint64) *batch {
	var entries []wire.OutboxEntry
	var err error
	if pa != nil {
		entries, err = pa.PeekAfter(ctx, after, d.cfg.MaxRecords, d.cfg.MaxBytes)
	} else {
		entries, err = d.ob.Peek(ctx, d.cfg.MaxRecords, d.cfg.MaxBytes)
	}
	if err != nil {
		return &batch{err: fmt.Errorf("drain: peek outbox: %w", err)}
	}
	if len(entries) == 0 {
		return &batch{}
	}
	if entries[0].Seq <= d.singleUntil {
		entries = entries[:1]
	}
	// One kind per batch: the run of entries of the first entry's kind.
	n := 1
	for n < len(entries) && entries[n].Kind == entries[0].Kind {
		n++
	}
	b := &batch{entries: entries[:n], seqs: make([]uint64, n)}
	for i, e := range b.entries {
		b.seqs[i] = e.Seq
	}
	b.path, b.body, b.reason = d.encode(b.entries)
	return b
}

// IdempotencyKey is the batch's key: store id and first/last seq, the same on every
// resend of the batch.
func IdempotencyKey(storeID string, entries []wire.OutboxEntry) string {
	return fmt.Sprintf("%s-%d-%d", storeID, entries[0].Seq, entries[len(entries)-1].Seq)
}

// encode builds a batch's request: the path and the body, which carries each entry's
// JSON as stored. A non-empty reason means the batch cannot be sent as it is.
func (d *Drainer) encode(entries []wire.OutboxEntry) (path string, body []byte, reason string) {
	size := 64 + len(d.cfg.StoreID)
	for _, e := range entries {
		size += len(e.Body) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	path = wire.PathRecords
	switch entries[0].Kind {
	case wire.KindVisit:
		buf.WriteString(`{"store_id":`)
		sid, _ := json.Marshal(d.cfg.StoreID)
		buf.Write(sid)
		buf.WriteString(`,"records":[`)
	case wire.KindPurchase:
		path = wire.PathPurchases
		buf.WriteString(`{"purchases":[`)
	default:
		return "", nil, fmt.Sprintf("unknown outbox kind %q (entry %s)", entries[0].Kind, entries[0].ID)
	}
	for i, e := range entries {
		if i > 0 {
			buf.WriteByte(',')
		}
		if !json.Valid(e.Body) {
			return "", nil, fmt.Sprintf("outbox entry %d (%s) is not valid JSON", e.Seq, e.ID)
		}
		buf.Write(e.Body)
	}
	buf.WriteString("]}")
	return path, buf.Bytes(), ""
}

// post sends one batch. It returns HQ's ack, or a non-empty rejection reason for a
// 4xx the batch itself caused, or an error when HQ could not be reached (or said
// 401/408/429/5xx after the retries).
func (d *Drainer) post(ctx context.Context, b *batch) (wire.IngestResponse, string, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, d.cfg.BaseURL+b.path, b.body)
	if err != nil {
		return wire.IngestResponse{}, "", fmt.Errorf("drain: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.cfg.Token)
	req.Header.Set(wire.HeaderIdempotencyKey, IdempotencyKey(d.cfg.StoreID, b.entries))
	resp, err := d.rc.Do(req)
	if err != nil {
		return wire.IngestResponse{}, "", fmt.Errorf("drain: post %d entries to HQ: %w", len(b.entries), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return wire.IngestResponse{}, "", fmt.Errorf("drain: read HQ answer: %w", err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		var ack wire.IngestResponse
		if err := json.Unmarshal(body, &ack); err != nil {
			return wire.IngestResponse{}, "", fmt.Errorf("drain: HQ answer not understood: %w", err)
		}
		return ack, "", nil
	case code >= 400 && code < 500 && code != http.StatusUnauthorized && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return wire.IngestResponse{}, fmt.Sprintf("HQ %d: %s", code, hqError(body)), nil
	default:
		return wire.IngestResponse{}, "", fmt.Errorf("drain: HQ answered %d: %s", code, hqError(body))
	}
}

func hqError(body []byte) string {
	var e wire.ErrorResponse
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Kick asks Run to drain now (call it after a visit is saved). It never blocks.
func (d *Drainer) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run drains until ctx ends: at once, on every Kick, and every Interval while idle;
// after a failure it waits a jittered exponential backoff (Interval doubling up to
// RetryAfterCap) before the next attempt, kicks included. It returns nil when ctx ends.
func (d *Drainer) Run(ctx context.Context) error {
	failures := 0
	for {
		res, err := d.DrainOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if d.cfg.Drained != nil {
			d.cfg.Drained(res, err)
		}
		wait := d.cfg.Interval
		if err != nil {
			failures++
			wait = jitteredExp(d.cfg.Interval, d.cfg.RetryAfterCap, failures-1)
			d.log.Warn("HQ sync failed; backing off", "err", err, "wait", wait, "failures", failures)
		} else {
			if failures > 0 || res.Sent > 0 || res.Parked > 0 {
				d.log.Info("HQ sync", "sent", res.Sent, "accepted", res.Accepted, "duplicates", res.Duplicates, "parked", res.Parked)
			}
			failures = 0
		}
		t := time.NewTimer(wait)
		if failures > 0 {
			select { // backing off: kicks wait
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
