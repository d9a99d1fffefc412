package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/server"
)

// emptyDB is a database of the test cluster without HQ's schema.
func emptyDB(t *testing.T) string {
	t.Helper()
	url := pgtest.DB(t)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	return url
}

func TestMigrate(t *testing.T) {
	url := emptyDB(t)
	code, out, errs := runHQ(t, "migrate", "--db", url)
	if code != 0 || !strings.Contains(out, "applied 0001_schema") || !strings.Contains(out, fmt.Sprintf("schema at version %d (was 0)", pgstore.SchemaVersion())) {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	// Again: nothing to do. From $HQ_DB too.
	t.Setenv(server.EnvDB, url)
	code, out, errs = runHQ(t, "migrate")
	if code != 0 || !strings.Contains(out, "up to date") || strings.Contains(out, "applied") {
		t.Fatalf("second run: exit %d\n%s%s", code, out, errs)
	}
	var v int
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), `SELECT max(version) FROM hq_schema_version`).Scan(&v); err != nil || v != pgstore.SchemaVersion() {
		t.Fatalf("schema version %d, %v; want %d", v, err, pgstore.SchemaVersion())
	}
}

func TestMigrateRefuses(t *testing.T) {
	t.Setenv(server.EnvDB, "")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"migrate"}, 2, "--db URL is required"},
		{[]string{"migrate", "--db", "/var/lib/hq"}, 2, "postgres://"},
		{[]string{"migrate", "--db", "postgres://nobody:secret@127.0.0.1:1/hq?connect_timeout=2"}, 1, "database unavailable"},
	} {
		code, _, errs := runHQ(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, %q; want %d with %q", c.args, code, errs, c.code, c.msg)
		}
		if strings.Contains(errs, "secret") {
			t.Errorf("%v: the password reached the message: %s", c.args, errs)
		}
	}
}

// Many replicas starting at once migrate the schema once, under the advisory lock.
func TestMigrateConcurrentStarts(t *testing.T) {
	url := emptyDB(t)
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			st, err := pgstore.Open(context.Background(), url, pgstore.Options{})
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM hq_schema_version`).Scan(&n); err != nil || n != pgstore.SchemaVersion() {
		t.Fatalf("%d schema steps recorded (%v), want %d", n, err, pgstore.SchemaVersion())
	}
}
