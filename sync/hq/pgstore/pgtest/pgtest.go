// Package pgtest gives tests a real, throwaway PostgreSQL: one cluster per test binary
// (initdb into a temp dir, unix socket only, fsync off) started on first use, and one
// fresh database per test cloned from a template that is prepared (migrated) once.
//
// A package that uses it calls Main from its TestMain so the cluster is stopped when
// the binary ends; a watchdog process also stops it and removes its files when the test
// binary dies without cleaning up (killed, timed out).
//
// Environment:
//
//	HQ_TEST_PG_DSN   use this existing server (a superuser DSN) instead of a throwaway
//	                 cluster; each test still gets its own database, dropped at cleanup
//	HQ_REQUIRE_PG=1  fail (instead of skip) when PostgreSQL is not installed; .ci/run
//	                 sets it so the PostgreSQL tests never skip silently in CI
//	PG_BINDIR        where initdb/postgres are (default: pg_config --bindir, then
//	                 /usr/lib/postgresql/15/bin)
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names.
const (
	EnvDSN     = "HQ_TEST_PG_DSN"
	EnvRequire = "HQ_REQUIRE_PG"
	EnvBinDir  = "PG_BINDIR"
)

// Prepare readies the template database a test's database is cloned from (applies the
// schema migrations); dsn connects to the template.
type Prepare func(ctx context.Context, dsn string) error

// harness is the test binary's one server and template; created on first use.
type harness struct {
	once     sync.Once
	err      error // why no server is available (skip or fail)
	missing  bool  // err means PostgreSQL is not installed (skippable)
	cluster  *Cluster
	admin    string // superuser DSN to the maintenance database
	template string // template database name ("" until prepared)
	prepare  Prepare
	prefix   string // database name prefix, unique per test binary
	mu       sync.Mutex
	n        int      // databases created
	created  []string // to drop at the end (HQ_TEST_PG_DSN only)
}

// the test binary's harness; Main sets prepare before the tests run.
var h = &harness{}

// Main runs the package's tests (call it from TestMain) and stops the cluster, if one
// was started, when they end. prepare migrates the template database (nil: empty
// databases). It calls os.Exit.
func Main(m *testing.M, prepare Prepare) {
	h.prepare = prepare
	code := m.Run()
	h.shutdown()
	os.Exit(code)
}

// DB returns the DSN of a new database for t, a copy of the prepared template; it is
// dropped at t's cleanup. Without PostgreSQL the test is skipped, or fails when
// HQ_REQUIRE_PG=1.
func DB(t testing.TB) string {
	t.Helper()
	if err := h.init(); err != nil {
		unavailable(t, h.missing, err)
	}
	h.mu.Lock()
	h.n++
	name := fmt.Sprintf("%s_%d", h.prefix, h.n)
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, h.template)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	h.mu.Lock()
	h.created = append(h.created, name)
	h.mu.Unlock()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := h.exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(h.admin, name)
}

// Available reports whether tests can get a database here (without skipping).
func Available() bool { return h.init() == nil }

// unavailable skips t, or fails it when PostgreSQL is required or was found but broken.
func unavailable(t testing.TB, missing bool, err error) {
	t.Helper()
	if missing && os.Getenv(EnvRequire) != "1" {
		t.Skipf("pgtest: skipping, no PostgreSQL: %v (install the Debian package `postgresql` — `make test` does — or set %s)", err, EnvDSN)
	}
	t.Fatalf("pgtest: no PostgreSQL: %v", err)
}

func (h *harness) init() error {
	h.once.Do(func() {
		h.prefix = "hqt_" + randHex(4)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if dsn := os.Getenv(EnvDSN); dsn != "" {
			h.admin = dsn
		} else {
			c, err := StartCluster(ctx, Options{})
			if err != nil {
				h.err, h.missing = err, errors.Is(err, ErrNotInstalled)
				return
			}
			h.cluster, h.admin = c, c.DSN("postgres")
		}
		tmpl := h.prefix + "_template"
		if err := h.exec(ctx, "CREATE DATABASE "+tmpl); err != nil {
			h.err = fmt.Errorf("create template database: %w", err)
			return
		}
		h.created = append(h.created, tmpl)
		if h.prepare != nil {
			if err := h.prepare(ctx, withDatabase(h.admin, tmpl)); err != nil {
				h.err = fmt.Errorf("prepare template database: %w", err)
				return
			}
		}
		h.template = tmpl
	})
	return h.err
}

// exec runs one statement on the maintenance database. CREATE DATABASE … TEMPLATE
// refuses while another session is connected to the template, so each statement uses
// its own short connection and never touches the template itself.
func (h *harness) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, h.admin)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func (h *harness) shutdown() {
	if h.cluster != nil {
		h.cluster.Stop()
		return
	}
	if h.admin == "" || h.err != nil && h.template == "" && len(h.created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := len(h.created) - 1; i >= 0; i-- {
		_ = h.exec(ctx, "DROP DATABASE IF EXISTS "+h.created[i]+" WITH (FORCE)")
	}
}

// withDatabase returns dsn (URL or key=value form) pointing at database name.
func withDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
