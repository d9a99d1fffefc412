package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/server"
)

func openDB(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Every verb that takes --data DIR works with --db URL (or $HQ_DB) on PostgreSQL.
func TestVerbsWithDB(t *testing.T) {
	url := pgtest.DB(t)
	ctx := context.Background()
	st := openDB(t, url)
	dir := t.TempDir()

	// token create
	code, out, errs := runHQ(t, "token", "create", "--db", url, "--store", "S001")
	if code != 0 {
		t.Fatalf("token create: exit %d %s", code, errs)
	}
	if p, err := st.LookupToken(ctx, hq.HashToken(strings.TrimSpace(out))); err != nil || p.StoreID != "S001" {
		t.Fatalf("token in the database: %+v %v", p, err)
	}
	// pharmacist add, through $HQ_DB
	t.Setenv(server.EnvDB, url)
	if code, _, errs := runHQIn(t, "1234\n", "pharmacist", "add", "--store", "S001", "--id", "P01", "--name", "王芳", "--pin-file", "-"); code != 0 {
		t.Fatalf("pharmacist add: exit %d %s", code, errs)
	}
	if r, err := st.Roster(ctx, "S001"); err != nil || len(r) != 1 || r[0].Name != "王芳" || r[0].PINHash == "" {
		t.Fatalf("roster in the database: %+v %v", r, err)
	}
	// --data given: $HQ_DB is not used
	if code, _, errs := runHQ(t, "token", "create", "--data", dir, "--admin"); code != 0 {
		t.Fatalf("token create --data with $HQ_DB set: exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
		t.Fatalf("--data ignored: %v", err)
	}
	t.Setenv(server.EnvDB, "")

	// import-purchases
	secretFile := filepath.Join(dir, "chain.secret")
	if err := os.WriteFile(secretFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	csvFile := filepath.Join(dir, "pos.csv")
	csv := "sale_id,store_id,id_number,date,drug_code,quantity,days_supply\n" +
		"A1,S001,11010519491231002X,2026-04-02,6930120010006,1,30\n" +
		"A2,S001,11010519491231002X,2026-05-20,6930120010006,1,\n"
	if err := os.WriteFile(csvFile, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runHQ(t, "import-purchases", "--db", url, "--secret-file", secretFile, csvFile)
	if code != 0 || !strings.Contains(out, "2 added") {
		t.Fatalf("import-purchases: exit %d\n%s%s", code, out, errs)
	}
	secret, err := customerkey.LoadSecret(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	key := customerkey.Hash(secret, "11010519491231002X").String()
	if ps, err := st.History(ctx, key, flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 12, 31)); err != nil || len(ps) != 2 {
		t.Fatalf("history in the database: %d %v", len(ps), err)
	}

	// forget
	code, out, errs = runHQ(t, "forget", "--db", url, "--customer-key", key)
	if code != 0 || !strings.Contains(out, `"purchases":2`) {
		t.Fatalf("forget: exit %d\n%s%s", code, out, errs)
	}
	if ps, _ := st.History(ctx, key, flows.DayFromDate(2026, 1, 1), flows.DayFromDate(2026, 12, 31)); len(ps) != 0 {
		t.Fatalf("forgotten customer still has %d purchases", len(ps))
	}
	// purge
	code, out, errs = runHQ(t, "purge", "--db", url)
	var ps hq.PurgeStats
	if code != 0 || json.Unmarshal([]byte(out), &ps) != nil || ps.Cutoff == 0 {
		t.Fatalf("purge: exit %d\n%s%s", code, out, errs)
	}
	// backup explains pg_dump / PITR and fails (nothing was copied)
	code, out, errs = runHQ(t, "backup", "--db", "postgres://hq:s3cret@db.example/hq")
	if code != 1 || !strings.Contains(out, "pg_dump") || !strings.Contains(out, "point-in-time") || strings.Contains(out+errs, "s3cret") {
		t.Fatalf("backup --db: exit %d\n%s%s", code, out, errs)
	}
	// one storage only
	if code, _, errs := runHQ(t, "purge", "--db", url, "--data", dir); code != 2 || !strings.Contains(errs, "not both") {
		t.Fatalf("--db with --data: exit %d %s", code, errs)
	}
	if code, _, errs := runHQ(t, "forget", "--db", url, "--hq", "http://127.0.0.1:1", "--token", "x", "--customer-key", key); code != 2 || !strings.Contains(errs, "exactly one") {
		t.Fatalf("--db with --hq: exit %d %s", code, errs)
	}
}

// hq serve --db: the demo's chain secret and the link-signing secret live in the
// database, so a second process on the same database uses the same ones.
func TestServeWithDBSharesSecrets(t *testing.T) {
	url := pgtest.DB(t)
	dir := t.TempDir()
	a := startServe(t, serveConfig{db: url, demo: true, secretFile: filepath.Join(dir, "a.secret")})
	b := startServe(t, serveConfig{db: url, demo: true, secretFile: filepath.Join(dir, "b.secret")})
	sa, err := os.ReadFile(filepath.Join(dir, "a.secret"))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.ReadFile(filepath.Join(dir, "b.secret"))
	if err != nil || string(sa) != string(sb) {
		t.Fatalf("replicas wrote different chain secrets: %q %q %v", sa, sb, err)
	}
	for _, s := range []*servedHQ{a, b} {
		resp, err := http.Get(s.base + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", resp, err)
		}
		resp.Body.Close()
		if !strings.Contains(s.out.String(), "data PostgreSQL") {
			t.Errorf("start line: %s", s.out.String())
		}
	}
	st := openDB(t, url)
	link, err := st.LoadOrCreateSecret(context.Background(), server.LinkSecretName, 32)
	if err != nil || len(link) != 32 {
		t.Fatalf("link secret: %d bytes, %v", len(link), err)
	}
	a.stop(t)
	b.stop(t)
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err == nil {
		t.Fatal("hq serve --db wrote an hq.db")
	}
}

// startServe runs `hq serve` with c on a free loopback port until the test ends.
func startServe(t *testing.T, c serveConfig) *servedHQ {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedHQ{out: &syncBuffer{}, errb: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	addr := make(chan string, 1)
	c.addr, c.grace, c.ready = "127.0.0.1:0", 5*time.Second, func(a string) { addr <- a }
	if c.dispatchInterval == 0 {
		c.dispatchInterval = time.Second
	}
	go func() { s.done <- serve(ctx, c, s.out, s.errb) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-s.done:
		t.Fatalf("serve: %v\n%s", err, s.errb.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	return s
}
