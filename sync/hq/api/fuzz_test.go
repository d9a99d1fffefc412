package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// FuzzIngestBodies: whatever body a store posts to /api/v1/records or
// /api/v1/purchases, HQ answers 200 or a 4xx with {"error":…} — never a 5xx or a panic.
func FuzzIngestBodies(f *testing.F) {
	h := hqtest.Start(f, api.Options{}, "S001")
	tok := h.Tokens["S001"]
	f.Add(true, []byte(`{"store_id":"S001","records":[]}`))
	f.Add(true, []byte(`{"store_id":"S001","records":[{"id":"a","store_id":"S001","pharmacist_id":"P01","customer_key":"0123456789abcdef0123456789abcdef","started_at":"2026-06-01T09:00:00+08:00","updated_at":"2026-06-01T09:00:00+08:00","outcome":"complete"}]}`))
	f.Add(true, []byte(`{"store_id":"S001","records":[{"id":""}]}`))
	f.Add(true, []byte(`{"store_id":"S002","records":[]}`))
	f.Add(true, []byte(`{"store_id":"S001","records":[{"id":"x","identify":{"at":"2026-06-01T09:00:00Z","as_of":"2026-02-30","adherence":[]}}]}`))
	f.Add(false, []byte(`{"purchases":[{"id":"p","customer_key":"0123456789abcdef0123456789abcdef","store_id":"S001","sold_at":"2026-06-01T09:00:00+08:00","drug_code":"6901234567892","quantity":1}]}`))
	f.Add(false, []byte(`{"purchases":[{"id":"p","quantity":-1e309}]}`))
	f.Add(false, []byte(`{"purchases":null}`))
	f.Fuzz(func(t *testing.T, records bool, body []byte) {
		path := wire.PathPurchases
		if records {
			path = wire.PathRecords
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.Server.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			var ir wire.IngestResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &ir); err != nil {
				t.Fatalf("200 with a body that is not an ingest response: %q", rec.Body.String())
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e wire.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%d without {\"error\":…}: %q", rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("body %q → %d %q", body, rec.Code, rec.Body.String())
		}
	})
}
