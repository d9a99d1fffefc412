package api

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pharmachain/counter/sync/hq"
)

type metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	ingested   *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	lag        *prometheus.GaugeVec
	unlogged   prometheus.Counter
	reg        *prometheus.Registry

	registerErrs []error // logged by New
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hq_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hq_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hq_ingest_accepted_total", Help: "Records and purchases stored, by kind and store.",
		}, []string{"kind", "store"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hq_ingest_duplicates_total", Help: "Records and purchases received again (not stored twice), by kind and store.",
		}, []string{"kind", "store"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hq_outbox_lag_seconds",
			Help: "Per store: receipt time of its newest records batch minus the oldest updated_at in that batch.",
		}, []string{"store"}),
		unlogged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hq_history_reads_unlogged_total",
			Help: "History reads served but missing from the read log (its queue was full, or writing it failed).",
		}),
	}
	// A caller-supplied registry may already hold the Go/process collectors: that is fine.
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.ingested, m.duplicates, m.lag, m.unlogged,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			m.registerErrs = append(m.registerErrs, err)
		}
	}
	return m
}

// MetricsHandler serves the metrics without any check: for the separate loopback
// listener (`hq serve --metrics-addr`), never for the public address.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// metricsHandler is /metrics on HQ's public address: an admin token or the metrics token
// (Options.MetricsToken, Prometheus' `authorization` credentials), nothing else. The
// metrics hold no customer data but tell a visitor every store id, the load and what
// fails — not for the internet.
func (s *Server) metricsHandler() http.Handler {
	inner := s.MetricsHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		tok = strings.TrimSpace(tok)
		if ok && strings.EqualFold(scheme, "Bearer") && s.opts.MetricsToken != "" &&
			subtle.ConstantTimeCompare([]byte(hq.HashToken(tok)), []byte(hq.HashToken(s.opts.MetricsToken))) == 1 {
			inner.ServeHTTP(w, r)
			return
		}
		s.RequireAuth(func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
			if !p.Admin {
				WriteError(w, http.StatusForbidden, "/metrics needs an admin token or the metrics token")
				return
			}
			inner.ServeHTTP(w, r)
		}).ServeHTTP(w, r)
	})
}

// statusWriter records the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts requests and observes latency per route pattern.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
