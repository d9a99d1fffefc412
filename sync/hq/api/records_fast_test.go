package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
)

// slowRecords is the record-by-record decoding parseRecords falls back to.
func slowRecords(body []byte) (string, []json.RawMessage, error) {
	var raw rawRecords
	if err := decodeStrict(body, &raw, ""); err != nil {
		return "", nil, err
	}
	for _, r := range raw.Records {
		var v flows.Visit
		if err := decodeStrict(r, &v, "records"); err != nil {
			return "", nil, err
		}
	}
	return raw.StoreID, raw.Records, nil
}

const okRecord = `{"id":"a","store_id":"S001","pharmacist_id":"P01","customer_key":"0123456789abcdef0123456789abcdef","started_at":"2026-06-01T09:00:00+08:00","updated_at":"2026-06-01T09:00:00+08:00","outcome":"complete","identify":{"at":"2026-06-01T09:01:00+08:00","as_of":"2026-06-01","adherence":[]}}`

// TestFastRecordsAgrees: the one-pass decoding takes the common case and agrees with
// the record-by-record decoding; every unusual shape falls back.
func TestFastRecordsAgrees(t *testing.T) {
	for _, tc := range []struct {
		body string
		fast bool
	}{
		{`{"store_id":"S001","records":[]}`, true},
		{` { "records" : [ ` + okRecord + ` , ` + okRecord + ` ] , "store_id" : "S001" } `, true},
		{`{"store_id":"S001","records":[{"id":"x\"]}{[","store_id":"S001"}]}`, true},
		{`{"store_id":"S001","records":null}`, true},
		{`{"store_id":"S001"}`, true},
		{`{}`, true},
		{`{"store_id":"S001","records":[null,` + okRecord + `]}`, true},
		// Fallbacks: case-folded, escaped or repeated keys, unknown fields, trailing
		// data, wrong types, broken JSON.
		{`{"Store_ID":"S001","records":[]}`, false},
		{`{"store_id":"S001","Records":[` + okRecord + `]}`, false},
		{`{"store_id":"S001","rec\u006frds":[` + okRecord + `]}`, false},
		{`{"store_id":"S001","records":[{"id":"a"}],"records":[{"outcome":"complete"}]}`, false},
		{`{"store_id":"S001","store_id":"S002","records":[]}`, false},
		{`{"store_id":"S001","records":[],"x":1}`, false},
		{`{"store_id":"S001","records":[{"id":"a","bogus":1}]}`, false},
		{`{"store_id":"S001","records":[]} {}`, false},
		{`{"store_id":"S001","records":[1]}`, false},
		{`{"store_id":"S001","records":[{"id":"a"},]}`, false},
		{`{"store_id":"S001","records":{}}`, false},
		{`{"store_id":"S001","records":[{"id":"a"}`, false},
		{``, false},
		{`[]`, false},
		{`{"store_id":"S001","records":[]}x`, false},
		{`{"store_id":"S001","records":[]}}`, false},
		{`{"store_id":"S001","records":[{"id":"a"}}]}`, false},
		{`{"store_id":"S001","records":[{"id":"a"]}]}`, false},
		{`{"store_id":tru,"records":[]}`, false},
		{`{"store_id":"S001","records":nul}`, false},
		{`{"store_id":"S001","records":[` + okRecord + ` x]}`, false},
		{`{"store_id":"S001" "records":[]}`, false},
		{`{"store_id":"S001",}`, false},
		{`{,}`, false},
		// Big enough to be decoded in parallel, with and without a bad record late on.
		{`{"store_id":"S001","records":[` + strings.Repeat(okRecord+",", 299) + okRecord + `]}`, true},
		{`{"store_id":"S001","records":[` + strings.Repeat(okRecord+",", 290) + `{"id":"b","x":1}]}`, false},
	} {
		req, raws, ok := fastRecords([]byte(tc.body))
		if ok != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.body, ok, tc.fast)
			continue
		}
		if ok {
			checkAgrees(t, []byte(tc.body), req.StoreID, raws, req.Records)
		}
	}
}

func checkAgrees(t *testing.T, body []byte, storeID string, raws []json.RawMessage, recs []flows.Visit) {
	t.Helper()
	sid, sraws, err := slowRecords(body)
	if err != nil {
		t.Fatalf("%s: fast path took a body the slow path refuses: %v", body, err)
	}
	if sid != storeID || len(sraws) != len(raws) || (sraws == nil) != (raws == nil) {
		t.Fatalf("%s: fast %q %d raws, slow %q %d raws", body, storeID, len(raws), sid, len(sraws))
	}
	for i := range raws {
		if !bytes.Equal(raws[i], sraws[i]) {
			t.Fatalf("%s: record %d raw %q, slow %q", body, i, raws[i], sraws[i])
		}
		var one flows.Visit
		if err := decodeStrict(sraws[i], &one, "records"); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(recs[i], one) {
			t.Fatalf("%s: record %d decoded differently", body, i)
		}
	}
}

// FuzzFastRecords: whenever the one-pass decoding accepts a body, the record-by-record
// decoding accepts it too and yields the same store id, records and raw JSON.
func FuzzFastRecords(f *testing.F) {
	f.Add([]byte(`{"store_id":"S001","records":[` + okRecord + `]}`))
	f.Add([]byte(`{"records":[` + okRecord + `,null],"store_id":"S001"}`))
	f.Add([]byte(`{"store_id":"S001","records":[{"id":"x\"]}{[\\"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, raws, ok := fastRecords(body)
		if ok {
			checkAgrees(t, body, req.StoreID, raws, req.Records)
		}
	})
}
