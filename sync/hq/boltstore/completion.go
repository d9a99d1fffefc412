package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/sync/hq"
)

// Completion implements hq.CompletionStore. Reports that need no pharmacist detail read the
// store×day rollups (one row per store and day); the others the store×day×pharmacist
// rollups. Rows are merged straight from their encoding, allocation-free per row.
func (s *Store) Completion(ctx context.Context, q hq.CompletionQuery) ([]hq.CompletionGroup, error) {
	to := q.To
	if to == 0 {
		to = math.MaxInt32 - 1
	}
	from := q.From
	if q.GroupBy == hq.GroupByContentVersion {
		var out []hq.CompletionGroup
		err := s.view(ctx, "completion report", func(tx *bolt.Tx) error {
			var err error
			out, err = completionByVersion(tx, q, from, to)
			return err
		})
		return out, err
	}
	bucket := bRollups
	if q.PharmacistID == "" && q.GroupBy != hq.GroupByPharmacist {
		bucket = bRollupsSD
	}
	byKey := map[string]*hq.CompletionGroup{}
	var order []*hq.CompletionGroup
	var last *hq.CompletionGroup
	var lastKey, kb []byte
	err := s.view(ctx, "completion report", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		var k, v []byte
		if q.StoreID != "" {
			k, v = c.Seek(rollupKey(q.StoreID, from, ""))
		} else {
			k, v = c.First()
		}
		for k != nil {
			i := bytes.IndexByte(k, 0)
			if i < 0 || len(k) < i+5 {
				return fmt.Errorf("corrupt rollup key %q", k)
			}
			store, pharm := k[:i], k[i+5:]
			day := codec.Day(k[i+1 : i+5])
			if q.StoreID != "" && string(store) != q.StoreID {
				break
			}
			if day < from {
				k, v = c.Seek(rollupKey(string(store), from, ""))
				continue
			}
			if day > to {
				k, v = c.Seek(append(append([]byte(nil), store...), 0x01)) // next store
				continue
			}
			if q.PharmacistID == "" || string(pharm) == q.PharmacistID {
				kb = kb[:0]
				switch q.GroupBy {
				case hq.GroupByPharmacist:
					kb = append(append(append(kb, store...), '/'), pharm...)
				case hq.GroupByDay:
					kb = append(kb, k[i+1:i+5]...)
				default:
					kb = append(kb, store...)
				}
				g := last
				if g == nil || !bytes.Equal(kb, lastKey) {
					g = byKey[string(kb)]
					if g == nil {
						g = &hq.CompletionGroup{}
						switch q.GroupBy {
						case hq.GroupByPharmacist:
							g.Key, g.StoreID, g.PharmacistID = string(kb), string(store), string(pharm)
						case hq.GroupByDay:
							g.Day = day
							g.Key = day.String()
						default:
							g.Key, g.StoreID = string(store), string(store)
						}
						byKey[string(kb)] = g
						order = append(order, g)
					}
					last, lastKey = g, append(lastKey[:0], kb...)
				}
				if err := mergeEncoded(&g.Rollup, v); err != nil {
					return fmt.Errorf("rollup %q: %w", k, err)
				}
			}
			k, v = c.Next()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]hq.CompletionGroup, len(order))
	for i, g := range order {
		out[i] = *g
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// AddRollups implements hq.CompletionStore, through the code path record ingest uses.
func (s *Store) AddRollups(ctx context.Context, rows []hq.RollupRow) error {
	deltas := make(map[string]*flows.Rollup, len(rows))
	cvDeltas := make(map[string]*flows.Rollup, len(rows))
	for i := range rows {
		r := &rows[i]
		if r.StoreID == "" {
			return fmt.Errorf("add rollups: rows[%d].store_id missing: %w", i, hq.ErrInvalid)
		}
		k := string(rollupKey(r.StoreID, r.Day, r.PharmacistID))
		c := deltas[k]
		if c == nil {
			c = &flows.Rollup{}
			deltas[k] = c
		}
		c.Merge(r.Rollup)
		if r.ContentVersion < 0 {
			return fmt.Errorf("add rollups: rows[%d].content_version %d: %w", i, r.ContentVersion, hq.ErrInvalid)
		}
		addCV(cvDeltas, r.ContentVersion, r.StoreID, r.Day, r.PharmacistID, r.Rollup)
	}
	return s.update(ctx, "add rollups", func(tx *bolt.Tx) error {
		if err := mergeRollups(tx.Bucket(bRollupsCV), cvDeltas); err != nil {
			return err
		}
		return applyRollups(tx, deltas)
	})
}

// applyRollups merges deltas keyed by rollupKey(store, day, pharmacist) into the
// pharmacist-level rollups and their store×day sums.
func applyRollups(tx *bolt.Tx, deltas map[string]*flows.Rollup) error {
	sd := make(map[string]*flows.Rollup, len(deltas))
	for k, d := range deltas {
		i := strings.IndexByte(k, 0)
		if i < 0 || len(k) < i+5 {
			return fmt.Errorf("corrupt rollup key %q", k)
		}
		sk := k[:i+5]
		r := sd[sk]
		if r == nil {
			r = &flows.Rollup{}
			sd[sk] = r
		}
		r.Merge(*d)
	}
	if err := mergeRollups(tx.Bucket(bRollups), deltas); err != nil {
		return err
	}
	return mergeRollups(tx.Bucket(bRollupsSD), sd)
}

func mergeRollups(rb *bolt.Bucket, deltas map[string]*flows.Rollup) error {
	keys := make([]string, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	sort.Strings(keys) // sorted puts touch each page once
	for _, k := range keys {
		var cur flows.Rollup
		if v := rb.Get([]byte(k)); v != nil {
			var err error
			if cur, err = decodeRollup(v); err != nil {
				return fmt.Errorf("rollup %q: %w", k, err)
			}
		}
		cur.Merge(*deltas[k])
		if err := rb.Put([]byte(k), encodeRollup(cur)); err != nil {
			return fmt.Errorf("put rollup: %w", err)
		}
	}
	return nil
}

// rollupLen is the fixed encoding of a flows.Rollup: 16 int64 counters and 4 float64.
const rollupLen = 20 * 8

func encodeRollup(r flows.Rollup) []byte {
	b := make([]byte, 0, rollupLen)
	ints := []int{r.Visits, r.Completed, r.Abandoned, r.InProgress}
	ints = append(ints, r.Funnel[:]...)
	ints = append(ints, r.Stalled[:]...)
	ints = append(ints, r.StepTimed[:]...)
	for _, n := range ints {
		b = binary.BigEndian.AppendUint64(b, uint64(int64(n)))
	}
	for _, f := range r.StepSeconds {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}

var errCorruptRollup = errors.New("corrupt rollup encoding")

// mergeEncoded adds an encoded rollup to r without building a temporary.
func mergeEncoded(r *flows.Rollup, b []byte) error {
	if len(b) != rollupLen {
		return errCorruptRollup
	}
	n := func(i int) int { return int(int64(binary.BigEndian.Uint64(b[i*8:]))) }
	r.Visits += n(0)
	r.Completed += n(1)
	r.Abandoned += n(2)
	r.InProgress += n(3)
	for i := 0; i < 4; i++ {
		r.Funnel[i] += n(4 + i)
		r.Stalled[i] += n(8 + i)
		r.StepTimed[i] += n(12 + i)
		r.StepSeconds[i] += math.Float64frombits(binary.BigEndian.Uint64(b[(16+i)*8:]))
	}
	return nil
}

func decodeRollup(b []byte) (flows.Rollup, error) {
	var r flows.Rollup
	if len(b) != rollupLen {
		return r, errCorruptRollup
	}
	n := func(i int) int { return int(int64(binary.BigEndian.Uint64(b[i*8:]))) }
	r.Visits, r.Completed, r.Abandoned, r.InProgress = n(0), n(1), n(2), n(3)
	for i := 0; i < 4; i++ {
		r.Funnel[i] = n(4 + i)
		r.Stalled[i] = n(8 + i)
		r.StepTimed[i] = n(12 + i)
		r.StepSeconds[i] = math.Float64frombits(binary.BigEndian.Uint64(b[(16+i)*8:]))
	}
	return r, nil
}

func rollupKey(store string, d flows.Day, pharm string) []byte {
	k := make([]byte, 0, len(store)+5+len(pharm))
	k = append(k, store...)
	k = append(k, 0, 0, 0, 0, 0)
	codec.PutDay(k[len(store)+1:], d)
	return append(k, pharm...)
}
