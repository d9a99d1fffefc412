package contentadmin

import (
	"context"
	"fmt"
	"sync"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
)

// Versions is HQ's domain data per content version, so that HQ reads a visit with the
// content the counter served it with: its points priced by that version's rules
// (visit_complete, and link_opened / revisit_booked of its follow-up, with that
// version's daily caps) and its recommendations' product codes read in that version's
// knowledge base and catalog (the effect report's conversions).
//
// Version 0 is HQ's own data: the content embedded in the binaries, with the catalog and
// points rules `hq serve --catalog/--points` gave. A published version is loaded from
// the store once (versions are immutable) and kept; at most maxVersions are kept.
type Versions struct {
	svc  *Service
	base flows.Data

	mu    sync.Mutex
	cache map[int]flows.Data
}

// maxVersions bounds the versions kept loaded (each is a few hundred KB at most).
const maxVersions = 32

// NewVersions serves version 0 as base and the published versions from svc.
func NewVersions(svc *Service, base flows.Data) *Versions {
	return &Versions{svc: svc, base: base, cache: map[int]flows.Data{}}
}

// Base is version 0's data.
func (v *Versions) Base() flows.Data { return v.base }

// Data returns the domain data of version n: the base for 0, else the published pack
// n through the strict loader. A version HQ does not have is hq.ErrNotFound; storage
// errors are returned as they are (hq.ErrUnavailable: try again later).
func (v *Versions) Data(ctx context.Context, n int) (flows.Data, error) {
	if n == content.DefaultVersion {
		return v.base, nil
	}
	v.mu.Lock()
	d, ok := v.cache[n]
	v.mu.Unlock()
	if ok {
		return d, nil
	}
	_, p, err := v.svc.st.ContentPack(ctx, n)
	if err != nil {
		return flows.Data{}, fmt.Errorf("content version %d: %w", n, err)
	}
	d, err = p.Validate()
	if err != nil { // published packs passed this loader: only a newer, stricter build refuses one
		return flows.Data{}, fmt.Errorf("content version %d does not load: %w", n, err)
	}
	v.mu.Lock()
	if len(v.cache) >= maxVersions {
		for k := range v.cache {
			delete(v.cache, k)
			break
		}
	}
	v.cache[n] = d
	v.mu.Unlock()
	return d, nil
}

// Points returns the points rules and daily caps of version n.
func (v *Versions) Points(ctx context.Context, n int) (flows.PointsRules, flows.PointsCaps, error) {
	d, err := v.Data(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	return d.Points, d.PointsCaps, nil
}
