package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
)

// History values (phist) are purchases in the form the kiosk's store uses too
// (flows/codec). Files written before hold HQ's own versions 1 and 2; Open rewrites them
// once, in bounded transactions, and then marks the file in meta.

// metaPurchaseCodec marks a file whose phist values are all in the flows/codec form.
var metaPurchaseCodec = []byte("purchase_codec")

// errOldPurchaseCodec: a file not yet rewritten, opened read-only.
var errOldPurchaseCodec = errors.New("the purchase history is in the form of an older HQ: open the file read-write once (any hq verb with --data) to upgrade it")

// migratePurchaseCodec rewrites every phist value in an older form, chunk by chunk (a
// crash between chunks is resumed at the next Open: rewritten values are skipped), then
// sets the mark. It runs before anything reads phist.
func migratePurchaseCodec(db *bolt.DB, log func(msg string, args ...any)) error {
	done := false
	if err := db.View(func(tx *bolt.Tx) error {
		done = tx.Bucket(bMeta).Get(metaPurchaseCodec) != nil
		return nil
	}); err != nil || done {
		return err
	}
	var after []byte
	n := 0
	for last := false; !last; {
		err := db.Update(func(tx *bolt.Tx) error {
			type kv struct{ k, v []byte }
			var rewrites []kv
			c := tx.Bucket(bHist).Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for i := 0; k != nil && i < purgeChunk; k, v = c.Next() {
				i++
				after = bytes.Clone(k)
				if len(v) > 0 && v[0] == codec.Version {
					continue
				}
				p, err := decodeV2Hist(v)
				if err != nil {
					return fmt.Errorf("purchase history %q: %w", k, err)
				}
				rewrites = append(rewrites, kv{after, codec.EncodePurchase(&p)})
			}
			last = k == nil
			for _, r := range rewrites {
				if err := tx.Bucket(bHist).Put(r.k, r.v); err != nil {
					return err
				}
			}
			n += len(rewrites)
			if last {
				return tx.Bucket(bMeta).Put(metaPurchaseCodec, []byte{'0' + codec.Version})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("rewrite the purchase history: %w", err)
		}
	}
	if n > 0 {
		log("purchase history rewritten in the shared codec", "purchases", n)
	}
	return nil
}

// checkPurchaseCodec refuses a read-only open of a file whose history is not rewritten
// yet (an empty history needs no rewrite).
func checkPurchaseCodec(tx *bolt.Tx) error {
	if m := tx.Bucket(bMeta); m != nil && m.Get(metaPurchaseCodec) != nil {
		return nil
	}
	if h := tx.Bucket(bHist); h != nil {
		if k, _ := h.Cursor().First(); k != nil {
			return errOldPurchaseCodec
		}
	}
	return nil
}

// decodeV2Hist reads a phist value written by HQ before the shared codec:
//
//	1 byte   version: 1, or 2 (amount, receipt and kind added)
//	n × (uvarint length, bytes): id, store id, drug code, name, ingredient, ATC
//	                             (n = 6), then receipt id, kind (n = 8, version 2)
//	varint   sold_at unix seconds
//	uvarint  sold_at nanoseconds
//	8 bytes  quantity (IEEE 754 bits, big-endian)
//	varint   days' supply
//	version 2: 1 byte 0 (no amount) or 1 followed by the varint amount in fen
//
// The id is in the key as well; the customer key only there.
func decodeV2Hist(b []byte) (flows.Purchase, error) {
	var p flows.Purchase
	bad := errors.New("corrupt version 1/2 purchase encoding")
	if len(b) == 0 || (b[0] != 1 && b[0] != 2) {
		return p, bad
	}
	v2 := b[0] == 2
	b = b[1:]
	strs := make([]string, 6, 8)
	if v2 {
		strs = strs[:8]
	}
	for i := range strs {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return p, bad
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
		return p, bad
	}
	b = b[w:]
	ns, w := binary.Uvarint(b)
	if w <= 0 || ns >= 1e9 || len(b) < w+8 {
		return p, bad
	}
	b = b[w:]
	p.SoldAt = time.Unix(sec, int64(ns)).In(flows.Shanghai())
	p.Quantity = math.Float64frombits(binary.BigEndian.Uint64(b))
	b = b[8:]
	ds, w := binary.Varint(b)
	if w <= 0 || ds < math.MinInt32 || ds > math.MaxInt32 {
		return p, bad
	}
	p.DaysSupply = int(ds)
	b = b[w:]
	if v2 {
		if len(b) == 0 {
			return p, bad
		}
		if b[0] == 1 {
			amt, w := binary.Varint(b[1:])
			if w <= 0 {
				return p, bad
			}
			p.AmountFen = &amt
		}
	}
	return p, nil
}
