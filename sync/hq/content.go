package hq

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/wire"
)

// ContentStore keeps the content packs HQ serves the kiosks — catalog, questionnaires,
// knowledge base, points rules and follow-up messages edited by the chain's operations
// team (package flows/content) —: immutable versions numbered 1, 2, … with author,
// time, note and hash, which version each store is assigned, and what each store's
// kiosk reports it runs.
//
// Version 0 (content.DefaultVersion), the pack embedded in the binaries, is never
// stored: a store with no assignment runs it, and assigning 0 rolls back to it.
type ContentStore interface {
	// PublishContent stores p.Pack as the next version (the highest so far + 1, from
	// 1) with its author, time, note and content hash and, in the same commit, assigns
	// it as p.Assign says (pilot stores, all stores, or neither) and appends
	// PublishAudit's entry. Concurrent publishes get distinct consecutive numbers; a
	// stored version never changes. The caller
	// validates the pack (content.Pack.Validate); the store refuses an empty pack, an
	// empty author or a malformed assignment with ErrInvalid.
	PublishContent(ctx context.Context, p ContentPublish) (content.Version, error)
	// ContentVersions lists every stored version's metadata, oldest first.
	ContentVersions(ctx context.Context) ([]content.Version, error)
	// ContentPack returns version n (≥ 1) and its files exactly as published;
	// ErrNotFound when there is no such version.
	ContentPack(ctx context.Context, n int) (content.Version, content.Pack, error)
	// AssignContent makes a.Stores (pilots) or, with a.All, every store run version
	// a.Version in one commit. All sets the chain default and drops every per-store
	// assignment (after "all" every store runs the same version); Stores sets those
	// stores' own assignment, which wins over the default. Version 0 is the embedded
	// default; another version that is not stored is ErrNotFound. Neither or both of
	// All and Stores, or an empty store id, is ErrInvalid.
	AssignContent(ctx context.Context, a ContentAssign) error
	// ContentAssignments returns the chain default and the per-store assignments.
	ContentAssignments(ctx context.Context) (ContentAssignments, error)
	// RecordContentStatus keeps what a store's kiosk last reported — the version and
	// hash it runs and the pack it currently refuses, if any — replacing the store's
	// previous report. An empty store id or a negative version is ErrInvalid.
	RecordContentStatus(ctx context.Context, s ContentStatus) error
	// ContentStatuses returns every store's last report, sorted by store id.
	ContentStatuses(ctx context.Context) ([]ContentStatus, error)
}

// ContentPublish is one publish: the pack, who, when, why and where it goes.
type ContentPublish struct {
	Pack   content.Pack
	Author string // admin token name or dashboard user; required
	Note   string
	At     time.Time
	// Assign says where the new version goes (its Version is ignored): Stores for a
	// pilot, All for every store, neither to publish without assigning.
	Assign ContentAssign
}

// ContentAssign assigns a version to pilot stores or to every store.
type ContentAssign struct {
	Version int
	All     bool
	Stores  []string
	By      string    // who (audit actor); in a publish, the author
	At      time.Time // when (audit time); in a publish, the publish time
}

// check refuses a malformed assignment (ErrInvalid); noneOK allows neither All nor
// Stores (publish without assigning).
func (a ContentAssign) check(noneOK bool) error {
	if a.Version < 0 {
		return fmt.Errorf("content assignment: version %d: %w", a.Version, ErrInvalid)
	}
	if a.All && len(a.Stores) > 0 {
		return fmt.Errorf("content assignment: both all stores and a store list: %w", ErrInvalid)
	}
	if !noneOK && a.By == "" {
		return fmt.Errorf("content assignment: who assigns is empty: %w", ErrInvalid)
	}
	if !a.All && len(a.Stores) == 0 && !noneOK {
		return fmt.Errorf("content assignment: no stores (name stores, or all): %w", ErrInvalid)
	}
	for _, s := range a.Stores {
		if s == "" {
			return fmt.Errorf("content assignment: empty store id: %w", ErrInvalid)
		}
	}
	return nil
}

// CheckAssign is the validation every backend applies to AssignContent's input.
func CheckAssign(a ContentAssign) error { return a.check(false) }

// CheckPublish is the validation every backend applies to PublishContent's input.
func CheckPublish(p ContentPublish) error {
	if p.Pack.Len() == 0 {
		return fmt.Errorf("content publish: empty pack: %w", ErrInvalid)
	}
	if p.Author == "" {
		return fmt.Errorf("content publish: field author is empty: %w", ErrInvalid)
	}
	return p.Assign.check(true)
}

// PublishAudit is the audit entry a publish appends.
func PublishAudit(v content.Version, a ContentAssign) AuditEntry {
	return AuditEntry{At: v.At.UTC(), Actor: v.Author, Action: "content.publish",
		Detail: fmt.Sprintf("version=%d hash=%s%s", v.Number, v.Hash, a.target())}
}

// AssignAudit is the audit entry an assignment appends.
func AssignAudit(a ContentAssign) AuditEntry {
	return AuditEntry{At: a.At.UTC(), Actor: a.By, Action: "content.assign", Detail: fmt.Sprintf("version=%d%s", a.Version, a.target())}
}

func (a ContentAssign) target() string {
	switch {
	case a.All:
		return " stores=all"
	case len(a.Stores) > 0:
		return " stores=" + strings.Join(a.Stores, ",")
	}
	return ""
}

// ContentAssignments is which version every store is to run.
type ContentAssignments struct {
	Default int            // stores without their own assignment; 0 = the embedded default
	Stores  map[string]int // per-store (pilot) assignments
}

// For is the version store is to run.
func (a ContentAssignments) For(store string) int {
	if v, ok := a.Stores[store]; ok {
		return v
	}
	return a.Default
}

// Apply returns a with x applied (the rule every backend keeps).
func (a ContentAssignments) Apply(x ContentAssign) ContentAssignments {
	out := ContentAssignments{Default: a.Default, Stores: map[string]int{}}
	if x.All {
		out.Default = x.Version
		return out
	}
	for s, v := range a.Stores {
		out.Stores[s] = v
	}
	for _, s := range x.Stores {
		out.Stores[s] = x.Version
	}
	return out
}

// StoreIDs lists the stores with their own assignment, sorted.
func (a ContentAssignments) StoreIDs() []string {
	ids := make([]string, 0, len(a.Stores))
	for s := range a.Stores {
		ids = append(ids, s)
	}
	sort.Strings(ids)
	return ids
}

// ContentStatus is what a store's kiosk last reported about its content: the version
// and hash it runs, when HQ received the report (At), and the assigned pack it refuses
// (failed its hash or validation; the kiosk keeps running Version), nil if none.
type ContentStatus = wire.ContentStatus

// ContentRefusal is a pack a kiosk refused and why.
type ContentRefusal = wire.ContentRefusal

// CheckStatus is the validation every backend applies to RecordContentStatus's input.
func CheckStatus(s ContentStatus) error {
	if s.StoreID == "" {
		return fmt.Errorf("content status: field store_id is empty: %w", ErrInvalid)
	}
	if s.Version < 0 || (s.Refused != nil && s.Refused.Version < 0) {
		return fmt.Errorf("content status: negative version: %w", ErrInvalid)
	}
	return nil
}
