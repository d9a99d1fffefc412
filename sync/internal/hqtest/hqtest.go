// Package hqtest starts a real HQ (bbolt file in t.TempDir(), loopback HTTP) for the
// sync packages' tests and builds well-formed records.
package hqtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// HQ is a running test HQ.
type HQ struct {
	URL    string
	Store  hq.Store
	Server *api.Server
	HTTP   *httptest.Server
	Admin  string            // admin token
	Tokens map[string]string // store id → store token

	handler atomic.Pointer[http.Handler]
}

// SetHandler replaces what the loopback server runs (e.g. a fault-injecting wrapper
// around h.Server); safe while requests are in flight.
func (h *HQ) SetHandler(x http.Handler) { h.handler.Store(&x) }

// Catalog is a small catalog for tests (amlodipine, valsartan, metformin, atorvastatin).
func Catalog() *flows.Catalog {
	return flows.NewCatalog([]flows.Drug{
		{Code: "POS-AML5", Name: "苯磺酸氨氯地平片 5mg×28", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 28},
		{Code: "POS-VAL80", Name: "缬沙坦胶囊 80mg×7", Ingredient: "valsartan", ATC: "C09CA03", PackDaysSupply: 7},
		{Code: "POS-MET", Name: "二甲双胍缓释片 0.5g×30", Ingredient: "metformin", ATC: "A10BA02", PackDaysSupply: 30},
		{Code: "POS-ATV", Name: "阿托伐他汀钙片 20mg×7", Ingredient: "atorvastatin", ATC: "C10AA05", PackDaysSupply: 7},
	})
}

// Start opens a boltstore in t.TempDir(), serves it over loopback and makes an admin
// token and one token per store id. Everything is closed at test cleanup.
func Start(t testing.TB, opts api.Options, stores ...string) *HQ {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Catalog == nil {
		opts.Catalog = Catalog()
	}
	srv := api.New(st, opts)
	h := &HQ{Store: st, Server: srv, Tokens: map[string]string{}}
	h.SetHandler(srv)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*h.handler.Load()).ServeHTTP(w, r)
	}))
	h.URL, h.HTTP = ts.URL, ts
	t.Cleanup(func() {
		ts.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	ctx := context.Background()
	if h.Admin, err = hq.CreateToken(ctx, st, hq.Principal{Admin: true}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if h.Tokens[s], err = hq.CreateToken(ctx, st, hq.Principal{StoreID: s}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// Do sends a request with a bearer token (empty: none) and a JSON body (nil: none,
// []byte: sent as is) and returns the status and body.
func (h *HQ) Do(t testing.TB, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// Visit builds a visit of store/pharmacist started at start; complete visits have all
// four steps, others stop after step 1 and are abandoned.
func Visit(id, store, pharm string, start time.Time, complete bool) flows.Visit {
	v := flows.Visit{
		ID: id, StoreID: store, PharmacistID: pharm, CustomerKey: Key(id),
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

// Key is a deterministic customer key (32 lower-case hex) derived from s.
func Key(s string) string {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("%016x%016x", h, h*31+7)
}

// BenchPharmacists puts pharmacists P01…P05 (the ones Visit's callers in benchmarks
// use) on the roster of each store, so that their visits earn points as in production
// instead of being flagged as not on the roster.
func BenchPharmacists(t testing.TB, st hq.RosterStore, stores ...string) {
	t.Helper()
	for _, s := range stores {
		for p := 1; p <= 5; p++ {
			if err := st.PutPharmacist(context.Background(), flows.Pharmacist{ID: fmt.Sprintf("P%02d", p), StoreID: s, Name: fmt.Sprintf("药师%d", p)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
