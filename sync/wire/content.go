package wire

import (
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
)

// Content API paths. GET PathContent and POST PathContentStatus take a store
// token; the others an admin token.
const (
	PathContent         = "/api/v1/content"              // GET: the store's assigned pack (content.Doc), ETag
	PathContentStatus   = "/api/v1/content/status"       // POST ContentStatusRequest: what the kiosk runs/refuses
	PathContentVersions = "/api/v1/content/versions"     // GET ContentListResponse; POST ContentPublishRequest
	PathContentVersion  = "/api/v1/content/versions/{n}" // GET content.Doc of version n (0: HQ's embedded default)
	PathContentAssign   = "/api/v1/content/assign"       // POST ContentAssignRequest
	PathContentDiff     = "/api/v1/content/diff"         // GET ?from=A&to=B: content.Diff
	PathContentValidate = "/api/v1/content/validate"     // POST ContentPublishRequest: ContentCheckResponse, nothing stored
)

// ContentPublishRequest is POST /api/v1/content/versions: a new version's files (path →
// UTF-8 text), its note and where it goes.
type ContentPublishRequest struct {
	Files map[string]string `json:"files"`
	// Complete: Files is the whole pack. Otherwise files it lacks are taken from the
	// latest version (`hq content publish --from DIR` with only the changed files).
	Complete bool     `json:"complete,omitempty"`
	Note     string   `json:"note,omitempty"`
	Stores   []string `json:"stores,omitempty"` // pilot stores
	All      bool     `json:"all,omitempty"`    // every store
	// Author names who publishes; empty: the admin token's label.
	Author string `json:"author,omitempty"`
}

// ContentPublishResponse answers a publish.
type ContentPublishResponse struct {
	Version content.Version `json:"version"`
}

// ContentProblemsResponse is the 400 answer to a pack that fails validation: Error is
// the first problem, Problems every problem (one per file at most), each naming its
// file and field.
type ContentProblemsResponse struct {
	Error    string             `json:"error"`
	Problems []*flows.DataError `json:"problems"`
}

// ContentCheckResponse answers POST /api/v1/content/validate: the pack's hash, its
// problems (none: it can be published) and what it changes from the base version.
type ContentCheckResponse struct {
	Hash     string             `json:"hash"`
	Problems []*flows.DataError `json:"problems"`
	Base     int                `json:"base"`
	Diff     content.Diff       `json:"diff"`
}

// ContentAssignRequest is POST /api/v1/content/assign: run version on the pilot Stores,
// or on every store (All). Rollback is assigning an older version (0: the default
// embedded in the kiosks).
type ContentAssignRequest struct {
	Version int      `json:"version"`
	Stores  []string `json:"stores,omitempty"`
	All     bool     `json:"all,omitempty"`
}

// ContentVersionRow is one version in ContentListResponse.
type ContentVersionRow struct {
	content.Version
	// Assigned lists the stores assigned this version on their own (pilots);
	// Default says it is the chain default (every other store).
	Assigned []string `json:"assigned,omitempty"`
	Default  bool     `json:"default,omitempty"`
	// Running lists the stores whose kiosks report running it.
	Running []string `json:"running,omitempty"`
}

// ContentListResponse answers GET /api/v1/content/versions: every version newest first,
// version 0 (the embedded default) last, with the assignments and the kiosks' reports.
type ContentListResponse struct {
	Versions []ContentVersionRow `json:"versions"`
	Statuses []ContentStatus     `json:"statuses"`
}

// ContentStatus is a store's kiosk's last content report, as HQ keeps it.
type ContentStatus struct {
	StoreID string          `json:"store_id"`
	Version int             `json:"version"`
	Hash    string          `json:"hash,omitempty"`
	At      time.Time       `json:"at"`
	Refused *ContentRefusal `json:"refused,omitempty"`
}

// ContentStatusRequest is POST /api/v1/content/status (store token): the version and
// hash the kiosk runs and the assigned pack it refuses, if any.
type ContentStatusRequest struct {
	Version int             `json:"version"`
	Hash    string          `json:"hash,omitempty"`
	Refused *ContentRefusal `json:"refused,omitempty"`
}

// ContentRefusal is a pack a kiosk refused: which and why.
type ContentRefusal struct {
	Version int       `json:"version"`
	Hash    string    `json:"hash,omitempty"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at,omitzero"`
}
