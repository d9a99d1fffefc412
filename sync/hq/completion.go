package hq

import (
	"context"
	"math"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

// CompletionQuery selects the rollups a completion report reads. Zero From/To: unbounded.
type CompletionQuery struct {
	StoreID      string // empty: all stores
	PharmacistID string // empty: all
	From, To     flows.Day
	GroupBy      string // "store", "pharmacist", "day" or "content_version"
}

// Group-by values of the completion report.
const (
	GroupByStore      = "store"
	GroupByPharmacist = "pharmacist"
	GroupByDay        = "day"
	// GroupByContentVersion groups by the content version the visits ran on
	// (flows.Visit.ContentVersion; 0 = the embedded default), so a chain can see
	// whether changing a question moved the funnel.
	GroupByContentVersion = "content_version"
)

// CompletionGroup is one group of the completion report: the merged flows.Rollup
// (visits, completed, funnel, stalled steps, step durations) of its days.
type CompletionGroup struct {
	Key          string // store id, "store/pharmacist", YYYY-MM-DD or the content version per GroupBy
	StoreID      string // GroupBy store or pharmacist
	PharmacistID string // GroupBy pharmacist
	Day          flows.Day
	// ContentVersion is set for GroupBy content_version (its Key is the number).
	ContentVersion *int
	Rollup         flows.Rollup
}

// Row turns the group into the API's report row.
func (g CompletionGroup) Row() wire.CompletionRow {
	r := g.Rollup
	row := wire.CompletionRow{Key: g.Key, StoreID: g.StoreID, PharmacistID: g.PharmacistID,
		Visits: r.Visits, Completed: r.Completed, Rate: math.Round(r.Rate()*100) / 100,
		Funnel: wire.Funnel{Identified: r.Funnel[0], Questionnaire: r.Funnel[1], Recommended: r.Funnel[2], FollowUp: r.Funnel[3]}}
	if g.Day != 0 {
		row.Day = g.Day.String()
	}
	if g.ContentVersion != nil {
		n := *g.ContentVersion
		row.ContentVersion = &n
	}
	return row
}

// RollupRow is one pre-aggregated row: what a store's pharmacist did on one local day
// with one content version.
type RollupRow struct {
	StoreID, PharmacistID string
	Day                   flows.Day
	ContentVersion        int // 0: the embedded default (every visit before content packs)
	Rollup                flows.Rollup
}

// CompletionStore keeps the daily rollups behind the completion report.
type CompletionStore interface {
	// Completion merges the daily rollups selected by q into one group per q.GroupBy
	// key (store id; "store/pharmacist"; day; content version), sorted by key (content
	// versions numerically). Days From..To are both included. Visits are rolled up by
	// content version too (flows.Visit.ContentVersion), so every filter works with
	// every grouping.
	Completion(ctx context.Context, q CompletionQuery) ([]CompletionGroup, error)
	// AddRollups merges pre-aggregated rows into the daily rollups in ONE commit, as
	// record ingest does. It serves bulk loads (migrating a chain's history, benchmark
	// and test data); it stores no visits and credits no points. A row without store is
	// ErrInvalid.
	AddRollups(ctx context.Context, rows []RollupRow) error
}
