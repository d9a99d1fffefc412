package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
)

// SchemaVersion is the schema this program writes. Open migrates older files up to it.
const SchemaVersion = 3

// migration moves the file from version to-1 to version to, inside one transaction.
// bulk, if set, first does the migration's large rewrites in bounded transactions of
// its own; each must leave a file that the migration can resume from (run finishes it).
type migration struct {
	to   uint64
	what string
	run  func(tx *bolt.Tx) error
	bulk func(db *bolt.DB) error
}

// migrations are applied in order; each runs in its own transaction together with the
// schema_version bump, so a crash leaves the file at either the old or the new version.
var migrations = []migration{
	{1, "base buckets: meta, purchases, catalog, visits, outbox", migrateV1, nil},
	{2, "indexes (purchase ids, visits by day, open visits), visit records with sync state, parked outbox, roster, points, settings, outbox counters", migrateV2, nil},
	{3, "purchases in the binary form shared with HQ (flows/codec), with amount, receipt and kind", migrateV3, migrateV3Bulk},
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
		if m.bulk != nil {
			if err := m.bulk(s.db); err != nil {
				return fmt.Errorf("migrate schema %d→%d (%s): %w", m.to-1, m.to, m.what, err)
			}
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

// migrateV3Bulk rewrites the purchase values in transactions of at most purgeChunk
// purchases, so a large file needs no more memory than one chunk. A crash between them
// leaves values of both forms at schema 2; the next Open continues (values already
// rewritten are skipped) and migrateV3 bumps the version.
func migrateV3Bulk(db *bolt.DB) error {
	var after []byte
	for done := false; !done; {
		err := db.Update(func(tx *bolt.Tx) error {
			var err error
			after, done, err = rewritePurchases(tx, after, purgeChunk)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// migrateV3 rewrites every purchase value not yet in the shared binary form (flows/codec)
// (none after migrateV3Bulk). A schema-2 file holds JSON values (written by schema 1)
// and 'P' records (schema 2); the 'P' record had no amount, receipt or kind, so those
// stay unknown for its purchases.
func migrateV3(tx *bolt.Tx) error {
	var after []byte
	for done := false; !done; {
		var err error
		if after, done, err = rewritePurchases(tx, after, purgeChunk); err != nil {
			return err
		}
	}
	return nil
}

// rewritePurchases rewrites up to limit purchase values after the key after (nil: from
// the first) in the shared binary form. It returns the last key it looked at and whether
// the bucket is done.
func rewritePurchases(tx *bolt.Tx, after []byte, limit int) (last []byte, done bool, err error) {
	pb := tx.Bucket(bPurchases)
	type kv struct{ k, v []byte }
	var rewrites []kv
	c := pb.Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	n := 0
	for ; k != nil && n < limit; k, v = c.Next() {
		n++
		last = bytes.Clone(k)
		if len(v) > 0 && v[0] == codec.Version {
			continue
		}
		p, err := decodeV2Purchase(v)
		if err != nil {
			return nil, false, fmt.Errorf("rewrite purchase %q: %w", k, err)
		}
		rewrites = append(rewrites, kv{last, codec.EncodePurchase(&p)})
	}
	for _, r := range rewrites {
		if err := pb.Put(r.k, r.v); err != nil {
			return nil, false, err
		}
	}
	return last, k == nil, nil
}

// decodeV2Purchase reads a schema-2 purchase value: JSON (starting with '{'), or the
// record
//
//	'P'
//	varint  sold_at unix seconds
//	uvarint sold_at nanoseconds
//	varint  zone offset in seconds
//	8 bytes quantity (IEEE 754 bits, big-endian)
//	uvarint days' supply
//	5 × (uvarint length, bytes): store id, drug code, name, ingredient, ATC
//
// The customer key and id are in the key; they are not set here.
func decodeV2Purchase(v []byte) (flows.Purchase, error) {
	var p flows.Purchase
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &p); err != nil {
			return p, err
		}
		p.ID, p.CustomerKey = "", ""
		return p, nil
	}
	bad := errors.New("corrupt schema-2 purchase record")
	if len(v) == 0 || v[0] != 'P' {
		return p, bad
	}
	r := v[1:]
	sec, n := binary.Varint(r)
	if n <= 0 {
		return p, bad
	}
	r = r[n:]
	nsec, n := binary.Uvarint(r)
	if n <= 0 || nsec >= 1e9 {
		return p, bad
	}
	r = r[n:]
	off, n := binary.Varint(r)
	if n <= 0 || off < -18*3600 || off > 18*3600 {
		return p, bad
	}
	r = r[n:]
	if len(r) < 8 {
		return p, bad
	}
	p.Quantity = math.Float64frombits(binary.BigEndian.Uint64(r))
	r = r[8:]
	days, n := binary.Uvarint(r)
	if n <= 0 || days > math.MaxInt32 {
		return p, bad
	}
	r = r[n:]
	p.DaysSupply = int(days)
	var strs [5]string
	for i := range strs {
		l, n := binary.Uvarint(r)
		if n <= 0 || uint64(len(r)-n) < l {
			return p, bad
		}
		strs[i] = string(r[n : n+int(l)])
		r = r[n+int(l):]
	}
	p.SoldAt = time.Unix(sec, int64(nsec)).In(codec.Zone(int(off)))
	p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC = strs[0], strs[1], strs[2], strs[3], strs[4]
	return p, nil
}
