package dashboard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/flows/effect/effectgen"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/effectreport"
)

// effectQuery is the period the effect fixture's generated chain covers.
const effectQuery = "from=2025-01-01&to=2025-09-30"

// newEffectFixture is newFixture plus a generated chain of 2025 (visits and purchases,
// stores S001–S003) and the 效果验证 page on an effect service with the fixture's clock.
func newEffectFixture(t testing.TB) (*fixture, *effectreport.Service) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	from, to := flows.DayFromDate(2025, 1, 1), flows.DayFromDate(2025, 12, 31)
	byStore := map[string][]hq.VisitIngest{}
	var ps []flows.Purchase
	n := 0
	effectgen.Generate(effectgen.Config{Seed: 3, Stores: 3, CustomersPerStore: 200, PDCEffect: 0.6, NonDrugFen: 2990, From: from, To: to, AsOf: to},
		effectgen.Sink{
			Visit: func(v *effect.VisitFact) {
				n++
				vis := effectgen.VisitOf(v, fmt.Sprintf("EV%06d", n))
				byStore[vis.StoreID] = append(byStore[vis.StoreID], hq.VisitIngest{Visit: vis})
			},
			Purchase: func(p *effect.PurchaseFact) {
				n++
				x := effectgen.PurchaseOf(p, n)
				flows.ResolvePurchase(effectgen.Catalog(), &x)
				ps = append(ps, x)
			},
		})
	for store, vs := range byStore {
		for i := 0; i < len(vs); i += 500 {
			if _, err := f.hqStore.IngestVisits(ctx, store, vs[i:min(i+500, len(vs))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := f.hqStore.IngestPurchases(ctx, ps); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return fixedNow }
	svc := effectreport.New(f.hqStore, effectreport.Config{Catalog: effectgen.Catalog(), Knowledge: effectgen.Knowledge(), Now: clock})
	var err error
	f.h, err = New(Config{Data: HQData(f.hqStore), Verify: AdminVerifier(f.hqStore), Audit: auditTo(f.hqStore), Now: clock, Logger: quiet(),
		Sessions: f.hqStore, Effect: svc})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	return f, svc
}

var effectCellRe = regexp.MustCompile(`<td class="num effect[^"]*">([^<]+)</td>`)

// TestEffectPage: the page shows, per class, the numbers of the effect report (the
// effect in percentage points with its interval), the strata, conversion and health;
// the CSV exports hold the report's numbers; sign-in is required.
func TestEffectPage(t *testing.T) {
	f, svc := newEffectFixture(t)
	c := noRedirect()
	if resp, _ := get(t, c, f.srv.URL+"/effect?"+effectQuery); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("without a session: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, f.srv.URL+"/effect/export/effect.csv?"+effectQuery); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("export without a session: %d", resp.StatusCode)
	}
	_, sess := signIn(t, f, f.admin)
	resp, body := get(t, c, f.srv.URL+"/effect?"+effectQuery, sess)
	if resp.StatusCode != 200 {
		t.Fatalf("effect page: %d %.500s", resp.StatusCode, body)
	}
	rep, err := svc.Effect(context.Background(), effect.Params{From: flows.DayFromDate(2025, 1, 1), To: flows.DayFromDate(2025, 9, 30)})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, cl := range rep.Classes {
		if !strings.Contains(body, `id="class-`+cl.Class+`"`) {
			t.Errorf("no card for %s", cl.Class)
		}
		for _, o := range cl.Outcomes {
			if o.Effect != nil {
				want = append(want, fmtDiff(o.Name, *o.Effect))
			}
		}
	}
	var got []string
	for _, m := range effectCellRe.FindAllStringSubmatch(body, -1) {
		got = append(got, html.UnescapeString(m[1]))
	}
	if len(want) == 0 || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("effects on the page %v, want %v", got, want)
	}
	for _, s := range []string{`id="effect-interval"`, `id="slope-served"`, `id="slope-comparison"`, `id="conversion-all"`, `id="health-table"`,
		`数据截至 2026-03-31`, `每晚预计算`, `这个估计不能说明什么`, `<td>S002</td>`} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	// The overview links here.
	if _, ov := get(t, c, f.srv.URL+"/", sess); !strings.Contains(ov, `href="/effect"`) {
		t.Error("the dashboard does not link the 效果验证 page")
	}
	// effect.csv: one row per class × outcome with the report's numbers.
	resp, csvBody := get(t, c, f.srv.URL+"/effect/export/effect.csv?"+effectQuery, sess)
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
	if resp.StatusCode != 200 || err != nil || len(recs) != 1+3*4 {
		t.Fatalf("effect.csv: %d %v %d rows", resp.StatusCode, err, len(recs))
	}
	for _, r := range recs[1:] {
		for _, cl := range rep.Classes {
			for _, o := range cl.Outcomes {
				if cl.Class == r[0] && o.Name == r[1] && o.Effect != nil {
					if v, _ := strconv.ParseFloat(r[12], 64); fmt.Sprintf("%.6f", v) != fmt.Sprintf("%.6f", *o.Effect) || r[17] != "2026-03-31" || r[18] != "snapshot" {
						t.Errorf("csv row %v, effect %v", r, *o.Effect)
					}
				}
			}
		}
	}
	// strata: every stratum of every outcome.
	_, csvBody = get(t, c, f.srv.URL+"/effect/export/effect-strata.csv?"+effectQuery, sess)
	recs, _ = csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
	total := 0
	for _, cl := range rep.Classes {
		for _, o := range cl.Outcomes {
			total += len(o.Strata)
		}
	}
	if len(recs) != 1+total {
		t.Errorf("strata csv %d rows, want %d", len(recs)-1, total)
	}
	// One store and one class.
	resp, body = get(t, c, f.srv.URL+"/effect?"+effectQuery+"&store_id=S002&class=diabetes", sess)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="class-diabetes"`) || strings.Contains(body, `id="class-hypertension"`) || !strings.Contains(body, "门店 S002 实时计算") {
		t.Errorf("S002 diabetes: %d %.300s", resp.StatusCode, body)
	}
	for _, q := range []string{"from=2025-13-01", "class=asthma", "from=2025-06-01&to=2025-01-01"} {
		if resp, _ := get(t, c, f.srv.URL+"/effect?"+q, sess); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", q, resp.StatusCode)
		}
	}
	if resp, _ := get(t, c, f.srv.URL+"/effect/export/nope.csv?"+effectQuery, sess); resp.StatusCode != 404 {
		t.Errorf("unknown table: %d", resp.StatusCode)
	}
}

// TestEffectPageInHeadlessChromium: the 效果验证 page in a real browser — reached from
// the overview's link, the effects and the drawn interval shown, the store and class
// chosen through the form. DASHBOARD_SCREENSHOT=1 also saves docs/screenshots/effect.png.
func TestEffectPageInHeadlessChromium(t *testing.T) {
	wd := newBrowser(t)
	f, svc := newEffectFixture(t)
	wd.call("POST", "/url", map[string]string{"url": f.srv.URL + "/"})
	wd.call("POST", "/element/"+wd.find("#token")+"/value", map[string]string{"text": f.admin})
	wd.call("POST", "/element/"+wd.find("#signin")+"/click", map[string]any{})
	wd.call("POST", "/element/"+wd.find("#nav-effect")+"/click", map[string]any{})
	wd.find("#effect-refresh")
	wd.call("POST", "/url", map[string]string{"url": f.srv.URL + "/effect?" + effectQuery})
	rep, err := svc.Effect(context.Background(), effect.Params{From: flows.DayFromDate(2025, 1, 1), To: flows.DayFromDate(2025, 9, 30)})
	if err != nil {
		t.Fatal(err)
	}
	o := rep.Classes[0].Outcomes[0]
	if o.Effect == nil {
		t.Fatalf("hypertension has no effect: %+v", o)
	}
	if got, want := wd.text("#class-hypertension td.effect"), fmtDiff(o.Name, *o.Effect); got != want {
		t.Fatalf("hypertension effect in the browser %q, want %q", got, want)
	}
	if got := wd.text("#class-hypertension td.interval"); got != fmtDiff(o.Name, *o.Low)+" … "+fmtDiff(o.Name, *o.High) {
		t.Fatalf("interval %q", got)
	}
	// The interval is drawn: its whisker spans a positive width on the page.
	var width float64
	_ = jsonUnmarshal(wd.call("POST", "/execute/sync", map[string]any{
		"script": "return document.querySelector('#class-hypertension #effect-interval').getBoundingClientRect().width", "args": []any{}}), &width)
	if width < 5 {
		t.Fatalf("interval drawn %v px wide", width)
	}
	saveScreenshot(t, wd, "effect.png")
	// Choose a store and a class with the form.
	wd.call("POST", "/execute/sync", map[string]any{"script": "document.querySelector('#store-select').value='S002';document.querySelector('#class-select').value='diabetes';", "args": []any{}})
	wd.call("POST", "/element/"+wd.find("#effect-refresh")+"/click", map[string]any{})
	// Read the line in one script call: the page may be replaced between finding an
	// element and reading it.
	provenance := func() string {
		var s string
		_ = jsonUnmarshal(wd.call("POST", "/execute/sync", map[string]any{
			"script": "var e = document.querySelector('#effect-provenance'); return e ? e.textContent : ''", "args": []any{}}), &s)
		return s
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(provenance(), "门店 S002") {
		if time.Now().After(deadline) {
			t.Fatalf("after choosing S002: %q", provenance())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(wd.findAll(".effect-class")) != 1 || len(wd.findAll("#class-diabetes")) != 1 {
		t.Fatal("one class card (diabetes) expected")
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// saveScreenshot takes a PNG of the page (checking it is one) and, with
// DASHBOARD_SCREENSHOT=1, saves it to docs/screenshots/name.
func saveScreenshot(t *testing.T, wd *webdriver, name string) {
	t.Helper()
	var b64 string
	_ = json.Unmarshal(wd.call("GET", "/screenshot", nil), &b64)
	img, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if v := os.Getenv("DASHBOARD_SCREENSHOT"); v == "1" || v == "true" {
		dest := filepath.Join("..", "..", "..", "docs", "screenshots", name)
		if err := os.WriteFile(dest, img, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", dest)
	}
}
