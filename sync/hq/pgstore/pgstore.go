// Package pgstore is HQ's storage (hq.Store) on PostgreSQL, for chains that outgrow one
// machine: several HQ processes (replicas) share one database and behave as one HQ.
//
// Open applies the embedded schema migrations (under an advisory lock, so replicas
// starting together migrate once) and opens a pgx connection pool. Every method is one
// transaction where the seam says "one commit"; exactly-once comes from unique keys
// (INSERT … ON CONFLICT DO NOTHING RETURNING: rollups and totals are added only for
// the rows inserted), follow-ups are claimed with FOR UPDATE SKIP LOCKED and held
// with leases. Transactions that lose a serialization race or a deadlock are retried.
// When the database cannot be reached, methods return errors wrapping
// ErrUnavailable, which the HTTP API answers with 503 and Retry-After.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pharmachain/counter/sync/hq"
)

// Options configures a Store.
type Options struct {
	// Logger receives storage logs; nil: discard.
	Logger *slog.Logger
	// MaxConns caps the pool (default: the URL's pool_max_conns, else 16).
	MaxConns int32
	// WaitForDB keeps retrying the first connection this long when the database is
	// not reachable yet (replicas starting before it); 0: fail at once.
	WaitForDB time.Duration
	// NoMigrate skips applying migrations at open; the schema must then already be at
	// this build's version (`hq migrate --db URL`).
	NoMigrate bool
}

// Store is hq.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// IsURL reports whether s names a PostgreSQL database (postgres:// or postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func parseConfig(url string) (*pgxpool.Config, error) {
	if !IsURL(url) {
		return nil, fmt.Errorf("database URL %q: want postgres://… or postgresql://…", redactURL(url))
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL with its password.
		return nil, fmt.Errorf("database URL %s: invalid (%s)", redactURL(url), redactURL(err.Error()))
	}
	return cfg, nil
}

// Open connects to the database at url (postgres://user:pass@host/db?sslmode=…),
// migrates its schema to this build's version (unless opts.NoMigrate) and returns the
// store. Close it when done.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 16
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	// HQ's statements are short and planned cheaply; JIT compiling them costs more
	// (~150 ms on the year report) than it ever saves.
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactURL(url), classify(err))
	}
	s := &Store{pool: pool, log: log}
	deadline := time.Now().Add(opts.WaitForDB)
	for delay := 200 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		err = s.start(ctx, opts)
		if err == nil || !errors.Is(err, ErrUnavailable) || time.Now().Add(delay).After(deadline) {
			break
		}
		log.Warn("database not reachable yet; retrying", "in", delay, "err", err)
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(delay):
			continue
		}
		break
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: %w", redactURL(url), err)
	}
	return s, nil
}

func (s *Store) start(ctx context.Context, opts Options) error {
	if !opts.NoMigrate {
		res, err := migratePool(ctx, s.pool)
		if err != nil {
			return err
		}
		if len(res.Applied) > 0 {
			s.log.Info("database schema migrated", "from", res.From, "to", res.To, "steps", strings.Join(res.Applied, ","))
		}
		return s.backfillFacts(ctx)
	}
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM hq_schema_version").Scan(&v)
	if err != nil {
		return fmt.Errorf("read schema version (run `hq migrate --db URL`): %w", classify(err))
	}
	if want := SchemaVersion(); v != want {
		return fmt.Errorf("database schema is at version %d, this HQ needs %d: run `hq migrate --db URL`", v, want)
	}
	return s.backfillFacts(ctx)
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers (health checks).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", classify(err))
	}
	return nil
}

// ErrUnavailable (hq.ErrUnavailable) marks errors of an unreachable database (refused,
// reset, shutting down, too many connections).
const ErrUnavailable = hq.ErrUnavailable

// unavailable wraps err so that errors.Is(…, ErrUnavailable) holds while err's own
// text and chain are kept.
type unavailable struct{ err error }

func (u unavailable) Error() string { return "database unavailable: " + u.err.Error() }
func (u unavailable) Unwrap() []error {
	return []error{ErrUnavailable, u.err}
}

// classify marks connection-level failures as ErrUnavailable.
func classify(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if isUnavailable(err) {
		return unavailable{err}
	}
	return err
}

func isUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // shutdown, crash, starting up
			return true
		case pgErr.Code == "53300": // too many connections
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ENOENT):
		return true
	case pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	}
	// pgx reports a connection that died mid-statement as "conn closed" / "unexpected EOF".
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "unexpected EOF") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe")
}

// retryable: the transaction lost a race (serialization failure, deadlock) and can run
// again from the start.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// tx runs fn in a transaction (read committed), retrying it when it loses a
// serialization race or a deadlock. what names the operation in errors.
func (s *Store) tx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || !retryable(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	if err != nil {
		return wrap(what, err)
	}
	return nil
}

// execer runs a statement: a transaction, or a pipeline (pipeline) that sends the
// statements queued in it together.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// pipeline queues statements to send in one round trip (pgx.Batch) at the end of a
// transaction; Exec never fails, flush reports the first statement's error.
type pipeline struct{ b pgx.Batch }

func (p *pipeline) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (p *pipeline) flush(ctx context.Context, tx pgx.Tx) error {
	if p.b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &p.b).Close()
}

// wrap adds context to err, keeping the seam's sentinel errors visible.
func wrap(what string, err error) error {
	return fmt.Errorf("%s: %w", what, classify(err))
}

// Redact hides the password of a database URL (for logs and messages).
func Redact(url string) string { return redactURL(url) }

// redactURL hides a password in a postgres URL or in text quoting one.
func redactURL(s string) string {
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		i := strings.Index(s, scheme)
		if i < 0 {
			continue
		}
		rest := s[i+len(scheme):]
		at := strings.IndexByte(rest, '@')
		end := strings.IndexAny(rest, "/?# ")
		if at < 0 || (end >= 0 && end < at) {
			continue
		}
		userinfo := rest[:at]
		if u, _, ok := strings.Cut(userinfo, ":"); ok {
			s = s[:i+len(scheme)] + u + ":xxxxx" + rest[at:]
		}
	}
	return s
}
