package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/wire"
)

// TestForgetThroughRunningHQ: the admin deletes the demo customer 张三 through the running
// HQ: his chain-wide history is gone, the other customers' is not, his visits lose the
// key, a store token may not delete, and the stopped-HQ path compacts the file.
func TestForgetThroughRunningHQ(t *testing.T) {
	dir := t.TempDir()
	h := startDemoServe(t, dir, time.Second)
	base := h.base
	secret, err := customerkey.LoadSecret(filepath.Join(dir, "chain.secret"))
	if err != nil {
		t.Fatal(err)
	}
	zhang, li := customerkey.Hash(secret, "11010519491231002X").String(), customerkey.Hash(secret, "440524188001010014").String()
	v := completedVisit(t, "01FORGETHQ0000000000000001", time.Now())
	v.CustomerKey = zhang
	v.FollowUp.FollowUp.CustomerKey = zhang
	body, _ := json.Marshal(wire.RecordsRequest{StoreID: DemoStoreID, Records: []flows.Visit{v}})
	req, _ := http.NewRequest("POST", base+wire.PathRecords, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+DemoStoreToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("records: %v %v", resp, err)
	}
	history := func(key string) int {
		code, b := get(t, base+"/api/v1/customers/"+key+"/history", DemoStoreToken)
		var hr wire.HistoryResponse
		if code != 200 || json.Unmarshal(b, &hr) != nil {
			t.Fatalf("history %d %s", code, b)
		}
		return len(hr.Purchases)
	}
	if history(zhang) == 0 || history(li) == 0 {
		t.Fatal("demo histories missing")
	}
	if code, _, errs := runHQ(t, "forget", "--hq", base, "--token", DemoStoreToken, "--customer-key", zhang); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("forget with a store token: %d %s", code, errs)
	}
	code, o, errs := runHQIn(t, "11010519491231002x\n", "forget", "--hq", base, "--token", DemoAdminToken, "--id-number-file", "-", "--secret-file", filepath.Join(dir, "chain.secret"))
	if code != 0 || !strings.Contains(o, zhang) || !strings.Contains(o, `"visits":1`) {
		t.Fatalf("forget: %d %s %s", code, o, errs)
	}
	if strings.Contains(o+errs, "11010519491231002") {
		t.Fatal("forget printed the ID number")
	}
	if n := history(zhang); n != 0 {
		t.Fatalf("%d purchases left for the forgotten customer", n)
	}
	if history(li) == 0 {
		t.Fatal("another customer's history was deleted")
	}
	h.stop(t)
	// Stopped HQ: forgetting again is harmless and compacts the file.
	if code, o, errs := runHQ(t, "forget", "--data", dir, "--customer-key", zhang, "--compact"); code != 0 || !strings.Contains(o, `"purchases":0`) {
		t.Fatalf("forget --data --compact: %d %s %s", code, o, errs)
	}
	raw, err := os.ReadFile(filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	keyBin, _ := hex.DecodeString(zhang)
	if bytes.Contains(raw, []byte(zhang)) || bytes.Contains(raw, keyBin) {
		t.Fatal("the forgotten customer key is still in hq.db after compaction")
	}
	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Visit(context.Background(), v.StoreID, v.ID)
	if err != nil || got.CustomerKey != "" || got.Outcome != flows.OutcomeComplete {
		t.Fatalf("visit after forget: %+v %v (kept, without the key)", got, err)
	}
	for _, args := range [][]string{{"forget", "--data", dir}, {"forget", "--customer-key", zhang}, {"forget", "--hq", base, "--customer-key", zhang}} {
		if code, _, _ := runHQ(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
