package followup

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/wecom"
)

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Interval    time.Duration // poll interval of the due index; default 5 s
	Batch       int           // follow-ups sent per poll at most; default 100
	LinkBase    string        // public base URL of HQ, e.g. https://hq.example.com (required)
	Signer      *Signer       // signs tracked links (required)
	LinkTTL     time.Duration // link validity after sending; default 7 days (≥ the 72 h open window)
	RetryDelay  time.Duration // wait after a retry-later result; default 10 min
	MaxAttempts int           // attempts before a follow-up fails for good; default 5
	Logger      *slog.Logger  // default slog.Default()
	Now         func() time.Time
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
	// Default 72 h; negative: send however late.
	MaxLate time.Duration
}

// Dispatcher sends due follow-ups. Due times live in bbolt (the due index), not in
// timers, so they survive an HQ restart. Sends are at most once: the attempt is
// committed as "sending" before the channel is called and the result after it; an item
// found "sending" at start-up is marked "unknown" and never resent automatically.
type Dispatcher struct {
	st  *Store
	ch  Channel
	cfg DispatcherConfig
	log *slog.Logger

	mu           sync.Mutex
	lastEscalate time.Time // overdue scans run at most every NoticeEvery
	lastSummary  time.Time
}

// NewDispatcher checks cfg and builds a dispatcher.
func NewDispatcher(st *Store, ch Channel, cfg DispatcherConfig) (*Dispatcher, error) {
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
	if cfg.SummaryAt <= 0 {
		cfg.SummaryAt = 20 * time.Hour
	}
	cfg.Overdue = cfg.Overdue.withDefaults()
	if cfg.NoticeEvery <= 0 {
		cfg.NoticeEvery = time.Minute
	}
	if cfg.MaxLate == 0 {
		cfg.MaxLate = 72 * time.Hour
	}
	return &Dispatcher{st: st, ch: ch, cfg: cfg, log: cfg.Logger}, nil
}

// Run recovers interrupted sends, then polls until ctx ends. It returns ctx's error.
func (d *Dispatcher) Run(ctx context.Context) error {
	if n, err := d.Recover(ctx); err != nil {
		d.log.Error("follow-up recovery failed", "err", err)
	} else if n > 0 {
		d.log.Warn("follow-ups interrupted mid-send marked unknown (check before resending)", "count", n)
	}
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

// Recover marks every follow-up left "sending" (HQ stopped between recording an attempt
// and its result) as "unknown". It returns how many were found.
func (d *Dispatcher) Recover(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	now := d.cfg.Now()
	err := d.st.db.Update(func(tx *bolt.Tx) error {
		sb := tx.Bucket(bucketSending)
		var ids []string
		if err := sb.ForEach(func(k, _ []byte) error { ids = append(ids, string(k)); return nil }); err != nil {
			return err
		}
		for _, id := range ids {
			if err := sb.Delete([]byte(id)); err != nil {
				return err
			}
			it, ok, err := getItem(tx, id)
			if err != nil || !ok {
				continue
			}
			if it.Status != StatusSending {
				continue
			}
			const reason = "HQ stopped during the send; check the channel before resending"
			if err := d.finishAttempt(tx, &it, StatusUnknown, "interrupted", reason, "", now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recover in-flight follow-ups: %w", err)
	}
	return n, nil
}

// DispatchDue sends follow-ups due at or before now (at most Batch). It returns how many
// were attempted.
func (d *Dispatcher) DispatchDue(ctx context.Context) (int, error) {
	now := d.cfg.Now()
	var keys [][]byte
	err := d.st.db.View(func(tx *bolt.Tx) error {
		limit := dueKey(now.Add(max(d.cfg.Early, 0)), "")
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil && len(keys) < d.cfg.Batch; k, _ = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k[:8]) > binary.BigEndian.Uint64(limit) {
				break
			}
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("scan due follow-ups: %w", err)
	}
	n := 0
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := d.sendOne(ctx, k); err != nil {
			d.log.Error("follow-up send", "followup", string(k[8:]), "err", err)
			continue
		}
		n++
	}
	return n, nil
}

// sendOne claims (records the attempt), sends, and records the result.
func (d *Dispatcher) sendOne(ctx context.Context, key []byte) error {
	id := string(key[8:])
	now := d.cfg.Now()
	var it Item
	claimed := false
	var link string
	err := d.st.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketDue).Delete(key); err != nil {
			return err
		}
		var ok bool
		var err error
		it, ok, err = getItem(tx, id)
		if err != nil || !ok || it.Status != StatusScheduled {
			return err // stale index entry: dropped
		}
		if !it.Consent[it.FollowUp.Channel] {
			it.Status = StatusFailed
			it.LastCode, it.LastReason = "no_consent", "no consent for channel "+it.FollowUp.Channel
			return putItem(tx, it)
		}
		if d.cfg.MaxLate > 0 && now.Sub(it.FollowUp.DueAt) > d.cfg.MaxLate {
			it.Status = StatusFailed
			it.LastCode = "too_late"
			it.LastReason = fmt.Sprintf("too late to send: due %s, more than %s ago", it.FollowUp.DueAt.In(flows.Shanghai).Format("2006-01-02 15:04"), d.cfg.MaxLate)
			if err := d.st.AuditTx(tx, "hq", "followup.too_late", "followup="+id, now); err != nil {
				return err
			}
			return putItem(tx, it)
		}
		tok, err := d.cfg.Signer.Token(id, now.Add(d.cfg.LinkTTL))
		if err != nil {
			return err
		}
		link = d.cfg.LinkBase + "/f/" + tok
		it.Status = StatusSending
		it.Attempts++
		a := SendAttempt{FollowUpID: id, Attempt: it.Attempts, Channel: it.FollowUp.Channel, StartedAt: now, Status: StatusSending}
		if err := putJSON(tx.Bucket(bucketSends), sendKey(id, it.Attempts), a); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSending).Put([]byte(id), nil); err != nil {
			return err
		}
		if err := putItem(tx, it); err != nil {
			return err
		}
		if err := d.st.AuditTx(tx, "hq", "token.create", fmt.Sprintf("followup=%s expires=%s", id, now.Add(d.cfg.LinkTTL).UTC().Format(time.RFC3339)), now); err != nil {
			return err
		}
		claimed = true
		return d.st.AuditTx(tx, "hq", "followup.send_attempt", fmt.Sprintf("followup=%s attempt=%d channel=%s", id, it.Attempts, it.FollowUp.Channel), now)
	})
	if err != nil {
		return fmt.Errorf("claim follow-up %s: %w", id, err)
	}
	if !claimed {
		return nil
	}
	res, sendErr := d.ch.Send(ctx, it.FollowUp, link)
	done := d.cfg.Now()
	// The result is recorded even when ctx was cancelled meanwhile (shutdown).
	return d.st.db.Update(func(tx *bolt.Tx) error {
		cur, ok, err := getItem(tx, id)
		if err != nil || !ok {
			return err
		}
		if cur.Status != StatusSending || cur.Attempts != it.Attempts {
			return nil // Recover ran meanwhile; its verdict stands
		}
		if err := tx.Bucket(bucketSending).Delete([]byte(id)); err != nil {
			return err
		}
		// Channels return redacted text; it is scrubbed once more before it is stored,
		// logged or shown, so a channel that forgets cannot leak a secret-bearing URL.
		res.Reason = wecom.Scrub(res.Reason)
		switch {
		case sendErr != nil:
			msg := wecom.Scrub(sendErr.Error())
			d.log.Warn("follow-up send outcome unknown", "followup", id, "code", wecom.ReasonCode(sendErr), "err", msg)
			return d.finishAttempt(tx, &cur, StatusUnknown, "outcome_unknown", "outcome unknown: "+msg, "", done)
		case res.Status == SendOK:
			cur.SentAt = done
			return d.finishAttempt(tx, &cur, StatusSent, "", "", res.MsgID, done)
		case res.Status == SendRetry && cur.Attempts < d.cfg.MaxAttempts:
			wait := d.cfg.RetryDelay
			if res.RetryAfter > 0 {
				wait = res.RetryAfter
			}
			cur.NextAt = done.Add(wait)
			if err := tx.Bucket(bucketDue).Put(dueKey(cur.NextAt, id), nil); err != nil {
				return err
			}
			return d.finishAttempt(tx, &cur, StatusScheduled, res.Code, res.Reason, "", done)
		case res.Status == SendRetry:
			return d.finishAttempt(tx, &cur, StatusFailed, res.Code, fmt.Sprintf("gave up after %d attempts: %s", cur.Attempts, res.Reason), "", done)
		default:
			reason, code := res.Reason, res.Code
			if reason == "" {
				reason = "channel refused the follow-up"
			}
			if code == "" {
				code = "channel_refused"
			}
			return d.finishAttempt(tx, &cur, StatusFailed, code, reason, "", done)
		}
	})
}

// finishAttempt records an attempt's result on the item and the attempt record and
// audits it.
func (d *Dispatcher) finishAttempt(tx *bolt.Tx, it *Item, status, code, reason, msgID string, at time.Time) error {
	id := it.FollowUp.ID
	it.Status = status
	it.LastCode, it.LastReason = code, reason
	if err := putItem(tx, *it); err != nil {
		return err
	}
	sb := tx.Bucket(bucketSends)
	var a SendAttempt
	if data := sb.Get(sendKey(id, it.Attempts)); data != nil {
		if err := json.Unmarshal(data, &a); err != nil {
			return fmt.Errorf("decode attempt: %w", err)
		}
	}
	a.FollowUpID, a.Attempt, a.FinishedAt, a.Code, a.Reason, a.MsgID = id, it.Attempts, at, code, reason, msgID
	a.Status = status
	if status == StatusScheduled {
		a.Status = SendRetry
	}
	if err := putJSON(sb, sendKey(id, it.Attempts), a); err != nil {
		return err
	}
	detail := fmt.Sprintf("followup=%s attempt=%d result=%s", id, it.Attempts, a.Status)
	if code != "" {
		detail += " code=" + code
	}
	if reason != "" {
		detail += " reason=" + reason
	}
	return d.st.AuditTx(tx, "hq", "followup.send_result", detail, at)
}
