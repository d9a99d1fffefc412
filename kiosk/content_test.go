package kiosk

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/e2e/faultproxy"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/demo/demohq"
	"github.com/pharmachain/counter/sync/hqclient"
	"github.com/pharmachain/counter/sync/wire"
)

// publishPoints publishes the embedded content with visit_complete worth n to every
// store of the demo HQ (admin API).
func publishPoints(t *testing.T, hqURL string, n string) {
	t.Helper()
	b, err := assets.Read(flows.PointsFile)
	if err != nil {
		t.Fatal(err)
	}
	points := strings.Replace(string(b), `"visit_complete": 1`, `"visit_complete": `+n, 1)
	body, _ := json.Marshal(wire.ContentPublishRequest{Files: map[string]string{flows.PointsFile: points}, All: true})
	req, _ := http.NewRequest(http.MethodPost, hqURL+wire.PathContentVersions, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+demo.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
}

// builtinCatalog is the built-in catalog (the demo HQ resolves purchases with it).
func builtinCatalog(t *testing.T) *flows.Catalog {
	t.Helper()
	dom, err := flows.LoadData(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	return dom.Catalog
}

// syncCycle runs one sync cycle and waits for its content pull.
func (h *harness) syncCycle() {
	h.t.Helper()
	n := h.c.ContentState().Pulls
	h.c.SyncHQ()
	h.waitFor("the content pull", func() bool { return h.c.ContentState().Pulls > n })
	h.settle()
}

// The banner shows the content version new visits get and, during a visit, the one
// waiting for it to end; a pack altered on its way from HQ puts a red line under the
// banner naming the version and why, while the counter keeps what it runs.
func TestBannerShowsContentVersionAndRefusal(t *testing.T) {
	d, err := demohq.StartHQ(context.Background(), t.TempDir(), builtinCatalog(t), testNow, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	proxy, err := faultproxy.NewTamper(d.URL, wire.PathContent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	h := newHarness(t, harnessOpts{fakeHQ: hqclient.New(proxy.URL(), demo.StoreToken, counter.HQBudget)})
	h.waitFor("the first content pull", func() bool { return h.c.ContentState().Pulls > 0 })
	h.mustShow("内容 v0")

	publishPoints(t, d.URL, "4") // v1
	proxy.Set(faultproxy.FlipByteAfter("visit_complet"))
	h.syncCycle()
	h.mustShow("总部下发的内容 v1 未采用：内容在传输中被改动（哈希不符）。柜台继续使用内容 v0")
	h.mustShow("内容 v0")

	proxy.Set(nil)
	h.syncCycle()
	h.mustShow("内容 v1")
	h.mustNotShow("未采用")

	// A pack arriving during a visit waits for it; the banner says so.
	h.signIn(1, "1234")
	h.serialScan(demo.Customers()[1].ID)
	publishPoints(t, d.URL, "5") // v2
	h.syncCycle()
	h.mustShow("内容 v1（v2 在本次服务结束后启用）")
}
