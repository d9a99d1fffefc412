package hqclient_test

import (
	"context"
	"errors"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hqclient"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// The kiosk's content transport: the store's pack with its tag, 304 for a tag it
// has, the status report kept at HQ, an HQ answer (not "offline") for a bad token.
func TestContentPullAndReport(t *testing.T) {
	def, err := content.FromDir("../../assets/data")
	if err != nil {
		t.Fatal(err)
	}
	h := hqtest.Start(t, api.Options{DefaultContent: def}, "S001")
	ctx := context.Background()
	c := hqclient.New(h.URL, h.Tokens["S001"], 0)
	a, err := c.Content(ctx)
	if err != nil || a.NotModified || a.ETag == "" {
		t.Fatalf("version 0: %+v %v", a, err)
	}
	if d, err := a.Doc(); err != nil || d.Version != 0 || len(d.Files) != 0 {
		t.Fatalf("version 0 document: %+v %v", d, err)
	}
	if code, body := h.Do(t, "POST", wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{All: true,
		Files: map[string]string{flows.PointsFile: `{"visit_complete": 2, "link_opened": 2, "revisit_booked": 3}`}}); code != 200 {
		t.Fatalf("publish: %d %s", code, body)
	}
	b, err := c.Content(ctx, "", a.ETag)
	if err != nil || b.NotModified || b.ETag == a.ETag {
		t.Fatalf("after a publish: %+v %v", b, err)
	}
	d, err := b.Doc()
	if err != nil || d.Version != 1 {
		t.Fatalf("v1 document: %+v %v", d.Version, err)
	}
	if _, err := d.Pack(); err != nil {
		t.Fatalf("v1 as received: %v", err)
	}
	if n, err := c.Content(ctx, a.ETag, b.ETag); err != nil || !n.NotModified || n.ETag != b.ETag || n.Body != nil {
		t.Fatalf("a tag the kiosk has: %+v %v", n, err)
	}
	req := wire.ContentStatusRequest{Version: 0, Hash: def.Hash(), Refused: &wire.ContentRefusal{Version: 1, Hash: d.Hash, Reason: "hash mismatch"}}
	if err := c.ReportContent(ctx, req); err != nil {
		t.Fatal(err)
	}
	sts, err := h.Store.ContentStatuses(ctx)
	if err != nil || len(sts) != 1 || sts[0].StoreID != "S001" || sts[0].Refused == nil || sts[0].Refused.Reason != "hash mismatch" {
		t.Fatalf("statuses at HQ: %+v %v", sts, err)
	}
	var he *hqclient.Error
	if _, err := hqclient.New(h.URL, "bad", 0).Content(ctx); !errors.As(err, &he) || he.Status != 401 || hqclient.IsOffline(err) {
		t.Fatalf("bad token: %v", err)
	}
	if err := hqclient.New(h.URL, h.Admin, 0).ReportContent(ctx, req); !errors.As(err, &he) || he.Status != 403 {
		t.Fatalf("an admin token reports: %v", err)
	}
}
