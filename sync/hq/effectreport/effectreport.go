// Package effectreport computes HQ's effect and process-health reports (docs/effect.md)
// from an hq.EffectStore with flows/effect.
//
// A store's reports are computed on request from that store's customers (their visits
// and purchases at every store). The chain-wide ones come from a snapshot of every fact
// of the last SnapshotDays days, built when first asked for and refreshed nightly
// (Run); they carry the snapshot's as_of and time. One store's year takes well under a
// second; the chain's year of a 200-store chain about ten seconds to snapshot and a few to
// report (docs/benchmarks.md).
package effectreport

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// Defaults.
const (
	DefaultSnapshotDays = 730
	// DefaultRefreshAt is the local time of day the nightly snapshot is rebuilt.
	DefaultRefreshAt = 2 * time.Hour
	// customerBatch bounds one storage call's customer list.
	customerBatch = 2000
	// purchaseLookback: a baseline PDC at index − 1 reads fills back to index − 270.
	purchaseLookback = 270
)

// ErrInput marks a request the service refuses (the API answers 400).
const ErrInput = sentinel("invalid report request")

// ErrNotReady is returned for a chain-wide report while the first snapshot is still
// being built (the API answers 503 with Retry-After).
const ErrNotReady = sentinel("the chain-wide snapshot is being built")

// Config configures a Service.
type Config struct {
	Catalog   *flows.Catalog       // kinds, classes and product codes of drug codes
	Knowledge *flows.KnowledgeBase // recommendations' product codes; nil: no conversions
	// Versions gives the knowledge base and catalog of each content version, so a
	// visit's recommendations are read with the content it was served with; nil: every
	// visit with Knowledge (version 0's).
	Versions ContentVersions
	Logger   *slog.Logger
	Now      func() time.Time
	// SnapshotDays of facts the chain-wide snapshot holds (ending at its as_of);
	// 0: DefaultSnapshotDays. A chain-wide report needs from − 270 d inside them.
	SnapshotDays int
	// RefreshAt is when Run rebuilds the snapshot each day (local time since
	// midnight); 0: DefaultRefreshAt.
	RefreshAt time.Duration
	// Wait is how long a chain-wide request waits for a snapshot being built before
	// ErrNotReady; 0: 20 s.
	Wait time.Duration
}

// ContentVersions gives HQ's domain data of a content version (contentadmin.Versions).
type ContentVersions interface {
	Data(ctx context.Context, version int) (flows.Data, error)
}

// Service computes the reports.
type Service struct {
	st  hq.EffectStore
	cfg Config

	mu       sync.Mutex
	snap     *Snapshot
	building chan struct{} // closed when the build in progress ends
	lastErr  error
	runCtx   context.Context // Run's context: builds stop with it (nil: never)
}

// Snapshot is the chain's facts at one moment.
type Snapshot struct {
	Data    *effect.Data
	AsOf    flows.Day // the data date: facts up to this day
	From    flows.Day // the first day of facts it holds
	BuiltAt time.Time
	Took    time.Duration
}

// New makes a service on st.
func New(st hq.EffectStore, cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SnapshotDays <= 0 {
		cfg.SnapshotDays = DefaultSnapshotDays
	}
	if cfg.RefreshAt <= 0 {
		cfg.RefreshAt = DefaultRefreshAt
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 20 * time.Second
	}
	return &Service{st: st, cfg: cfg}
}

// Source says where a report came from.
const (
	SourceLive     = wire.SourceLive
	SourceSnapshot = wire.SourceSnapshot
)

// EffectResult is an effect report with its provenance (the API's answer).
type EffectResult = wire.EffectResponse

// HealthResult is a health report with its provenance.
type HealthResult = wire.HealthResponse

// Today is the HQ clock's local date.
func (s *Service) Today() flows.Day { return flows.DayOf(s.cfg.Now()) }

// Effect computes the effect report: a store's live (AsOf 0: today), the chain's
// (StoreID "") from the snapshot (AsOf 0 or later than the snapshot's: the
// snapshot's).
func (s *Service) Effect(ctx context.Context, p effect.Params) (EffectResult, error) {
	if p.From > p.To {
		return EffectResult{}, fmt.Errorf("%w: from %s is after to %s", ErrInput, p.From, p.To)
	}
	if p.StoreID == "" {
		snap, err := s.Snapshot(ctx)
		if err != nil {
			return EffectResult{}, err
		}
		if p.AsOf == 0 || p.AsOf > snap.AsOf {
			p.AsOf = snap.AsOf
		}
		if p.From-purchaseLookback < snap.From {
			return EffectResult{}, fmt.Errorf("%w: from %s: the chain-wide snapshot holds facts from %s, so from must be on or after %s (or ask for one store)",
				ErrInput, p.From, snap.From, snap.From+purchaseLookback)
		}
		rep, err := snap.Data.Effect(p)
		if err != nil {
			return EffectResult{}, fmt.Errorf("%w: %v", ErrInput, err)
		}
		return EffectResult{Report: rep, Source: SourceSnapshot, ComputedAt: snap.BuiltAt}, nil
	}
	now := s.cfg.Now()
	if p.AsOf == 0 {
		p.AsOf = flows.DayOf(now)
	}
	if p.From > p.AsOf {
		return EffectResult{}, fmt.Errorf("%w: from %s is after as_of %s", ErrInput, p.From, p.AsOf)
	}
	d, err := s.storeData(ctx, p.StoreID, p.From, min(p.To, p.AsOf), p.AsOf)
	if err != nil {
		return EffectResult{}, err
	}
	rep, err := d.Effect(p)
	if err != nil {
		return EffectResult{}, fmt.Errorf("%w: %v", ErrInput, err)
	}
	return EffectResult{Report: rep, Source: SourceLive, ComputedAt: now}, nil
}

// storeData reads what one store's report needs: the store's customers (a visit or a
// purchase there in [from, to]) with their complete visits in [from − 90, to] and their
// purchases in [from − 270, asOf], at every store.
func (s *Service) storeData(ctx context.Context, store string, from, to, asOf flows.Day) (*effect.Data, error) {
	custs, err := s.st.EffectCustomers(ctx, store, from, to)
	if err != nil {
		return nil, fmt.Errorf("effect report of store %s: %w", store, err)
	}
	b := s.builder(ctx)
	var addErr error
	bad := 0
	for i := 0; i < len(custs); i += customerBatch {
		part := custs[i:min(i+customerBatch, len(custs))]
		err := s.st.CustomerEffectVisits(ctx, part, from-effect.ComparisonGuard, to, func(f effect.VisitFact) error {
			if err := b.AddVisit(f); err != nil {
				bad++
				addErr = err
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("effect report of store %s: %w", store, err)
		}
		err = s.st.CustomerPurchases(ctx, part, from-purchaseLookback, asOf, func(p *effect.PurchaseFact) error {
			if err := b.AddPurchase(*p); err != nil {
				bad++
				addErr = err
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("effect report of store %s: %w", store, err)
		}
	}
	if bad > 0 {
		s.cfg.Logger.Warn("effect report: facts left out", "store", store, "count", bad, "last", addErr)
	}
	return b.Build(), nil
}

// Health computes the process-health report: a store's live, the chain's from the
// snapshot (judged at its build time).
func (s *Service) Health(ctx context.Context, p effect.HealthParams) (HealthResult, error) {
	if p.From > p.To {
		return HealthResult{}, fmt.Errorf("%w: from %s is after to %s", ErrInput, p.From, p.To)
	}
	if p.StoreID == "" {
		snap, err := s.Snapshot(ctx)
		if err != nil {
			return HealthResult{}, err
		}
		if p.From < snap.From {
			return HealthResult{}, fmt.Errorf("%w: from %s: the chain-wide snapshot holds facts from %s (or ask for one store)", ErrInput, p.From, snap.From)
		}
		p.Now = snap.BuiltAt
		h, err := snap.Data.Health(p)
		if err != nil {
			return HealthResult{}, fmt.Errorf("%w: %v", ErrInput, err)
		}
		return HealthResult{Health: h, Source: SourceSnapshot, ComputedAt: snap.BuiltAt}, nil
	}
	now := s.cfg.Now()
	p.Now = now
	b := s.builder(ctx)
	bad := 0
	if err := s.st.EffectVisits(ctx, p.StoreID, p.From, p.To, func(f effect.VisitFact) error {
		if b.AddVisit(f) != nil {
			bad++
		}
		return nil
	}); err != nil {
		return HealthResult{}, fmt.Errorf("health report of store %s: %w", p.StoreID, err)
	}
	if err := s.st.EffectFollowUps(ctx, p.StoreID, p.From, p.To, func(f effect.FollowUpFact) error {
		if b.AddFollowUp(f) != nil {
			bad++
		}
		return nil
	}); err != nil {
		return HealthResult{}, fmt.Errorf("health report of store %s: %w", p.StoreID, err)
	}
	if bad > 0 {
		s.cfg.Logger.Warn("health report: facts left out", "store", p.StoreID, "count", bad)
	}
	h, err := b.Build().Health(p)
	if err != nil {
		return HealthResult{}, fmt.Errorf("%w: %v", ErrInput, err)
	}
	return HealthResult{Health: h, Source: SourceLive, ComputedAt: now}, nil
}

// Snapshot returns the chain-wide snapshot, building it if there is none (waiting up
// to Config.Wait for a build in progress, then ErrNotReady).
func (s *Service) Snapshot(ctx context.Context) (*Snapshot, error) {
	s.mu.Lock()
	if s.snap != nil {
		snap := s.snap
		s.mu.Unlock()
		return snap, nil
	}
	ch := s.startBuildLocked()
	s.mu.Unlock()
	t := time.NewTimer(s.cfg.Wait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		return nil, ErrNotReady
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap == nil {
		return nil, fmt.Errorf("chain-wide snapshot: %w", s.lastErr)
	}
	return s.snap, nil
}

// startBuildLocked starts a build unless one is running; it returns the channel closed
// when that build ends. s.mu must be held.
func (s *Service) startBuildLocked() chan struct{} {
	if s.building != nil {
		return s.building
	}
	ch := make(chan struct{})
	s.building = ch
	ctx := s.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	go func() {
		snap, err := s.build(ctx)
		s.mu.Lock()
		if err == nil {
			s.snap = snap
		}
		s.lastErr = err
		s.building = nil
		s.mu.Unlock()
		close(ch)
		if err != nil {
			s.cfg.Logger.Error("effect report: chain-wide snapshot failed", "err", err)
		} else {
			s.cfg.Logger.Info("effect report: chain-wide snapshot built", "as_of", snap.AsOf, "customers", snap.Data.CustomerCount(), "took", snap.Took)
		}
	}()
	return ch
}

// Refresh rebuilds the snapshot now and waits for it.
func (s *Service) Refresh(ctx context.Context) error {
	s.mu.Lock()
	ch := s.startBuildLocked()
	s.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// build reads every fact of the last SnapshotDays days.
func (s *Service) build(ctx context.Context) (*Snapshot, error) {
	start := s.cfg.Now()
	asOf := flows.DayOf(start)
	from := asOf - flows.Day(s.cfg.SnapshotDays)
	b := s.builder(ctx)
	bad := 0
	if err := s.st.EffectPurchases(ctx, from, asOf, func(p *effect.PurchaseFact) error {
		if b.AddPurchase(*p) != nil {
			bad++
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("chain-wide snapshot: %w", err)
	}
	if err := s.st.EffectVisits(ctx, "", from, asOf, func(f effect.VisitFact) error {
		if b.AddVisit(f) != nil {
			bad++
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("chain-wide snapshot: %w", err)
	}
	if err := s.st.EffectFollowUps(ctx, "", from, asOf, func(f effect.FollowUpFact) error {
		if b.AddFollowUp(f) != nil {
			bad++
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("chain-wide snapshot: %w", err)
	}
	if bad > 0 {
		s.cfg.Logger.Warn("effect report: facts left out of the snapshot", "count", bad)
	}
	return &Snapshot{Data: b.Build(), AsOf: asOf, From: from, BuiltAt: start, Took: time.Since(start)}, nil
}

// Run builds the snapshot now and again every day at RefreshAt (local time) until ctx
// ends; then it waits for a build in progress to stop, so the store can be closed.
func (s *Service) Run(ctx context.Context) {
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		ch := s.building
		s.mu.Unlock()
		if ch != nil {
			<-ch
		}
	}()
	_ = s.Refresh(ctx)
	for {
		now := s.cfg.Now()
		next := flows.DayOf(now).Time().Add(s.cfg.RefreshAt)
		if !next.After(now) {
			next = (flows.DayOf(now) + 1).Time().Add(s.cfg.RefreshAt)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(now)):
			_ = s.Refresh(ctx)
		}
	}
}

// builder starts a fact builder that reads each visit's recommendations with the
// knowledge base of its content version (Config.Versions). A version HQ cannot read
// (not stored, storage down) is read with version 0's, and logged once per build.
func (s *Service) builder(ctx context.Context) *effect.Builder {
	b := effect.NewBuilder(s.cfg.Catalog, s.cfg.Knowledge)
	if s.cfg.Versions != nil {
		b.KnowledgeFor(func(v int) (*flows.KnowledgeBase, *flows.Catalog) {
			d, err := s.cfg.Versions.Data(ctx, v)
			if err != nil {
				s.cfg.Logger.Warn("effect report: content version unreadable; its visits' recommendations read with version 0's knowledge base",
					"content_version", v, "err", err)
				return nil, nil
			}
			return d.Knowledge, d.Catalog
		})
	}
	return b
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
