package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
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
			if err := hb.Put(histKey(ck, flows.DayOf(p.SoldAt), p.ID), encodePurchase(p)); err != nil {
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
			p, err := decodePurchase(v)
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

func histKey(ck []byte, d flows.Day, id string) []byte {
	k := make([]byte, 20, 20+len(id))
	copy(k, ck)
	dayBytes(k[16:], d)
	return append(k, id...)
}

// Purchase encodings: version 1 (before amount, receipt and kind), version 2.
const (
	purchaseV1 = 1
	purchaseV2 = 2
)

// encodePurchase is a compact binary form (history rows are the bulk of HQ's data).
func encodePurchase(p *flows.Purchase) []byte {
	b := make([]byte, 0, 72+len(p.ID)+len(p.Name)+len(p.Ingredient)+len(p.ReceiptID))
	b = append(b, purchaseV2)
	for _, s := range []string{p.ID, p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC, p.ReceiptID, p.Kind} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, p.SoldAt.Unix())
	b = binary.AppendUvarint(b, uint64(p.SoldAt.Nanosecond()))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Quantity))
	b = binary.AppendVarint(b, int64(p.DaysSupply))
	if p.AmountFen != nil {
		b = append(b, 1)
		b = binary.AppendVarint(b, *p.AmountFen)
	} else {
		b = append(b, 0)
	}
	return b
}

var errCorrupt = errors.New("corrupt purchase encoding")

func decodePurchase(b []byte) (flows.Purchase, error) {
	var p flows.Purchase
	if len(b) == 0 || (b[0] != purchaseV1 && b[0] != purchaseV2) {
		return p, errCorrupt
	}
	v2 := b[0] == purchaseV2
	b = b[1:]
	strs := make([]string, 6, 8)
	if v2 {
		strs = strs[:8]
	}
	for i := range strs {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return p, errCorrupt
		}
		strs[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	p.ID, p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC = strs[0], strs[1], strs[2], strs[3], strs[4], strs[5]
	if v2 {
		p.ReceiptID, p.Kind = strs[6], strs[7]
	}
	sec, w := binary.Varint(b)
	if w <= 0 {
		return p, errCorrupt
	}
	b = b[w:]
	ns, w := binary.Uvarint(b)
	if w <= 0 || len(b) < w+8 {
		return p, errCorrupt
	}
	b = b[w:]
	p.SoldAt = time.Unix(sec, int64(ns)).In(flows.Shanghai())
	p.Quantity = math.Float64frombits(binary.BigEndian.Uint64(b))
	b = b[8:]
	ds, w := binary.Varint(b)
	if w <= 0 {
		return p, errCorrupt
	}
	p.DaysSupply = int(ds)
	b = b[w:]
	if v2 {
		if len(b) == 0 {
			return p, errCorrupt
		}
		if b[0] == 1 {
			amt, w := binary.Varint(b[1:])
			if w <= 0 {
				return p, errCorrupt
			}
			p.AmountFen = &amt
		}
	}
	return p, nil
}
