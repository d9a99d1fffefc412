package dashboard

import (
	"context"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/wire"
)

// Query selects completion rows: local days [From, To], one store (empty: all), grouped
// by "store", "pharmacist" or "day".
type Query struct {
	From, To flows.Day
	StoreID  string
	GroupBy  string
}

// Data is what the dashboard reads. The HQ store satisfies it through HQData.
type Data interface {
	// Completion returns the completion report rows (as GET /api/v1/reports/completion).
	Completion(ctx context.Context, q Query) ([]wire.CompletionRow, error)
	// Points returns every pharmacist's points total.
	Points(ctx context.Context) ([]wire.PointsRow, error)
	// Overdue returns the overdue follow-ups of all stores at now.
	Overdue(ctx context.Context, now time.Time) ([]followup.OverdueRow, error)
	// Flags returns the newest flags of all stores (未在花名册, suspicious credits).
	Flags(ctx context.Context) ([]hq.Flag, error)
	// Roster returns a store's pharmacists (the dashboard shows them by name).
	Roster(ctx context.Context, storeID string) ([]flows.Pharmacist, error)
}

// HQData adapts the HQ storage (completion rollups, points, overdue follow-ups) to Data.
func HQData(st hq.Store) Data { return hqData{st: st} }

type hqData struct {
	st hq.Store
}

// Completion implements Data.
func (d hqData) Completion(ctx context.Context, q Query) ([]wire.CompletionRow, error) {
	groups, err := d.st.Completion(ctx, hq.CompletionQuery{StoreID: q.StoreID, From: q.From, To: q.To, GroupBy: q.GroupBy})
	if err != nil {
		return nil, err
	}
	rows := make([]wire.CompletionRow, len(groups))
	for i, g := range groups {
		rows[i] = g.Row()
	}
	return rows, nil
}

// Points implements Data.
func (d hqData) Points(ctx context.Context) ([]wire.PointsRow, error) {
	return d.st.Points(ctx, "", "")
}

// Overdue implements Data.
func (d hqData) Overdue(ctx context.Context, now time.Time) ([]followup.OverdueRow, error) {
	return followup.Overdue(ctx, d.st, followup.OverdueRule{}, "", now)
}

// Flags implements Data: the 200 newest.
func (d hqData) Flags(ctx context.Context) ([]hq.Flag, error) {
	return d.st.Flags(ctx, hq.FlagQuery{Limit: 200})
}

// Roster implements Data.
func (d hqData) Roster(ctx context.Context, storeID string) ([]flows.Pharmacist, error) {
	return d.st.Roster(ctx, storeID)
}

// AdminVerifier returns a Verify function that accepts exactly the HQ's admin tokens.
func AdminVerifier(st hq.TokenStore) func(ctx context.Context, token string) bool {
	return func(ctx context.Context, token string) bool {
		if token == "" {
			return false
		}
		p, err := hq.CheckToken(ctx, st, token, time.Now())
		return err == nil && p.Admin
	}
}
