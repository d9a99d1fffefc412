package pgstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
)

// factRow is one visit_facts row.
type factRow struct {
	id, store string
	day       int32
	key       []byte // nil: no customer
	complete  bool
	fact      []byte
}

func factRowOf(v *flows.Visit, storeID string) (factRow, error) {
	f := effect.VisitFactOf(*v)
	b, err := f.MarshalBinary()
	if err != nil {
		return factRow{}, err
	}
	r := factRow{id: v.ID, store: storeID, day: int32(flows.VisitDay(*v)), complete: f.Complete, fact: b}
	if v.CustomerKey != "" {
		if r.key, err = keyBytes(v.CustomerKey); err != nil {
			return factRow{}, err
		}
	}
	return r, nil
}

// insertFacts writes visit facts (ON CONFLICT DO NOTHING: a fact never changes).
func insertFacts(ctx context.Context, tx execer, rs []factRow) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	ids, stores, keys, facts := make([]string, n), make([]string, n), make([][]byte, n), make([][]byte, n)
	days, complete := make([]int32, n), make([]bool, n)
	for i, r := range rs {
		ids[i], stores[i], days[i], keys[i], complete[i], facts[i] = r.id, r.store, r.day, r.key, r.complete, r.fact
	}
	_, err := tx.Exec(ctx, `INSERT INTO visit_facts (id, store_id, day, customer_key, complete, fact)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::bytea[], $5::bool[], $6::bytea[]) ORDER BY 1
		ON CONFLICT (store_id, id) DO NOTHING`, ids, stores, days, keys, complete, facts)
	return err
}

func scanFacts(rows pgx.Rows, what string, fn func(effect.VisitFact) error) error {
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return wrap(what, err)
		}
		var f effect.VisitFact
		if err := f.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		f.StartedAt = f.StartedAt.In(flows.Shanghai())
		if err := fn(f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(what, err)
	}
	return nil
}

// EffectVisits implements hq.EffectStore.
func (s *Store) EffectVisits(ctx context.Context, store string, from, to flows.Day, fn func(effect.VisitFact) error) error {
	var rows pgx.Rows
	var err error
	if store != "" {
		rows, err = s.pool.Query(ctx, `SELECT fact FROM visit_facts WHERE store_id = $1 AND day BETWEEN $2 AND $3`, store, int32(from), int32(to))
	} else {
		rows, err = s.pool.Query(ctx, `SELECT fact FROM visit_facts WHERE day BETWEEN $1 AND $2`, int32(from), int32(to))
	}
	if err != nil {
		return wrap("effect visits", err)
	}
	return scanFacts(rows, "effect visits", fn)
}

func keysOf(customers []string) ([][]byte, error) {
	out := make([][]byte, len(customers))
	for i, c := range customers {
		b, err := keyBytes(c)
		if err != nil {
			return nil, fmt.Errorf("customers[%d]: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// CustomerEffectVisits implements hq.EffectStore.
func (s *Store) CustomerEffectVisits(ctx context.Context, customers []string, from, to flows.Day, fn func(effect.VisitFact) error) error {
	keys, err := keysOf(customers)
	if err != nil {
		return fmt.Errorf("customer effect visits: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT fact FROM visit_facts
		WHERE complete AND customer_key = ANY($1) AND day BETWEEN $2 AND $3 ORDER BY customer_key, day, id`, keys, int32(from), int32(to))
	if err != nil {
		return wrap("customer effect visits", err)
	}
	return scanFacts(rows, "customer effect visits", fn)
}

const purchaseSelect = `SELECT customer_key, id, store_id, sold_at, drug_code, ingredient, atc, quantity, days_supply, amount_fen, receipt_id, kind FROM purchases `

func scanPurchases(rows pgx.Rows, what string, fn func(*effect.PurchaseFact) error) error {
	defer rows.Close()
	var last []byte
	var key string
	var f effect.PurchaseFact
	for rows.Next() {
		var ck []byte
		var id, receipt string
		var sold time.Time
		var supply int32
		var amount *int64
		f = effect.PurchaseFact{}
		if err := rows.Scan(&ck, &id, &f.StoreID, &sold, &f.DrugCode, &f.Ingredient, &f.ATC, &f.Quantity, &supply, &amount, &receipt, &f.Kind); err != nil {
			return wrap(what, err)
		}
		if !slices.Equal(ck, last) {
			last, key = ck, hex.EncodeToString(ck)
		}
		f.CustomerKey, f.DaysSupply = key, int(supply)
		f.Day, f.Second = effect.DayAndSecond(sold)
		if amount != nil {
			f.AmountFen, f.HasAmount = *amount, true
		}
		f.Receipt = effect.ReceiptKeyOf([]byte(f.StoreID), []byte(receipt), []byte(id))
		if err := fn(&f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(what, err)
	}
	return nil
}

// CustomerPurchases implements hq.EffectStore.
func (s *Store) CustomerPurchases(ctx context.Context, customers []string, from, to flows.Day, fn func(*effect.PurchaseFact) error) error {
	keys, err := keysOf(customers)
	if err != nil {
		return fmt.Errorf("customer purchases: %w", err)
	}
	rows, err := s.pool.Query(ctx, purchaseSelect+`WHERE customer_key = ANY($1) AND day BETWEEN $2 AND $3 ORDER BY customer_key, sold_at, id`,
		keys, int32(from), int32(to))
	if err != nil {
		return wrap("customer purchases", err)
	}
	return scanPurchases(rows, "customer purchases", fn)
}

// EffectCustomers implements hq.EffectStore.
func (s *Store) EffectCustomers(ctx context.Context, store string, from, to flows.Day) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT customer_key FROM purchases WHERE store_id = $1 AND day BETWEEN $2 AND $3
		UNION SELECT customer_key FROM visit_facts WHERE store_id = $1 AND day BETWEEN $2 AND $3 AND customer_key IS NOT NULL`,
		store, int32(from), int32(to))
	if err != nil {
		return nil, wrap("effect customers", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, wrap("effect customers", err)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = hex.EncodeToString(k)
	}
	slices.Sort(out)
	return out, nil
}

// EffectPurchases implements hq.EffectStore: rows in customer order (the history index).
func (s *Store) EffectPurchases(ctx context.Context, from, to flows.Day, fn func(*effect.PurchaseFact) error) error {
	rows, err := s.pool.Query(ctx, purchaseSelect+`WHERE day BETWEEN $1 AND $2 ORDER BY customer_key, sold_at, id`, int32(from), int32(to))
	if err != nil {
		return wrap("effect purchases", err)
	}
	return scanPurchases(rows, "effect purchases", fn)
}

// EffectFollowUps implements hq.EffectStore.
func (s *Store) EffectFollowUps(ctx context.Context, store string, from, to flows.Day, fn func(effect.FollowUpFact) error) error {
	var rows pgx.Rows
	var err error
	const cols = `SELECT id, store_id, due_at, sent_at, opened_at FROM followups `
	if store != "" {
		rows, err = s.pool.Query(ctx, cols+`WHERE store_id = $1 AND due_day BETWEEN $2 AND $3`, store, int32(from), int32(to))
	} else {
		rows, err = s.pool.Query(ctx, cols+`WHERE due_day BETWEEN $1 AND $2`, int32(from), int32(to))
	}
	if err != nil {
		return wrap("effect follow-ups", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f effect.FollowUpFact
		var sent, opened *time.Time
		if err := rows.Scan(&f.FollowUpID, &f.StoreID, &f.DueAt, &sent, &opened); err != nil {
			return wrap("effect follow-ups", err)
		}
		if sent != nil {
			f.SentAt = *sent
		}
		if opened != nil {
			f.OpenedAt = *opened
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap("effect follow-ups", err)
	}
	return nil
}

// forgetFacts removes a forgotten customer's key from their visits' facts.
func forgetFacts(ctx context.Context, tx pgx.Tx, ck []byte) error {
	rows, err := tx.Query(ctx, `SELECT store_id, id, fact FROM visit_facts WHERE customer_key = $1 ORDER BY store_id, id FOR UPDATE`, ck)
	if err != nil {
		return err
	}
	type rewrite struct {
		store, id string
		fact      []byte
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rewrite, error) {
		var w rewrite
		err := r.Scan(&w.store, &w.id, &w.fact)
		return w, err
	})
	if err != nil {
		return err
	}
	for _, w := range found {
		var f effect.VisitFact
		if err := f.UnmarshalBinary(w.fact); err != nil {
			return fmt.Errorf("visit fact %s: %w", w.id, err)
		}
		f.CustomerKey = ""
		b, err := f.MarshalBinary()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE visit_facts SET customer_key = NULL, fact = $3 WHERE store_id = $1 AND id = $2`, w.store, w.id, b); err != nil {
			return err
		}
	}
	return nil
}

// backfillFacts gives the visits stored before migration 0002 their facts, once
// (effect_backfill), in transactions of purgeChunk visits; processes starting together
// may both work, harmlessly (ON CONFLICT DO NOTHING).
func (s *Store) backfillFacts(ctx context.Context) error {
	var done bool
	if err := s.pool.QueryRow(ctx, `SELECT done FROM effect_backfill`).Scan(&done); err != nil {
		return fmt.Errorf("effect backfill: %w", classify(err))
	}
	if done {
		return nil
	}
	total, afterStore, afterID := 0, "", ""
	for {
		rows, err := s.pool.Query(ctx, `SELECT v.id, v.store_id, v.body FROM visits v
			WHERE (v.store_id, v.id) > ($1, $2) AND NOT v.purged AND v.body IS NOT NULL ORDER BY v.store_id, v.id LIMIT $3`, afterStore, afterID, purgeChunk)
		if err != nil {
			return fmt.Errorf("effect backfill: %w", classify(err))
		}
		type rec struct {
			id, store string
			body      []byte
		}
		recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rec, error) {
			var x rec
			err := r.Scan(&x.id, &x.store, &x.body)
			return x, err
		})
		if err != nil {
			return fmt.Errorf("effect backfill: %w", classify(err))
		}
		if len(recs) == 0 {
			break
		}
		var fs []factRow
		for _, x := range recs {
			var v flows.Visit
			if err := json.Unmarshal(x.body, &v); err != nil {
				return fmt.Errorf("effect backfill: visit %s: %w", x.id, err)
			}
			r, err := factRowOf(&v, x.store)
			if err != nil {
				return fmt.Errorf("effect backfill: visit %s: %w", x.id, err)
			}
			fs = append(fs, r)
		}
		if err := s.tx(ctx, "effect backfill", func(tx pgx.Tx) error { return insertFacts(ctx, tx, fs) }); err != nil {
			return err
		}
		total += len(recs)
		afterStore, afterID = recs[len(recs)-1].store, recs[len(recs)-1].id
	}
	if _, err := s.pool.Exec(ctx, `UPDATE effect_backfill SET done = true`); err != nil {
		return fmt.Errorf("effect backfill: %w", classify(err))
	}
	if total > 0 {
		s.log.Info("effect report facts built for existing visits", "visits", total)
	}
	return nil
}
