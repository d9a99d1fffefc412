// Package wire holds the kiosk↔HQ protocol: JSON request/response shapes of the HQ HTTP
// API (see docs/api.md) and the Outbox interface the drainer consumes.
package wire

import (
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
)

// API paths.
const (
	PathHealth     = "/healthz"
	PathRecords    = "/api/v1/records"
	PathPurchases  = "/api/v1/purchases"
	PathHistory    = "/api/v1/customers/{customer_key}/history"
	PathCompletion = "/api/v1/reports/completion"
	PathEffect     = "/api/v1/reports/effect"
	PathHealthRep  = "/api/v1/reports/health"
	PathPoints     = "/api/v1/points"
	PathRoster     = "/api/v1/roster"
	PathFollowups  = "/api/v1/followups"
	PathAudit      = "/api/v1/audit"
	PathMetrics    = "/metrics"

	HeaderIdempotencyKey = "Idempotency-Key"
	MaxBodyBytes         = 4 << 20 // larger bodies get 413
	MaxBatchRecords      = 500
	MaxBatchBytes        = 1 << 20
)

// RecordsRequest is POST /api/v1/records: a batch of service records (visits) of one store.
type RecordsRequest struct {
	StoreID string        `json:"store_id"`
	Records []flows.Visit `json:"records"`
}

// IngestResponse answers POST /api/v1/records and /api/v1/purchases.
type IngestResponse struct {
	Accepted     int      `json:"accepted"`
	Duplicates   int      `json:"duplicates"`
	UnknownCodes []string `json:"unknown_codes,omitempty"` // purchases only
	// NotOnRoster lists the accepted records whose pharmacist is not on the store's
	// roster at HQ: kept, but earning no points (records only; shown as 未在花名册).
	NotOnRoster []string `json:"not_on_roster,omitempty"`
}

// PurchasesRequest is POST /api/v1/purchases.
type PurchasesRequest struct {
	Purchases []flows.Purchase `json:"purchases"`
}

// HistoryResponse answers GET /api/v1/customers/{customer_key}/history.
type HistoryResponse struct {
	CustomerKey string              `json:"customer_key"`
	AsOf        flows.Day           `json:"as_of"`
	Days        int                 `json:"days"`
	Purchases   []flows.Purchase    `json:"purchases"`
	Adherence   []flows.ClassResult `json:"adherence"`
}

// Funnel counts visits that reached each step.
type Funnel struct {
	Identified    int `json:"identified"`
	Questionnaire int `json:"questionnaire"`
	Recommended   int `json:"recommended"`
	FollowUp      int `json:"followup"`
}

// CompletionRow is one row of GET /api/v1/reports/completion.
type CompletionRow struct {
	Key          string `json:"key"`                     // store id, "store/pharmacist" or YYYY-MM-DD per group_by
	StoreID      string `json:"store_id,omitempty"`      // group_by store or pharmacist
	PharmacistID string `json:"pharmacist_id,omitempty"` // group_by pharmacist
	Day          string `json:"day,omitempty"`           // group_by day
	// ContentVersion is the content version of the row for group_by content_version
	// (0: the default embedded in the kiosk).
	ContentVersion *int `json:"content_version,omitempty"`

	Visits    int     `json:"visits"`
	Completed int     `json:"completed"`
	Rate      float64 `json:"rate"` // complete visits per 100 visits
	Funnel    Funnel  `json:"funnel"`
}

// CompletionResponse answers GET /api/v1/reports/completion.
type CompletionResponse struct {
	Rows []CompletionRow `json:"rows"`
}

// EffectResponse answers GET /api/v1/reports/effect: the effect report (docs/effect.md)
// with where it came from: "live" (a store's, computed on request) or "snapshot" (the
// chain's, from the nightly snapshot built at ComputedAt; AsOf is its data date).
type EffectResponse struct {
	effect.Report
	Source     string    `json:"source"`
	ComputedAt time.Time `json:"computed_at"`
}

// Report sources.
const (
	SourceLive     = "live"     // computed on request
	SourceSnapshot = "snapshot" // from the nightly chain-wide snapshot
)

// HealthResponse answers GET /api/v1/reports/health.
type HealthResponse struct {
	effect.Health
	Source     string    `json:"source"`
	ComputedAt time.Time `json:"computed_at"`
}

// PointsRow is one row of GET /api/v1/points.
type PointsRow struct {
	PharmacistID string `json:"pharmacist_id"`
	StoreID      string `json:"store_id"`
	Points       int    `json:"points"`
}

// PointsResponse answers GET /api/v1/points.
type PointsResponse struct {
	Rows []PointsRow `json:"rows"`
}

// RosterResponse answers GET /api/v1/roster (store token): the store's pharmacists with
// PIN hashes, which the kiosk caches for offline sign-in.
type RosterResponse struct {
	StoreID     string             `json:"store_id"`
	Pharmacists []flows.Pharmacist `json:"pharmacists"`
}

// ErrorResponse is the body of every 4xx/5xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}
