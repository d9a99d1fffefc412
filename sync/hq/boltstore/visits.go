package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq"
)

// IngestVisits implements hq.VisitStore: the whole batch is one bbolt transaction.
func (s *Store) IngestVisits(ctx context.Context, storeID string, batch []hq.VisitIngest) (hq.IngestResult, error) {
	if storeID == "" {
		return hq.IngestResult{}, fmt.Errorf("ingest visits: store id missing: %w", hq.ErrInvalid)
	}
	var res hq.IngestResult
	err := s.update(ctx, "ingest visits", func(tx *bolt.Tx) error {
		res = hq.IngestResult{}
		vb := tx.Bucket(bVisits)
		deltas := map[string]*flows.Rollup{}
		cvDeltas := map[string]*flows.Rollup{}
		points := map[string]int64{} // store 0x00 pharmacist → points credited by the batch
		for i := range batch {
			in := &batch[i]
			v := &in.Visit
			if v.ID == "" {
				return fmt.Errorf("records[%d].id: missing: %w", i, hq.ErrInvalid)
			}
			if v.StoreID != storeID {
				return fmt.Errorf("records[%d].store_id: %q in a batch of store %q: %w", i, v.StoreID, storeID, hq.ErrInvalid)
			}
			if v.CustomerKey != "" && !customerkey.Valid(v.CustomerKey) {
				return fmt.Errorf("records[%d].customer_key: want 32 lower-case hex characters: %w", i, hq.ErrInvalid)
			}
			vk := pair(storeID, v.ID)
			if vb.Get(vk) != nil || s.unscopedTombs && vb.Get(pair("", v.ID)) != nil {
				res.Duplicates++
				continue
			}
			body := in.Raw
			if body == nil {
				var err error
				if body, err = json.Marshal(v); err != nil {
					return fmt.Errorf("encode visit %s: %w", v.ID, err)
				}
			}
			if err := vb.Put(vk, body); err != nil {
				return fmt.Errorf("put visit %s: %w", v.ID, err)
			}
			if err := indexVisit(tx, v); err != nil {
				return err
			}
			k := string(rollupKey(storeID, flows.VisitDay(*v), v.PharmacistID))
			c := deltas[k]
			if c == nil {
				c = &flows.Rollup{}
				deltas[k] = c
			}
			contrib := flows.VisitContribution(*v)
			c.Merge(contrib)
			addCV(cvDeltas, v.ContentVersion, storeID, flows.VisitDay(*v), v.PharmacistID, contrib)
			for _, ev := range in.Points {
				credited, err := recordEvent(tx, ev)
				if err != nil {
					return fmt.Errorf("records[%d]: %w", i, err)
				}
				if credited {
					points[string(pair(ev.StoreID, ev.PharmacistID))] += int64(ev.Points)
				}
			}
			for _, it := range in.FollowUps {
				if it.FollowUp.StoreID != v.StoreID {
					return fmt.Errorf("records[%d]: follow-up %s of store %q in a visit of store %q: %w", i, it.FollowUp.ID, it.FollowUp.StoreID, v.StoreID, hq.ErrInvalid)
				}
				if err := scheduleFollowUp(tx, it); err != nil {
					return fmt.Errorf("records[%d]: %w", i, err)
				}
			}
			if err := appendAudit(tx, in.Audit); err != nil {
				return err
			}
			if err := appendFlags(tx, in.Flags); err != nil {
				return err
			}
			res.Accepted++
			res.AcceptedIDs = append(res.AcceptedIDs, v.ID)
		}
		// Totals once per pharmacist, not once per record.
		tb := tx.Bucket(bPTotals)
		for _, k := range slices.Sorted(maps.Keys(points)) {
			if err := addPoints(tb, []byte(k), points[k]); err != nil {
				return fmt.Errorf("credit points: %w", err)
			}
		}
		if err := mergeRollups(tx.Bucket(bRollupsCV), cvDeltas); err != nil {
			return err
		}
		return applyRollups(tx, deltas)
	})
	if err != nil {
		return hq.IngestResult{}, err
	}
	return res, nil
}

// outcomePurged is the outcome of the tombstone PurgeBefore leaves of a visit.
const outcomePurged = "purged"

// Visit implements hq.VisitStore.
func (s *Store) Visit(ctx context.Context, storeID, id string) (flows.Visit, error) {
	var v flows.Visit
	err := s.view(ctx, "get visit", func(tx *bolt.Tx) error {
		b := tx.Bucket(bVisits).Get(pair(storeID, id))
		if b == nil {
			return hq.ErrNotFound
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("decode visit %s/%s: %w", storeID, id, err)
		}
		if v.Outcome == outcomePurged {
			return hq.ErrNotFound
		}
		return nil
	})
	return v, err
}

// VisitsWithID implements hq.VisitStore: one scan of the visits (a store's ids are
// not indexed across stores; its callers are rare — WeCom contact bindings).
func (s *Store) VisitsWithID(ctx context.Context, id string) ([]flows.Visit, error) {
	out := []flows.Visit{}
	suffix := append([]byte{0}, id...)
	err := s.view(ctx, "visits with id", func(tx *bolt.Tx) error {
		return tx.Bucket(bVisits).ForEach(func(k, b []byte) error {
			if !bytes.HasSuffix(k, suffix) || bytes.IndexByte(k, 0) != len(k)-len(suffix) {
				return nil
			}
			var v flows.Visit
			if err := json.Unmarshal(b, &v); err != nil {
				return fmt.Errorf("decode visit %q: %w", k, err)
			}
			if v.Outcome != outcomePurged {
				out = append(out, v)
			}
			return nil
		})
	})
	return out, err
}

// VisitIDs lists the ids of every visit the file holds (without their stores), purged
// ones included (tools and
// the crash suite, which checks that HQ holds each acknowledged record exactly once).
func (s *Store) VisitIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.view(ctx, "list visits", func(tx *bolt.Tx) error {
		return tx.Bucket(bVisits).ForEach(func(k, _ []byte) error {
			_, id := splitPair(k)
			ids = append(ids, id)
			return nil
		})
	})
	return ids, err
}
