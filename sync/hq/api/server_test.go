package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

var day1 = time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())

func batch(store string, vs ...flows.Visit) wire.RecordsRequest {
	return wire.RecordsRequest{StoreID: store, Records: vs}
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func TestHealthz(t *testing.T) {
	h := hqtest.Start(t, api.Options{})
	code, body := h.Do(t, "GET", "/healthz", "", nil)
	if code != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", code, body)
	}
}

func TestRecordsIngestDuplicatesAndPoints(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	for _, id := range []string{"P01", "P02"} { // points go to the store's own pharmacists only
		if err := h.Store.PutPharmacist(context.Background(), flows.Pharmacist{StoreID: "S001", ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	tok := h.Tokens["S001"]
	b := batch("S001",
		hqtest.Visit("v1", "S001", "P01", day1, true),
		hqtest.Visit("v2", "S001", "P01", day1.Add(time.Hour), true),
		hqtest.Visit("v3", "S001", "P02", day1.Add(2*time.Hour), false))
	code, body := h.Do(t, "POST", wire.PathRecords, tok, b)
	if code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	if r := decode[wire.IngestResponse](t, body); r.Accepted != 3 || r.Duplicates != 0 {
		t.Fatalf("first post: %+v", r)
	}
	code, body = h.Do(t, "POST", wire.PathRecords, tok, b)
	if r := decode[wire.IngestResponse](t, body); code != 200 || r.Accepted != 0 || r.Duplicates != 3 {
		t.Fatalf("replay: %d %+v", code, r)
	}
	// Points: two complete visits of P01, credited once despite the replay.
	code, body = h.Do(t, "GET", wire.PathPoints, tok, nil)
	pr := decode[wire.PointsResponse](t, body)
	if code != 200 || len(pr.Rows) != 1 || pr.Rows[0].PharmacistID != "P01" || pr.Rows[0].Points != 2 {
		t.Fatalf("points: %d %s", code, body)
	}
	// The stored visit is the one sent.
	v, err := h.Store.Visit(context.Background(), "S001", "v2")
	if err != nil || v.PharmacistID != "P01" || !v.StartedAt.Equal(day1.Add(time.Hour)) {
		t.Fatalf("stored visit: %+v %v", v, err)
	}
	// Crediting the same event id again (e.g. from the tracked link's click path) earns nothing.
	ok, err := h.Store.CreditPoints(context.Background(), flows.PointsEvent{ID: "v1:" + flows.PointsVisitComplete, StoreID: "S001", PharmacistID: "P01", Points: 5})
	if err != nil || ok {
		t.Fatalf("re-credit: %v %v", ok, err)
	}
	// Metrics count the duplicates.
	_, m := h.Do(t, "GET", "/metrics", h.Admin, nil)
	for _, want := range []string{`hq_ingest_duplicates_total{kind="visit",store="S001"} 3`, `hq_ingest_accepted_total{kind="visit",store="S001"} 3`, `hq_outbox_lag_seconds{store="S001"}`, `hq_http_request_duration_seconds_bucket{route="POST /api/v1/records"`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestConcurrentReplaysStoreOnce(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	for _, id := range []string{"P01", "P02"} { // points go to the store's own pharmacists only
		if err := h.Store.PutPharmacist(context.Background(), flows.Pharmacist{StoreID: "S001", ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	var vs []flows.Visit
	for i := 0; i < 50; i++ {
		vs = append(vs, hqtest.Visit(fmt.Sprintf("c%03d", i), "S001", "P01", day1.Add(time.Duration(i)*time.Minute), i%2 == 0))
	}
	body, _ := json.Marshal(batch("S001", vs...))
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, dups := 0, 0
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", h.URL+wire.PathRecords, strings.NewReader(string(body)))
			req.Header.Set("Authorization", "Bearer "+h.Tokens["S001"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var r wire.IngestResponse
			if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&r) != nil {
				t.Errorf("status %d", resp.StatusCode)
				return
			}
			mu.Lock()
			accepted += r.Accepted
			dups += r.Duplicates
			mu.Unlock()
		}()
	}
	wg.Wait()
	if accepted != 50 || dups != (n-1)*50 {
		t.Fatalf("accepted %d duplicates %d; want 50 and %d", accepted, dups, (n-1)*50)
	}
	_, b := h.Do(t, "GET", wire.PathCompletion+"?group_by=store", h.Admin, nil)
	cr := decode[wire.CompletionResponse](t, b)
	if len(cr.Rows) != 1 || cr.Rows[0].Visits != 50 || cr.Rows[0].Completed != 25 {
		t.Fatalf("rollups after replays: %s", b)
	}
	_, b = h.Do(t, "GET", wire.PathPoints, h.Admin, nil)
	if pr := decode[wire.PointsResponse](t, b); len(pr.Rows) != 1 || pr.Rows[0].Points != 25 {
		t.Fatalf("points after replays: %s", b)
	}
}

func TestAuthMatrix(t *testing.T) {
	h := hqtest.Start(t, api.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}, "S001", "S002")
	s1, s2, admin := h.Tokens["S001"], h.Tokens["S002"], h.Admin
	ctx := context.Background()
	if err := h.Store.PutPharmacist(ctx, flows.Pharmacist{ID: "P01", StoreID: "S001", Name: "王芳"}); err != nil {
		t.Fatal(err)
	}
	v1 := hqtest.Visit("a1", "S001", "P01", day1, true)
	purch := func(store string) wire.PurchasesRequest {
		return wire.PurchasesRequest{Purchases: []flows.Purchase{{ID: store + ":p1:X", CustomerKey: hqtest.Key("c"), StoreID: store, SoldAt: day1, DrugCode: "POS-AML5", Quantity: 1}}}
	}
	hist := "/api/v1/customers/" + hqtest.Key("c") + "/history"
	cases := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"no token", "GET", wire.PathPoints, "", nil, 401},
		{"unknown token", "GET", wire.PathPoints, "hqs_nope", nil, 401},
		{"basic scheme", "GET", wire.PathRoster, "", nil, 401},
		{"records no token", "POST", wire.PathRecords, "", batch("S001", v1), 401},
		{"records other store body", "POST", wire.PathRecords, s2, batch("S001", v1), 403},
		{"records of another store in own batch", "POST", wire.PathRecords, s2, batch("S002", v1), 403},
		{"records own store", "POST", wire.PathRecords, s1, batch("S001", v1), 200},
		{"records admin", "POST", wire.PathRecords, admin, batch("S001", hqtest.Visit("a2", "S001", "P01", day1, true)), 200},
		{"purchases other store", "POST", wire.PathPurchases, s2, purch("S001"), 403},
		{"purchases own store", "POST", wire.PathPurchases, s1, purch("S001"), 200},
		{"history any store token", "GET", hist, s2, nil, 200},
		{"history no token", "GET", hist, "", nil, 401},
		{"report own store", "GET", wire.PathCompletion + "?store_id=S001", s1, nil, 200},
		{"report implicit own store", "GET", wire.PathCompletion, s1, nil, 200},
		{"report other store", "GET", wire.PathCompletion + "?store_id=S002", s1, nil, 403},
		{"report admin any", "GET", wire.PathCompletion + "?store_id=S002", admin, nil, 200},
		{"points other store", "GET", wire.PathPoints + "?store_id=S001", s2, nil, 403},
		{"points admin", "GET", wire.PathPoints, admin, nil, 200},
		{"roster own", "GET", wire.PathRoster, s1, nil, 200},
		{"roster other", "GET", wire.PathRoster + "?store_id=S001", s2, nil, 403},
		{"roster admin needs store", "GET", wire.PathRoster, admin, nil, 400},
		{"roster admin", "GET", wire.PathRoster + "?store_id=S001", admin, nil, 200},
		{"healthz open", "GET", "/healthz", "", nil, 200},
		{"unknown api route", "GET", "/api/v1/nope", s1, nil, 404},
	}
	for _, c := range cases {
		code, body := h.Do(t, c.method, c.path, c.token, c.body)
		if code != c.want {
			t.Errorf("%s: %s %s → %d %s, want %d", c.name, c.method, c.path, code, body, c.want)
		}
		if code >= 400 {
			if e := decode[wire.ErrorResponse](t, body); e.Error == "" {
				t.Errorf("%s: error body without error text: %s", c.name, body)
			}
		}
	}
	// A store token's report shows its own store only, even for admin-wide grouping.
	h.Do(t, "POST", wire.PathRecords, s2, batch("S002", hqtest.Visit("b1", "S002", "P09", day1, false)))
	_, b := h.Do(t, "GET", wire.PathCompletion+"?group_by=store", s1, nil)
	if cr := decode[wire.CompletionResponse](t, b); len(cr.Rows) != 1 || cr.Rows[0].Key != "S001" {
		t.Errorf("store token report: %s", b)
	}
	_, b = h.Do(t, "GET", wire.PathCompletion+"?group_by=store", admin, nil)
	if cr := decode[wire.CompletionResponse](t, b); len(cr.Rows) != 2 {
		t.Errorf("admin report: %s", b)
	}
	_, b = h.Do(t, "GET", wire.PathRoster, s1, nil)
	if rr := decode[wire.RosterResponse](t, b); rr.StoreID != "S001" || len(rr.Pharmacists) != 1 || rr.Pharmacists[0].Name != "王芳" {
		t.Errorf("roster: %s", b)
	}
}

func TestBadInputRejectedWholeBatch(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	tok := h.Tokens["S001"]
	good := func(id string) flows.Visit { return hqtest.Visit(id, "S001", "P01", day1, true) }
	goodJSON, _ := json.Marshal(good("g1"))
	noID := good("")
	noPharm := good("x2")
	noPharm.PharmacistID = ""
	badOutcome := good("x3")
	badOutcome.Outcome = "done"
	cases := []struct {
		name  string
		path  string
		body  any
		field string
	}{
		{"invalid json", wire.PathRecords, `{"store_id":"S001","records":[`, "invalid JSON"},
		{"not json", wire.PathRecords, `hello`, "invalid JSON"},
		{"empty body", wire.PathRecords, ``, "body"},
		{"trailing data", wire.PathRecords, `{"store_id":"S001","records":[]} {}`, "trailing"},
		{"unknown top field", wire.PathRecords, `{"store_id":"S001","records":[],"extra":1}`, "extra"},
		{"unknown record field", wire.PathRecords, `{"store_id":"S001","records":[` + string(goodJSON) + `,{"id":"u1","colour":"red"}]}`, "records[1].colour"},
		{"wrong type", wire.PathRecords, `{"store_id":"S001","records":[{"id":5}]}`, "records[0].id"},
		{"bad date", wire.PathRecords, `{"store_id":"S001","records":[` + string(goodJSON) + `,{"id":"d1","store_id":"S001","pharmacist_id":"P01","started_at":"2026-13-01T09:00:00+08:00","outcome":"complete"}]}`, "records[1].started_at"},
		{"bad nested date", wire.PathRecords, `{"store_id":"S001","records":[{"id":"d2","store_id":"S001","pharmacist_id":"P01","started_at":"2026-06-01T09:00:00+08:00","outcome":"complete","identify":{"at":"yesterday","as_of":"2026-06-01","adherence":[]}}]}`, "records[0].identify.at"},
		{"bad day", wire.PathRecords, `{"store_id":"S001","records":[{"id":"d3","store_id":"S001","pharmacist_id":"P01","started_at":"2026-06-01T09:00:00+08:00","outcome":"complete","identify":{"at":"2026-06-01T09:00:00+08:00","as_of":"2026-02-30","adherence":[]}}]}`, "as_of"},
		{"record without id", wire.PathRecords, batch("S001", good("g1"), noID), "records[1].id"},
		{"record without pharmacist", wire.PathRecords, batch("S001", good("g1"), noPharm), "records[1].pharmacist_id"},
		{"bad outcome", wire.PathRecords, batch("S001", good("g1"), badOutcome), "records[1].outcome"},
		{"ID number as customer key", wire.PathRecords, `{"store_id":"S001","records":[` + string(goodJSON) + `,{"id":"k1","store_id":"S001","pharmacist_id":"P01","customer_key":"11010519491231002X","started_at":"2026-06-01T09:00:00+08:00","outcome":"abandoned"}]}`, "records[1].customer_key"},
		{"missing store_id", wire.PathRecords, `{"records":[]}`, "store_id"},
		{"missing records", wire.PathRecords, `{"store_id":"S001"}`, "records"},
		{"purchase bad key", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"ABC","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":1}]}`, "purchases[0].customer_key"},
		{"purchase bad date", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"01/06/2026","drug_code":"X","quantity":1}]}`, "purchases[0].sold_at"},
		{"purchase no id", wire.PathPurchases, `{"purchases":[{"customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":1}]}`, "purchases[0].id"},
		{"purchase zero quantity", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":0}]}`, "purchases[0].quantity"},
		{"purchase unknown field", wire.PathPurchases, `{"purchases":[{"id":"p1","id_number":"11010519491231002X"}]}`, "purchases[0].id_number"},
		{"purchase negative amount", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":1,"amount_fen":-5}]}`, "purchases[0].amount_fen: -5 is negative"},
		{"purchase fractional amount", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":1,"amount_fen":12.5}]}`, "purchases[0].amount_fen: number 12.5; want the line total in fen"},
		{"purchase string amount", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":1,"amount_fen":"12"}]}`, "purchases[0].amount_fen"},
		{"purchase bad kind", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":1,"kind":"drug"}]}`, `purchases[0].kind: "drug"; want rx, otc or nondrug`},
		{"purchase long receipt", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":1,"receipt_id":"` + strings.Repeat("r", 129) + `"}]}`, "purchases[0].receipt_id: 129 bytes"},
		{"purchase control in receipt", wire.PathPurchases, `{"purchases":[{"id":"p1","customer_key":"` + hqtest.Key("c") + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"X","quantity":1,"receipt_id":"a\u0000b"}]}`, "purchases[0].receipt_id: contains a control character"},
	}
	for _, c := range cases {
		code, body := h.Do(t, "POST", c.path, tok, c.body)
		e := decode[wire.ErrorResponse](t, body)
		if code != 400 || !strings.Contains(e.Error, c.field) {
			t.Errorf("%s: %d %s; want 400 naming %q", c.name, code, body, c.field)
		}
	}
	// Nothing of a rejected batch was stored: g1 is still new.
	code, body := h.Do(t, "POST", wire.PathRecords, tok, batch("S001", good("g1")))
	if r := decode[wire.IngestResponse](t, body); code != 200 || r.Accepted != 1 {
		t.Fatalf("g1 after rejected batches: %d %s", code, body)
	}
	// Query parameters.
	for _, q := range []struct{ path, field string }{
		{wire.PathCompletion + "?from=2026-02-30", "from"},
		{wire.PathCompletion + "?to=June", "to"},
		{wire.PathCompletion + "?from=2026-06-02&to=2026-06-01", "to"},
		{wire.PathCompletion + "?group_by=week", "group_by"},
		{wire.PathCompletion + "?store=S001", "store"},
		{"/api/v1/customers/" + hqtest.Key("c") + "/history?as_of=2026-6-1", "as_of"},
		{"/api/v1/customers/" + hqtest.Key("c") + "/history?days=0", "days"},
		{"/api/v1/customers/XYZ/history", "customer_key"},
	} {
		code, body := h.Do(t, "GET", q.path, tok, nil)
		e := decode[wire.ErrorResponse](t, body)
		if code != 400 || !strings.Contains(e.Error, q.field) {
			t.Errorf("GET %s: %d %s; want 400 naming %q", q.path, code, body, q.field)
		}
	}
}

func TestBodyOver4MiB(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	big := `{"store_id":"S001","records":[{"id":"` + strings.Repeat("x", wire.MaxBodyBytes) + `"}]}`
	code, body := h.Do(t, "POST", wire.PathRecords, h.Tokens["S001"], big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "error") {
		t.Fatalf("big body: %d %.200s", code, body)
	}
}

// TestHistoryAdherence uses the reference's worked example: E = 2026-06-30,
// amlodipine 04-02 and 05-20 (30 days each) → covered 60/90, gap 12, yellow.
func TestHistoryAdherence(t *testing.T) {
	h := hqtest.Start(t, api.Options{Now: func() time.Time { return time.Date(2026, 6, 30, 10, 0, 0, 0, flows.Shanghai()) }}, "S001", "S002")
	key := hqtest.Key("customer-1")
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, flows.Shanghai()) }
	req := wire.PurchasesRequest{Purchases: []flows.Purchase{
		{ID: "S001:1:1", CustomerKey: key, StoreID: "S001", SoldAt: at(4, 2), DrugCode: "POS-AML5", Quantity: 1, DaysSupply: 30},
		{ID: "S001:2:1", CustomerKey: key, StoreID: "S001", SoldAt: at(5, 20), DrugCode: "POS-AML5", Quantity: 1, DaysSupply: 30},
		{ID: "S001:2:2", CustomerKey: key, StoreID: "S001", SoldAt: at(5, 20), DrugCode: "POS-UNKNOWN", Quantity: 2},
		{ID: "S001:0:1", CustomerKey: key, StoreID: "S001", SoldAt: time.Date(2025, 9, 1, 10, 0, 0, 0, flows.Shanghai()), DrugCode: "POS-AML5", Quantity: 1, DaysSupply: 30}, // outside horizon
		{ID: "S001:3:1", CustomerKey: hqtest.Key("someone-else"), StoreID: "S001", SoldAt: at(5, 20), DrugCode: "POS-MET", Quantity: 1},
	}}
	code, body := h.Do(t, "POST", wire.PathPurchases, h.Tokens["S001"], req)
	ir := decode[wire.IngestResponse](t, body)
	if code != 200 || ir.Accepted != 5 || len(ir.UnknownCodes) != 1 || ir.UnknownCodes[0] != "POS-UNKNOWN" {
		t.Fatalf("purchases: %d %s", code, body)
	}
	code, body = h.Do(t, "POST", wire.PathPurchases, h.Tokens["S001"], req)
	if ir := decode[wire.IngestResponse](t, body); code != 200 || ir.Duplicates != 5 || ir.Accepted != 0 {
		t.Fatalf("purchases replay: %d %s", code, body)
	}
	// Another store's token reads the chain-wide history (as_of defaults to today).
	code, body = h.Do(t, "GET", "/api/v1/customers/"+key+"/history", h.Tokens["S002"], nil)
	if code != 200 {
		t.Fatalf("history: %d %s", code, body)
	}
	hr := decode[wire.HistoryResponse](t, body)
	if hr.AsOf.String() != "2026-06-30" || hr.Days != 90 || len(hr.Purchases) != 3 {
		t.Fatalf("history: %s", body)
	}
	if hr.Purchases[0].ID != "S001:1:1" || hr.Purchases[0].Ingredient != "amlodipine" || hr.Purchases[0].ATC != "C08CA01" {
		t.Fatalf("purchase not resolved from catalog: %+v", hr.Purchases[0])
	}
	if len(hr.Adherence) != 1 {
		t.Fatalf("adherence: %+v", hr.Adherence)
	}
	a := hr.Adherence[0]
	if a.Class != flows.ClassHypertension || a.CoveredDays != 60 || a.PeriodDays != 90 || a.DaysWithoutSupply != 12 || a.Level != flows.LevelYellow || a.Fills != 2 {
		t.Fatalf("adherence: %+v", a)
	}
	// as_of in the past narrows the window.
	_, body = h.Do(t, "GET", "/api/v1/customers/"+key+"/history?as_of=2026-05-01&days=30", h.Tokens["S002"], nil)
	hr = decode[wire.HistoryResponse](t, body)
	if len(hr.Purchases) != 1 || hr.Days != 30 { // only 04-02 is inside [W−180, E]
		t.Fatalf("history as_of: %s", body)
	}
	// Unknown customer: empty lists, not null.
	_, body = h.Do(t, "GET", "/api/v1/customers/"+hqtest.Key("nobody")+"/history", h.Tokens["S002"], nil)
	if !strings.Contains(string(body), `"purchases":[]`) || !strings.Contains(string(body), `"adherence":[]`) {
		t.Fatalf("empty history: %s", body)
	}
}

// TestCompletionReportKnownSet checks every grouping and filter on a hand-counted set.
func TestCompletionReportKnownSet(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001", "S002")
	d2 := day1.AddDate(0, 0, 1)
	post := func(store string, vs ...flows.Visit) {
		code, body := h.Do(t, "POST", wire.PathRecords, h.Tokens[store], batch(store, vs...))
		if code != 200 {
			t.Fatalf("post: %d %s", code, body)
		}
	}
	post("S001",
		hqtest.Visit("k1", "S001", "P01", day1, true),
		hqtest.Visit("k2", "S001", "P01", day1.Add(time.Hour), true),
		hqtest.Visit("k3", "S001", "P02", day1.Add(2*time.Hour), false),
		hqtest.Visit("k4", "S001", "P02", d2, true))
	post("S002",
		hqtest.Visit("k5", "S002", "P01", d2, false),
		hqtest.Visit("k6", "S002", "P01", d2.Add(time.Hour), false))
	get := func(q string) []wire.CompletionRow {
		code, body := h.Do(t, "GET", wire.PathCompletion+q, h.Admin, nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", q, code, body)
		}
		return decode[wire.CompletionResponse](t, body).Rows
	}
	type row struct {
		key                  string
		visits, completed    int
		rate                 float64
		identified, followup int
	}
	check := func(q string, want ...row) {
		t.Helper()
		got := get(q)
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows %+v, want %d", q, len(got), got, len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Key != w.key || g.Visits != w.visits || g.Completed != w.completed || g.Rate != w.rate || g.Funnel.Identified != w.identified || g.Funnel.FollowUp != w.followup {
				t.Errorf("%s row %d: %+v, want %+v", q, i, g, w)
			}
		}
	}
	check("?group_by=store", row{"S001", 4, 3, 75, 4, 3}, row{"S002", 2, 0, 0, 2, 0})
	check("?group_by=pharmacist", row{"S001/P01", 2, 2, 100, 2, 2}, row{"S001/P02", 2, 1, 50, 2, 1}, row{"S002/P01", 2, 0, 0, 2, 0})
	check("?group_by=day", row{"2026-06-01", 3, 2, 66.67, 3, 2}, row{"2026-06-02", 3, 1, 33.33, 3, 1})
	check("?group_by=day&store_id=S001&from=2026-06-02", row{"2026-06-02", 1, 1, 100, 1, 1})
	check("?group_by=store&to=2026-06-01", row{"S001", 3, 2, 66.67, 3, 2})
	check("?group_by=pharmacist&pharmacist_id=P01", row{"S001/P01", 2, 2, 100, 2, 2}, row{"S002/P01", 2, 0, 0, 2, 0})
	check("?from=2027-01-01")
}

func TestGracefulShutdown(t *testing.T) {
	path := t.TempDir() + "/hq.db"
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := api.New(st, api.Options{Mount: func(mux *http.ServeMux, s *api.Server) {
		mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
			close(started)
			time.Sleep(300 * time.Millisecond)
			api.WriteJSON(w, 200, map[string]string{"done": "yes"})
		})
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- api.Serve(ctx, api.HTTPServer("", srv, nil), ln, 5*time.Second) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel() // like SIGTERM
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if b := <-got; !strings.Contains(b, `"done":"yes"`) {
		t.Fatalf("in-flight request did not finish: %s", b)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// The file is cleanly closed: it reopens at once (no lock held).
	st2, err := boltstore.Open(path, boltstore.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st2.Close()
}

func TestTokenOnlyHashStored(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	tok := h.Tokens["S001"]
	p, err := h.Store.LookupToken(context.Background(), hq.HashToken(tok))
	if err != nil || p.StoreID != "S001" || p.Admin {
		t.Fatalf("lookup: %+v %v", p, err)
	}
	if _, err := h.Store.LookupToken(context.Background(), tok); err == nil {
		t.Fatal("raw token found as a key: it must be stored hashed")
	}
	if _, err := hq.CreateToken(context.Background(), h.Store, hq.Principal{Admin: true, StoreID: "S001"}); err == nil {
		t.Fatal("token for admin and a store at once accepted")
	}
}

// TestPurchaseAmountReceiptKind: amount_fen, receipt_id and kind are stored and given
// back; a purchase without kind takes the catalog's (rx for an entry without one), a
// code the catalog does not know keeps none; older clients' purchases without the
// fields still work.
func TestPurchaseAmountReceiptKind(t *testing.T) {
	h := hqtest.Start(t, api.Options{Now: func() time.Time { return time.Date(2026, 6, 30, 10, 0, 0, 0, flows.Shanghai()) }}, "S001")
	key := hqtest.Key("customer-k")
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, flows.Shanghai())
	amt := int64(3150)
	zero := int64(0)
	req := wire.PurchasesRequest{Purchases: []flows.Purchase{
		{ID: "S001:R9:POS-AML5", CustomerKey: key, StoreID: "S001", SoldAt: at, DrugCode: "POS-AML5", Quantity: 1, AmountFen: &amt},
		{ID: "S001:R9:POS-MET", CustomerKey: key, StoreID: "S001", SoldAt: at, DrugCode: "POS-MET", Quantity: 1, AmountFen: &zero, ReceiptID: "R9-A", Kind: flows.KindOTC},
		{ID: "S001:R9:GIFT", CustomerKey: key, StoreID: "S001", SoldAt: at, DrugCode: "GIFT", Quantity: 1},
	}}
	if code, body := h.Do(t, "POST", wire.PathPurchases, h.Tokens["S001"], req); code != 200 {
		t.Fatalf("purchases: %d %s", code, body)
	}
	code, body := h.Do(t, "GET", "/api/v1/customers/"+key+"/history", h.Tokens["S001"], nil)
	hr := decode[wire.HistoryResponse](t, body)
	if code != 200 || len(hr.Purchases) != 3 {
		t.Fatalf("history: %d %s", code, body)
	}
	byID := map[string]flows.Purchase{}
	for _, p := range hr.Purchases {
		byID[p.ID] = p
	}
	if p := byID["S001:R9:POS-AML5"]; p.AmountFen == nil || *p.AmountFen != 3150 || p.Kind != flows.KindRx || p.ReceiptID != "" {
		t.Errorf("catalog kind: %+v", p)
	}
	if p := byID["S001:R9:POS-MET"]; p.AmountFen == nil || *p.AmountFen != 0 || p.Kind != flows.KindOTC || p.ReceiptID != "R9-A" {
		t.Errorf("given fields: %+v", p)
	}
	if p := byID["S001:R9:GIFT"]; p.AmountFen != nil || p.Kind != "" {
		t.Errorf("unknown code: %+v", p)
	}
	if !strings.Contains(string(body), `"amount_fen":3150`) || !strings.Contains(string(body), `"receipt_id":"R9-A"`) {
		t.Errorf("history JSON lacks the fields: %s", body)
	}
}
