// Package storetest is the conformance suite of hq.Store: the same cases, one file per
// area, run against every backend (litestream's RunWithReplicaClient is the model). A
// backend's test calls
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) hq.Store { return openFreshStore(t) })
//	}
//
// Every case opens its own empty store. The cases drive the store only through hq.Store
// and make failures happen through data the contract says a store must refuse (a
// malformed customer key in the middle of a batch, a points event of the wrong
// pharmacist), never through mocks, so a backend that writes half a batch fails here.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// Opener returns a new, empty store for one test and registers its cleanup (Close)
// with t.
type Opener func(t *testing.T) hq.Store

type area struct {
	name string
	run  func(t *testing.T, open Opener)
}

// areas lists the suite's areas, one file each.
func areas() []area {
	return []area{
		{"Tokens", tokens},
		{"Visits", visits},
		{"Purchases", purchases},
		{"Completion", completion},
		{"Points", points},
		{"Roster", roster},
		{"FollowUps", followUps},
		{"Links", links},
		{"Notices", notices},
		{"Contacts", contacts},
		{"Audit", audit},
		{"Sessions", sessions},
		{"Secrets", secrets},
		{"Maintenance", maintenance},
		{"Content", contentStore},
		{"Flags", flagsArea},
		{"Caps", capsArea},
		{"Nonces", noncesArea},
		{"Reads", readsArea},
		{"Effect", effectStore},
		{"Export", export},
	}
}

// Run runs every case of the suite against stores made by open.
func Run(t *testing.T, open Opener) {
	for _, a := range areas() {
		t.Run(a.name, func(t *testing.T) { a.run(t, open) })
	}
}

// T0 is the suite's reference time: a Monday morning in Asia/Shanghai, whole
// microseconds (every backend keeps at least those).
var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())

// day0 is t0's local day.
var day0 = flows.DayOf(t0)

func bg() context.Context { return context.Background() }

// key is a deterministic customer key (32 lower-case hex) derived from s.
func key(s string) string {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("%016x%016x", h, h*31+7)
}

// visit builds a visit of store/pharmacist started at start: complete (all four steps)
// or abandoned after step 1.
func visit(id, store, pharm string, start time.Time, complete bool) flows.Visit {
	v := flows.Visit{
		ID: id, StoreID: store, PharmacistID: pharm, CustomerKey: key("customer-of-" + id), CustomerMasked: "1101**********002X",
		StartedAt: start, UpdatedAt: start.Add(5 * time.Minute), EndedAt: start.Add(5 * time.Minute),
		Outcome:  flows.OutcomeAbandoned,
		Identify: &flows.IdentifyStep{At: start.Add(time.Minute), AsOf: flows.DayOf(start), Adherence: []flows.ClassResult{}},
	}
	if complete {
		v.Outcome = flows.OutcomeComplete
		v.Questionnaire = &flows.QuestionnaireStep{At: start.Add(2 * time.Minute), Class: flows.ClassHypertension, Answers: map[string]string{"q1": "a"}}
		v.Recommend = &flows.RecommendStep{At: start.Add(3 * time.Minute), Items: []flows.Recommendation{{ID: "k1", Title: "血压计", Reason: "r"}, {ID: "k2", Title: "随访", Reason: "r"}}}
		v.FollowUp = &flows.FollowUpStep{At: start.Add(4 * time.Minute), Consent: map[string]bool{flows.ChannelWeCom: false}, Declined: true}
	} else {
		v.AbandonReason = "idle"
	}
	return v
}

// completeEvent is the visit_complete points event of v worth pts.
func completeEvent(v flows.Visit, pts int) flows.PointsEvent {
	return flows.PointsEvent{ID: flows.PointsEventID(v.ID, flows.PointsVisitComplete), StoreID: v.StoreID,
		PharmacistID: v.PharmacistID, Kind: flows.PointsVisitComplete, Points: pts, At: v.EndedAt, Ref: v.ID}
}

// followUpItem is the follow-up a consented visit schedules, due at due.
func followUpItem(v flows.Visit, due time.Time) hq.FollowUpItem {
	return hq.FollowUpItem{
		FollowUp: flows.FollowUp{ID: v.ID + "-f1", VisitID: v.ID, StoreID: v.StoreID, PharmacistID: v.PharmacistID,
			CustomerKey: v.CustomerKey, Channel: flows.ChannelWeCom, DueAt: due, Text: "请按时服药", Consent: true},
		Consent: map[string]bool{flows.ChannelWeCom: true}, Status: hq.StatusScheduled, NextAt: due, EnqueuedAt: v.EndedAt,
	}
}

// withFollowUp is v's ingest with a follow-up due at due and an audit entry.
func withFollowUp(v flows.Visit, due time.Time) hq.VisitIngest {
	return hq.VisitIngest{Visit: v, FollowUps: []hq.FollowUpItem{followUpItem(v, due)},
		Audit: []hq.AuditEntry{{At: v.EndedAt, Actor: "store:" + v.StoreID, Action: "ingest", Detail: "visit=" + v.ID}}}
}

// ingest stores visits of one store and fails the test on error.
func ingest(t *testing.T, st hq.Store, batch ...hq.VisitIngest) hq.IngestResult {
	t.Helper()
	if len(batch) == 0 {
		t.Fatal("empty batch")
	}
	r, err := st.IngestVisits(bg(), batch[0].Visit.StoreID, batch)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return r
}

// schedule ingests visits with one follow-up each, due at due.
func schedule(t *testing.T, st hq.Store, due time.Time, vs ...flows.Visit) {
	t.Helper()
	for _, v := range vs {
		ingest(t, st, withFollowUp(v, due))
	}
}

// pointsOf is the total of store/pharmacist.
func pointsOf(t *testing.T, st hq.Store, store, pharm string) int {
	t.Helper()
	rows, err := st.Points(bg(), store, pharm)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		n += r.Points
	}
	return n
}

// auditActions counts the audit log's entries by action.
func auditActions(t *testing.T, st hq.Store) map[string]int {
	t.Helper()
	es, err := st.AuditEntries(bg(), hq.AuditQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range es {
		out[e.Action]++
	}
	return out
}

// visitsCounted is the number of visits the completion rollups of store hold.
func visitsCounted(t *testing.T, st hq.Store, store string) int {
	t.Helper()
	gs, err := st.Completion(bg(), hq.CompletionQuery{StoreID: store, GroupBy: hq.GroupByStore})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range gs {
		n += g.Rollup.Visits
	}
	return n
}
