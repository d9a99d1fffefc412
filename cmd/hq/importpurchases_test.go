package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

func TestImportPurchases(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "chain.secret")
	if err := os.WriteFile(secretFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	csvFile := filepath.Join(dir, "pos.csv")
	csv := "\ufeffsale_id,store_id,id_number,date,drug_code,quantity,days_supply\n" +
		"A1,S001,11010519491231002x,2026-04-02,6930120010006,1,30\n" +
		"A2,S002,11010519491231002X,2026-05-20T10:00:00+08:00,6930120010006,1,\n" +
		"A2,S002,11010519491231002X,2026-05-20T10:00:00+08:00,6930120010006,1,\n" +
		"A3,S001,110105194912310021,2026-05-20,6930120010006,1,\n" + // bad check character
		"A4,S001,440524188001010014,2026-02-30,6930120010006,1,\n" + // bad date
		"A5,S001,440524188001010014,2026-05-01,X-UNKNOWN,2,\n" +
		"A6,S001,440524188001010014,2026-05-01,6930120010006,0,\n"
	if err := os.WriteFile(csvFile, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runHQ(t, "import-purchases", "--data", dir, "--secret-file", secretFile, csvFile)
	if code != 1 || !strings.Contains(out, "7 rows read, 4 added, 0 duplicates, 3 rejected, 1 of unknown drugs") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"line 5:", "line 6:", "line 8:"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs+out, "1101051949") || strings.Contains(errs+out, "4405241880") {
		t.Fatalf("raw ID number printed:\n%s%s", out, errs)
	}
	// Re-running adds nothing.
	code, out, _ = runHQ(t, "import-purchases", "--data", dir, "--secret-file", secretFile, csvFile)
	if code != 1 || !strings.Contains(out, "0 added, 4 duplicates") {
		t.Fatalf("rerun: %d %s", code, out)
	}
	secret, err := customerkey.LoadSecret(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	key := customerkey.Hash(secret, "11010519491231002X").String()
	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := st.History(context.Background(), key, flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 12, 31))
	st.Close()
	if err != nil || len(ps) != 3 {
		t.Fatalf("history %+v %v", ps, err)
	}
	if ps[0].ID != "S001:A1:6930120010006" || ps[0].DaysSupply != 30 || ps[1].DaysSupply != 28 || ps[1].Ingredient != "amlodipine" || ps[2].ID != "S002:A2:6930120010006:2" {
		t.Fatalf("purchases %+v", ps)
	}
	db, err := os.ReadFile(filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(db), "11010519491231002") || strings.Contains(string(db), "440524188001010014") {
		t.Fatal("raw ID number reached the HQ database")
	}
}

func TestImportPurchasesNeedsSecretForRawIDs(t *testing.T) {
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "pos.csv")
	os.WriteFile(csvFile, []byte("sale_id,id_number,date,drug_code,quantity\nA1,11010519491231002X,2026-04-02,6930120010006,1\n"), 0o600)
	code, out, errs := runHQ(t, "import-purchases", "--data", dir, "--store", "S001", csvFile)
	if code != 1 || !strings.Contains(errs, "--secret-file") || !strings.Contains(out, "0 added") {
		t.Fatalf("%d %s %s", code, out, errs)
	}
	if code, _, errs := runHQ(t, "import-purchases", "--data", dir, csvFile); code != 1 || !strings.Contains(errs, "store_id") {
		t.Fatalf("missing store: %d %s", code, errs)
	}
	if code, _, _ := runHQ(t, "import-purchases", "--data", dir); code != 2 {
		t.Fatalf("no file: exit %d", code)
	}
}
