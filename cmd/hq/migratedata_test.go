package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/storetest"
	"path/filepath"
)

// An embedded HQ moved into PostgreSQL reads the same — report, points, follow-ups
// with their state, audit, sessions, content — and a second run changes nothing.
func TestMigrateData(t *testing.T) {
	dir := t.TempDir()
	st, err := openStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Populate(t, st)
	st.Close()
	url := pgtest.DB(t)
	for run := 1; run <= 2; run++ {
		code, out, errs := runHQ(t, "migrate-data", "--from", dir, "--db", url)
		if code != 0 || !strings.Contains(out, "counts verified") || strings.Contains(out, "MISSING") {
			t.Fatalf("run %d: exit %d\n%s%s", run, code, out, errs)
		}
		for _, want := range []string{"visits", "followups", "audit", "rollups", "points_totals", "content_versions"} {
			if !strings.Contains(out, want) {
				t.Errorf("run %d: no %s count in\n%s", run, want, out)
			}
		}
		if run == 2 && strings.Contains(out, "held more") {
			t.Errorf("the rerun added items:\n%s", out)
		}
	}
	src, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	storetest.SameReads(t, src, openDB(t, url))
}

func TestMigrateDataRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"migrate-data", "--from", dir}, 2, "--from DIR --db URL"},
		{[]string{"migrate-data", "--from", dir, "--db", "/tmp/x"}, 2, "postgres://"},
		{[]string{"migrate-data", "--from", dir, "--db", "postgres://u@127.0.0.1:1/x"}, 1, "no HQ database"},
	} {
		code, _, errs := runHQ(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d %q, want %d with %q", c.args, code, errs, c.code, c.msg)
		}
	}
}
