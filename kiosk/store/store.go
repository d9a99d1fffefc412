// Package store is the kiosk's local bbolt store: purchases (keyed so that one customer's
// recent history is a single cursor range), the drug catalog, visits saved at every step,
// the transactional outbox the drainer sends to HQ (sync/wire.Outbox), cached roster and
// points, the kiosk settings blob, schema migrations, hot backup and the retention purge.
//
// Every write is one bbolt Update transaction with fsync on, so after a crash or power cut
// the file holds exactly the writes that returned before it.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/pharmachain/counter/flows"
)

// FileName is the store's file name inside the kiosk data directory.
const FileName = "kiosk.db"

// DefaultLockTimeout is how long Open waits for another process to release the file.
const DefaultLockTimeout = 2 * time.Second

// Errors callers can test with errors.Is.
const (
	// ErrInUse: another process (usually the running counter app) holds the store.
	ErrInUse = sentinel("store in use by another process")
	// ErrNewerSchema: the file was written by a newer kiosk version.
	ErrNewerSchema = sentinel("store schema is newer than this program")
	// ErrNotFound: no record with that id.
	ErrNotFound = sentinel("not found")
	// ErrVisitFinished: a finished visit cannot be changed or reopened.
	ErrVisitFinished = sentinel("visit already finished")
	// ErrInvalid: the input is malformed; nothing was written.
	ErrInvalid = sentinel("invalid input")
	// ErrClosed: the store has been closed.
	ErrClosed = sentinel("store closed")
)

// DefaultPath returns the store's path inside the kiosk data directory dir.
func DefaultPath(dir string) string { return filepath.Join(dir, FileName) }

// Options configures Open. The zero value is usable.
type Options struct {
	// Logger receives the store's log records (default: discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Retention is how long purchases and finished, synced visits are kept by Purge
	// (default flows.DefaultRetention, three years).
	Retention time.Duration
	// LockTimeout is how long Open waits for another process holding the file before it
	// fails with ErrInUse (default DefaultLockTimeout).
	LockTimeout time.Duration
	// NoSync turns fsync off. Only for building throw-away benchmark data.
	NoSync bool
}

// Store is the kiosk's local database. It is safe for concurrent use.
type Store struct {
	db        *bolt.DB
	path      string
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration
}

// Open opens (creating if needed) the store file at path, waits at most
// Options.LockTimeout for another process to release it, and migrates the schema to the
// current version, one transaction per migration. A file written by a newer version is
// refused with ErrNewerSchema.
func Open(path string, opts Options) (*Store, error) {
	s := &Store{path: path, log: opts.Logger, now: opts.Now, retention: opts.Retention}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention <= 0 {
		s.retention = flows.DefaultRetention
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open store: create directory: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: %w (waited %s; close the counter app first)", path, ErrInUse, timeout)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.db = db
	if err := s.migrate(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file. Further calls fail with ErrClosed.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

// update runs fn in one read-write transaction after checking ctx.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// view runs fn in one read-only transaction after checking ctx.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Bucket names (schema version 3).
var (
	bMeta          = []byte("meta")          // schema_version, outbox counters, sync status (small: stored inline)
	bPurchases     = []byte("purchases")     // customer_key(32) + day(4) + purchase id → purchase (flows/codec; schema 3)
	bPurchaseIDs   = []byte("purchase_ids")  // purchase id → primary key in purchases
	bCatalog       = []byte("catalog")       // drug code → Drug JSON
	bVisits        = []byte("visits")        // visit id → visit record: header (state, outbox seq) + Visit JSON
	bVisitsByDay   = []byte("visits_by_day") // start day(4) + visit id → nil
	bVisitsOpen    = []byte("visits_open")   // visit id → nil, in-progress visits
	bOutbox        = []byte("outbox")        // seq(8) → entry
	bOutboxParked  = []byte("outbox_parked") // seq(8) → parked entry (entry + reason)
	bRoster        = []byte("roster")        // pharmacist id → rosterEntry JSON
	bPoints        = []byte("points")        // store id + "/" + pharmacist id → PointsRow JSON
	bSettings      = []byte("settings")      // config blob, roster store id, cache times (kept out of meta so meta stays small)
	keySchema      = []byte("schema_version")
	keyPending     = []byte("outbox_pending")
	keyParked      = []byte("outbox_parked")
	keyLastSync    = []byte("last_sync")
	keyLastError   = []byte("last_error")
	keyReject      = []byte("reject_reason")
	keyConfig      = []byte("config")
	keyRosterStore = []byte("roster_store_id")
	keyRosterAt    = []byte("roster_updated_at")
)

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func getU64(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// addU64 adds delta (may be negative) to a counter, never below zero.
func addU64(b *bolt.Bucket, key []byte, delta int) error {
	cur := int64(getU64(b, key)) + int64(delta)
	if cur < 0 {
		cur = 0
	}
	return b.Put(key, u64(uint64(cur)))
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
