package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq"
)

// IngestPurchases implements hq.PurchaseStore.
func (s *Store) IngestPurchases(ctx context.Context, ps []flows.Purchase) (hq.IngestResult, error) {
	var res hq.IngestResult
	err := s.update(ctx, "ingest purchases", func(tx *bolt.Tx) error {
		res = hq.IngestResult{}
		pb := tx.Bucket(bPurchases)
		hb := tx.Bucket(bHist)
		pb.FillPercent = 0.9
		hb.FillPercent = 0.9
		for i := range ps {
			p := &ps[i]
			if p.ID == "" {
				return fmt.Errorf("purchases[%d].id: missing: %w", i, hq.ErrInvalid)
			}
			ck, err := keyBytes(p.CustomerKey)
			if err != nil {
				return fmt.Errorf("purchases[%d].customer_key: %w", i, err)
			}
			if pb.Get([]byte(p.ID)) != nil {
				res.Duplicates++
				continue
			}
			if err := pb.Put([]byte(p.ID), ck); err != nil {
				return fmt.Errorf("put purchase %s: %w", p.ID, err)
			}
			if err := hb.Put(histKey(ck, flows.DayOf(p.SoldAt), p.ID), codec.EncodePurchase(p)); err != nil {
				return fmt.Errorf("put purchase %s history: %w", p.ID, err)
			}
			if err := indexPurchase(tx, p.StoreID, flows.DayOf(p.SoldAt), ck); err != nil {
				return fmt.Errorf("index purchase %s: %w", p.ID, err)
			}
			res.Accepted++
		}
		return nil
	})
	if err != nil {
		return hq.IngestResult{}, err
	}
	return res, nil
}

// History implements hq.PurchaseStore.
func (s *Store) History(ctx context.Context, customerKey string, from, to flows.Day) ([]flows.Purchase, error) {
	ck, err := keyBytes(customerKey)
	if err != nil {
		return nil, fmt.Errorf("history: customer_key: %w", err)
	}
	var out []flows.Purchase
	err = s.view(ctx, "history", func(tx *bolt.Tx) error {
		c := tx.Bucket(bHist).Cursor()
		start := histKey(ck, from, "")
		end := histKey(ck, to+1, "")
		for k, v := c.Seek(start); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			p, err := decodeHist(k, v)
			if err != nil {
				return fmt.Errorf("decode purchase %q: %w", k, err)
			}
			p.CustomerKey = customerKey
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The index orders by day, then id; the contract wants sale time, then id.
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].SoldAt.Equal(out[j].SoldAt) {
			return out[i].SoldAt.Before(out[j].SoldAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// keyBytes is a customer key's binary form (customerkey); a malformed key is
// hq.ErrInvalid.
func keyBytes(key string) ([]byte, error) {
	b, err := customerkey.Key(key).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, hq.ErrInvalid)
	}
	return b, nil
}

// histKeyPrefix is the length of customer key (16 bytes) + day in a history key.
const histKeyPrefix = customerkey.Size + codec.DayLen

func histKey(ck []byte, d flows.Day, id string) []byte {
	k := make([]byte, histKeyPrefix, histKeyPrefix+len(id))
	copy(k, ck)
	codec.PutDay(k[customerkey.Size:], d)
	return append(k, id...)
}

// decodeHist rebuilds a purchase from its history key (customer, day, id) and its value
// (flows/codec); the customer key is the caller's. Sale times read in Asia/Shanghai, as
// HQ gives them out.
func decodeHist(k, v []byte) (flows.Purchase, error) {
	if len(k) < histKeyPrefix {
		return flows.Purchase{}, fmt.Errorf("history key %x: too short", k)
	}
	p, err := codec.DecodePurchase(v)
	if err != nil {
		return flows.Purchase{}, err
	}
	p.ID, p.SoldAt = string(k[histKeyPrefix:]), p.SoldAt.In(flows.Shanghai())
	return p, nil
}
