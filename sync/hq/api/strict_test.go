package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// recordJSON is one well-formed record of S001 as JSON, with edit applied to its
// top-level fields (nil value: the field removed).
func recordJSON(t *testing.T, id string, edit map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(hqtest.Visit(id, "S001", "P01", day1, true))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range edit {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// TestIngestStrictness: on every ingest route, a field name in another
// case ("Customer_Key", which encoding/json would fill customer_key with and which the
// PIPL deletion then misses in the stored JSON), a repeated key, an ID number in
// customer_key and anything but a mask in customer_masked are refused with 400 naming
// the field, and nothing is stored. It fails on the code before the fix: the decoder
// took case-folded and repeated keys, and customer_masked was not checked.
func TestIngestStrictness(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	tok := h.Tokens["S001"]
	key := hqtest.Key("strict")
	rec := recordJSON(t, "ok0", nil)
	folded := strings.Replace(recordJSON(t, "s1", nil), `"customer_key"`, `"Customer_Key"`, 1)
	repeated := strings.Replace(recordJSON(t, "s2", nil), `"customer_key":`, `"customer_key":"`+key+`","customer_key":`, 1)
	nested := strings.Replace(recordJSON(t, "s3", nil), `"adherence"`, `"Adherence"`, 1)
	escaped := strings.Replace(recordJSON(t, "s4", nil), `"customer_key"`, `"\u0043ustomer_key"`, 1)
	records := func(recs ...string) string {
		return `{"store_id":"S001","records":[` + strings.Join(recs, ",") + `]}`
	}
	purchase := `{"id":"S001:A1:1","customer_key":"` + key + `","store_id":"S001","sold_at":"2026-06-01T10:00:00+08:00","drug_code":"POS-AML5","quantity":1}`
	for _, c := range []struct {
		name, path, body, field string
		stored                  []string // visit ids that must not exist afterwards
	}{
		{"records: field name in another case", wire.PathRecords, records(rec, folded), "records[1].Customer_Key", []string{"ok0", "s1"}},
		{"records: repeated key", wire.PathRecords, records(repeated), "records[0].customer_key", []string{"s2"}},
		{"records: nested field name in another case", wire.PathRecords, records(nested), "records[0].identify.Adherence", []string{"s3"}},
		{"records: escaped case-folded key", wire.PathRecords, records(escaped), "records[0].Customer_key", []string{"s4"}},
		{"records: top-level key in another case", wire.PathRecords, `{"Store_ID":"S001","records":[` + recordJSON(t, "s5", nil) + `]}`, "Store_ID", []string{"s5"}},
		{"records: repeated top-level key", wire.PathRecords, `{"store_id":"S001","records":[],"records":[` + recordJSON(t, "s6", nil) + `]}`, "records", []string{"s6"}},
		{"records: ID number as customer key", wire.PathRecords, records(recordJSON(t, "s7", map[string]any{"customer_key": "11010519491231002X"})), "records[0].customer_key", []string{"s7"}},
		{"records: ID number as masked ID", wire.PathRecords, records(recordJSON(t, "s8", map[string]any{"customer_masked": "11010519491231002X"})), "records[0].customer_masked", []string{"s8"}},
		{"records: mask showing too much", wire.PathRecords, records(recordJSON(t, "s9", map[string]any{"customer_masked": "110105******231002X"})), "records[0].customer_masked", []string{"s9"}},
		{"purchases: field name in another case", wire.PathPurchases, `{"purchases":[` + strings.Replace(purchase, `"customer_key"`, `"CUSTOMER_KEY"`, 1) + `]}`, "purchases[0].CUSTOMER_KEY", nil},
		{"purchases: repeated key", wire.PathPurchases, `{"purchases":[` + strings.Replace(purchase, `"customer_key":`, `"customer_key":"`+key+`","customer_key":`, 1) + `]}`, "purchases[0].customer_key", nil},
		{"purchases: repeated top-level key", wire.PathPurchases, `{"purchases":[],"purchases":[` + purchase + `]}`, "purchases", nil},
		{"purchases: ID number as customer key", wire.PathPurchases, `{"purchases":[` + strings.Replace(purchase, key, "11010519491231002X", 1) + `]}`, "purchases[0].customer_key", nil},
		{"content status: field name in another case", wire.PathContentStatus, `{"Version":3}`, "Version", nil},
		{"content status: repeated key", wire.PathContentStatus, `{"version":0,"version":3}`, "version", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := h.Do(t, "POST", c.path, tok, c.body)
			if code != 400 || !strings.Contains(string(body), c.field) {
				t.Fatalf("%d %s, want 400 naming %s", code, body, c.field)
			}
			for _, id := range c.stored {
				if _, err := h.Store.Visit(context.Background(), "S001", id); !errors.Is(err, hq.ErrNotFound) {
					t.Errorf("visit %s stored (%v) although its batch was refused", id, err)
				}
			}
		})
	}
	// Nothing of the refused purchases reached the history.
	code, body := h.Do(t, "GET", "/api/v1/customers/"+key+"/history?as_of=2026-06-02", tok, nil)
	if code != 200 || strings.Contains(string(body), "S001:A1:1") {
		t.Fatalf("history after refused purchases: %d %s", code, body)
	}
	// The well-formed forms still go through, on both records decodings.
	if code, body := h.Do(t, "POST", wire.PathRecords, tok, records(rec)); code != 200 {
		t.Fatalf("well-formed record: %d %s", code, body)
	}
	if code, body := h.Do(t, "POST", wire.PathPurchases, tok, `{"purchases":[`+purchase+`]}`); code != 200 {
		t.Fatalf("well-formed purchase: %d %s", code, body)
	}
	if code, body := h.Do(t, "POST", wire.PathContentStatus, tok, `{"version":0}`); code != 204 {
		t.Fatalf("well-formed content status: %d %s", code, body)
	}
}
