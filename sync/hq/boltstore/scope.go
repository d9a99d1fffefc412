package boltstore

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Visit ids and the points events derived from them are scoped per store:
// visits and pevents are keyed store 0x00 id. Files written before were keyed by id
// alone; migrateScopedIDs rewrites them once, in Open's transaction. A purge tombstone
// of such a file does not say its store: it moves to the key 0x00 id (store unknown),
// which IngestVisits takes for a duplicate of that id at any store, so a late resend of
// a purged visit still changes nothing.

// metaScopedIDs marks a file whose visits and pevents are keyed by store and id.
var metaScopedIDs = []byte("scoped_ids")

// migrateScopedIDs rekeys visits and pevents by store (see above). It runs before the
// buckets are created; a file marked in meta is left alone.
func migrateScopedIDs(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bMeta)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bMeta, err)
	}
	if meta.Get(metaScopedIDs) != nil {
		return nil
	}
	for _, name := range [][]byte{bVisits, bPEvents} {
		b := tx.Bucket(name)
		if b == nil {
			continue // a new file
		}
		type kv struct{ old, new, v []byte }
		var moves []kv
		err := b.ForEach(func(k, v []byte) error {
			var head struct {
				StoreID string `json:"store_id"`
			}
			if err := json.Unmarshal(v, &head); err != nil {
				return fmt.Errorf("%s %q: %w", name, k, err)
			}
			moves = append(moves, kv{bytes.Clone(k), pair(head.StoreID, string(k)), bytes.Clone(v)})
			return nil
		})
		if err != nil {
			return fmt.Errorf("scope %s by store: %w", name, err)
		}
		for _, m := range moves {
			if err := b.Delete(m.old); err != nil {
				return err
			}
		}
		for _, m := range moves {
			if err := b.Put(m.new, m.v); err != nil {
				return err
			}
		}
	}
	return meta.Put(metaScopedIDs, []byte("1"))
}

// hasUnscopedTombstones reports whether visits holds tombstones of unknown store (keys
// 0x00 id), which IngestVisits must then consult.
func hasUnscopedTombstones(tx *bolt.Tx) bool {
	b := tx.Bucket(bVisits)
	if b == nil {
		return false
	}
	k, _ := b.Cursor().Seek([]byte{0})
	return k != nil && k[0] == 0
}

// splitPair splits a store 0x00 id key.
func splitPair(k []byte) (store, id string) {
	a, b, _ := bytes.Cut(k, []byte{0})
	return string(a), string(b)
}
