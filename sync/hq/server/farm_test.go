package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/clientip"
	"github.com/pharmachain/counter/sync/wire"
)

// pointsOf is a pharmacist's points total as the API reports it.
func (h *testHQ) pointsOf(t *testing.T, store, pharm string) int {
	t.Helper()
	code, b := h.do(t, "GET", wire.PathPoints+"?store_id="+store+"&pharmacist_id="+pharm, h.admin, nil)
	var pr wire.PointsResponse
	if code != 200 || json.Unmarshal(b, &pr) != nil {
		t.Fatalf("points: %d %s", code, b)
	}
	n := 0
	for _, r := range pr.Rows {
		n += r.Points
	}
	return n
}

// TestFollowUpCreditsOnlyItsVisitsPharmacist: a record whose scheduled
// follow-up names another pharmacist (or visit, or customer) than the record's is
// refused — the link would otherwise credit that other pharmacist. It fails on the code
// before the fix (the record was accepted and P02 would earn P01's link points).
func TestFollowUpCreditsOnlyItsVisitsPharmacist(t *testing.T) {
	h := startHQ(t, Config{}, "S001")
	h.putRoster(t, "S001", "P01", "P02")
	for _, c := range []struct {
		field string
		spoil func(fu *flows.FollowUp)
	}{
		{"pharmacist_id", func(fu *flows.FollowUp) { fu.PharmacistID = "P02" }},
		{"visit_id", func(fu *flows.FollowUp) { fu.VisitID = "OTHER" }},
		{"customer_key", func(fu *flows.FollowUp) { fu.CustomerKey = "fedcba9876543210fedcba9876543210" }},
	} {
		v := storeVisit("VF-"+c.field, "S001", "P01", h.clk.Now())
		c.spoil(v.FollowUp.FollowUp)
		code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{v}})
		if code != 400 || !strings.Contains(string(b), c.field) {
			t.Errorf("a follow-up with another %s: %d %s, want 400 naming it", c.field, code, b)
		}
		if _, err := h.st.Visit(context.Background(), "S001", v.ID); err == nil {
			t.Errorf("the record with another %s was stored", c.field)
		}
	}
	if p := h.pointsOf(t, "S001", "P02"); p != 0 {
		t.Fatalf("P02 has %d points from P01's visits", p)
	}
}

// TestUnrosteredPharmacistEarnsNothing: a visit whose pharmacist_id is not
// on its store's roster is stored (nothing lost) but earns no points — neither its
// visit_complete nor its follow-up's link open — and is flagged 未在花名册 in the
// ingest answer, GET /api/v1/flags and the dashboard. It fails on the code before the
// fix (P99, invented by the store, earned the visit and link points).
func TestUnrosteredPharmacistEarnsNothing(t *testing.T) {
	out := &syncBuf{}
	h := startHQ(t, Config{Out: out, DemoChannel: true}, "S001")
	h.putRoster(t, "S001", "P01")
	v := storeVisit("VGHOST", "S001", "P99", h.clk.Now())
	code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{v}})
	var res struct {
		Accepted    int      `json:"accepted"`
		NotOnRoster []string `json:"not_on_roster"`
	}
	if code != 200 || json.Unmarshal(b, &res) != nil || res.Accepted != 1 || len(res.NotOnRoster) != 1 || res.NotOnRoster[0] != "VGHOST" {
		t.Fatalf("ingest: %d %s, want accepted and listed not_on_roster", code, b)
	}
	if _, err := h.st.Visit(context.Background(), "S001", "VGHOST"); err != nil {
		t.Fatalf("the record was not kept: %v", err)
	}
	if p := h.pointsOf(t, "S001", "P99"); p != 0 {
		t.Fatalf("P99 (not on the roster) has %d points after the visit", p)
	}
	// Its follow-up still goes out (the customer is served); the link earns nothing.
	h.clk.Add(24 * time.Hour)
	links := h.sendDue(t, out)
	if len(links) != 1 {
		t.Fatalf("links sent: %v", links)
	}
	if code := h.open(t, links[0]); code != 200 {
		t.Fatalf("link: %d", code)
	}
	if p := h.pointsOf(t, "S001", "P99"); p != 0 {
		t.Fatalf("P99 has %d points after the link was opened", p)
	}
	code, b = h.do(t, "GET", "/api/v1/flags?kind=not_on_roster", h.tokens["S001"], nil)
	if code != 200 || strings.Count(string(b), `"label":"未在花名册"`) != 2 || !strings.Contains(string(b), `"ref":"VGHOST"`) {
		t.Fatalf("flags: %d %s, want the visit and its link flagged 未在花名册", code, b)
	}
	if page := h.dashboard(t); !strings.Contains(page, "未在花名册") || !strings.Contains(page, "VGHOST") {
		t.Fatal("the dashboard does not list the 未在花名册 record")
	}
	// A pharmacist on the roster earns as before.
	ok := storeVisit("VREAL", "S001", "P01", h.clk.Now())
	if code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{ok}}); code != 200 || strings.Contains(string(b), "not_on_roster") {
		t.Fatalf("rostered record: %d %s", code, b)
	}
	if p := h.pointsOf(t, "S001", "P01"); p != 1 {
		t.Fatalf("P01 has %d points, want 1", p)
	}
}

// TestNoChannelSendsNothing: a production HQ without a real channel (no
// WeCom, no demo flag) does not mark follow-ups sent and makes no link: each stays
// not_sent with code no_channel and its message, and no link points can be earned.
// It fails on the code before the fix (the log-only demo channel was the default: the
// follow-up was marked sent and its link printed).
func TestNoChannelSendsNothing(t *testing.T) {
	out := &syncBuf{}
	h := startHQ(t, Config{Out: out}, "S001")
	h.putRoster(t, "S001", "P01")
	v := storeVisit("VNC", "S001", "P01", h.clk.Now())
	if code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{v}}); code != 200 {
		t.Fatalf("ingest: %d %s", code, b)
	}
	h.clk.Add(24 * time.Hour)
	if links := h.sendDue(t, out); len(links) != 0 {
		t.Fatalf("links made without a channel: %v", links)
	}
	it, err := h.st.FollowUp(context.Background(), "S001:VNC-f1")
	if err != nil {
		t.Fatal(err)
	}
	if it.Status == "sent" || !it.SentAt.IsZero() || it.Attempts != 0 || it.LastCode != "no_channel" || !strings.Contains(it.LastReason, "no channel") {
		t.Fatalf("follow-up without a channel: status %s sent %v attempts %d code %q reason %q", it.Status, it.SentAt, it.Attempts, it.LastCode, it.LastReason)
	}
	// The overdue report says so, to the store and to admins.
	h.clk.Add(3 * time.Hour)
	code, b := h.do(t, "GET", wire.PathFollowups+"?status=overdue", h.tokens["S001"], nil)
	if code != 200 || !strings.Contains(string(b), `"reason":"not_sent"`) || !strings.Contains(string(b), `"code":"no_channel"`) {
		t.Fatalf("overdue: %d %s", code, b)
	}
	if p := h.pointsOf(t, "S001", "P01"); p != 1 {
		t.Fatalf("P01 has %d points, want 1 (the visit; no link was sent)", p)
	}
	if ch := h.hq.Channel(); ch != "none" {
		t.Fatalf("channel %q, want none", ch)
	}
}

// TestDailyCapOfLinkPoints: the points rules' daily cap bounds what one
// pharmacist earns per day from customers' links; opens past it are recorded, earn
// nothing and are flagged. It fails on the code before the fix (every open credited).
func TestDailyCapOfLinkPoints(t *testing.T) {
	out := &syncBuf{}
	h := startHQ(t, Config{Out: out, DemoChannel: true, PointsCaps: flows.PointsCaps{flows.PointsLinkOpened: 4}}, "S001")
	h.putRoster(t, "S001", "P01")
	var vs []flows.Visit
	for _, id := range []string{"VC1", "VC2", "VC3"} {
		vs = append(vs, storeVisit(id, "S001", "P01", h.clk.Now()))
	}
	if code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: vs}); code != 200 {
		t.Fatalf("ingest: %d %s", code, b)
	}
	h.clk.Add(24 * time.Hour)
	links := h.sendDue(t, out)
	if len(links) != 3 {
		t.Fatalf("links: %v", links)
	}
	h.clk.Add(time.Hour) // long after the send: not a fast open
	for _, l := range links {
		if code := h.open(t, l); code != 200 {
			t.Fatalf("open: %d", code)
		}
	}
	// 3 visits × 1 + link opens of 2 points each under a cap of 4: two credited.
	if p := h.pointsOf(t, "S001", "P01"); p != 3+4 {
		t.Fatalf("P01 has %d points, want 7 (the third open is past the day's cap)", p)
	}
	code, b := h.do(t, "GET", "/api/v1/flags?kind=daily_cap", h.admin, nil)
	if code != 200 || strings.Count(string(b), `"kind":"daily_cap"`) != 1 {
		t.Fatalf("flags: %d %s", code, b)
	}
}

// TestSuspiciousCreditsListed: link credits that do not look like a
// customer's — opened within 60 s of the send, or from an address the store's own token
// syncs from — are credited but listed on the dashboard (and GET /api/v1/flags) for a
// person to check. HQ remembers the addresses each store's token syncs from (behind the
// trusted proxy: the client's address). It fails on the code before the fix (nothing
// was listed).
func TestSuspiciousCreditsListed(t *testing.T) {
	out := &syncBuf{}
	trust, _ := clientip.Parse("127.0.0.1,::1")
	h := startHQ(t, Config{Out: out, DemoChannel: true, TrustProxy: trust}, "S001")
	h.putRoster(t, "S001", "P01")
	kiosk := "203.0.113.5"
	vs := []flows.Visit{storeVisit("VS1", "S001", "P01", h.clk.Now()), storeVisit("VS2", "S001", "P01", h.clk.Now())}
	if code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: vs}, "X-Forwarded-For", kiosk); code != 200 {
		t.Fatalf("ingest: %d %s", code, b)
	}
	if err := h.hq.API().Flush(context.Background()); err != nil { // the store's sync address, written
		t.Fatal(err)
	}
	h.clk.Add(24 * time.Hour)
	links := h.sendDue(t, out)
	if len(links) != 2 {
		t.Fatalf("links: %v", links)
	}
	// One opened 10 s after the send from a phone; one an hour later from the counter PC.
	h.clk.Add(10 * time.Second)
	if code := h.open(t, links[0], "X-Forwarded-For", "198.51.100.77"); code != 200 {
		t.Fatalf("open 1: %d", code)
	}
	h.clk.Add(time.Hour)
	if code := h.open(t, links[1], "X-Forwarded-For", kiosk); code != 200 {
		t.Fatalf("open 2: %d", code)
	}
	code, b := h.do(t, "GET", "/api/v1/flags", h.admin, nil)
	if code != 200 || !strings.Contains(string(b), `"kind":"fast_open"`) || !strings.Contains(string(b), `"kind":"kiosk_address"`) ||
		strings.Contains(string(b), "198.51.100.77") {
		t.Fatalf("flags: %d %s (want fast_open and kiosk_address, never the customer's address)", code, b)
	}
	page := h.dashboard(t)
	for _, want := range []string{"发送后 60 秒内打开", "从门店同步地址打开"} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard does not list %s", want)
		}
	}
	// Credited all the same (the flag is for a person to check): 2 visits + 2 opens.
	if p := h.pointsOf(t, "S001", "P01"); p != 2+2*2 {
		t.Fatalf("P01 has %d points, want 6", p)
	}
}

// TestHistoryReadsAudited: a store token's chain-wide history read is
// logged — which store read which customer, when — for the admins (GET
// /api/v1/admin/reads) without a commit on the read's path (written in batches), and a
// customer's PIPL deletion removes their reads. It fails on the code before the fix
// (history reads were not recorded anywhere).
func TestHistoryReadsAudited(t *testing.T) {
	h := startHQ(t, Config{}, "S001", "S002")
	key := "0123456789abcdef0123456789abcdef"
	for _, s := range []string{"S001", "S002"} {
		if code, b := h.do(t, "GET", "/api/v1/customers/"+key+"/history", h.tokens[s], nil); code != 200 {
			t.Fatalf("%s history: %d %s", s, code, b)
		}
	}
	code, b := h.do(t, "GET", "/api/v1/admin/reads?customer_key="+key, h.admin, nil)
	if code != 200 || strings.Contains(string(b), "store:") {
		t.Fatalf("before the batch is written: %d %s (nothing written on the read's path)", code, b)
	}
	if err := h.hq.API().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, b = h.do(t, "GET", "/api/v1/admin/reads?customer_key="+key, h.admin, nil)
	if code != 200 || !strings.Contains(string(b), `"reader":"store:S001"`) || !strings.Contains(string(b), `"reader":"store:S002"`) {
		t.Fatalf("read log: %d %s", code, b)
	}
	if code, _ := h.do(t, "GET", "/api/v1/admin/reads?customer_key="+key, h.tokens["S001"], nil); code != 403 {
		t.Fatalf("a store token reading the read log: %d", code)
	}
	if code, b := h.do(t, "DELETE", "/api/v1/customers/"+key, h.admin, nil); code != 200 {
		t.Fatalf("forget: %d %s", code, b)
	}
	if _, b := h.do(t, "GET", "/api/v1/admin/reads?customer_key="+key, h.admin, nil); strings.Contains(string(b), "store:") {
		t.Fatalf("a forgotten customer's reads are kept: %s", b)
	}
}
