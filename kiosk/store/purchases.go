package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/flows/customerkey"
)

// purchaseKeyPrefix is the length of customer key (32) + day (4) in a purchase key.
const purchaseKeyPrefix = 32 + codec.DayLen

func purchaseKey(customerKey string, day flows.Day, id string) []byte {
	k := make([]byte, 0, purchaseKeyPrefix+len(id))
	k = append(k, customerKey...)
	k = codec.AppendDay(k, day)
	return append(k, id...)
}

// decodePurchase rebuilds a purchase from its key (customer key, day, id) and its value
// (flows/codec).
func decodePurchase(k, v []byte) (flows.Purchase, error) {
	if len(k) < purchaseKeyPrefix {
		return flows.Purchase{}, fmt.Errorf("purchase key %x: too short", k)
	}
	p, err := codec.DecodePurchase(v)
	if err != nil {
		return flows.Purchase{}, fmt.Errorf("decode purchase %q: %w", k[purchaseKeyPrefix:], err)
	}
	p.ID, p.CustomerKey = string(k[purchaseKeyPrefix:]), string(k[:32])
	return p, nil
}

func checkPurchase(p *flows.Purchase) error {
	switch {
	case p.ID == "":
		return fmt.Errorf("purchase without id")
	case len(p.ID) > 256:
		return fmt.Errorf("purchase id longer than 256 bytes")
	case !customerkey.Valid(p.CustomerKey):
		return fmt.Errorf("purchase %s: customer key must be 32 lower-case hex characters", p.ID)
	case p.SoldAt.IsZero():
		return fmt.Errorf("purchase %s: no sale time", p.ID)
	case p.DrugCode == "":
		return fmt.Errorf("purchase %s: no drug code", p.ID)
	case math.IsNaN(p.Quantity) || math.IsInf(p.Quantity, 0) || p.Quantity < 0:
		return fmt.Errorf("purchase %s: quantity %v", p.ID, p.Quantity)
	case p.DaysSupply < 0:
		return fmt.Errorf("purchase %s: negative days' supply", p.ID)
	}
	return nil
}

// PutPurchases stores purchases (imported from the POS, or learned from HQ and cached).
// A purchase whose id is already stored is a duplicate and is not written again.
// The whole batch is one transaction; if any purchase is malformed nothing is written
// and the error (ErrInvalid) names it.
func (s *Store) PutPurchases(ctx context.Context, ps []flows.Purchase) (added, dup int, err error) {
	return s.putPurchases(ctx, ps, false)
}

// QueuePurchases stores purchases like PutPurchases and, in the same transaction, queues
// each newly added one for HQ (an outbox entry of kind "purchase"), so that HQ's
// chain-wide history learns this store's sales. Duplicates are not queued again.
func (s *Store) QueuePurchases(ctx context.Context, ps []flows.Purchase) (added, dup int, err error) {
	return s.putPurchases(ctx, ps, true)
}

func (s *Store) putPurchases(ctx context.Context, ps []flows.Purchase, queue bool) (added, dup int, err error) {
	type enc struct {
		key, val []byte
		id       string
		body     []byte
	}
	encs := make([]enc, len(ps))
	for i := range ps {
		p := ps[i]
		if err := checkPurchase(&p); err != nil {
			return 0, 0, fmt.Errorf("put purchases: item %d: %w: %w", i, ErrInvalid, err)
		}
		var body []byte
		if queue {
			if body, err = json.Marshal(p); err != nil {
				return 0, 0, fmt.Errorf("put purchases: encode %s: %w", p.ID, err)
			}
		}
		key := purchaseKey(p.CustomerKey, flows.DayOf(p.SoldAt), p.ID)
		encs[i] = enc{key: key, val: codec.EncodePurchase(&p), id: p.ID, body: body}
	}
	// bbolt nodes only split at commit, so many puts into one node are quadratic unless
	// they arrive in key order: insert purchases sorted by key and the id index by id.
	byKey := make([]int, len(encs))
	for i := range byKey {
		byKey[i] = i
	}
	slices.SortFunc(byKey, func(a, b int) int { return bytes.Compare(encs[a].key, encs[b].key) })
	err = s.update(ctx, func(tx *bolt.Tx) error {
		added, dup = 0, 0
		pb, ids := tx.Bucket(bPurchases), tx.Bucket(bPurchaseIDs)
		seen := make(map[string]bool, len(encs))
		fresh := make([]int, 0, len(encs))
		isFresh := make([]bool, len(encs))
		for i, e := range encs {
			if seen[e.id] || ids.Get([]byte(e.id)) != nil {
				dup++
				continue
			}
			seen[e.id] = true
			isFresh[i] = true
			fresh = append(fresh, i)
		}
		for _, i := range byKey {
			if isFresh[i] {
				if err := pb.Put(encs[i].key, encs[i].val); err != nil {
					return err
				}
			}
		}
		byID := slices.Clone(fresh)
		slices.SortFunc(byID, func(a, b int) int { return strings.Compare(encs[a].id, encs[b].id) })
		for _, i := range byID {
			if err := ids.Put([]byte(encs[i].id), encs[i].key); err != nil {
				return err
			}
		}
		if queue {
			for _, i := range fresh {
				if _, err := appendEntry(tx, kindPurchase, encs[i].id, encs[i].body); err != nil {
					return err
				}
			}
		}
		added = len(fresh)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("put purchases: %w", err)
	}
	s.log.Debug("purchases stored", "added", added, "duplicates", dup, "queued", queue)
	return added, dup, nil
}

// History returns the customer's purchases dated from..to (inclusive, local dates) in
// date order: one cursor range over the purchases bucket.
func (s *Store) History(ctx context.Context, customerKey string, from, to flows.Day) ([]flows.Purchase, error) {
	if !customerkey.Valid(customerKey) {
		return nil, fmt.Errorf("history: %w: customer key must be 32 lower-case hex characters", ErrInvalid)
	}
	var out []flows.Purchase
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = history(tx, customerKey, from, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return out, nil
}

func history(tx *bolt.Tx, customerKey string, from, to flows.Day) ([]flows.Purchase, error) {
	if from > to {
		return nil, nil
	}
	start := purchaseKey(customerKey, from, "")
	end := purchaseKey(customerKey, to, "")
	var out []flows.Purchase
	c := tx.Bucket(bPurchases).Cursor()
	for k, v := c.Seek(start); k != nil && bytes.Compare(k[:min(len(k), purchaseKeyPrefix)], end) <= 0; k, v = c.Next() {
		p, err := decodePurchase(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// PurchaseCount returns the number of stored purchases.
func (s *Store) PurchaseCount(ctx context.Context) (int, error) {
	var n int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		n = tx.Bucket(bPurchaseIDs).Stats().KeyN
		return nil
	})
	return n, err
}

// PutCatalog replaces the drug catalog (seeded by the caller from assets on first run,
// or updated from a newer catalog file).
func (s *Store) PutCatalog(drugs []flows.Drug) error {
	vals := make([][]byte, len(drugs))
	for i, d := range drugs {
		if d.Code == "" {
			return fmt.Errorf("put catalog: item %d: %w: drug without code", i, ErrInvalid)
		}
		v, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("put catalog: encode %s: %w", d.Code, err)
		}
		vals[i] = v
	}
	err := s.update(context.Background(), func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bCatalog); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bCatalog)
		if err != nil {
			return err
		}
		for i, d := range drugs {
			if err := b.Put([]byte(d.Code), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put catalog: %w", err)
	}
	return nil
}

// Drugs returns the stored catalog entries in code order (empty before the first
// PutCatalog).
func (s *Store) Drugs() ([]flows.Drug, error) {
	var out []flows.Drug
	err := s.view(context.Background(), func(tx *bolt.Tx) error {
		return tx.Bucket(bCatalog).ForEach(func(k, v []byte) error {
			var d flows.Drug
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("drug %q: %w", k, err)
			}
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return out, nil
}

// Catalog returns the stored drug catalog, indexed for lookups by every code (empty
// before the first PutCatalog; the caller seeds it from assets on first run).
func (s *Store) Catalog() (*flows.Catalog, error) {
	drugs, err := s.Drugs()
	if err != nil {
		return nil, err
	}
	return flows.NewCatalog(drugs), nil
}
