package boltstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hq"
)

// The effect report's indexes (hq.EffectStore), written with the records they index:
//
//	eff_visits  store 0x00 day(4) visit id          → effect.VisitFact (binary)
//	eff_cust    custkey(16) day(4) store 0x00 visit id → the fact again: the customer's complete visits
//	eff_pstore  store 0x00 day(4) custkey(16)        → nil: a customer bought at the store that day
//	eff_fuday   store 0x00 due day(4) follow-up id   → nil
//
// A file from before them is indexed once when opened (indexEffect, meta "effect_index").
var (
	bEffVisits = []byte("eff_visits")
	bEffCust   = []byte("eff_cust")
	bEffPStore = []byte("eff_pstore")
	bEffFUDay  = []byte("eff_fuday")
	effBuckets = [][]byte{bEffVisits, bEffCust, bEffPStore, bEffFUDay}

	metaEffectIndex = []byte("effect_index")
)

// storeDayKey is store 0x00 day(4) suffix.
func storeDayKey(store string, d flows.Day, suffix []byte) []byte {
	k := make([]byte, 0, len(store)+5+len(suffix))
	k = append(k, store...)
	k = append(k, 0, 0, 0, 0, 0)
	codec.PutDay(k[len(store)+1:], d)
	return append(k, suffix...)
}

// splitStoreDay parses storeDayKey.
func splitStoreDay(k []byte) (store []byte, d flows.Day, suffix []byte, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 || len(k) < i+5 {
		return nil, 0, nil, false
	}
	return k[:i], codec.Day(k[i+1 : i+5]), k[i+5:], true
}

// indexVisit writes a new visit's effect facts.
func indexVisit(tx *bolt.Tx, v *flows.Visit) error {
	f := effect.VisitFactOf(*v)
	b, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	d := flows.VisitDay(*v)
	if err := tx.Bucket(bEffVisits).Put(storeDayKey(v.StoreID, d, []byte(v.ID)), b); err != nil {
		return fmt.Errorf("index visit %s: %w", v.ID, err)
	}
	if !f.Complete || v.CustomerKey == "" {
		return nil
	}
	ck, err := keyBytes(v.CustomerKey)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bEffCust).Put(histKey(ck, d, v.StoreID+"\x00"+v.ID), b); err != nil {
		return fmt.Errorf("index visit %s: %w", v.ID, err)
	}
	return nil
}

// indexPurchase notes that a customer bought at a store on a day.
func indexPurchase(tx *bolt.Tx, store string, d flows.Day, ck []byte) error {
	return tx.Bucket(bEffPStore).Put(storeDayKey(store, d, ck), nil)
}

// indexFollowUp notes a follow-up by store and due day.
func indexFollowUp(tx *bolt.Tx, f flows.FollowUp) error {
	return tx.Bucket(bEffFUDay).Put(storeDayKey(f.StoreID, flows.DayOf(f.DueAt), []byte(f.ID)), nil)
}

// EffectVisits implements hq.EffectStore.
func (s *Store) EffectVisits(ctx context.Context, store string, from, to flows.Day, fn func(effect.VisitFact) error) error {
	return s.view(ctx, "effect visits", func(tx *bolt.Tx) error {
		c := tx.Bucket(bEffVisits).Cursor()
		visit := func(k, v []byte) error {
			var f effect.VisitFact
			if err := f.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("visit fact %q: %w", k, err)
			}
			return fn(f)
		}
		n := 0
		if store != "" {
			end := storeDayKey(store, to+1, nil)
			for k, v := c.Seek(storeDayKey(store, from, nil)); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
				if n++; n%4096 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				if err := visit(k, v); err != nil {
					return err
				}
			}
			return nil
		}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			_, d, _, ok := splitStoreDay(k)
			if !ok {
				return fmt.Errorf("corrupt visit fact key %q", k)
			}
			if d < from || d > to {
				continue
			}
			if err := visit(k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// CustomerEffectVisits implements hq.EffectStore.
func (s *Store) CustomerEffectVisits(ctx context.Context, customers []string, from, to flows.Day, fn func(effect.VisitFact) error) error {
	cks, err := keysBytes(customers)
	if err != nil {
		return fmt.Errorf("customer effect visits: %w", err)
	}
	return s.view(ctx, "customer effect visits", func(tx *bolt.Tx) error {
		c := tx.Bucket(bEffCust).Cursor()
		facts := tx.Bucket(bEffVisits)
		for i, ck := range cks {
			if i%256 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			end := histKey(ck, to+1, "")
			for k, v := c.Seek(histKey(ck, from, "")); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
				var f effect.VisitFact
				if f.UnmarshalBinary(v) != nil {
					// An entry of the first layout holds the store id: the fact is in eff_visits.
					id := k[20:]
					if i := bytes.IndexByte(id, 0); i >= 0 {
						id = id[i+1:]
					}
					fk := storeDayKey(string(v), codec.Day(k[16:20]), id)
					b := facts.Get(fk)
					if b == nil {
						return fmt.Errorf("visit fact %q indexed for a customer but missing", fk)
					}
					if err := f.UnmarshalBinary(b); err != nil {
						return fmt.Errorf("visit fact %q: %w", fk, err)
					}
				}
				if err := fn(f); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func keysBytes(keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		b, err := keyBytes(k)
		if err != nil {
			return nil, fmt.Errorf("customers[%d]: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// CustomerPurchases implements hq.EffectStore: the history rows decoded straight
// into facts (strings interned per call, the receipt key hashed from the raw bytes).
func (s *Store) CustomerPurchases(ctx context.Context, customers []string, from, to flows.Day, fn func(*effect.PurchaseFact) error) error {
	cks, err := keysBytes(customers)
	if err != nil {
		return fmt.Errorf("customer purchases: %w", err)
	}
	return s.view(ctx, "customer purchases", func(tx *bolt.Tx) error {
		c := tx.Bucket(bHist).Cursor()
		in := interner{}
		var f effect.PurchaseFact
		for i, ck := range cks {
			if i%256 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			end := histKey(ck, to+1, "")
			for k, v := c.Seek(histKey(ck, from, "")); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
				if err := decodePurchaseFact(k, v, &f, in); err != nil {
					return fmt.Errorf("decode purchase %q: %w", k, err)
				}
				f.CustomerKey = customers[i]
				if err := fn(&f); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// interner returns one string per distinct byte sequence (store ids, drug codes,
// ingredients, ATC codes and kinds repeat across purchases).
type interner map[string]string

func (in interner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// decodePurchaseFact reads a history row (key k, value v in the flows/codec form) into
// an effect fact without copying strings it has seen before.
func decodePurchaseFact(k, v []byte, f *effect.PurchaseFact, in interner) error {
	if len(k) < histKeyPrefix {
		return fmt.Errorf("history key %x: too short", k)
	}
	r, err := codec.DecodeRaw(v)
	if err != nil {
		return err
	}
	*f = effect.PurchaseFact{StoreID: in.str(r.StoreID), DrugCode: in.str(r.DrugCode), Ingredient: in.str(r.Ingredient),
		ATC: in.str(r.ATC), Kind: in.str(r.Kind), Receipt: effect.ReceiptKeyOf(r.StoreID, r.ReceiptID, k[histKeyPrefix:]),
		Quantity: r.Quantity, DaysSupply: r.DaysSupply, AmountFen: r.AmountFen, HasAmount: r.HasAmount}
	f.Day, f.Second = effect.DayAndSecond(time.Unix(r.Sec, 0))
	return nil
}

// EffectCustomers implements hq.EffectStore.
func (s *Store) EffectCustomers(ctx context.Context, store string, from, to flows.Day) ([]string, error) {
	seen := map[string]bool{}
	err := s.view(ctx, "effect customers", func(tx *bolt.Tx) error {
		start, end := storeDayKey(store, from, nil), storeDayKey(store, to+1, nil)
		c := tx.Bucket(bEffPStore).Cursor()
		for k, _ := c.Seek(start); k != nil && bytes.Compare(k, end) < 0; k, _ = c.Next() {
			_, _, ck, ok := splitStoreDay(k)
			if !ok || len(ck) != 16 {
				return fmt.Errorf("corrupt purchase index key %q", k)
			}
			seen[hex.EncodeToString(ck)] = true
		}
		c = tx.Bucket(bEffVisits).Cursor()
		for k, v := c.Seek(start); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			var f effect.VisitFact
			if err := f.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("visit fact %q: %w", k, err)
			}
			if f.CustomerKey != "" {
				seen[f.CustomerKey] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

// EffectPurchases implements hq.EffectStore: one pass over the history index, which
// is ordered by customer.
func (s *Store) EffectPurchases(ctx context.Context, from, to flows.Day, fn func(*effect.PurchaseFact) error) error {
	return s.view(ctx, "effect purchases", func(tx *bolt.Tx) error {
		c := tx.Bucket(bHist).Cursor()
		n := 0
		var lastCK []byte
		var key string
		in := interner{}
		var f effect.PurchaseFact
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if len(k) < 20 {
				return fmt.Errorf("corrupt history key %q", k)
			}
			if d := codec.Day(k[16:20]); d < from || d > to {
				continue
			}
			if err := decodePurchaseFact(k, v, &f, in); err != nil {
				return fmt.Errorf("decode purchase %q: %w", k, err)
			}
			if !bytes.Equal(lastCK, k[:16]) {
				lastCK = append(lastCK[:0], k[:16]...)
				key = hex.EncodeToString(lastCK)
			}
			f.CustomerKey = key
			if err := fn(&f); err != nil {
				return err
			}
		}
		return nil
	})
}

// EffectFollowUps implements hq.EffectStore.
func (s *Store) EffectFollowUps(ctx context.Context, store string, from, to flows.Day, fn func(effect.FollowUpFact) error) error {
	return s.view(ctx, "effect follow-ups", func(tx *bolt.Tx) error {
		c := tx.Bucket(bEffFUDay).Cursor()
		item := func(id []byte) error {
			it, ok, err := getItem(tx, string(id))
			if err != nil || !ok {
				return err
			}
			return fn(effect.FollowUpFact{FollowUpID: it.FollowUp.ID, StoreID: it.FollowUp.StoreID, DueAt: it.FollowUp.DueAt,
				SentAt: it.SentAt, OpenedAt: it.OpenedAt})
		}
		n := 0
		var k []byte
		if store != "" {
			k, _ = c.Seek(storeDayKey(store, from, nil))
		} else {
			k, _ = c.First()
		}
		for ; k != nil; k, _ = c.Next() {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			st, d, id, ok := splitStoreDay(k)
			if !ok {
				return fmt.Errorf("corrupt follow-up index key %q", k)
			}
			if store != "" && (string(st) != store || d > to) {
				break
			}
			if d < from || d > to {
				continue
			}
			if err := item(id); err != nil {
				return err
			}
		}
		return nil
	})
}

// forgetEffect scrubs a forgotten customer from the effect indexes: the facts of their
// visits lose the key, their complete-visit and purchase index entries go.
func forgetEffect(tx *bolt.Tx, customerKey string, ck []byte) error {
	cb := tx.Bucket(bEffCust)
	var drop [][]byte
	c := cb.Cursor()
	for k, _ := c.Seek(ck); k != nil && bytes.HasPrefix(k, ck); k, _ = c.Next() {
		drop = append(drop, bytes.Clone(k))
	}
	for _, k := range drop {
		if err := cb.Delete(k); err != nil {
			return err
		}
	}
	vb := tx.Bucket(bEffVisits)
	type rewrite struct{ k, v []byte }
	var rewrites []rewrite
	needle := []byte(customerKey)
	if err := vb.ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, needle) {
			return nil
		}
		var f effect.VisitFact
		if err := f.UnmarshalBinary(v); err != nil {
			return fmt.Errorf("visit fact %q: %w", k, err)
		}
		if f.CustomerKey != customerKey {
			return nil
		}
		f.CustomerKey = ""
		b, err := f.MarshalBinary()
		if err != nil {
			return err
		}
		rewrites = append(rewrites, rewrite{bytes.Clone(k), b})
		return nil
	}); err != nil {
		return err
	}
	for _, r := range rewrites {
		if err := vb.Put(r.k, r.v); err != nil {
			return err
		}
	}
	pb := tx.Bucket(bEffPStore)
	drop = drop[:0]
	if err := pb.ForEach(func(k, _ []byte) error {
		if bytes.HasSuffix(k, ck) {
			drop = append(drop, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range drop {
		if err := pb.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// purgeEffect deletes the effect index entries dated before cutoff, in chunks.
func (s *Store) purgeEffect(ctx context.Context, cutoff flows.Day) error {
	dayOf := map[string]func(k []byte) (flows.Day, bool){
		string(bEffVisits): func(k []byte) (flows.Day, bool) { _, d, _, ok := splitStoreDay(k); return d, ok },
		string(bEffPStore): func(k []byte) (flows.Day, bool) { _, d, _, ok := splitStoreDay(k); return d, ok },
		string(bEffCust): func(k []byte) (flows.Day, bool) {
			if len(k) < 20 {
				return 0, false
			}
			return codec.Day(k[16:20]), true
		},
	}
	for _, name := range [][]byte{bEffVisits, bEffCust, bEffPStore} {
		for {
			n := 0
			err := s.update(ctx, "purge effect index", func(tx *bolt.Tx) error {
				b := tx.Bucket(name)
				var keys [][]byte
				c := b.Cursor()
				for k, _ := c.First(); k != nil && len(keys) < purgeChunk; k, _ = c.Next() {
					if d, ok := dayOf[string(name)](k); ok && d < cutoff {
						keys = append(keys, bytes.Clone(k))
					}
				}
				for _, k := range keys {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				n = len(keys)
				return nil
			})
			if err != nil {
				return err
			}
			if n < purgeChunk {
				break
			}
		}
	}
	return nil
}

// indexEffect builds the effect indexes of a file written before they existed: every
// visit, purchase and follow-up is indexed, in transactions of at most purgeChunk
// records, then meta effect_index is set. An interrupted run is simply redone.
func indexEffect(db *bolt.DB, log func(msg string, args ...any)) error {
	done := false
	if err := db.View(func(tx *bolt.Tx) error {
		done = tx.Bucket(bMeta).Get(metaEffectIndex) != nil
		return nil
	}); err != nil || done {
		return err
	}
	var counts [3]int
	step := func(src []byte, index func(tx *bolt.Tx, k, v []byte) error, count *int) error {
		var after []byte
		for {
			var keys, vals [][]byte
			if err := db.View(func(tx *bolt.Tx) error {
				c := tx.Bucket(src).Cursor()
				var k, v []byte
				if after == nil {
					k, v = c.First()
				} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
				for ; k != nil && len(keys) < purgeChunk; k, v = c.Next() {
					keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
				}
				return nil
			}); err != nil {
				return err
			}
			if len(keys) == 0 {
				return nil
			}
			if err := db.Update(func(tx *bolt.Tx) error {
				for i := range keys {
					if err := index(tx, keys[i], vals[i]); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
			*count += len(keys)
			after = keys[len(keys)-1]
		}
	}
	if err := step(bVisits, func(tx *bolt.Tx, k, v []byte) error {
		var vis flows.Visit
		if err := json.Unmarshal(v, &vis); err != nil {
			return fmt.Errorf("visit %s: %w", k, err)
		}
		if vis.Outcome == outcomePurged || vis.StartedAt.IsZero() {
			return nil
		}
		return indexVisit(tx, &vis)
	}, &counts[0]); err != nil {
		return fmt.Errorf("index visits for the effect report: %w", err)
	}
	if err := step(bHist, func(tx *bolt.Tx, k, v []byte) error {
		if len(k) < 20 {
			return fmt.Errorf("corrupt history key %q", k)
		}
		p, err := decodeHist(k, v)
		if err != nil {
			return fmt.Errorf("purchase %q: %w", k, err)
		}
		return indexPurchase(tx, p.StoreID, codec.Day(k[16:20]), k[:16])
	}, &counts[1]); err != nil {
		return fmt.Errorf("index purchases for the effect report: %w", err)
	}
	if err := step(bItems, func(tx *bolt.Tx, k, v []byte) error {
		var it hq.FollowUpItem
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("follow-up %s: %w", k, err)
		}
		return indexFollowUp(tx, it.FollowUp)
	}, &counts[2]); err != nil {
		return fmt.Errorf("index follow-ups for the effect report: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(metaEffectIndex, []byte("1")) }); err != nil {
		return err
	}
	if counts != [3]int{} {
		log("effect report indexes built for existing records", "visits", counts[0], "purchases", counts[1], "followups", counts[2])
	}
	return nil
}
