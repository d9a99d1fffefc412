// Package api is HQ's HTTP API: idempotent ingest of the stores' service records and
// purchases, chain-wide purchase history with continuity (PDC) analysis, points and
// completion reports, the store roster, bearer-token authentication and Prometheus
// metrics. It runs on hq.Store only; other HQ parts (follow-ups, dashboard, admin
// routes) mount their routes through Options.Mount. See docs/api.md and docs/hq.md.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/clientip"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/hq/effectreport"
	"github.com/pharmachain/counter/sync/wire"
)

// Options configures a Server. Zero values take sensible defaults.
type Options struct {
	// Logger receives request and ingest logs; nil: discard.
	Logger *slog.Logger
	// Now is the clock (history's default as_of, lag gauge); nil: time.Now.
	Now func() time.Time
	// Catalog resolves purchases' drug codes and feeds the continuity analysis; nil: empty.
	Catalog *flows.Catalog
	// PointsRules prices points events (a complete visit earns "visit_complete");
	// nil: flows.DefaultPointsRules().
	PointsRules flows.PointsRules
	// Adherence configures the continuity analysis (horizon); zero: flows defaults.
	Adherence flows.AdherenceOptions
	// Registry receives the metrics; nil: a fresh registry (served at /metrics).
	Registry *prometheus.Registry
	// PrepareRecord, if set, adds to each record of a records batch what accepting it
	// brings besides its points — the follow-ups to schedule and the audit entries
	// (followup.Planner.Prepare) — before the batch goes to the store, which writes them
	// only if the record is new, in the record's commit. An error wrapping
	// hq.ErrInvalid answers 400 naming the record; the batch is then not stored.
	PrepareRecord func(in *hq.VisitIngest) error
	// DefaultContent is content version 0, the pack embedded in the binaries
	// (content.FromFS(assets.FS())): the base of the first content publish and of diffs
	// against version 0. Zero: version 0 cannot be read or compared (publishing then
	// needs complete packs).
	DefaultContent content.Pack
	// Versions is HQ's domain data per content version: a visit's points are priced
	// with the rules of the content version it was served with (flows.Visit.
	// ContentVersion). Nil: one on the server's content management whose version 0 is
	// Catalog, PointsRules and DefaultContent's knowledge base.
	Versions *contentadmin.Versions
	// Effect computes the effect and process-health reports; nil: a service on the
	// server's store with Catalog and DefaultContent's knowledge base (its chain-wide
	// snapshot is then built on first use, never refreshed nightly: the composition
	// root runs one that is).
	Effect *effectreport.Service
	// MetricsToken, if set, is a bearer token (besides admin tokens) that may read
	// /metrics: Prometheus' scrape credentials (`hq serve --metrics-token-file`).
	MetricsToken string
	// Clients resolves client addresses (token uses: the addresses each store syncs
	// from); the zero value: the TCP peer.
	Clients clientip.Resolver
	// Mount, if set, is called with the mux after the built-in routes are registered,
	// so other HQ parts (follow-ups, dashboard, demo gateway) add their routes. Use
	// s.RequireAuth to protect /api/ routes.
	Mount func(mux *http.ServeMux, s *Server)
}

// Server is the HQ HTTP API. It implements http.Handler.
type Server struct {
	st       hq.Store
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	metrics  *metrics
	handler  http.Handler
	content  *contentadmin.Service
	versions *contentadmin.Versions
	effect   *effectreport.Service
	// uses are the token uses noted since the last Flush; flushers are other queues
	// flushed with them (OnFlush).
	uses     *useTracker
	reads    readQueue
	flushers []func(ctx context.Context, final bool) error
}

// OnFlush adds f to what Flush (and Run) write: every few seconds with final false,
// at shutdown (and from Flush) with final true — then f writes all it holds. Call it
// before serving.
func (s *Server) OnFlush(f func(ctx context.Context, final bool) error) {
	s.flushers = append(s.flushers, f)
}

// New builds the server on st.
func New(st hq.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Catalog == nil {
		opts.Catalog = flows.NewCatalog(nil)
	}
	if opts.PointsRules == nil {
		opts.PointsRules = flows.DefaultPointsRules()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &Server{st: st, opts: opts, log: opts.Logger, mux: http.NewServeMux(), uses: newUseTracker()}
	s.content = contentadmin.New(st, opts.DefaultContent, opts.Now)
	s.versions = opts.Versions
	if s.versions == nil {
		s.versions = contentadmin.NewVersions(s.content, flows.Data{Catalog: opts.Catalog, Points: opts.PointsRules, Knowledge: s.defaultKnowledge()})
	}
	s.effect = s.effectService()
	s.metrics = newMetrics(opts.Registry)
	for _, err := range s.metrics.registerErrs {
		s.log.Warn("metrics registration", "err", err)
	}
	s.routes()
	if opts.Mount != nil {
		opts.Mount(s.mux, s)
	}
	s.handler = s.instrument(s.mux)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Store returns the storage the server runs on.
func (s *Server) Store() hq.Store { return s.st }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Now returns the server clock's current time.
func (s *Server) Now() time.Time { return s.opts.Now() }

// Registry returns the Prometheus registry the server's metrics live in.
func (s *Server) Registry() *prometheus.Registry { return s.opts.Registry }

func (s *Server) routes() {
	s.mux.HandleFunc("GET "+wire.PathHealth, s.handleHealth)
	s.mux.Handle("POST "+wire.PathRecords, s.RequireAuth(s.handleRecords))
	s.mux.Handle("POST "+wire.PathPurchases, s.RequireAuth(s.handlePurchases))
	s.mux.Handle("GET "+wire.PathHistory, s.RequireAuth(s.handleHistory))
	s.mux.Handle("GET "+wire.PathCompletion, s.RequireAuth(s.handleCompletion))
	s.mux.Handle("GET "+wire.PathPoints, s.RequireAuth(s.handlePoints))
	s.mux.Handle("GET "+wire.PathEffect, s.RequireAuth(s.handleEffect))
	s.mux.Handle("GET "+wire.PathHealthRep, s.RequireAuth(s.handleHealthReport))
	s.mux.Handle("GET "+wire.PathRoster, s.RequireAuth(s.handleRoster))
	s.mux.Handle("GET "+PathFlags, s.RequireAuth(s.handleFlags))
	s.mux.Handle("GET "+wire.PathMetrics, s.metricsHandler())
	s.contentRoutes()
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
}

// handleHealth answers 200 {"status":"ok"}; with a storage that can check itself
// (Ping, e.g. PostgreSQL) 503 {"status":"unavailable","storage":…} and Retry-After
// while it cannot be reached, so a load balancer takes the replica out of rotation
// until the database is back.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.st.(interface{ Ping(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			s.log.Warn("health check: storage unavailable", "err", err)
			w.Header().Set("Retry-After", strconv.Itoa(hq.RetryAfterSeconds))
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "storage": "database unreachable"})
			return
		}
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// HTTPServer wraps a handler in an http.Server with timeouts that defeat slow clients
// (slow-loris headers, trickled bodies, idle keep-alives).
func HTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Serve runs srv on ln until ctx ends, then shuts down gracefully: the listener closes,
// in-flight requests get up to grace to finish. It returns nil after a clean shutdown.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		<-errc
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
