package followup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/wecom"
)

// DispatchStore is what the dispatcher needs of the HQ store.
type DispatchStore interface {
	hq.FollowUpStore
	hq.NoticeStore
	hq.AuditStore
}

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Interval    time.Duration // poll interval of the due follow-ups; default 5 s
	Batch       int           // follow-ups claimed per poll at most; default 100
	LinkBase    string        // public base URL of HQ, e.g. https://hq.example.com (required)
	Signer      *Signer       // signs tracked links (required)
	LinkTTL     time.Duration // link validity after sending; default 7 days (≥ the 72 h open window)
	RetryDelay  time.Duration // wait after a retry-later result; default 10 min
	MaxAttempts int           // attempts before a follow-up fails for good; default 5
	Logger      *slog.Logger  // default slog.Default()
	Now         func() time.Time
	// Owner names this dispatcher in claims (unique per HQ process); default
	// host-pid-random.
	Owner string
	// Lease is how long a claim, and then a send, is this dispatcher's alone; it must
	// outlast a channel call (WeCom's timeouts and retries). After it, a send that never
	// reported is taken for interrupted and marked unknown by any dispatcher. Default
	// 5 min.
	Lease time.Duration
	// Notifier, if set, receives overdue escalations and the stores' daily summaries.
	Notifier StaffNotifier
	// SummaryAt is the local (Asia/Shanghai) time of day of the daily summary; default 20:00.
	SummaryAt time.Duration
	// Overdue is the overdue rule; zero value: the default 2 h / 72 h.
	Overdue OverdueRule
	// NoticeEvery is how often the overdue scan (escalations) and the daily-summary check
	// run at most; default 1 min.
	NoticeEvery time.Duration
	// Early sends follow-ups this long before their due time. Demo only (e.g. 24 h so a
	// follow-up goes out right after the visit); 0 in production.
	Early time.Duration
	// MaxLate: a follow-up whose due time passed more than this long ago when HQ first
	// gets to it (its store PC was offline for days, say) is not sent — a "24 h" reminder
	// weeks late helps nobody — but marked failed ("too late") and so reported overdue.
	// Default flows.OverdueAfter (72 h); negative: send however late.
	MaxLate time.Duration
}

// Reason code and text of a send whose owner stopped before reporting its outcome.
const (
	CodeInterrupted   = "interrupted"
	ReasonInterrupted = "HQ stopped during the send; check the channel before resending"
)

// Dispatcher sends due follow-ups. Due times live in the store, not in timers, so they
// survive an HQ restart, and several HQ processes on one store share the work: each
// claims due follow-ups under a lease (hq.FollowUpStore.ClaimDue). Sends are at most
// once: the attempt is committed as "sending" before the channel is called and the
// result after it; a send whose owner vanished (lease expired while "sending") is marked
// "unknown" and never resent automatically.
type Dispatcher struct {
	st  DispatchStore
	ch  Channel
	cfg DispatcherConfig
	log *slog.Logger

	mu           sync.Mutex
	lastEscalate time.Time       // overdue scans run at most every NoticeEvery
	lastSummary  time.Time       //
	noticed      map[string]bool // notice keys known claimed (by anyone): not asked again
}

// NewDispatcher checks cfg and builds a dispatcher.
func NewDispatcher(st DispatchStore, ch Channel, cfg DispatcherConfig) (*Dispatcher, error) {
	if st == nil || ch == nil {
		return nil, errors.New("followup: dispatcher needs a store and a channel")
	}
	if cfg.Signer == nil {
		return nil, errors.New("followup: dispatcher needs a link signer")
	}
	if cfg.LinkBase == "" {
		return nil, errors.New("followup: dispatcher needs the public link base URL")
	}
	cfg.LinkBase = strings.TrimRight(cfg.LinkBase, "/")
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = 7 * 24 * time.Hour
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 10 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		cfg.Owner = DefaultOwner()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.SummaryAt <= 0 {
		cfg.SummaryAt = 20 * time.Hour
	}
	cfg.Overdue = cfg.Overdue.withDefaults()
	if cfg.NoticeEvery <= 0 {
		cfg.NoticeEvery = time.Minute
	}
	if cfg.MaxLate == 0 {
		cfg.MaxLate = flows.OverdueAfter
	}
	return &Dispatcher{st: st, ch: ch, cfg: cfg, log: cfg.Logger, noticed: map[string]bool{}}, nil
}

// DefaultOwner names this process in claims: host, pid and a random part (a restarted
// process is a new owner).
func DefaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Run recovers interrupted sends, then polls until ctx ends. It returns ctx's error.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		if err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("follow-up dispatch", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Tick does one round: send due follow-ups, then (with a Notifier) escalate newly
// overdue ones and post daily summaries that are due.
func (d *Dispatcher) Tick(ctx context.Context) error {
	_, err := d.DispatchDue(ctx)
	if d.cfg.Notifier == nil {
		return err
	}
	now := d.cfg.Now()
	if d.due(&d.lastEscalate, now) {
		if e := d.escalate(ctx); e != nil {
			err = errors.Join(err, e)
		}
	}
	if d.due(&d.lastSummary, now) {
		if e := d.summaries(ctx); e != nil {
			err = errors.Join(err, e)
		}
	}
	return err
}

// due reports whether a periodic job last run at *last may run again at now, and if so
// records now.
func (d *Dispatcher) due(last *time.Time, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !last.IsZero() && now.Sub(*last) < d.cfg.NoticeEvery && now.After(*last) {
		return false
	}
	*last = now
	return true
}

// Recover marks follow-ups left "sending" by an owner whose lease expired (HQ stopped
// between recording an attempt and its result) as "unknown". Live sends of other HQ
// processes are left alone. It returns how many it marked.
func (d *Dispatcher) Recover(ctx context.Context) (int, error) {
	n, err := d.st.RecoverExpired(ctx, d.cfg.Now(), CodeInterrupted, ReasonInterrupted)
	if err != nil {
		return 0, fmt.Errorf("recover interrupted follow-ups: %w", err)
	}
	if n > 0 {
		d.log.Warn("follow-ups interrupted mid-send marked unknown (check before resending)", "count", n)
	}
	return n, nil
}

// DispatchDue recovers interrupted sends, then claims the follow-ups due at or before
// now (at most Batch) and sends them. It returns how many it attempted.
func (d *Dispatcher) DispatchDue(ctx context.Context) (int, error) {
	if _, err := d.Recover(ctx); err != nil {
		d.log.Error("follow-up recovery", "err", err)
	}
	now := d.cfg.Now()
	its, err := d.st.ClaimDue(ctx, hq.Claim{Owner: d.cfg.Owner, Now: now, DueBy: now.Add(max(d.cfg.Early, 0)),
		Lease: d.cfg.Lease, Limit: d.cfg.Batch})
	if err != nil {
		return 0, fmt.Errorf("claim due follow-ups: %w", err)
	}
	n := 0
	for _, it := range its {
		if err := ctx.Err(); err != nil {
			return n, err // the claims lapse with their lease
		}
		sent, err := d.sendOne(ctx, it)
		if errors.Is(err, hq.ErrLeaseLost) {
			d.log.Info("follow-up claim lost: another HQ process or a recovery settled it", "followup", it.FollowUp.ID)
			continue
		}
		if err != nil {
			d.log.Error("follow-up send", "followup", it.FollowUp.ID, "err", err)
			continue
		}
		if sent {
			n++
		}
	}
	return n, nil
}

// sendOne sends one claimed follow-up: checks, records the attempt, sends, records the
// result. sent reports whether the channel was called.
func (d *Dispatcher) sendOne(ctx context.Context, it hq.FollowUpItem) (sent bool, err error) {
	id := it.FollowUp.ID
	now := d.cfg.Now()
	skip := func(code, reason string, audit ...hq.AuditEntry) error {
		return d.st.FinishAttempt(ctx, hq.AttemptResult{ID: id, Owner: d.cfg.Owner, At: now, Status: hq.StatusFailed,
			Code: code, Reason: reason, Audit: audit})
	}
	if !it.Consent[it.FollowUp.Channel] {
		return false, skip("no_consent", "no consent for channel "+it.FollowUp.Channel)
	}
	if _, none := d.ch.(NoChannel); none {
		// No real channel: no attempt, no link; reported not_sent with the reason.
		return false, skip(CodeNoChannel, ReasonNoChannel,
			hq.AuditEntry{At: now, Actor: "hq", Action: "followup.no_channel", Detail: "followup=" + id})
	}
	if d.cfg.MaxLate > 0 && now.Sub(it.FollowUp.DueAt) > d.cfg.MaxLate {
		return false, skip("too_late", fmt.Sprintf("too late to send: due %s, more than %s ago",
			it.FollowUp.DueAt.In(flows.Shanghai()).Format("2006-01-02 15:04"), d.cfg.MaxLate),
			hq.AuditEntry{At: now, Actor: "hq", Action: "followup.too_late", Detail: "followup=" + id})
	}
	expiry := now.Add(d.cfg.LinkTTL)
	tok, err := d.cfg.Signer.Token(id, expiry)
	if err != nil {
		return false, err
	}
	link := d.cfg.LinkBase + "/f/" + tok
	attempt := it.Attempts + 1
	started, err := d.st.StartAttempt(ctx, hq.AttemptStart{ID: id, Owner: d.cfg.Owner, At: now, Lease: d.cfg.Lease, Audit: []hq.AuditEntry{
		{At: now, Actor: "hq", Action: "token.create", Detail: fmt.Sprintf("followup=%s expires=%s", id, expiry.UTC().Format(time.RFC3339))},
		{At: now, Actor: "hq", Action: "followup.send_attempt", Detail: fmt.Sprintf("followup=%s attempt=%d channel=%s", id, attempt, it.FollowUp.Channel)},
	}})
	if err != nil {
		return false, fmt.Errorf("record attempt of %s: %w", id, err)
	}
	res, sendErr := d.ch.Send(ctx, started.FollowUp, link)
	done := d.cfg.Now()
	r := hq.AttemptResult{ID: id, Owner: d.cfg.Owner, Attempt: started.Attempts, At: done}
	// Channels return redacted text; it is scrubbed once more before it is stored,
	// logged or shown, so a channel that forgets cannot leak a secret-bearing URL.
	res.Reason = wecom.Scrub(res.Reason)
	switch {
	case sendErr != nil:
		msg := wecom.Scrub(sendErr.Error())
		d.log.Warn("follow-up send outcome unknown", "followup", id, "code", wecom.ReasonCode(sendErr), "err", msg)
		r.Status, r.Code, r.Reason = hq.StatusUnknown, "outcome_unknown", "outcome unknown: "+msg
	case res.Status == SendOK:
		r.Status, r.MsgID = hq.StatusSent, res.MsgID
	case res.Status == SendRetry && started.Attempts < d.cfg.MaxAttempts:
		wait := d.cfg.RetryDelay
		if res.RetryAfter > 0 {
			wait = res.RetryAfter
		}
		r.Status, r.Code, r.Reason, r.NextAt = hq.StatusScheduled, res.Code, res.Reason, done.Add(wait)
	case res.Status == SendRetry:
		r.Status, r.Code, r.Reason = hq.StatusFailed, res.Code, fmt.Sprintf("gave up after %d attempts: %s", started.Attempts, res.Reason)
	default:
		r.Status, r.Code, r.Reason = hq.StatusFailed, res.Code, res.Reason
		if r.Reason == "" {
			r.Reason = "channel refused the follow-up"
		}
		if r.Code == "" {
			r.Code = "channel_refused"
		}
	}
	result := r.Status
	if result == hq.StatusScheduled {
		result = hq.AttemptRetry
	}
	r.Audit = []hq.AuditEntry{hq.SendResultAudit(id, r.Attempt, result, r.Code, r.Reason, done)}
	// The result is recorded even when ctx was cancelled meanwhile (shutdown).
	if err := d.st.FinishAttempt(context.WithoutCancel(ctx), r); err != nil {
		return true, fmt.Errorf("record result of %s: %w", id, err)
	}
	return true, nil
}
