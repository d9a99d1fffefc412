// Package hqwire wires the follow-up parts (store, ingest hook, dispatcher, tracked link,
// overdue and audit APIs, dashboard) into the HQ server (sync/hq on sync/hq/boltstore).
// cmd/hq uses it in a few lines; see docs/followups.md ("Wiring into HQ").
package hqwire

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/dashboard"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/wire"
	bolt "go.etcd.io/bbolt"
)

// Hook is the record-ingest hook. Create it before opening the HQ store, pass
// hook.OnVisit as boltstore.Options.OnVisit, then hand it to New, which attaches the
// follow-up store. It runs inside the ingest transaction: it audits the ingest and
// enqueues the visit's follow-up (only with consent).
type Hook struct {
	mu sync.RWMutex
	st *followup.Store
}

// OnVisit implements boltstore.Options.OnVisit.
func (h *Hook) OnVisit(tx *bolt.Tx, v flows.Visit) error {
	h.mu.RLock()
	st := h.st
	h.mu.RUnlock()
	if st == nil {
		return errors.New("follow-up hook: not attached (hqwire.New not called)")
	}
	if err := st.AuditTx(tx, "store:"+v.StoreID, "ingest", "visit="+v.ID, time.Now()); err != nil {
		return err
	}
	if err := st.EnqueueTx(tx, v); err != nil {
		if errors.Is(err, followup.ErrInvalid) {
			return fmt.Errorf("%w: %w", hq.ErrInvalid, err)
		}
		return err
	}
	return nil
}

// Config configures the follow-up side of HQ.
type Config struct {
	// Secret signs tracked links (≥ 16 bytes); see LoadOrCreateSecret.
	Secret []byte
	// PublicURL is HQ's address as customers' phones reach it (links are
	// PublicURL + "/f/TOKEN"), e.g. http://192.168.1.10:8080.
	PublicURL string
	// Channel sends follow-ups; nil: WeCom if WeCom is set, else the log-only demo channel
	// printing links to Out.
	Channel followup.Channel
	// WeCom, if set (and Channel nil), sends "wecom" follow-ups through customer contact,
	// resolving customers through the follow-up store's contact bindings.
	WeCom *wecom.Client
	// Robot and RobotKeys (store id → webhook key), if set (and Notifier nil), post
	// escalations and daily summaries to the stores' WeCom groups.
	Robot     *wecom.Robot
	RobotKeys map[string]string
	// Out is where the log-only channel prints each follow-up link (e.g. stdout).
	Out io.Writer
	// Notifier gets escalations and daily summaries; nil: logged only.
	Notifier followup.StaffNotifier
	// PointsRules price link_opened and revisit_booked; nil: flows defaults.
	PointsRules flows.PointsRules
	// Interval is the dispatcher's poll interval; 0: 5 s.
	Interval time.Duration
	// SendEarly sends follow-ups this long before they are due (demo: 24 h, so the link
	// is printed right after the visit reaches HQ); 0 in production.
	SendEarly time.Duration
	// MaxLate: follow-ups more than this past due when HQ gets them are not sent but
	// reported overdue (default 72 h; see followup.DispatcherConfig.MaxLate).
	MaxLate time.Duration
	// WeComCallbackToken, WeComCallbackAESKey (the 43-character EncodingAESKey) and
	// WeComCorpID (the receiveid) enable WeCom's callback URL at PathWeComCallback,
	// which binds customers to WeCom contacts (see docs/followups.md). All three or none.
	WeComCallbackToken  string
	WeComCallbackAESKey string
	WeComCorpID         string
	// SecureCookie marks the dashboard's session cookie Secure (HQ behind TLS).
	SecureCookie bool
	// TrustForwardedFor: the link rate limiter keys on X-Forwarded-For (behind a proxy).
	TrustForwardedFor bool
	Logger            *slog.Logger
	Now               func() time.Time
}

// Wiring holds the follow-up parts of a running HQ.
type Wiring struct {
	Store      *followup.Store
	Dispatcher *followup.Dispatcher
	Link       http.Handler
	Dashboard  *dashboard.Handler
	// Callback serves WeCom's callback URL; nil unless configured.
	Callback http.Handler
	st       *boltstore.Store
	log      *slog.Logger
	now      func() time.Time
}

// New builds the follow-up parts on the HQ's bbolt store and attaches hook.
func New(st *boltstore.Store, hook *Hook, cfg Config) (*Wiring, error) {
	if st == nil || hook == nil {
		return nil, errors.New("hqwire: store and hook are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PointsRules == nil {
		cfg.PointsRules = flows.DefaultPointsRules()
	}
	fu, err := followup.NewStore(st.DB())
	if err != nil {
		return nil, err
	}
	signer, err := followup.NewSigner(cfg.Secret)
	if err != nil {
		return nil, err
	}
	ch := cfg.Channel
	switch {
	case ch != nil:
	case cfg.WeCom != nil:
		ch = followup.Mux{flows.ChannelWeCom: &followup.WeComChannel{Client: cfg.WeCom, Contacts: fu}}
	default:
		ch = &followup.LogChannel{Logger: cfg.Logger, Out: cfg.Out}
	}
	notifier := cfg.Notifier
	switch {
	case notifier != nil:
	case cfg.Robot != nil:
		notifier = &followup.RobotNotifier{Robot: cfg.Robot, Keys: cfg.RobotKeys, Logger: cfg.Logger}
	default:
		notifier = followup.LogNotifier{Logger: cfg.Logger}
	}
	d, err := followup.NewDispatcher(fu, ch, followup.DispatcherConfig{
		Interval: cfg.Interval, Early: cfg.SendEarly, MaxLate: cfg.MaxLate, LinkBase: cfg.PublicURL, Signer: signer, Logger: cfg.Logger, Now: cfg.Now, Notifier: notifier})
	if err != nil {
		return nil, err
	}
	ledger := followup.TxLedger{Fn: st.CreditPoints, TxFn: boltstore.CreditPointsTx}
	link, err := followup.LinkHandler(followup.LinkConfig{Store: fu, Signer: signer, Ledger: ledger, Points: cfg.PointsRules,
		Logger: cfg.Logger, Now: cfg.Now, TrustForwardedFor: cfg.TrustForwardedFor})
	if err != nil {
		return nil, err
	}
	sessions, err := dashboard.NewBoltSessions(st.DB())
	if err != nil {
		return nil, err
	}
	dash, err := dashboard.New(dashboard.Config{Data: dashboard.HQData(st, fu), Verify: dashboard.AdminVerifier(st),
		Audit: fu.Audit, Now: cfg.Now, Logger: cfg.Logger, SecureCookie: cfg.SecureCookie, Sessions: sessions})
	if err != nil {
		return nil, err
	}
	if n, err := fu.ReconcilePoints(context.Background(), ledger, cfg.PointsRules); err != nil {
		cfg.Logger.Error("reconcile follow-up points", "err", err)
	} else if n > 0 {
		cfg.Logger.Info("reconciled follow-up points", "count", n)
	}
	hook.mu.Lock()
	hook.st = fu
	hook.mu.Unlock()
	w := &Wiring{Store: fu, Dispatcher: d, Link: link, Dashboard: dash, st: st, log: cfg.Logger, now: cfg.Now}
	if cfg.WeComCallbackToken != "" || cfg.WeComCallbackAESKey != "" {
		cr, err := wecom.NewCrypter(cfg.WeComCallbackToken, cfg.WeComCallbackAESKey, cfg.WeComCorpID)
		if err != nil {
			return nil, fmt.Errorf("hqwire: %w", err)
		}
		w.Callback, err = wecom.CallbackHandler(wecom.CallbackConfig{Crypter: cr, OnEvent: w.onWeComEvent, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("hqwire: %w", err)
		}
	}
	return w, nil
}

// Mount registers the routes on the HQ mux (use as api.Options.Mount, or call it from
// yours): /f/ (tracked link), GET /api/v1/followups, GET /api/v1/audit (admin),
// /wecom/callback (if configured) and the dashboard at / (with /login, /logout, /export/,
// /static/).
func (w *Wiring) Mount(mux *http.ServeMux, s *api.Server) {
	mux.Handle("/f/", w.Link)
	mux.Handle("GET "+wire.PathFollowups, s.RequireAuth(func(rw http.ResponseWriter, r *http.Request, p hq.Principal) {
		followup.FollowupsHandler(w.Store, func(*http.Request) (followup.Caller, bool) {
			return followup.Caller{Admin: p.Admin, StoreID: p.StoreID}, true
		}, w.now).ServeHTTP(rw, r)
	}))
	mux.Handle("GET "+wire.PathAudit, s.RequireAuth(func(rw http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(rw, http.StatusForbidden, "the audit log is for admin tokens only")
			return
		}
		followup.AuditHandler(w.Store, func(*http.Request) string { return "admin" }).ServeHTTP(rw, r)
	}))
	mux.Handle("POST "+wire.PathFollowups+"/{id}/resolve", s.RequireAuth(w.resolve))
	if w.Callback != nil {
		mux.Handle(PathWeComCallback, w.Callback) // no bearer token: WeCom's signature
	}
	mux.Handle("/", w.Dashboard)
}

// resolve serves POST /api/v1/followups/{id}/resolve {"sent":true|false} for admins:
// after a crash mid-send left a follow-up "unknown", a person checked the channel and
// says whether it went out (recorded as sent) or not (sent again at once).
func (w *Wiring) resolve(rw http.ResponseWriter, r *http.Request, p hq.Principal) {
	if !p.Admin {
		api.WriteError(rw, http.StatusForbidden, "resolving a follow-up needs an admin token")
		return
	}
	var body struct {
		Sent *bool `json:"sent"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 1<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Sent == nil {
		api.WriteError(rw, http.StatusBadRequest, `body: want {"sent":true} or {"sent":false}`)
		return
	}
	actor := "admin"
	if p.Label != "" {
		actor = "admin:" + p.Label
	}
	id := r.PathValue("id")
	err := w.Store.Resolve(r.Context(), id, actor, *body.Sent, w.now())
	switch {
	case errors.Is(err, followup.ErrNotFound):
		api.WriteError(rw, http.StatusNotFound, "no follow-up "+id)
	case errors.Is(err, followup.ErrInvalid):
		api.WriteError(rw, http.StatusConflict, err.Error())
	case err != nil:
		w.log.Error("resolve follow-up", "followup", id, "err", err)
		api.WriteError(rw, http.StatusInternalServerError, "resolve failed; see HQ log")
	default:
		api.WriteJSON(rw, http.StatusOK, map[string]any{"followup_id": id, "sent": *body.Sent})
	}
}

// Start runs the dispatcher until ctx ends; the returned stop cancels it and waits, so
// call stop before closing the HQ store.
func (w *Wiring) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Dispatcher.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// LoadOrCreateSecret reads a base64 link secret from path, creating a random 32-byte one
// (mode 0600) if the file does not exist.
func LoadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, fmt.Errorf("link secret: %w", err)
		}
		enc := base64.StdEncoding.EncodeToString(raw[:])
		if err := os.WriteFile(path, []byte(enc+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("link secret: %w", err)
		}
		return raw[:], nil
	}
	if err != nil {
		return nil, fmt.Errorf("link secret: %w", err)
	}
	sec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("link secret %s: want base64: %w", path, err)
	}
	if len(sec) < 16 {
		return nil, fmt.Errorf("link secret %s: %d bytes, want ≥ 16", path, len(sec))
	}
	return sec, nil
}
