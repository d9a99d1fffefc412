package effectreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/flows/effect/effectgen"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/effectreport"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/wire"
)

func TestMain(m *testing.M) { pgtest.Main(m, pgstore.MigrateTemplate) }

var (
	from = flows.DayFromDate(2026, 1, 1)
	to   = flows.DayFromDate(2026, 12, 31)
	// now is the HQ clock: the day after the generated year.
	now = (to + 1).Time().Add(10 * time.Hour)
)

// chain is a small generated chain: its facts for the pure reference and its records
// for HQ.
type chain struct {
	facts     *effect.Data
	visits    map[string][]flows.Visit // by store
	purchases []flows.Purchase
}

func genChain(t testing.TB) chain {
	t.Helper()
	b := effect.NewBuilder(effectgen.Catalog(), effectgen.Knowledge())
	c := chain{visits: map[string][]flows.Visit{}}
	nv, np := 0, 0
	effectgen.Generate(effectgen.Config{Seed: 77, Stores: 2, CustomersPerStore: 260, PDCEffect: 0.5, NonDrugFen: 2990}, effectgen.Sink{
		Visit: func(f *effect.VisitFact) {
			nv++
			v := effectgen.VisitOf(f, fmt.Sprintf("V%06d", nv))
			c.visits[v.StoreID] = append(c.visits[v.StoreID], v)
			if err := b.AddVisit(effect.VisitFactOf(v)); err != nil {
				t.Fatal(err)
			}
		},
		Purchase: func(f *effect.PurchaseFact) {
			np++
			p := effectgen.PurchaseOf(f, np)
			flows.ResolvePurchase(effectgen.Catalog(), &p) // as HQ stores it
			c.purchases = append(c.purchases, p)
			if err := b.AddPurchase(effect.PurchaseFactOf(p)); err != nil {
				t.Fatal(err)
			}
		},
	})
	c.facts = b.Build()
	return c
}

// hqOn serves HQ's API on st with the chain loaded; it returns the base URL and tokens.
func hqOn(t *testing.T, st hq.Store, c chain) (url, admin string, tokens map[string]string) {
	t.Helper()
	ctx := context.Background()
	for store, vs := range c.visits {
		for i := 0; i < len(vs); i += 500 {
			var batch []hq.VisitIngest
			for _, v := range vs[i:min(i+500, len(vs))] {
				batch = append(batch, hq.VisitIngest{Visit: v})
			}
			if _, err := st.IngestVisits(ctx, store, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; i < len(c.purchases); i += 2000 {
		if _, err := st.IngestPurchases(ctx, c.purchases[i:min(i+2000, len(c.purchases))]); err != nil {
			t.Fatal(err)
		}
	}
	clock := func() time.Time { return now }
	svc := effectreport.New(st, effectreport.Config{Catalog: effectgen.Catalog(), Knowledge: effectgen.Knowledge(), Now: clock})
	srv := api.New(st, api.Options{Catalog: effectgen.Catalog(), Now: clock, Effect: svc})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	var err error
	if admin, err = hq.CreateToken(ctx, st, hq.Principal{Admin: true}); err != nil {
		t.Fatal(err)
	}
	tokens = map[string]string{}
	for _, s := range []string{"S001", "S002"} {
		if tokens[s], err = hq.CreateToken(ctx, st, hq.Principal{StoreID: s}); err != nil {
			t.Fatal(err)
		}
	}
	return ts.URL, admin, tokens
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// canonical is a report's JSON without its provenance (computed_at, source).
func canonical(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	delete(m, "computed_at")
	delete(m, "source")
	b, _ := json.Marshal(m)
	return string(b)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return canonical(t, b)
}

// TestEffectEndpointsEveryBackend: the effect and health reports over HTTP, on the
// bbolt and the PostgreSQL backend, equal the pure computation on the same facts: a
// store's live report (read from that store's customers only) and the chain's from
// the snapshot; the store scoping of tokens; the parameter errors.
func TestEffectEndpointsEveryBackend(t *testing.T) {
	c := genChain(t)
	p := effect.Params{From: from, To: to, AsOf: to + 1}
	wantChain, err := c.facts.Effect(p)
	if err != nil {
		t.Fatal(err)
	}
	p.StoreID = "S002"
	wantStore, _ := c.facts.Effect(p)
	p.Class = flows.ClassDiabetes
	wantStoreDM, _ := c.facts.Effect(p)
	wantHealth, _ := c.facts.Health(effect.HealthParams{From: from, To: to, Now: now, StoreID: "S001"})
	if o := wantStore.Classes[0].Outcomes[0]; o.Status != effect.StatusOK {
		t.Fatalf("the test chain is too small for a number: %+v", o)
	}

	bodies := map[string]map[string]string{}
	for name, open := range map[string]func(t *testing.T) hq.Store{
		"bbolt": func(t *testing.T) hq.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) hq.Store {
			st, err := pgstore.Open(context.Background(), pgtest.DB(t), pgstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	} {
		t.Run(name, func(t *testing.T) {
			url, admin, tok := hqOn(t, open(t), c)
			got := map[string]string{}
			q := "?from=2026-01-01&to=2026-12-31"
			// A store token: its own store by default; as_of defaults to today.
			code, body := get(t, url+wire.PathEffect+q, tok["S002"])
			if code != 200 {
				t.Fatalf("store effect: %d %s", code, body)
			}
			var r wire.EffectResponse
			_ = json.Unmarshal(body, &r)
			if r.Source != wire.SourceLive || r.AsOf != to+1 || r.StoreID != "S002" || canonical(t, body) != jsonOf(t, wantStore) {
				t.Errorf("store report differs from the pure computation:\n got %s\nwant %s", canonical(t, body), jsonOf(t, wantStore))
			}
			got["store"] = canonical(t, body)
			code, body = get(t, url+wire.PathEffect+q+"&class=diabetes&store_id=S002&as_of=2027-01-01", admin)
			if code != 200 || canonical(t, body) != jsonOf(t, wantStoreDM) {
				t.Errorf("admin, S002, diabetes: %d\n got %s\nwant %s", code, canonical(t, body), jsonOf(t, wantStoreDM))
			}
			// The chain: admin only, from the snapshot.
			code, body = get(t, url+wire.PathEffect+q, admin)
			_ = json.Unmarshal(body, &r)
			if code != 200 || r.Source != wire.SourceSnapshot || r.AsOf != to+1 || !r.ComputedAt.Equal(now) || canonical(t, body) != jsonOf(t, wantChain) {
				t.Errorf("chain report: %d source %s as_of %s\n got %.300s\nwant %.300s", code, r.Source, r.AsOf, canonical(t, body), jsonOf(t, wantChain))
			}
			got["chain"] = canonical(t, body)
			code, body = get(t, url+wire.PathHealthRep+q+"&store_id=S001", admin)
			if code != 200 || canonical(t, body) != jsonOf(t, wantHealth) {
				t.Errorf("health S001: %d\n got %s\nwant %s", code, canonical(t, body), jsonOf(t, wantHealth))
			}
			got["health"] = canonical(t, body)
			if code, body = get(t, url+wire.PathHealthRep+q, admin); code != 200 || !strings.Contains(string(body), `"chain":{`) {
				t.Errorf("chain health: %d %.200s", code, body)
			}
			// Scoping and parameters.
			for _, c := range []struct {
				path, token string
				code        int
				want        string
			}{
				{wire.PathEffect + q + "&store_id=S001", tok["S002"], 403, "store_id"},
				{wire.PathHealthRep + q + "&store_id=S001", tok["S002"], 403, "store_id"},
				{wire.PathEffect + "?to=2026-12-31", admin, 400, "from: missing"},
				{wire.PathEffect + "?from=2026-01-01", admin, 400, "to: missing"},
				{wire.PathEffect + "?from=2026-02-30&to=2026-12-31", admin, 400, "from"},
				{wire.PathEffect + "?from=2026-06-01&to=2026-01-01", admin, 400, "to: 2026-01-01 is before from"},
				{wire.PathEffect + q + "&class=asthma", admin, 400, "class"},
				{wire.PathEffect + q + "&as_of=2025-12-31", admin, 400, "as_of"},
				{wire.PathEffect + q + "&store=S001", admin, 400, "store: unknown query parameter"},
				{wire.PathEffect + "?from=2020-01-01&to=2026-12-31", admin, 400, "period of at most three years"},
				{wire.PathEffect + "?from=2025-01-01&to=2025-12-31", admin, 400, "snapshot holds facts from"},
				{wire.PathEffect + q, "nope", 401, ""},
			} {
				code, body := get(t, url+c.path, c.token)
				if code != c.code || !strings.Contains(string(body), c.want) {
					t.Errorf("GET %s: %d %s, want %d naming %q", c.path, code, body, c.code, c.want)
				}
			}
			bodies[name] = got
		})
	}
	if b, p := bodies["bbolt"], bodies["postgres"]; p != nil && (b["store"] != p["store"] || b["chain"] != p["chain"] || b["health"] != p["health"]) {
		t.Error("bbolt and PostgreSQL give different reports")
	}
}

// TestSnapshotRefresh: the chain-wide snapshot is built once, reused, and rebuilt by
// Refresh with the clock's new as_of; a request waiting past Wait gets ErrNotReady.
func TestSnapshotRefresh(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := now
	svc := effectreport.New(st, effectreport.Config{Catalog: effectgen.Catalog(), Now: func() time.Time { return clock }})
	ctx := context.Background()
	s1, err := svc.Snapshot(ctx)
	if err != nil || s1.AsOf != to+1 {
		t.Fatalf("%+v %v", s1, err)
	}
	if s2, _ := svc.Snapshot(ctx); s2 != s1 {
		t.Fatal("the snapshot was rebuilt without a refresh")
	}
	clock = clock.Add(24 * time.Hour)
	if err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s3, _ := svc.Snapshot(ctx); s3 == s1 || s3.AsOf != to+2 {
		t.Fatalf("after refresh: %+v", s3)
	}
	res, err := svc.Effect(ctx, effect.Params{From: from, To: to})
	if err != nil || res.AsOf != to+2 || res.Source != wire.SourceSnapshot {
		t.Fatalf("chain effect as of the snapshot: %+v %v", res.Report.AsOf, err)
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(res)
	if !strings.Contains(buf.String(), `"source":"snapshot"`) {
		t.Fatalf("%s", buf.String())
	}
}
