package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

const importSecret = "test-chain-secret-0123456789"

// importKey is the reference customer key, computed here independently of devices.
func importKey(id string) string {
	m := hmac.New(sha256.New, []byte(importSecret))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

func importSetup(t *testing.T, csvText string) (dir, csvPath, secretPath string) {
	t.Helper()
	dir = t.TempDir()
	csvPath = filepath.Join(dir, "pos.csv")
	secretPath = filepath.Join(dir, "chain.secret")
	if err := os.WriteFile(csvPath, []byte(csvText), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretPath, []byte(importSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, csvPath, secretPath
}

func runImport(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runImportPurchases(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestImportPurchasesHashesRawIDsAndNeverStoresThem(t *testing.T) {
	rawIDs := []string{"11010519491231002X", "440524188001010014", "34052419800101001x", "513101198201130014"}
	key := strings.Repeat("ab", 16)
	csvText := "\ufeffsale_id,id_number_or_customer_key,date,drug_code,quantity,days_supply\r\n" +
		"1001," + rawIDs[0] + ",2026-06-01,6901234567892,2,\r\n" +
		"1001," + rawIDs[0] + ",2026-06-01,6901234567892,1,30\r\n" + // same drug twice in one sale
		"1002," + rawIDs[1] + ",2026-06-02T10:30:00+08:00,POS-METF,1,30\r\n" +
		"1003," + rawIDs[2] + ",2026-06-03,POS-METF,1,28\r\n" +
		"1004," + key + ",2026-06-04,POS-METF,3,\r\n" +
		"1005," + strings.ToUpper(key) + ",2026-06-04,POS-METF,3,\r\n" +
		"1006," + rawIDs[3] + ",2026-06-05,POS-METF,1,90\r\n"
	dir, csvPath, secretPath := importSetup(t, csvText)
	out, errOut, err := runImport(t, "--data", dir, "--secret-file", secretPath, "--store", "S001", csvPath)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "7 rows read, 7 added, 0 duplicates, 0 rejected") {
		t.Fatalf("summary = %q", out)
	}
	// Re-import: all duplicates.
	out, _, err = runImport(t, "--data", dir, "--secret-file", secretPath, "--store", "S001", csvPath)
	if err != nil || !strings.Contains(out, "0 added, 7 duplicates") {
		t.Fatalf("re-import = %q, %v", out, err)
	}

	s, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := s.History(ctx, importKey("11010519491231002X"), 0, flows.DayFromDate(2026, 12, 31))
	if err != nil || len(h) != 2 {
		t.Fatalf("history of the first ID = %v, %v", h, err)
	}
	if h[0].ID == h[1].ID || h[0].StoreID != "S001" || h[0].SoldAt.In(flows.Shanghai()).Day() != 1 {
		t.Fatalf("purchases = %+v", h)
	}
	// The lower-case x was normalised before hashing.
	if h, _ := s.History(ctx, importKey("34052419800101001X"), 0, flows.DayFromDate(2026, 12, 31)); len(h) != 1 || h[0].DaysSupply != 28 {
		t.Fatalf("normalised-x history = %+v", h)
	}
	if h, _ := s.History(ctx, key, 0, flows.DayFromDate(2026, 12, 31)); len(h) != 2 {
		t.Fatalf("customer-key rows = %+v", h)
	}
	st, _ := s.Stats(ctx)
	if st.Pending != 7 {
		t.Fatalf("queued for HQ = %d, want 7", st.Pending)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := os.ReadFile(store.DefaultPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range rawIDs {
		for _, form := range []string{id, strings.ToUpper(id), id[:17]} {
			if bytes.Contains(db, []byte(form)) {
				t.Fatalf("raw ID %s… found in the store file", form[:4])
			}
		}
		if strings.Contains(out+errOut, id[:17]) {
			t.Fatal("raw ID printed")
		}
	}
	if !bytes.Contains(db, []byte(importKey("11010519491231002X"))) {
		t.Fatal("the scan found no customer key either: the file check is not looking at the data")
	}
}

func TestImportPurchasesReportsBadRowsAndKeepsTheRest(t *testing.T) {
	key := strings.Repeat("0f", 16)
	csvText := "drug_code,quantity,date,sale_id,customer_key\n" + // any column order
		"X1,1,2026-06-01,2001," + key + "\n" + // line 2 good
		"X1,1,2026-06-01,2002,110105194912310021\n" + // line 3 bad check character
		"X1,0,2026-06-01,2003," + key + "\n" + // line 4 quantity
		"X1,1,2026-13-01,2004," + key + "\n" + // line 5 date
		",1,2026-06-01,2005," + key + "\n" + // line 6 drug code
		"X1,1,2026-06-01,2006,\n" + // line 7 customer
		"X1,1,2999-06-01,2007," + key + "\n" + // line 8 future
		"X1,1,2026-06-01,\"20\"08," + key + "\n" + // line 9 bad quoting
		"\n" +
		"X2,2,2026-06-02,2009," + key + "\n" // line 11 good
	dir, csvPath, _ := importSetup(t, csvText)
	out, errOut, err := runImport(t, "--data", dir, "--store", "S009", csvPath)
	if !errors.Is(err, errRowsRejected) {
		t.Fatalf("err = %v, want errRowsRejected", err)
	}
	if !strings.Contains(out, "9 rows read, 2 added, 0 duplicates, 7 rejected") {
		t.Fatalf("summary = %q\n%s", out, errOut)
	}
	for _, want := range []string{"line 3: customer_key (id_number_or_customer_key): not a customer key", "line 4: quantity: \"0\"", "line 5: date: \"2026-13-01\"",
		"line 6: drug_code: empty", "line 7: customer_key (id_number_or_customer_key): empty", "line 8: date: 2999-06-01 is in the future", "line 9: not valid CSV",
		"rejected rows by column:\n  customer_key (id_number_or_customer_key): 2\n  date: 2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "11010519491231002") {
		t.Error("a rejected raw ID was echoed")
	}
	s, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, _ := s.History(context.Background(), key, 0, flows.DayFromDate(2026, 12, 31))
	if len(h) != 2 || h[1].ID != "S009:2009:X2" || h[1].Quantity != 2 {
		t.Fatalf("imported = %+v", h)
	}
}

func TestImportPurchasesNeedsSecretForRawIDs(t *testing.T) {
	dir, csvPath, _ := importSetup(t, "sale_id,id_number_or_customer_key,date,drug_code,quantity\n1,11010519491231002X,2026-06-01,X,1\n")
	_, _, err := runImport(t, "--data", dir, "--store", "S001", csvPath)
	if err == nil || !strings.Contains(err.Error(), "--secret-file") {
		t.Fatalf("err = %v, want a hint about --secret-file", err)
	}
	// A too-short secret is refused by devices.LoadSecret.
	short := filepath.Join(dir, "short.secret")
	_ = os.WriteFile(short, []byte("abc"), 0o600)
	if _, _, err := runImport(t, "--data", dir, "--store", "S001", "--secret-file", short, csvPath); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestImportPurchasesUsageAndDefaults(t *testing.T) {
	dir, csvPath, secretPath := importSetup(t, "sale_id,id_number,date,drug_code,quantity\n1,11010519491231002X,2026-06-01,X,1\n")
	for name, args := range map[string][]string{
		"no data":    {csvPath},
		"no file":    {"--data", dir},
		"two files":  {"--data", dir, csvPath, csvPath},
		"bad flag":   {"--data", dir, "--nope", csvPath},
		"no storeID": {"--data", dir, csvPath},
	} {
		if _, _, err := runImport(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("%s: err = %v, want errUsage", name, err)
		}
	}
	// Store id and secret file from the kiosk settings.
	s, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveConfig(map[string]string{"store_id": "S777", "secret_file": secretPath}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	out, errOut, err := runImport(t, "--data", dir, "--local-only", csvPath)
	if err != nil || !strings.Contains(out, "1 added") {
		t.Fatalf("import with settings defaults = %q %q %v", out, errOut, err)
	}
	s, _ = store.Open(store.DefaultPath(dir), store.Options{})
	defer s.Close()
	h, _ := s.History(context.Background(), importKey("11010519491231002X"), 0, flows.DayFromDate(2026, 12, 31))
	if len(h) != 1 || h[0].StoreID != "S777" {
		t.Fatalf("history = %+v", h)
	}
	if st, _ := s.Stats(context.Background()); st.Pending != 0 {
		t.Fatalf("--local-only queued %d entries", st.Pending)
	}
	// Header problems are clear errors.
	bad := filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(bad, []byte("sale,who,when\n1,2,3\n"), 0o600)
	_ = s.Close()
	if _, _, err := runImport(t, "--data", dir, bad); err == nil || !strings.Contains(err.Error(), "header row lacks sale_id") {
		t.Fatalf("bad header: %v", err)
	}
}

func TestImportPurchasesChineseGBKMappingDryRun(t *testing.T) {
	rawIDs := []string{"11010519491231002X", "440524188001010014"}
	text := "销售明细报表\r\n" +
		"门店编码,单据流水,销售日期,身份证号,医保卡号,商品编码,数量,实收金额,处方类别,商品名称\r\n" +
		"S001,X1001,2026/6/1 10:30,," + rawIDs[0] + ",6901234567892,2,\"1,234.50\",处方药,氨氯地平片\r\n" +
		"S001,X1002,2026/6/2,," + rawIDs[1] + ",6901234567892,1,12.5,非处方药,维生素C\r\n" +
		"S001,X1003,2026/6/3,," + rawIDs[1] + ",6901234567892," + rawIDs[0] + ",1,,\r\n" + // ID in the quantity column
		"合计,,,,,,3,1247.00,,\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	dir, csvPath, secretPath := importSetup(t, gbk)
	mapping := filepath.Join(dir, "columns.json")
	if err := os.WriteFile(mapping, []byte(`{"sale_id": "单据流水"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--data", dir, "--secret-file", secretPath, "--store", "S001", "--columns", mapping}
	// Without the mapping: one error naming what is missing and what the file has.
	_, _, err = runImport(t, "--data", dir, "--secret-file", secretPath, "--store", "S001", csvPath)
	if err == nil || !strings.Contains(err.Error(), "header row lacks sale_id") || !strings.Contains(err.Error(), `"单据流水"`) {
		t.Fatalf("unmapped: %v", err)
	}
	// A dry run: the report, nothing stored.
	out, errOut, err := runImport(t, append(args, "--dry-run", csvPath)...)
	if !errors.Is(err, errRowsRejected) {
		t.Fatalf("dry run: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{
		"pos.csv: 3 rows read, 2 valid (dry run: nothing stored), 1 rejected, 2 of unknown drugs, 1 total rows skipped",
		"format: CSV, GB18030",
		"sale_id ← 单据流水",
		`line 5: 数量 (quantity): "1101**********002X" is not a number > 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run report lacks %q:\n%s", want, out)
		}
	}
	s, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := s.History(context.Background(), importKey(rawIDs[0]), 0, flows.DayFromDate(2026, 12, 31)); len(h) != 0 {
		t.Fatalf("dry run stored %+v", h)
	}
	s.Close()
	// The real import.
	out, errOut, err = runImport(t, append(args, csvPath)...)
	if !errors.Is(err, errRowsRejected) || !strings.Contains(out, "3 rows read, 2 added, 0 duplicates, 1 rejected") {
		t.Fatalf("import: %v\n%s%s", err, out, errOut)
	}
	s, err = store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := s.History(context.Background(), importKey(rawIDs[0]), 0, flows.DayFromDate(2026, 12, 31))
	if err != nil || len(h) != 1 {
		t.Fatalf("history %+v %v", h, err)
	}
	if p := h[0]; p.ID != "S001:X1001:6901234567892" || p.Quantity != 2 || !p.SoldAt.Equal(time.Date(2026, 6, 1, 10, 30, 0, 0, flows.Shanghai())) {
		t.Fatalf("purchase %+v", p)
	}
	// What goes to HQ carries the amount in fen and the kind (the kiosk's own compact
	// purchase records keep neither: HQ's effect report uses them).
	entries, err := s.Peek(context.Background(), 10, 1<<20)
	if err != nil || len(entries) != 2 {
		t.Fatalf("outbox %v %v", entries, err)
	}
	var queued flows.Purchase
	if err := json.Unmarshal(entries[0].Body, &queued); err != nil {
		t.Fatal(err)
	}
	if queued.ID != "S001:X1001:6901234567892" || queued.AmountFen == nil || *queued.AmountFen != 123450 || queued.Kind != flows.KindRx {
		t.Fatalf("queued %+v", queued)
	}
	for _, id := range rawIDs {
		if strings.Contains(out+errOut, id[:17]) {
			t.Fatal("raw ID printed")
		}
	}
}

func TestImportPurchasesXLSXAndFlags(t *testing.T) {
	dir, _, secretPath := importSetup(t, "")
	xlsx := filepath.Join(dir, "pos.xlsx")
	f := excelize.NewFile()
	if _, err := f.NewSheet("销售"); err != nil {
		t.Fatal(err)
	}
	for i, row := range [][]any{
		{"销售单号", "身份证号", "销售日期", "商品编码", "数量", "金额"},
		{"A1", "11010519491231002X", 46174, "6901234567892", 1, 12.300000000000001},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("销售", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(xlsx); err != nil {
		t.Fatal(err)
	}
	f.Close()
	args := []string{"--data", dir, "--secret-file", secretPath, "--store", "S001"}
	// The first sheet (Sheet1) is empty.
	if _, _, err := runImport(t, append(args, xlsx)...); err == nil || !strings.Contains(err.Error(), "empty file") {
		t.Fatalf("first sheet: %v", err)
	}
	out, errOut, err := runImport(t, append(args, "--sheet", "销售", xlsx)...)
	if err != nil || !strings.Contains(out, "pos.xlsx: 1 rows read, 1 added") || !strings.Contains(out, "format: xlsx, sheet 销售") {
		t.Fatalf("xlsx: %v\n%s%s", err, out, errOut)
	}
	for name, extra := range map[string][]string{
		"bad encoding": {"--encoding", "latin1"},
	} {
		if _, _, err := runImport(t, append(append(args, extra...), xlsx)...); !errors.Is(err, errUsage) {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"colour": "x"}`), 0o600)
	if _, _, err := runImport(t, append(args, "--columns", bad, xlsx)...); err == nil || !strings.Contains(err.Error(), `unknown column "colour"`) {
		t.Errorf("bad mapping: %v", err)
	}
	if _, _, err := runImport(t, append(args, "--columns", filepath.Join(dir, "none.json"), xlsx)...); err == nil {
		t.Error("missing mapping file accepted")
	}
}
