package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/pgstore"
)

// DBFile is the HQ database's name inside a data directory.
const DBFile = "hq.db"

// StoreConfig says where HQ keeps its data: exactly one of Dir and DB.
type StoreConfig struct {
	// Dir is the data directory of the embedded store (DIR/hq.db).
	Dir string
	// DB is a PostgreSQL URL (postgres://… or postgresql://…): the store several HQ
	// processes share (docs/hq.md "Scaling out"). Its schema is migrated at open.
	DB string
	// MustExist refuses to create a store (administrative verbs on a stopped HQ). With
	// DB the database must exist anyway; its schema is brought up to date.
	MustExist bool
	// WaitForDB keeps retrying a database that cannot be reached yet this long (hq
	// serve started before PostgreSQL).
	WaitForDB time.Duration
	Logger    *slog.Logger
}

// EnvDB names the environment variable that gives the PostgreSQL URL when neither
// --data nor --db is given (keeps the password off the command line).
const EnvDB = "HQ_DB"

// ErrNoStore: StoreConfig names no storage.
const ErrNoStore = sentinel("no HQ storage given (--data DIR or --db URL)")

// OpenStore opens the store cfg names: the embedded bbolt file DIR/hq.db (the directory
// is created unless MustExist), or the PostgreSQL database at DB.
func OpenStore(ctx context.Context, cfg StoreConfig) (hq.Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Dir != "" && cfg.DB != "" {
		return nil, errors.New("give one HQ storage: --data DIR or --db URL, not both")
	}
	if cfg.DB != "" {
		if !pgstore.IsURL(cfg.DB) {
			return nil, errors.New("--db: want a postgres://… or postgresql://… URL")
		}
		return pgstore.Open(ctx, cfg.DB, pgstore.Options{Logger: cfg.Logger, WaitForDB: cfg.WaitForDB})
	}
	if cfg.Dir == "" {
		return nil, ErrNoStore
	}
	path := filepath.Join(cfg.Dir, DBFile)
	if cfg.MustExist {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no HQ database in %s: %w", cfg.Dir, err)
		}
	} else if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return boltstore.Open(path, boltstore.Options{Logger: cfg.Logger})
}

// LoadOrCreateSecretFile reads a base64 secret from path, creating a random 32-byte one
// (mode 0600) if the file does not exist (`hq serve --link-secret-file`).
func LoadOrCreateSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		enc := base64.StdEncoding.EncodeToString(raw[:])
		if err := os.WriteFile(path, []byte(enc+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		return raw[:], nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	sec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("secret %s: want base64: %w", path, err)
	}
	if len(sec) < 16 {
		return nil, fmt.Errorf("secret %s: %d bytes, want ≥ 16", path, len(sec))
	}
	return sec, nil
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
