// Package server assembles one HQ — the composition root that `hq serve` and the kiosk
// demo both call: the HTTP API (sync/hq/api) on an hq.Store, with the follow-ups
// (ingest planning, dispatcher, tracked link, overdue report, WeCom callback), the
// dashboard, the admin routes (backup, purge, forget, audit log) and the metrics.
//
//	st, _ := server.OpenStore(ctx, server.StoreConfig{Dir: dir})
//	h, _ := server.New(ctx, st, server.Config{PublicURL: "https://hq.example.cn"})
//	h.Start(ctx)                       // the dispatcher
//	… serve h.Handler() …
//	h.Stop(); st.Close()
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/admin"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/clientip"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/hq/dashboard"
	"github.com/pharmachain/counter/sync/hq/effectreport"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/wire"
)

// PathWeComCallback is WeCom's callback URL on HQ (GET: URL verification, POST:
// events). It takes no bearer token: WeCom's msg_signature authenticates it.
const PathWeComCallback = "/wecom/callback"

// LinkSecretName is the store secret that signs follow-up links when Config.LinkSecret
// is not given.
const LinkSecretName = "link"

// Config configures an HQ. Zero values take the defaults noted.
type Config struct {
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now
	// Catalog resolves purchases' drug codes; nil: empty.
	Catalog *flows.Catalog
	// PointsRules price visits, link opens and bookings; nil: flows defaults (with their
	// caps, unless PointsCaps is given).
	PointsRules flows.PointsRules
	// PointsCaps cap the link and booking points a pharmacist earns per day (nil: none,
	// or the flows defaults with default rules).
	PointsCaps flows.PointsCaps
	// Messages are the follow-up texts (the WeCom link card's title and description);
	// nil: the embedded messages/followup.json.
	Messages *flows.FollowUpMessages
	// DefaultContent is content version 0, the pack embedded in the binaries
	// (content.FromFS(assets.FS())); see api.Options.DefaultContent.
	DefaultContent content.Pack
	// Registry receives the metrics; nil: a fresh one (served at /metrics to an admin
	// token or MetricsToken; MetricsHandler serves it without a check for a loopback
	// listener).
	Registry *prometheus.Registry
	// MetricsToken, if set, may read /metrics besides admin tokens (Prometheus).
	MetricsToken string

	// PublicURL is HQ's address as customers' phones reach it (links are
	// PublicURL + "/f/TOKEN"), e.g. https://hq.example.cn. Required.
	PublicURL string
	// LinkSecret signs tracked links (≥ 16 bytes); nil: the store's secret
	// LinkSecretName, created on first use (every HQ process of a store shares it).
	LinkSecret []byte

	// Channel sends follow-ups; nil: WeCom if WeCom is set, else the log-only channel
	// printing links to Out with DemoChannel, else none (followup.NoChannel: follow-ups
	// are not sent, stay not_sent with code no_channel, and no link points are earned).
	Channel followup.Channel
	// DemoChannel: without WeCom, print each follow-up's link to Out instead of sending
	// it (`hq serve --demo`, the kiosk demo, tests). Never in production: the links
	// would be marked sent without reaching anyone.
	DemoChannel bool
	// WeCom, if set (and Channel nil), sends "wecom" follow-ups through customer contact.
	WeCom *wecom.Client
	// Robot and RobotKeys (store id → webhook key), if set (and Notifier nil), post
	// escalations and daily summaries to the stores' WeCom groups.
	Robot     *wecom.Robot
	RobotKeys map[string]string
	// Notifier gets escalations and daily summaries; nil: logged only.
	Notifier followup.StaffNotifier
	// Out is where the log-only channel prints each follow-up link (e.g. stdout).
	Out io.Writer
	// Interval is the dispatcher's poll interval; 0: 5 s.
	Interval time.Duration
	// SendEarly sends follow-ups this long before they are due (demo: 24 h, so the link
	// is printed right after the visit reaches HQ); 0 in production.
	SendEarly time.Duration
	// MaxLate: follow-ups more than this past due when HQ gets them are not sent but
	// reported overdue (default 72 h; see followup.DispatcherConfig.MaxLate).
	MaxLate time.Duration
	// Owner and Lease: the dispatcher's name in claims and their length (defaults:
	// followup.DefaultOwner(), 5 min).
	Owner string
	Lease time.Duration

	// WeComCallbackToken, WeComCallbackAESKey (the 43-character EncodingAESKey) and
	// WeComCorpID (the receiveid) enable WeCom's callback URL at PathWeComCallback,
	// which binds customers to WeCom contacts (see docs/followups.md). All three or none.
	WeComCallbackToken  string
	WeComCallbackAESKey string
	WeComCorpID         string

	// SecureCookie marks the dashboard's cookies Secure (HQ behind TLS); also on
	// whenever PublicURL is https.
	SecureCookie bool
	// TrustProxy: the reverse proxies whose X-Forwarded-For HQ believes (`hq serve
	// --trust-proxy CIDR,…`), for every client address HQ keys on — the link rate limit,
	// sign-in failures, audit addresses, the addresses a store syncs from. Zero: the TCP
	// peer is the client.
	TrustProxy clientip.Resolver

	// EffectSnapshotDays: days of facts the effect report's chain-wide snapshot holds
	// (rebuilt nightly by Start); 0: effectreport.DefaultSnapshotDays.
	EffectSnapshotDays int

	// Mount, if set, adds routes after HQ's own (e.g. the demo's insurance gateway).
	Mount func(mux *http.ServeMux, s *api.Server)
}

// HQ is one assembled HQ on a store. The caller owns the store: Stop the HQ before
// closing it.
type HQ struct {
	st         hq.Store
	api        *api.Server
	dispatcher *followup.Dispatcher
	link       *followup.LinkHandlerT
	dash       *dashboard.Handler
	effect     *effectreport.Service
	callback   http.Handler
	log        *slog.Logger
	now        func() time.Time
	channel    string

	mu   sync.Mutex
	stop func()
}

// New assembles HQ on st.
func New(ctx context.Context, st hq.Store, cfg Config) (*HQ, error) {
	if st == nil {
		return nil, errors.New("hq server: a store is required")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("hq server: the public URL (follow-up links) is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PointsRules == nil {
		cfg.PointsRules = flows.DefaultPointsRules()
		if cfg.PointsCaps == nil {
			cfg.PointsCaps = flows.DefaultPointsCaps()
		}
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	secret := cfg.LinkSecret
	if secret == nil {
		var err error
		if secret, err = st.LoadOrCreateSecret(ctx, LinkSecretName, 32); err != nil {
			return nil, fmt.Errorf("hq server: link secret: %w", err)
		}
	}
	signer, err := followup.NewSigner(secret)
	if err != nil {
		return nil, fmt.Errorf("hq server: %w", err)
	}
	h := &HQ{st: st, log: cfg.Logger, now: cfg.Now}
	ch := cfg.Channel
	switch {
	case ch != nil:
		h.channel = ChannelCustom
	case cfg.WeCom != nil:
		msgs, err := embeddedMessages()
		if cfg.Messages != nil {
			msgs, err = *cfg.Messages, nil
		}
		if err != nil {
			return nil, fmt.Errorf("hq server: %w", err)
		}
		ch = followup.Mux{flows.ChannelWeCom: &followup.WeComChannel{Client: cfg.WeCom, Contacts: st, Title: msgs.LinkTitle, Desc: msgs.LinkDesc}}
		h.channel = ChannelWeCom
	case cfg.DemoChannel:
		ch = &followup.LogChannel{Logger: cfg.Logger, Out: cfg.Out}
		h.channel = ChannelLog
	default:
		ch = followup.NoChannel{}
		h.channel = ChannelNone
	}
	notifier := cfg.Notifier
	switch {
	case notifier != nil:
	case cfg.Robot != nil:
		notifier = &followup.RobotNotifier{Robot: cfg.Robot, Keys: cfg.RobotKeys, Logger: cfg.Logger}
	default:
		notifier = followup.LogNotifier{Logger: cfg.Logger}
	}
	h.dispatcher, err = followup.NewDispatcher(st, ch, followup.DispatcherConfig{
		Interval: cfg.Interval, Early: cfg.SendEarly, MaxLate: cfg.MaxLate, LinkBase: cfg.PublicURL, Signer: signer,
		Logger: cfg.Logger, Now: cfg.Now, Notifier: notifier, Owner: cfg.Owner, Lease: cfg.Lease})
	if err != nil {
		return nil, fmt.Errorf("hq server: %w", err)
	}
	// Version 0 of the content is HQ's own data: the embedded content with the catalog
	// and points rules of the configuration; a visit is priced and read with the version
	// it was served with (contentadmin.Versions).
	base := flows.Data{Catalog: cfg.Catalog, Points: cfg.PointsRules, PointsCaps: cfg.PointsCaps}
	if cfg.DefaultContent.Len() > 0 {
		d, err := cfg.DefaultContent.Validate()
		if err != nil {
			return nil, fmt.Errorf("hq server: default content: %w", err)
		}
		base.Knowledge, base.Questionnaires, base.Messages = d.Knowledge, d.Questionnaires, d.Messages
	}
	content := contentadmin.New(st, cfg.DefaultContent, cfg.Now)
	versions := contentadmin.NewVersions(content, base)
	h.link, err = followup.LinkHandler(followup.LinkConfig{Store: st, Signer: signer, Points: cfg.PointsRules, Caps: cfg.PointsCaps,
		Versions: versions, Logger: cfg.Logger, Now: cfg.Now, Clients: cfg.TrustProxy})
	if err != nil {
		return nil, fmt.Errorf("hq server: %w", err)
	}
	h.effect = effectreport.New(st, effectreport.Config{Catalog: cfg.Catalog, Knowledge: base.Knowledge, Versions: versions,
		Logger: cfg.Logger, Now: cfg.Now, SnapshotDays: cfg.EffectSnapshotDays})
	h.dash, err = dashboard.New(dashboard.Config{Data: dashboard.HQData(st), Tokens: st, Effect: h.effect,
		Audit: func(ctx context.Context, actor, action, detail string, at time.Time) error {
			return st.Audit(ctx, hq.AuditEntry{At: at, Actor: actor, Action: action, Detail: detail})
		},
		Now: cfg.Now, Logger: cfg.Logger, SecureCookie: cfg.SecureCookie || strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://"),
		Clients: cfg.TrustProxy, Sessions: st,
		Content: content})
	if err != nil {
		return nil, fmt.Errorf("hq server: %w", err)
	}
	if cfg.WeComCallbackToken != "" || cfg.WeComCallbackAESKey != "" {
		cr, err := wecom.NewCrypter(cfg.WeComCallbackToken, cfg.WeComCallbackAESKey, cfg.WeComCorpID)
		if err != nil {
			return nil, fmt.Errorf("hq server: %w", err)
		}
		events := followup.ContactEvents{Store: st, Logger: cfg.Logger, Now: cfg.Now}
		h.callback, err = wecom.CallbackHandler(wecom.CallbackConfig{Crypter: cr, OnEvent: events.OnEvent, Logger: cfg.Logger, Nonces: st})
		if err != nil {
			return nil, fmt.Errorf("hq server: %w", err)
		}
	}
	h.api = api.New(st, api.Options{Logger: cfg.Logger, Now: cfg.Now, Catalog: cfg.Catalog, PointsRules: cfg.PointsRules,
		Registry: cfg.Registry, DefaultContent: cfg.DefaultContent, Versions: versions, Effect: h.effect, Clients: cfg.TrustProxy, MetricsToken: cfg.MetricsToken,
		PrepareRecord: func(in *hq.VisitIngest) error {
			return followup.Prepare(in, cfg.Now())
		},
		Mount: func(mux *http.ServeMux, s *api.Server) {
			h.routes(mux, s)
			if cfg.Mount != nil {
				cfg.Mount(mux, s)
			}
		}})
	h.api.OnFlush(h.link.FlushAudit) // link requests that changed nothing: one audit entry a minute
	if err := cfg.Registry.Register(followup.NewOverdueCollector(st, cfg.Now, 30*time.Second, cfg.Logger)); err != nil {
		return nil, fmt.Errorf("hq server: register overdue metric: %w", err)
	}
	return h, nil
}

// routes registers everything beyond the API's own routes: /f/ (tracked link), GET
// /api/v1/followups, POST /api/v1/followups/{id}/resolve, the admin routes, /wecom/callback
// (if configured) and the dashboard at / (with /login, /logout, /export/, /static/).
func (h *HQ) routes(mux *http.ServeMux, s *api.Server) {
	mux.Handle("/f/", h.link)
	mux.Handle("GET "+wire.PathFollowups, s.RequireAuth(func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		followup.FollowupsHandler(h.st, func(*http.Request) (followup.Caller, bool) {
			return followup.Caller{Admin: p.Admin, StoreID: p.StoreID}, true
		}, h.now).ServeHTTP(w, r)
	}))
	mux.Handle("POST "+wire.PathFollowups+"/{id}/resolve", s.RequireAuth(h.resolve))
	admin.Routes(mux, s, h.st, h.now, h.log)
	if h.callback != nil {
		mux.Handle(PathWeComCallback, h.callback) // no bearer token: WeCom's signature
	}
	mux.Handle("/", h.dash)
}

// Follow-up channels HQ can run with (HQ.Channel).
const (
	ChannelWeCom  = "wecom"    // WeCom customer contact
	ChannelLog    = "log-only" // links printed, nothing sent: demo only
	ChannelNone   = "none"     // no channel: nothing sent (followup.NoChannel)
	ChannelCustom = "custom"   // Config.Channel
)

// Channel says which follow-up channel is live (`hq serve` prints it at start).
func (h *HQ) Channel() string { return h.channel }

// MetricsHandler serves /metrics without any check: only for a listener on a private
// address (`hq serve --metrics-addr`, loopback by default).
func (h *HQ) MetricsHandler() http.Handler { return h.api.MetricsHandler() }

// Handler is HQ's whole HTTP handler.
func (h *HQ) Handler() http.Handler { return h.api }

// API is HQ's API server (its auth middleware, registry, clock).
func (h *HQ) API() *api.Server { return h.api }

// Store is the store HQ runs on.
func (h *HQ) Store() hq.Store { return h.st }

// Dispatcher is HQ's follow-up dispatcher (Start runs it).
func (h *HQ) Dispatcher() *followup.Dispatcher { return h.dispatcher }

// Start runs HQ's background work (the follow-up dispatcher, the effect report's
// nightly chain-wide snapshot) until ctx ends or Stop.
// Starting twice is a no-op.
func (h *HQ) Start(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.dispatcher.Run(ctx)
	}()
	effectDone := make(chan struct{})
	go func() {
		defer close(effectDone)
		h.effect.Run(ctx) // the chain-wide effect snapshot: now, then nightly
	}()
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		h.api.Run(ctx) // token uses and audited reads, written in batches (and once more at stop)
	}()
	h.stop = func() { cancel(); <-done; <-effectDone; <-flushDone }
}

// Stop ends the background work and waits for it, so that the store can be closed.
func (h *HQ) Stop() {
	h.mu.Lock()
	stop := h.stop
	h.stop = nil
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// embeddedMessages are the follow-up texts of the embedded messages/followup.json.
func embeddedMessages() (flows.FollowUpMessages, error) {
	b, err := assets.Read(flows.MessagesFile)
	if err != nil {
		return flows.FollowUpMessages{}, fmt.Errorf("follow-up messages: %w", err)
	}
	m, err := flows.LoadFollowUpMessages(b, nil)
	if err != nil {
		return flows.FollowUpMessages{}, fmt.Errorf("%s: %w", flows.MessagesFile, err)
	}
	return m, nil
}
