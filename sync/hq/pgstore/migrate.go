package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema step: migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrationLock is the pg_advisory_lock key the migrations run under, so that HQ
// processes starting together apply each step once ("hqmigr" in ASCII).
const migrationLock int64 = 0x6871_6d69_6772

func migrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range ents {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migrations: version %d missing", i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this build expects (its newest migration).
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	From, To int      // schema version before and after
	Applied  []string // "0002_name" of each step applied now
}

// ErrSchemaTooNew: the database was migrated by a newer HQ than this one.
const ErrSchemaTooNew = sentinel("database schema is newer than this HQ")

// Migrate brings the database at url to this build's schema version. Each step runs in
// its own transaction and is recorded in hq_schema_version; all of it runs under a
// session advisory lock, so HQ processes starting together wait for one another and
// every step is applied once. A database already at the version is left alone.
func Migrate(ctx context.Context, url string) (MigrateResult, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return MigrateResult{}, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return MigrateResult{}, fmt.Errorf("migrate: connect: %w", classify(err))
	}
	defer conn.Close(context.Background())
	return migrateConn(ctx, conn)
}

func migratePool(ctx context.Context, pool *pgxpool.Pool) (MigrateResult, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return MigrateResult{}, fmt.Errorf("migrate: %w", classify(err))
	}
	defer c.Release()
	return migrateConn(ctx, c.Conn())
}

func migrateConn(ctx context.Context, conn *pgx.Conn) (res MigrateResult, err error) {
	ms, err := migrations()
	if err != nil {
		return res, fmt.Errorf("migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return res, fmt.Errorf("migrate: lock: %w", classify(err))
	}
	defer func() {
		if _, uerr := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock); uerr != nil && err == nil {
			err = fmt.Errorf("migrate: unlock: %w", uerr)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS hq_schema_version (
		version    int4 PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return res, fmt.Errorf("migrate: version table: %w", classify(err))
	}
	var cur int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM hq_schema_version").Scan(&cur); err != nil {
		return res, fmt.Errorf("migrate: read version: %w", classify(err))
	}
	res.From, res.To = cur, cur
	if cur > len(ms) {
		return res, fmt.Errorf("migrate: %w: the database is at version %d, this HQ knows %d (upgrade HQ)", ErrSchemaTooNew, cur, len(ms))
	}
	for _, m := range ms[cur:] {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return res, fmt.Errorf("migrate: %w", classify(err))
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			_ = tx.Rollback(context.Background())
			return res, fmt.Errorf("migrate: step %04d_%s: %w", m.version, m.name, classify(err))
		}
		if _, err := tx.Exec(ctx, "INSERT INTO hq_schema_version (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			_ = tx.Rollback(context.Background())
			return res, fmt.Errorf("migrate: record step %d: %w", m.version, classify(err))
		}
		if err := tx.Commit(ctx); err != nil {
			return res, fmt.Errorf("migrate: commit step %d: %w", m.version, classify(err))
		}
		res.To = m.version
		res.Applied = append(res.Applied, fmt.Sprintf("%04d_%s", m.version, m.name))
	}
	return res, nil
}

// MigrateTemplate migrates the database at url (pgtest.Prepare: the template every
// test database is cloned from).
func MigrateTemplate(ctx context.Context, url string) error {
	_, err := Migrate(ctx, url)
	return err
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
