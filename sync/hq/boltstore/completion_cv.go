package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/sync/hq"
)

// cvKey is the key of the rollups_cv bucket: the content version (BE uint32) before the
// rollups key, so the rows of one version sit together.
func cvKey(version int, store string, d flows.Day, pharm string) string {
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], uint32(version))
	return string(v[:]) + string(rollupKey(store, d, pharm))
}

// addCV adds a visit's (or a row's) contribution to the content-version deltas.
func addCV(deltas map[string]*flows.Rollup, version int, store string, d flows.Day, pharm string, r flows.Rollup) {
	k := cvKey(version, store, d, pharm)
	c := deltas[k]
	if c == nil {
		c = &flows.Rollup{}
		deltas[k] = c
	}
	c.Merge(r)
}

// migrateContentRollups creates rollups_cv on a file written before content versions
// existed, with every existing rollup under version 0 (every earlier visit ran the
// embedded default). It runs in Open's transaction, before the buckets are created.
func migrateContentRollups(tx *bolt.Tx) error {
	if tx.Bucket(bRollupsCV) != nil {
		return nil
	}
	cv, err := tx.CreateBucket(bRollupsCV)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bRollupsCV, err)
	}
	rb := tx.Bucket(bRollups)
	if rb == nil {
		return nil // a new file
	}
	var zero [4]byte
	return rb.ForEach(func(k, v []byte) error {
		return cv.Put(append(zero[:], k...), bytes.Clone(v))
	})
}

// completionByVersion is Completion grouped by content version: one pass over
// rollups_cv with the store, day and pharmacist filters.
func completionByVersion(tx *bolt.Tx, q hq.CompletionQuery, from, to flows.Day) ([]hq.CompletionGroup, error) {
	groups := map[int]*hq.CompletionGroup{}
	b := tx.Bucket(bRollupsCV)
	if b == nil { // a read-only copy of a file from before content versions
		return nil, nil
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) < 4 {
			return nil, fmt.Errorf("corrupt content rollup key %q", k)
		}
		version := int(binary.BigEndian.Uint32(k))
		rk := k[4:]
		i := bytes.IndexByte(rk, 0)
		if i < 0 || len(rk) < i+5 {
			return nil, fmt.Errorf("corrupt content rollup key %q", k)
		}
		store, pharm, day := rk[:i], rk[i+5:], codec.Day(rk[i+1:i+5])
		if q.StoreID != "" && string(store) != q.StoreID || day < from || day > to || q.PharmacistID != "" && string(pharm) != q.PharmacistID {
			continue
		}
		g := groups[version]
		if g == nil {
			n := version
			g = &hq.CompletionGroup{Key: strconv.Itoa(version), ContentVersion: &n}
			groups[version] = g
		}
		if err := mergeEncoded(&g.Rollup, v); err != nil {
			return nil, fmt.Errorf("content rollup %q: %w", k, err)
		}
	}
	out := make([]hq.CompletionGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].ContentVersion < *out[j].ContentVersion })
	return out, nil
}
