package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

func TestForgetDeletesOneCustomerAndCompacts(t *testing.T) {
	day := time.Now().AddDate(0, 0, -20).Format("2006-01-02")
	csvText := "sale_id,id_number_or_customer_key,date,drug_code,quantity,days_supply\n" +
		"1,11010519491231002X," + day + ",6901234567892,1,30\n" +
		"2,11010519491231002X," + day + ",6901234567892,1,30\n" +
		"3,440524188001010014," + day + ",6901234567892,1,30\n"
	dir, csvPath, secretPath := importSetup(t, csvText)
	if _, errs, err := runImport(t, "--data", dir, "--secret-file", secretPath, "--store", "S001", "--local-only", csvPath); err != nil {
		t.Fatalf("import: %v %s", err, errs)
	}
	forgotten, kept := importKey("11010519491231002X"), importKey("440524188001010014")

	var out, errb bytes.Buffer
	err := runForget(withStdin(context.Background(), strings.NewReader("11010519491231002x\n")), []string{"--data", dir, "--id-number-file", "-", "--secret-file", secretPath, "--compact"}, &out, &errb)
	if err != nil {
		t.Fatalf("forget: %v %s", err, errb.String())
	}
	var res struct {
		CustomerKey string `json:"customer_key"`
		Purchases   int    `json:"purchases"`
		Compacted   bool   `json:"compacted"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.CustomerKey != forgotten || res.Purchases != 2 || !res.Compacted {
		t.Fatalf("forget output %q (%v)", out.String(), err)
	}
	if strings.Contains(out.String()+errb.String(), "11010519491231002") {
		t.Fatal("forget echoed the ID number")
	}
	raw, err := os.ReadFile(store.DefaultPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(forgotten)) {
		t.Fatal("the forgotten customer key is still in kiosk.db after --compact")
	}
	s, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	to := flows.DayOf(time.Now())
	if h, _ := s.History(ctx, forgotten, to-400, to); len(h) != 0 {
		t.Fatalf("forgotten customer still has %d purchases", len(h))
	}
	if h, _ := s.History(ctx, kept, to-400, to); len(h) != 1 {
		t.Fatalf("the other customer lost purchases: %d left", len(h))
	}
}

func TestForgetBadInput(t *testing.T) {
	dir, _, secretPath := importSetup(t, "")
	for _, args := range [][]string{
		{"--id-number", "11010519491231002X", "--secret-file", secretPath}, // no --data
		{"--data", dir}, // nobody named
		{"--data", dir, "--id-number", "11010519491231002X", "--secret-file", secretPath},   // on the command line
		{"--data", dir, "--id-number-file", "-"},                                            // no secret
		{"--data", dir, "--customer-key", "nothex"},                                         // bad key
		{"--data", dir, "--customer-key", strings.Repeat("a", 32), "--id-number-file", "-"}, // both
	} {
		var out, errb bytes.Buffer
		if err := runForget(context.Background(), args, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
	var out, errb bytes.Buffer
	err := runForget(withStdin(context.Background(), strings.NewReader("110105194912310021\n")), []string{"--data", dir, "--id-number-prompt", "--secret-file", secretPath}, &out, &errb)
	if err == nil || strings.Contains(err.Error(), "110105194912310021") {
		t.Fatalf("wrong check digit: %v (must fail without echoing the number)", err)
	}
}

func TestPurgeKeepsRecentRecords(t *testing.T) {
	old := time.Now().AddDate(-4, 0, 0).Format("2006-01-02")
	recent := time.Now().AddDate(0, 0, -10).Format("2006-01-02")
	csvText := "sale_id,id_number_or_customer_key,date,drug_code,quantity,days_supply\n" +
		"1,11010519491231002X," + old + ",6901234567892,1,30\n" +
		"2,11010519491231002X," + recent + ",6901234567892,1,30\n"
	dir, csvPath, secretPath := importSetup(t, csvText)
	if _, errs, err := runImport(t, "--data", dir, "--secret-file", secretPath, "--store", "S001", "--local-only", csvPath); err != nil {
		t.Fatalf("import: %v %s", err, errs)
	}
	var out, errb bytes.Buffer
	if err := runPurge(context.Background(), []string{"--data", dir}, &out, &errb); err != nil {
		t.Fatalf("purge: %v %s", err, errb.String())
	}
	var st store.PurgeStats
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.Purchases != 1 {
		t.Fatalf("purge output %q: want 1 purchase purged", out.String())
	}
	if err := runPurge(context.Background(), []string{"--data", dir, "--retention", "720h"}, &out, &errb); !errors.Is(err, errUsage) {
		t.Fatalf("a 30-day retention must be refused (the counter needs 270 days): %v", err)
	}
}
