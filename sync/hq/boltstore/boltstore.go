// Package boltstore is the embedded HQ storage: every area of hq.Store on one bbolt
// file. It is the only package that knows bbolt; one file per area, as in sync/hq.
//
// Layout (one bucket each):
//
//	tokens      sha256-hex(token)                 → JSON hq.Principal (+ revoked_at); token_use, store_addrs (tokens.go)
//	visits      store 0x00 visit id               → JSON flows.Visit, or a purge tombstone (dedup by store and id)
//	purchases   purchase id                       → customer key (16 bytes) (dedup by id)
//	phist       custkey(16) day(4) purchase id    → purchase, flows/codec (history index; purchasecodec.go)
//	rollups     store 0x00 day(4) pharmacist      → flows.Rollup, fixed binary (completion report)
//	rollups_sd  store 0x00 day(4)                 → the same summed over pharmacists
//	rollups_cv  BE uint32 content version, store 0x00 day(4) pharmacist → the same by content version
//	pevents     store 0x00 points event id        → JSON flows.PointsEvent (idempotent credit)
//	ptotals     store 0x00 pharmacist             → int64 points
//	roster      store 0x00 pharmacist id          → JSON flows.Pharmacist
//	fu_items    follow-up id                      → JSON hq.FollowUpItem
//	fu_due      BE unix-nano NextAt, id           → nil: scheduled follow-ups by due time
//	fu_sending  follow-up id                      → nil: an attempt is in flight
//	fu_open     follow-up id                      → store id: link not yet opened
//	fu_sends    follow-up id 0x00 BE attempt      → JSON hq.SendAttempt
//	fu_bookings follow-up id                      → JSON hq.Booking
//	fu_contacts store 0x00 customer key           → JSON hq.Contact
//	fu_audit    BE sequence                       → JSON hq.AuditEntry, append-only
//	notices     notice key                        → JSON claim (owner, at)
//	sessions    session id hash                   → JSON hq.Session
//	signin_fail address 0x00 BE unix-nano         → nil
//	secrets     name                              → secret bytes
//	content_meta    BE uint32 version             → JSON content.Version (immutable)
//	content_files   BE uint32 version, file path  → the file's bytes as published
//	content_assign  "assign"                      → JSON hq.ContentAssignments
//	content_status  store id                      → JSON hq.ContentStatus (the kiosk's last report)
//	eff_visits, eff_cust, eff_pstore, eff_fuday   the effect report's indexes (effect.go)
//	pdaily      store 0x00 pharmacist 0x00 kind 0x00 day(4) → BE int64 link points that day (caps.go)
//	nonces      key → BE unix-nano until; nonces_exp until ‖ key (nonces.go: WeCom callback replays)
//	reads       BE sequence → JSON hq.HistoryRead; reads_ck custkey(16) ‖ sequence (reads.go)
//	flags       BE sequence                       → JSON hq.Flag, append-only (flags.go)
//	meta        "scoped_ids"                      → "1": visits and pevents keyed by store (scope.go)
//	            "purchase_codec"                  → "3": phist values in the flows/codec form (purchasecodec.go)
//
// bbolt allows one writer at a time and locks its file: one HQ process per file. Every
// write is one bbolt transaction, so each "one commit" of the hq contract is one Update.
package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
)

var (
	bTokens     = []byte("tokens")
	bVisits     = []byte("visits")
	bPurchases  = []byte("purchases")
	bHist       = []byte("phist")
	bRollups    = []byte("rollups")
	bRollupsSD  = []byte("rollups_sd")
	bRollupsCV  = []byte("rollups_cv")
	bPEvents    = []byte("pevents")
	bPTotals    = []byte("ptotals")
	bRoster     = []byte("roster")
	bItems      = []byte("fu_items")
	bDue        = []byte("fu_due")
	bSending    = []byte("fu_sending")
	bOpen       = []byte("fu_open")
	bSends      = []byte("fu_sends")
	bBookings   = []byte("fu_bookings")
	bContacts   = []byte("fu_contacts")
	bAudit      = []byte("fu_audit")
	bNotices    = []byte("notices")
	bSessions   = []byte("sessions")
	bSigninFail = []byte("signin_fail")
	bSecrets    = []byte("secrets")

	bContentMeta   = []byte("content_meta")
	bContentFiles  = []byte("content_files")
	bContentAssign = []byte("content_assign")
	bContentStatus = []byte("content_status")
	bMeta          = []byte("meta")

	allBuckets = [][]byte{bTokens, bVisits, bPurchases, bHist, bRollups, bRollupsSD, bPEvents, bPTotals, bRoster,
		bItems, bDue, bSending, bOpen, bSends, bBookings, bContacts, bAudit, bNotices, bSessions, bSigninFail,
		bSecrets, bMeta, bContentMeta, bContentFiles, bContentAssign, bContentStatus, bFlags, bPDaily, bTokenUse, bStoreAddrs, bNonces, bNoncesExp, bReads, bReadsCK}
)

// Options configures a Store.
type Options struct {
	// Logger receives storage logs; nil: discard.
	Logger *slog.Logger
	// NoSync disables fsync (tests and generators only; never in production).
	NoSync bool
	// Timeout waits this long for the file lock (another process holding it); 0: 2 s.
	Timeout time.Duration
	// ReadOnly opens the file for reading only (tools inspecting a copy).
	ReadOnly bool
}

// Store is hq.Store on bbolt.
type Store struct {
	db   *bolt.DB
	opts Options
	log  *slog.Logger
	// unscopedTombs: the file holds purge tombstones of unknown store (scope.go).
	unscopedTombs bool
}

var _ hq.Store = (*Store)(nil)

// Open opens (creating if needed) the HQ database file at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync,
		FreelistType: bolt.FreelistMapType, ReadOnly: opts.ReadOnly})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open hq store %s: the file is in use by another process (is hq serve running? then use its admin routes): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open hq store %s: %w", path, err)
	}
	if !opts.ReadOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			if err := migrateContentRollups(tx); err != nil {
				return err
			}
			if err := migrateScopedIDs(tx); err != nil {
				return err
			}
			for _, b := range append(allBuckets, effBuckets...) {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return fmt.Errorf("create bucket %s: %w", b, err)
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("init hq store %s: %w", path, err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !opts.ReadOnly {
		if err := migratePurchaseCodec(db, log.Info); err != nil {
			db.Close()
			return nil, fmt.Errorf("init hq store %s: %w", path, err)
		}
		if err := indexEffect(db, log.Info); err != nil {
			db.Close()
			return nil, fmt.Errorf("init hq store %s: %w", path, err)
		}
	} else if err := db.View(checkPurchaseCodec); err != nil {
		db.Close()
		return nil, fmt.Errorf("open hq store %s: %w", path, err)
	}
	s := &Store{db: db, opts: opts, log: log}
	_ = db.View(func(tx *bolt.Tx) error { s.unscopedTombs = hasUnscopedTombstones(tx); return nil })
	return s, nil
}

// Path is the file the store is kept in.
func (s *Store) Path() string { return s.db.Path() }

// Sync flushes the file to disk: for a store opened with NoSync (generators) before it
// is closed.
func (s *Store) Sync() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("sync hq store: %w", err)
	}
	return nil
}

// Close closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close hq store: %w", err)
	}
	return nil
}

func (s *Store) update(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (s *Store) view(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := s.db.View(fn); err != nil {
		if errors.Is(err, hq.ErrNotFound) {
			return err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func pair(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", k, err)
	}
	return b.Put(k, data)
}

// appendAudit appends entries to the audit bucket inside tx.
func appendAudit(tx *bolt.Tx, entries []hq.AuditEntry) error {
	b := tx.Bucket(bAudit)
	for _, e := range entries {
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("audit: next sequence: %w", err)
		}
		e.Seq = seq
		e.At = e.At.UTC()
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		if err := putJSON(b, k[:], e); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}
