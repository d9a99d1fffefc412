package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/posimport"
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
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
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
	if code != 1 || !strings.Contains(out, "--secret-file") || !strings.Contains(out, "0 added") {
		t.Fatalf("%d %s %s", code, out, errs)
	}
	if code, _, errs := runHQ(t, "import-purchases", "--data", dir, csvFile); code != 1 || !strings.Contains(errs, "store_id") {
		t.Fatalf("missing store: %d %s", code, errs)
	}
	if code, _, _ := runHQ(t, "import-purchases", "--data", dir); code != 2 {
		t.Fatalf("no file: exit %d", code)
	}
}

// posIDNumber is the i-th of a family of valid ID numbers (GB 11643 check character).
func posIDNumber(i int) string {
	body := fmt.Sprintf("11010519%02d0101%03d", 50+i/1000%40, i%1000)
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k := 0; k < 17; k++ {
		sum += int(body[k]-'0') * w[k]
	}
	return body + string("10X98765432"[sum%11])
}

// writeGBKExport writes a Chinese POS export in GBK: n lines, two per sale, customers
// with raw ID numbers.
func writeGBKExport(t *testing.T, path string, n int, prefix string) []string {
	t.Helper()
	var b strings.Builder
	b.WriteString("销售明细\r\n门店编码,销售单号,销售日期,身份证号,商品编码,数量,实收金额,处方类别\r\n")
	var ids []string
	for i := 0; i < n; i++ {
		id := posIDNumber(i / 2 % 20)
		if i < 40 {
			ids = append(ids, id)
		}
		code := []string{"6930120010006", "X-UNKNOWN"}[i%2]
		fmt.Fprintf(&b, "S001,%s%d,2026/5/%d 10:00,%s,%s,1,12.50,处方药\r\n", prefix, i/2, 1+i%28, id, code)
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(gbk), 0o600); err != nil {
		t.Fatal(err)
	}
	return ids
}

const demoAdmin = "hqa_demo_admin_not_secret"

func TestImportPurchasesIntoRunningHQInterruptedAndRerun(t *testing.T) {
	dir := t.TempDir()
	hqs := startDemoServe(t, dir, time.Hour)
	secret := filepath.Join(dir, "chain.secret")
	path := filepath.Join(t.TempDir(), "销售.csv")
	ids := writeGBKExport(t, path, 12000, "N")

	// A dry run first: the report, nothing sent.
	code, out, errs := runHQ(t, "import-purchases", "--hq", hqs.base, "--token", demoAdmin, "--secret-file", secret, "--dry-run", path)
	if code != 0 || !strings.Contains(out, "销售.csv: 12000 rows read, 12000 valid (dry run: nothing stored), 0 rejected, 6000 of unknown drugs") ||
		!strings.Contains(out, "format: CSV, GB18030") {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errs)
	}

	// HQ is reachable for the first batch only (a proxy in front of it passes the batch
	// holding the file's first line and answers 502 to the others; two batches are in
	// flight, in either order): the import stops, saying how to resume.
	var posts atomic.Int32
	target, _ := url.Parse(hqs.base)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		posts.Add(1)
		if !bytes.Contains(body, []byte(`"id":"S001:N0:6930120010006"`)) {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var o1, e1 syncBuffer
	err := runImportPurchases(ctx, []string{"--hq", proxy.URL, "--token", demoAdmin, "--secret-file", secret, "--retries", "1", path}, &o1, &e1)
	if !errors.Is(err, posimport.ErrUnavailable) || !strings.Contains(err.Error(), "run the same command again to resume") ||
		!strings.Contains(o1.String(), "5000 added") || !strings.Contains(o1.String(), "STOPPED: ") {
		t.Fatalf("interrupted: %v\n%s\n%s", err, o1.String(), e1.String())
	}
	// Rerun against HQ: the first batch is skipped (checkpoint), the rest added.
	code, out, errs = runHQ(t, "import-purchases", "--hq", hqs.base, "--token", demoAdmin, "--secret-file", secret, path)
	if code != 0 || !strings.Contains(out, "12000 rows read, 7000 added, 0 duplicates, 5000 already imported by an interrupted run (resumed), 0 rejected, 3500 of unknown drugs") {
		t.Fatalf("rerun: %d\n%s\n%s", code, out, errs)
	}
	// Once more: everything is a duplicate.
	code, out, _ = runHQ(t, "import-purchases", "--hq", hqs.base, "--token", demoAdmin, "--secret-file", secret, "--no-resume", path)
	if code != 0 || !strings.Contains(out, "0 added, 12000 duplicates") {
		t.Fatalf("third run: %d\n%s", code, out)
	}
	if strings.Contains(out+errs+o1.String()+e1.String(), ids[0][:17]) {
		t.Fatal("a raw ID number was printed")
	}
	hqs.stop(t)

	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := customerkey.LoadSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	seen := map[string]bool{}
	for i := range 20 {
		ps, err := st.History(context.Background(), customerkey.Hash(sec, posIDNumber(i)).String(), flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 12, 31))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if strings.HasPrefix(p.ID, "S001:N") {
				if seen[p.ID] {
					t.Fatalf("%s twice", p.ID)
				}
				seen[p.ID] = true
				total++
				if p.AmountFen == nil || *p.AmountFen != 1250 || p.Kind != flows.KindRx {
					t.Fatalf("purchase %+v", p)
				}
			}
		}
	}
	st.Close()
	if total != 12000 {
		t.Fatalf("HQ holds %d of the file's 12000 purchases", total)
	}
	db, err := os.ReadFile(filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if bytes.Contains(db, []byte(id[:17])) {
			t.Fatal("a raw ID number reached HQ's database")
		}
	}
}

func TestImportPurchasesWatch(t *testing.T) {
	dir := t.TempDir()
	hqs := startDemoServe(t, dir, time.Hour)
	secret := filepath.Join(dir, "chain.secret")
	inbox := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	tokenFile := filepath.Join(t.TempDir(), "import.token")
	if err := os.WriteFile(tokenFile, []byte(demoAdmin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		done <- runImportPurchases(ctx, []string{"--watch", inbox, "--hq", hqs.base, "--token-file", tokenFile, "--secret-file", secret,
			"--interval", "50ms", "--settle", "100ms", "--metrics-addr", metricsAddr}, &out, &errb)
	}()
	writeGBKExport(t, filepath.Join(inbox, "20260601.csv"), 300, "W")
	if err := os.WriteFile(filepath.Join(inbox, "bad.csv"), []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFile := func(p string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, err := os.Stat(p); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not appear\n%s", p, errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFile(filepath.Join(inbox, "done", "20260601.csv"))
	waitFile(filepath.Join(inbox, "failed", "bad.csv"))
	rep, _ := os.ReadFile(filepath.Join(inbox, "done", "20260601.csv.report.txt"))
	if !strings.Contains(string(rep), "300 rows read, 300 added") {
		t.Fatalf("report: %s", rep)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`hq_posimport_files_total{result="done"} 1`, `hq_posimport_files_total{result="failed"} 1`,
		`hq_posimport_rows_total{outcome="added"} 300`, "hq_posimport_last_success_timestamp_seconds 1."} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watcher did not stop")
	}
	// Usage mistakes.
	for _, args := range [][]string{
		{"--watch", inbox, "--data", dir},
		{"--watch", inbox, "--hq", hqs.base, "--token", demoAdmin, "x.csv"},
		{"--watch", inbox, "--hq", hqs.base, "--token", demoAdmin, "--dry-run"},
		{"--hq", hqs.base, "x.csv"},
		{"--hq", hqs.base, "--token", demoAdmin, "--token-file", tokenFile, "x.csv"},
		{"--hq", hqs.base, "--token", demoAdmin, "--encoding", "latin1", "x.csv"},
	} {
		if code, _, errs := runHQ(t, append([]string{"import-purchases"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d %s", args, code, errs)
		}
	}
}
