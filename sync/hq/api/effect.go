package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/effectreport"
)

// effectService is the effect report service the server uses: Options.Effect, else
// one on the server's store with its catalog and the default content's knowledge base.
func (s *Server) effectService() *effectreport.Service {
	if s.opts.Effect != nil {
		return s.opts.Effect
	}
	return effectreport.New(s.st, effectreport.Config{Catalog: s.opts.Catalog, Knowledge: s.versions.Base().Knowledge,
		Versions: s.versions, Logger: s.log, Now: s.opts.Now})
}

// defaultKnowledge is the default content's knowledge base (nil without one).
func (s *Server) defaultKnowledge() *flows.KnowledgeBase {
	if s.opts.DefaultContent.Len() == 0 {
		return nil
	}
	d, err := s.opts.DefaultContent.Validate()
	if err != nil {
		s.log.Warn("effect report: the default content does not load; no recommendation conversions", "err", err)
		return nil
	}
	return d.Knowledge
}

// reportPeriod parses the required from and to of a report.
func reportPeriod(r *http.Request) (from, to flows.Day, err error) {
	q := r.URL.Query()
	for _, name := range []string{"from", "to"} {
		if q.Get(name) == "" {
			return 0, 0, badf("%s: missing (YYYY-MM-DD)", name)
		}
	}
	if from, err = parseDayParam(q, "from"); err != nil {
		return 0, 0, err
	}
	if to, err = parseDayParam(q, "to"); err != nil {
		return 0, 0, err
	}
	if to < from {
		return 0, 0, badf("to: %s is before from %s", to, from)
	}
	if to-from > 3*366 {
		return 0, 0, badf("to: a period of at most three years, please (%s … %s)", from, to)
	}
	return from, to, nil
}

// failReport answers a report error: the service's input errors 400, a chain-wide
// snapshot still building 503 with Retry-After.
func (s *Server) failReport(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, effectreport.ErrNotReady):
		w.Header().Set("Retry-After", strconv.Itoa(60))
		WriteError(w, http.StatusServiceUnavailable, "the chain-wide report is being prepared (nightly snapshot); retry in a minute")
	case errors.Is(err, effectreport.ErrInput):
		WriteError(w, http.StatusBadRequest, err.Error())
	default:
		s.fail(w, r, err)
	}
}

// handleEffect serves GET /api/v1/reports/effect?from=&to=[&as_of=][&store_id=][&class=].
func (s *Server) handleEffect(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	q := r.URL.Query()
	if err := checkQuery(q, "from", "to", "as_of", "store_id", "class"); err != nil {
		s.fail(w, r, err)
		return
	}
	store, err := p.ScopeStore(q.Get("store_id"))
	if err != nil {
		s.fail(w, r, forbiddenf("store_id: %v", err))
		return
	}
	from, to, err := reportPeriod(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	asOf, err := parseDayParam(q, "as_of")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if asOf != 0 && asOf < from {
		s.fail(w, r, badf("as_of: %s is before from %s", asOf, from))
		return
	}
	class := q.Get("class")
	switch class {
	case "", flows.ClassHypertension, flows.ClassDiabetes, flows.ClassHyperlipidemia:
	default:
		s.fail(w, r, badf("class: %q is not one of hypertension, diabetes, hyperlipidemia", class))
		return
	}
	res, err := s.effect.Effect(r.Context(), effect.Params{From: from, To: to, AsOf: asOf, StoreID: store, Class: class})
	if err != nil {
		s.failReport(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// handleHealthReport serves GET /api/v1/reports/health?from=&to=[&store_id=].
func (s *Server) handleHealthReport(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	q := r.URL.Query()
	if err := checkQuery(q, "from", "to", "store_id"); err != nil {
		s.fail(w, r, err)
		return
	}
	store, err := p.ScopeStore(q.Get("store_id"))
	if err != nil {
		s.fail(w, r, forbiddenf("store_id: %v", err))
		return
	}
	from, to, err := reportPeriod(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.effect.Health(r.Context(), effect.HealthParams{From: from, To: to, StoreID: store})
	if err != nil {
		s.failReport(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// Effect returns the server's effect report service (the dashboard shares it).
func (s *Server) Effect() *effectreport.Service { return s.effect }
