package followup

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/wire"
)

// A follow-up's link open and booking are priced, and capped, by the points rules of
// the content version its visit was served with; a visit of version 0 keeps HQ's own.
func TestLinkPointsByContentVersion(t *testing.T) {
	st, _ := newTestStore(t)
	clk := newClock()
	ctx := context.Background()
	def, err := content.FromDir("../../../assets/data")
	if err != nil {
		t.Fatal(err)
	}
	svc := contentadmin.New(st, def, clk.Now)
	// Version 1: a link open earns 7, a booking 9, and opens are capped at 7 a day.
	v1, err := svc.Publish(ctx, wire.ContentPublishRequest{Author: "运营", All: true, Files: map[string]string{
		flows.PointsFile: `{"visit_complete": 1, "link_opened": 7, "revisit_booked": 9, "daily_cap": {"link_opened": 7}}`}})
	if err != nil {
		t.Fatal(err)
	}
	base, err := def.Validate()
	if err != nil {
		t.Fatal(err)
	}
	h, err := LinkHandler(LinkConfig{Store: st, Signer: testSigner(t), Logger: quiet(), Now: clk.Now, Burst: 100, Rate: 100,
		Points: flows.DefaultPointsRules(), Caps: flows.DefaultPointsCaps(), Versions: contentadmin.NewVersions(svc, base)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, p := range []string{"P01", "P02"} {
		if err := st.PutPharmacist(ctx, flows.Pharmacist{StoreID: "S001", ID: p, Name: p}); err != nil {
			t.Fatal(err)
		}
	}
	// P01's two visits ran on version 1, P02's on the built-in content.
	for _, v := range []flows.Visit{visit("V1", "S001", "P01", clk.Now(), true), visit("V2", "S001", "P01", clk.Now(), true),
		visit("V0", "S001", "P02", clk.Now(), true)} {
		if v.PharmacistID == "P01" {
			v.ContentVersion = v1.Number
		}
		mustEnqueue(t, st, v)
	}
	ch := &recChannel{}
	if _, err := newDispatcher(t, st, ch, clk).DispatchDue(ctx); err != nil || len(ch.links) != 3 {
		t.Fatalf("send: %v %v", err, ch.links)
	}
	e := &linkEnv{st: st, clk: clk, srv: srv}
	date := (flows.DayOf(clk.Now()) + 2).String()
	for _, l := range ch.links {
		path := strings.TrimPrefix(l, "http://hq.test")
		if code, _ := e.get(t, path); code != 200 {
			t.Fatalf("open %s: %d", path, code)
		}
		if code, _ := e.book(t, path, date, "am"); code != 200 {
			t.Fatalf("book %s: %d", path, code)
		}
	}
	// P01: 7 (the first open; the second is past version 1's cap of 7) + 9 + 9.
	if p := pointsOf(t, st, "S001", "P01"); p != 25 {
		t.Errorf("P01 (version 1): %d points, want 7 + 0 (capped) + 9 + 9 = 25", p)
	}
	if p := pointsOf(t, st, "S001", "P02"); p != 5 {
		t.Errorf("P02 (version 0): %d points, want 2 + 3", p)
	}
}
