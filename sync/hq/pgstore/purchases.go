package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq"
)

// copyThreshold: purchase imports at least this large go through COPY into a
// temporary table (then one INSERT … SELECT … ON CONFLICT DO NOTHING); smaller ones
// are one INSERT over arrays.
const copyThreshold = 2000

var purchaseCols = []string{"id", "customer_key", "day", "store_id", "sold_at", "drug_code", "name",
	"ingredient", "atc", "quantity", "days_supply", "amount_fen", "receipt_id", "kind"}

// IngestPurchases implements hq.PurchaseStore.
func (s *Store) IngestPurchases(ctx context.Context, ps []flows.Purchase) (hq.IngestResult, error) {
	keys := make([][]byte, len(ps))
	for i := range ps {
		p := &ps[i]
		if p.ID == "" {
			return hq.IngestResult{}, fmt.Errorf("purchases[%d].id: missing: %w", i, hq.ErrInvalid)
		}
		ck, err := keyBytes(p.CustomerKey)
		if err != nil {
			return hq.IngestResult{}, fmt.Errorf("purchases[%d].customer_key: %w", i, err)
		}
		keys[i] = ck
	}
	var res hq.IngestResult
	err := s.tx(ctx, "ingest purchases", func(tx pgx.Tx) error {
		var n int64
		var err error
		if len(ps) >= copyThreshold {
			n, err = copyPurchases(ctx, tx, ps, keys)
		} else {
			n, err = insertPurchases(ctx, tx, ps, keys)
		}
		res = hq.IngestResult{Accepted: int(n), Duplicates: len(ps) - int(n)}
		return err
	})
	if err != nil {
		return hq.IngestResult{}, err
	}
	return res, nil
}

func insertPurchases(ctx context.Context, tx pgx.Tx, ps []flows.Purchase, keys [][]byte) (int64, error) {
	n := len(ps)
	ids, stores, codes, names, ingr, atcs, receipts, kinds := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	days, supply := make([]int32, n), make([]int32, n)
	sold := make([]time.Time, n)
	qty := make([]float64, n)
	amounts := make([]*int64, n)
	for i := range ps {
		p := &ps[i]
		ids[i], stores[i], codes[i], names[i], ingr[i], atcs[i], receipts[i], kinds[i] = p.ID, p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC, p.ReceiptID, p.Kind
		days[i], supply[i], sold[i], qty[i], amounts[i] = int32(flows.DayOf(p.SoldAt)), int32(p.DaysSupply), p.SoldAt, p.Quantity, p.AmountFen
	}
	tag, err := tx.Exec(ctx, `INSERT INTO purchases (id, customer_key, day, store_id, sold_at, drug_code, name, ingredient, atc, quantity, days_supply, amount_fen, receipt_id, kind)
		SELECT * FROM unnest($1::text[], $2::bytea[], $3::int4[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[], $10::float8[], $11::int4[], $12::int8[], $13::text[], $14::text[])
		ORDER BY 1
		ON CONFLICT (id) DO NOTHING`,
		ids, keys, days, stores, sold, codes, names, ingr, atcs, qty, supply, amounts, receipts, kinds)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func copyPurchases(ctx context.Context, tx pgx.Tx, ps []flows.Purchase, keys [][]byte) (int64, error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE purchases_in (LIKE purchases) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	i := 0
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"purchases_in"}, purchaseCols, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(ps) {
			return nil, nil
		}
		p := &ps[i]
		row := []any{p.ID, keys[i], int32(flows.DayOf(p.SoldAt)), p.StoreID, p.SoldAt, p.DrugCode, p.Name,
			p.Ingredient, p.ATC, p.Quantity, int32(p.DaysSupply), p.AmountFen, p.ReceiptID, p.Kind}
		i++
		return row, nil
	}))
	if err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO purchases SELECT * FROM purchases_in ORDER BY id ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// History implements hq.PurchaseStore.
func (s *Store) History(ctx context.Context, customerKey string, from, to flows.Day) ([]flows.Purchase, error) {
	ck, err := keyBytes(customerKey)
	if err != nil {
		return nil, fmt.Errorf("history: customer_key: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, store_id, sold_at, drug_code, name, ingredient, atc, quantity, days_supply, amount_fen, receipt_id, kind
		FROM purchases WHERE customer_key = $1 AND sold_at >= $2 AND sold_at < $3 ORDER BY sold_at, id`, ck, from.Time(), (to + 1).Time())
	if err != nil {
		return nil, wrap("history", err)
	}
	defer rows.Close()
	var out []flows.Purchase
	for rows.Next() {
		p := flows.Purchase{CustomerKey: customerKey}
		var supply int32
		if err := rows.Scan(&p.ID, &p.StoreID, &p.SoldAt, &p.DrugCode, &p.Name, &p.Ingredient, &p.ATC, &p.Quantity, &supply, &p.AmountFen, &p.ReceiptID, &p.Kind); err != nil {
			return nil, wrap("history", err)
		}
		p.DaysSupply = int(supply)
		p.SoldAt = p.SoldAt.In(flows.Shanghai())
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("history", err)
	}
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
