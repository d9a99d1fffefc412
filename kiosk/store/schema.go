package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
)

// SchemaVersion is the schema this program writes. Open migrates older files up to it.
const SchemaVersion = 2

// migration moves the file from version to-1 to version to, inside one transaction.
type migration struct {
	to   uint64
	what string
	run  func(tx *bolt.Tx) error
}

// migrations are applied in order; each runs in its own transaction together with the
// schema_version bump, so a crash leaves the file at either the old or the new version.
var migrations = []migration{
	{1, "base buckets: meta, purchases, catalog, visits, outbox", migrateV1},
	{2, "indexes (purchase ids, visits by day, open visits), visit records with sync state, parked outbox, roster, points, settings, outbox counters", migrateV2},
}

func (s *Store) migrate() error {
	var cur uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bMeta); m != nil {
			cur = getU64(m, keySchema)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if cur > SchemaVersion {
		return fmt.Errorf("%w: file has schema %d, this program knows up to %d (install the newer kiosk version)", ErrNewerSchema, cur, SchemaVersion)
	}
	for _, m := range migrations {
		if m.to <= cur {
			continue
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			if err := m.run(tx); err != nil {
				return err
			}
			meta, err := tx.CreateBucketIfNotExists(bMeta)
			if err != nil {
				return err
			}
			return meta.Put(keySchema, u64(m.to))
		})
		if err != nil {
			return fmt.Errorf("migrate schema %d→%d (%s): %w", m.to-1, m.to, m.what, err)
		}
		s.log.Info("store schema migrated", "path", s.path, "from", m.to-1, "to", m.to, "what", m.what)
		cur = m.to
	}
	return nil
}

func createBuckets(tx *bolt.Tx, names ...[]byte) error {
	for _, n := range names {
		if _, err := tx.CreateBucketIfNotExists(n); err != nil {
			return fmt.Errorf("create bucket %s: %w", n, err)
		}
	}
	return nil
}

func migrateV1(tx *bolt.Tx) error {
	return createBuckets(tx, bMeta, bPurchases, bCatalog, bVisits, bOutbox)
}

// migrateV2 builds the secondary indexes from the v1 data and starts the counters.
func migrateV2(tx *bolt.Tx) error {
	if err := createBuckets(tx, bPurchaseIDs, bVisitsByDay, bVisitsOpen, bOutboxParked, bRoster, bPoints, bSettings); err != nil {
		return err
	}
	// Purchase id index. A v1 file could hold the same purchase id twice (that is what the
	// index prevents from now on): the first copy stays, later copies are removed.
	ps, ids := tx.Bucket(bPurchases), tx.Bucket(bPurchaseIDs)
	var dups [][]byte
	if err := ps.ForEach(func(k, _ []byte) error {
		if len(k) <= purchaseKeyPrefix {
			return fmt.Errorf("purchase key %x: too short", k)
		}
		id := k[purchaseKeyPrefix:]
		if ids.Get(id) != nil {
			dups = append(dups, bytes.Clone(k))
			return nil
		}
		return ids.Put(bytes.Clone(id), bytes.Clone(k))
	}); err != nil {
		return fmt.Errorf("index purchases: %w", err)
	}
	for _, k := range dups {
		if err := ps.Delete(k); err != nil {
			return err
		}
	}
	// Outbox entries still waiting, by visit id.
	queued := map[string]uint64{}
	var pending uint64
	if err := tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		e, err := decodeEntry(k, v)
		if err != nil {
			return err
		}
		pending++
		if e.Kind == kindVisit {
			queued[e.ID] = e.Seq
		}
		return nil
	}); err != nil {
		return fmt.Errorf("count outbox: %w", err)
	}
	// Visits: v1 stored bare JSON; v2 stores a record with the sync state, plus indexes.
	vs := tx.Bucket(bVisits)
	byDay, open := tx.Bucket(bVisitsByDay), tx.Bucket(bVisitsOpen)
	recs := map[string][]byte{}
	if err := vs.ForEach(func(k, v []byte) error {
		var visit flows.Visit
		if err := json.Unmarshal(v, &visit); err != nil {
			return fmt.Errorf("visit %s: %w", k, err)
		}
		if err := byDay.Put(dayIndexKey(flows.VisitDay(visit), string(k)), nil); err != nil {
			return err
		}
		day := flows.VisitDay(visit)
		switch seq, ok := queued[string(k)]; {
		case !finished(visit.Outcome):
			recs[string(k)] = visitRecord(hdr{state: stateOpen, day: day}, v)
			return open.Put(bytes.Clone(k), nil)
		case ok:
			recs[string(k)] = visitRecord(hdr{state: stateQueued, seq: seq, day: day}, v)
		default:
			// v1 wrote finished visits and their outbox entries together; an entry no
			// longer in the outbox was acknowledged.
			recs[string(k)] = visitRecord(hdr{state: stateAcked, day: day}, v)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("index visits: %w", err)
	}
	for k, rec := range recs {
		if err := vs.Put([]byte(k), rec); err != nil {
			return err
		}
	}
	// Continue the sequence after the highest seq present.
	ob := tx.Bucket(bOutbox)
	if k, _ := ob.Cursor().Last(); len(k) == 8 {
		if last := binary.BigEndian.Uint64(k); last > ob.Sequence() {
			if err := ob.SetSequence(last); err != nil {
				return err
			}
		}
	}
	meta := tx.Bucket(bMeta)
	if err := meta.Put(keyPending, u64(pending)); err != nil {
		return err
	}
	return meta.Put(keyParked, u64(0))
}
