package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
)

// fill sets every field reachable from v to a non-zero value (two elements per slice
// and map), so that json.Marshal writes every key, omitempty or not.
func fill(v reflect.Value, name string, depth int) {
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 6, 1, 9, 15, depth, 123456789, time.FixedZone("", 8*3600))))
		return
	case v.Type() == reflect.TypeFor[flows.Day]():
		v.Set(reflect.ValueOf(flows.DayFromDate(2026, 6, 1+depth)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d é<&>\"\\\u2028", name, depth))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(7 + depth))
	case reflect.Float64:
		v.SetFloat(0.25 + float64(depth))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name, depth+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), fmt.Sprintf("%s%d", name, i), depth+1)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for i := range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(fmt.Sprintf("%s%d", name, i)) // keys are ids: no escapes
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, name, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), v.Type().Field(i).Name, depth)
			}
		}
	default:
		panic(fmt.Sprintf("fill: %s of kind %s: teach fill (and the fast decoders) this kind", name, v.Kind()))
	}
}

// TestFastJSONKnowsEveryField: a visit and a purchase with every field set (so every
// key present, nested steps and all) take the fast path and decode exactly as the
// strict path does. A field added to a flows type and not to fastjson_records.go fails
// here.
func TestFastJSONKnowsEveryField(t *testing.T) {
	var v flows.Visit
	fill(reflect.ValueOf(&v).Elem(), "visit", 0)
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var fast flows.Visit
	if !decodeVisitJSON(data, &fast) {
		t.Fatalf("the fast path refuses a complete visit (a field of flows.Visit or its steps it does not know?):\n%s", data)
	}
	var strict flows.Visit
	if err := decodeStrict(data, &strict, ""); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fast, strict) || !reflect.DeepEqual(fast, v) {
		t.Fatalf("fast %+v\nstrict %+v\nwant %+v", fast, strict, v)
	}

	var p flows.Purchase
	fill(reflect.ValueOf(&p).Elem(), "purchase", 0)
	if data, err = json.Marshal(p); err != nil {
		t.Fatal(err)
	}
	var fp, sp flows.Purchase
	if !decodePurchaseJSON(data, &fp) {
		t.Fatalf("the fast path refuses a complete purchase (a field of flows.Purchase it does not know?):\n%s", data)
	}
	if err := decodeStrict(data, &sp, ""); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fp, sp) || !reflect.DeepEqual(fp, p) {
		t.Fatalf("fast %+v\nstrict %+v\nwant %+v", fp, sp, p)
	}
}

// checkVisitAgrees: when the fast path takes data, the strict path takes it too and
// gives the same visit.
func checkVisitAgrees(t *testing.T, data []byte) bool {
	t.Helper()
	var fast flows.Visit
	if !decodeVisitJSON(data, &fast) {
		return false
	}
	var strict flows.Visit
	if err := decodeStrict(data, &strict, ""); err != nil {
		t.Fatalf("%q: the fast path took a record the strict path refuses: %v", data, err)
	}
	if !reflect.DeepEqual(fast, strict) {
		t.Fatalf("%q: fast %+v, strict %+v", data, fast, strict)
	}
	return true
}

func checkPurchaseAgrees(t *testing.T, data []byte) bool {
	t.Helper()
	var fast flows.Purchase
	if !decodePurchaseJSON(data, &fast) {
		return false
	}
	var strict flows.Purchase
	if err := decodeStrict(data, &strict, ""); err != nil {
		t.Fatalf("%q: the fast path took a purchase the strict path refuses: %v", data, err)
	}
	if !reflect.DeepEqual(fast, strict) {
		t.Fatalf("%q: fast %+v, strict %+v", data, fast, strict)
	}
	return true
}

const okPurchase = `{"id":"S001-1-1","customer_key":"0123456789abcdef0123456789abcdef","store_id":"S001","sold_at":"2026-06-01T09:00:00+08:00","drug_code":"POS-AML5","quantity":2,"amount_fen":2590,"kind":"rx"}`

// TestFastJSONEdges: values at the edges of what encoding/json accepts — nulls, empty
// containers, escapes, invalid UTF-8, number forms, literals — are either decoded as the
// strict path decodes them or left to it; invalid JSON and everything the strict path
// refuses are never taken.
func TestFastJSONEdges(t *testing.T) {
	visit := func(fields string) string { return `{"id":"a",` + fields + `}` }
	for _, tc := range []struct {
		data string
		fast bool
	}{
		{okRecord, true},
		{`null`, true},
		{` {} `, true},
		{visit(`"identify":null,"questionnaire":null,"recommend":null,"followup":null`), true},
		{visit(`"identify":{"at":null,"as_of":null,"offline":null,"adherence":null}`), true},
		{visit(`"identify":{"adherence":[]}`), true},
		{visit(`"identify":{"adherence":[{"class":"hypertension","pdc":6.7e-1,"fill_ids":[],"uncounted":null,"period_start":"2026-03-01"}]}`), true},
		{visit(`"identify":{"adherence":[{"fill_ids":[null,"x"]}]}`), true},
		{visit(`"questionnaire":{"answers":{}}`), true},
		{visit(`"questionnaire":{"answers":{"q1":null,"问":"答"}}`), true},
		{visit(`"followup":{"consent":{"wecom":true,"sms":null},"scheduled":{"due_at":"2026-06-02T09:00:00Z","consent":false}}`), true},
		{visit(`"recommend":{"items":[{"accepted":true},{"accepted":null},{"accepted":false}]}`), true},
		{visit(`"outcome":"complete","content_version":-0`), true},
		{visit(`"store_id":"S\u0030\u00301","pharmacist_id":"\ud83d\ude00\n\t\/"`), true},
		{visit(`"store_id":"\ud800","pharmacist_id":"\uDFFF"`), true}, // lone surrogates → U+FFFD
		{visit("\"store_id\":\"\xff\xfe\",\"pharmacist_id\":\"caf\xc3\xa9\""), true},
		{visit(`"started_at":"2026-06-01T09:00:00.123456789+08:00"`), true},
		{visit(` "outcome" : "x" ` + "\t\r\n"), true},
		// Left to the strict path (which refuses or takes them).
		{visit(`"content_version":1.0`), false},
		{visit(`"content_version":1e2`), false},
		{visit(`"content_version":99999999999999999999`), false},
		{visit(`"content_version":"1"`), false},
		{visit(`"content_version":01`), false},
		{visit(`"content_version":-`), false},
		{visit(`"content_version":+1`), false},
		{visit(`"content_version":.5`), false},
		{visit(`"content_version":true`), false},
		{visit(`"identify":{"adherence":[{"pdc":1e999}]}`), false},
		{visit(`"identify":{"adherence":[{"pdc":1.}]}`), false},
		{visit(`"identify":{"adherence":[{"pdc":1e}]}`), false},
		{visit(`"identify":{"adherence":[null]}`), false},
		{visit(`"identify":{"as_of":20000}`), false},
		{visit(`"identify":{"as_of":"2026-02-30"}`), false},
		{visit(`"identify":{"as_of":"2026-06-0\u0031"}`), true},
		{visit(`"started_at":"2026-06-01 09:00:00"`), false},
		{visit(`"started_at":"2026-06-01T09:00:00\u002b08:00"`), false},
		{visit(`"started_at":1`), false},
		{visit(`"outcome":"a` + "\x01" + `"`), false},
		{visit(`"outcome":"\x"`), false},
		{visit(`"outcome":"\u12"`), false},
		{visit(`"outcome":tru`), false},
		{visit(`"outcome":nul`), false},
		{visit(`"outcome":nullx`), false},
		{visit(`"followup":{"declined":truex}`), false},
		{visit(`"id":"b"`), false},
		{visit(`"ID":"b"`), false},
		{visit(`"i\u0064":"b"`), false},
		{visit(`"bogus":1`), false},
		{visit(`"questionnaire":{"answers":{"q1":"a","q1":"b"}}`), false},
		{visit(`"questionnaire":{"answers":{"q1":1}}`), false},
		{visit(`"followup":{"consent":{"wecom":"yes"}}`), false},
		{visit(`"recommend":{"items":[{"id":"k1",}]}`), false},
		{visit(`"recommend":{"items":[,]}`), false},
		{visit(`"recommend":{"items":[}`), false},
		{`{"id":"a"} x`, false},
		{`{"id":"a"`, false},
		{`{"id" "a"}`, false},
		{`{"id":"a",}`, false},
		{`{,}`, false},
		{`[]`, false},
		{``, false},
		{`"a"`, false},
	} {
		if got := checkVisitAgrees(t, []byte(tc.data)); got != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.data, got, tc.fast)
		}
	}
	purchase := func(fields string) string { return `{"id":"p",` + fields + `}` }
	for _, tc := range []struct {
		data string
		fast bool
	}{
		{okPurchase, true},
		{`null`, true},
		{purchase(`"amount_fen":null,"days_supply":null,"quantity":null`), true},
		{purchase(`"amount_fen":0,"quantity":1.5e0,"days_supply":28`), true},
		{purchase(`"amount_fen":-5,"quantity":-1`), true}, // taken; validatePurchase refuses
		{purchase(`"amount_fen":12.5`), false},
		{purchase(`"amount_fen":"1250"`), false},
		{purchase(`"quantity":-1e309`), false},
		{purchase(`"days_supply":2.0`), false},
		{purchase(`"Quantity":1`), false},
		{purchase(`"id":"q"`), false},
	} {
		if got := checkPurchaseAgrees(t, []byte(tc.data)); got != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.data, got, tc.fast)
		}
	}
	// More keys in one object than the fast path tracks: the strict path's.
	var many strings.Builder
	many.WriteString(`{"id":"a","questionnaire":{"answers":{`)
	for i := range maxObjectKeys + 1 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `"q%d":"a"`, i)
	}
	many.WriteString(`}}}`)
	if checkVisitAgrees(t, []byte(many.String())) {
		t.Errorf("an object of %d keys took the fast path", maxObjectKeys+1)
	}
}

// FuzzVisitJSON: whenever the fast path decodes a record, the strict path takes it too
// and decodes the same visit.
func FuzzVisitJSON(f *testing.F) {
	var v flows.Visit
	fill(reflect.ValueOf(&v).Elem(), "visit", 0)
	full, _ := json.Marshal(v)
	f.Add(full)
	f.Add([]byte(okRecord))
	f.Add([]byte(`{"id":"a","identify":{"adherence":[{"pdc":1e-3,"fill_ids":["x"]}]},"questionnaire":{"answers":{"q":null}}}`))
	f.Add([]byte(`{"id":"\ud800\u00e9","followup":{"consent":{"wecom":true},"scheduled":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkVisitAgrees(t, data) })
}

// FuzzPurchaseJSON: the same for a purchase.
func FuzzPurchaseJSON(f *testing.F) {
	var p flows.Purchase
	fill(reflect.ValueOf(&p).Elem(), "purchase", 0)
	full, _ := json.Marshal(p)
	f.Add(full)
	f.Add([]byte(okPurchase))
	f.Add([]byte(`{"id":"p","amount_fen":null,"quantity":1E+2}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkPurchaseAgrees(t, data) })
}

// checkPurchasesAgree: when fastPurchases takes a body, the strict two-stage decoding
// takes it too and gives the same purchases (nil for a null or missing list).
func checkPurchasesAgree(t *testing.T, body []byte) bool {
	t.Helper()
	ps, ok := fastPurchases(body)
	if !ok {
		return false
	}
	var raw rawPurchases
	if err := decodeStrict(body, &raw, ""); err != nil {
		t.Fatalf("%q: fast path took a body the strict path refuses: %v", body, err)
	}
	if (raw.Purchases == nil) != (ps == nil) || len(raw.Purchases) != len(ps) {
		t.Fatalf("%q: fast %d purchases (nil %v), strict %d (nil %v)", body, len(ps), ps == nil, len(raw.Purchases), raw.Purchases == nil)
	}
	for i, rec := range raw.Purchases {
		var p flows.Purchase
		if err := decodeStrict(rec, &p, "purchases"); err != nil {
			t.Fatalf("%q: fast path took a body the strict path refuses: %v", body, err)
		}
		if !reflect.DeepEqual(p, ps[i]) {
			t.Fatalf("%q: purchase %d fast %+v, strict %+v", body, i, ps[i], p)
		}
	}
	return true
}

func TestFastPurchasesAgrees(t *testing.T) {
	for _, tc := range []struct {
		body string
		fast bool
	}{
		{`{"purchases":[` + okPurchase + `]}`, true},
		{` { "purchases" : [ ` + okPurchase + ` , null ] } `, true},
		{`{"purchases":[]}`, true},
		{`{"purchases":null}`, true},
		{`{}`, true},
		{`{"purchases":[` + strings.Repeat(okPurchase+",", 999) + okPurchase + `]}`, true},
		{`{"purchases":[` + strings.Repeat(okPurchase+",", 999) + `{"id":"p","x":1}]}`, false},
		{`{"Purchases":[]}`, false},
		{`{"purchase\u0073":[]}`, false},
		{`{"purchases":[],"purchases":[]}`, false},
		{`{"purchases":[],"x":1}`, false},
		{`{"purchases":{}}`, false},
		{`{"purchases":[1]}`, false},
		{`{"purchases":[` + okPurchase + `,]}`, false},
		{`{"purchases":[` + okPurchase + `]} {}`, false},
		{`{"purchases":[` + okPurchase + `]`, false},
		{`{"purchases":nul}`, false},
		{`{"purchases":nullx}`, false},
		{`[]`, false},
		{``, false},
	} {
		if got := checkPurchasesAgree(t, []byte(tc.body)); got != tc.fast {
			t.Errorf("%.200s: fast path %v, want %v", tc.body, got, tc.fast)
		}
	}
}

// FuzzFastPurchases: whenever the one-pass decoding takes a purchases body, the strict
// decoding takes it too and yields the same purchases.
func FuzzFastPurchases(f *testing.F) {
	f.Add([]byte(`{"purchases":[` + okPurchase + `]}`))
	f.Add([]byte(`{"purchases":[` + okPurchase + `,null,{"id":"x\"]}{["}]}`))
	f.Add([]byte(`{"purchases":null}`))
	f.Fuzz(func(t *testing.T, body []byte) { checkPurchasesAgree(t, body) })
}
