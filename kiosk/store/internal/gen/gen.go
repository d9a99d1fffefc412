// Package gen builds deterministic benchmark data for the kiosk store: a drug catalog and
// a large purchase history (by default 1 M purchases of 10 k customers), written once
// into a cache directory keyed by the parameters and reused by later runs.
package gen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

// Version changes whenever the generated data changes shape; it is part of the cache key.
const Version = 2

// Params describe a data set. The zero value of a field takes the default.
type Params struct {
	Customers int       // default 10 000
	Purchases int       // default 1 000 000 (spread evenly over the customers)
	Seed      uint64    // default 1
	AsOf      flows.Day // the newest sale day; default 2026-06-30
	SpanDays  int       // purchases lie in (AsOf−SpanDays, AsOf]; default 1095 (3 years)
}

// Default is the ScanToAlert benchmark data set: 1 M purchases of 10 k customers.
func Default() Params { return Params{}.withDefaults() }

func (p Params) withDefaults() Params {
	if p.Customers <= 0 {
		p.Customers = 10_000
	}
	if p.Purchases <= 0 {
		p.Purchases = 1_000_000
	}
	if p.Seed == 0 {
		p.Seed = 1
	}
	if p.AsOf == 0 {
		p.AsOf = flows.DayFromDate(2026, 6, 30)
	}
	if p.SpanDays <= 0 {
		p.SpanDays = 3 * 365
	}
	return p
}

// Drugs is the catalog the generated purchases refer to: chronic drugs of the three
// classes plus some others. A few generated purchases use codes not in it.
func Drugs() []flows.Drug {
	return []flows.Drug{
		{Code: "6901000000011", Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 28},
		{Code: "6901000000028", Name: "缬沙坦胶囊", Ingredient: "valsartan", ATC: "C09CA03", PackDaysSupply: 28},
		{Code: "6901000000035", Name: "酒石酸美托洛尔片", Ingredient: "metoprolol", ATC: "C07AB02", PackDaysSupply: 30},
		{Code: "6901000000042", Name: "氢氯噻嗪片", Ingredient: "hydrochlorothiazide", ATC: "C03AA03", PackDaysSupply: 30},
		{Code: "6901000000059", Name: "盐酸二甲双胍片", Ingredient: "metformin", ATC: "A10BA02", PackDaysSupply: 30},
		{Code: "6901000000066", Name: "格列美脲片", Ingredient: "glimepiride", ATC: "A10BB12", PackDaysSupply: 30},
		{Code: "6901000000073", Name: "阿托伐他汀钙片", Ingredient: "atorvastatin", ATC: "C10AA05", PackDaysSupply: 28},
		{Code: "6901000000080", Name: "瑞舒伐他汀钙片", Ingredient: "rosuvastatin", ATC: "C10AA07", PackDaysSupply: 28},
		{Code: "6901000000097", Name: "布洛芬缓释胶囊", Ingredient: "ibuprofen", ATC: "M01AE01", PackDaysSupply: 0},
		{Code: "6901000000103", Name: "维生素C片", Ingredient: "ascorbic acid", ATC: "A11GA01", PackDaysSupply: 0},
	}
}

// CustomerKeys returns the customers' keys in generation order (ascending key order).
func CustomerKeys(p Params) []string {
	p = p.withDefaults()
	keys := make([]string, p.Customers)
	for i := range keys {
		h := sha256.Sum256(fmt.Appendf(nil, "gen-customer-%d-%d", p.Seed, i))
		keys[i] = hex.EncodeToString(h[:16])
	}
	slices.Sort(keys)
	return keys
}

// Generate calls emit with the purchases of each customer in turn (ascending customer
// key, so that store inserts arrive in key order). The data depend only on p.
func Generate(p Params, emit func(customer []flows.Purchase) error) error {
	p = p.withDefaults()
	drugs := Drugs()
	chronic := drugs[:8]
	keys := CustomerKeys(p)
	rng := rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))
	sale := 0
	for ci, key := range keys {
		n := p.Purchases / p.Customers
		if ci < p.Purchases%p.Customers {
			n++
		}
		// 2–4 regular chronic drugs, refilled about every pack (some late: gaps).
		k := 2 + rng.IntN(3)
		regular := make([]flows.Drug, k)
		for i := range regular {
			regular[i] = chronic[rng.IntN(len(chronic))]
		}
		// Adherence profile: most refill on time, some late, some stopped a drug lately.
		late := 6
		switch r := rng.IntN(100); {
		case r >= 85:
			late = 30
		case r >= 55:
			late = 15
		}
		next := make([]int, k) // days back from AsOf of each drug's next (older) fill
		for i := range next {
			next[i] = rng.IntN(35)
			if rng.IntN(100) < 12 {
				next[i] = 20 + rng.IntN(60) // stopped: no fill in the last weeks
			}
		}
		ps := make([]flows.Purchase, 0, n)
		for len(ps) < n {
			i := rng.IntN(k)
			back := next[i]
			if back >= p.SpanDays { // this drug's history is full; spread the rest anywhere
				back = rng.IntN(p.SpanDays)
			}
			d := regular[i]
			qty := 1.0
			days := d.PackDaysSupply
			switch r := rng.IntN(100); {
			case r < 3: // unknown drug code
				d = flows.Drug{Code: fmt.Sprintf("POS-%05d", rng.IntN(500))}
				days = 0
			case r < 10: // occasional non-chronic purchase
				d = drugs[8+rng.IntN(2)]
				days = 0
			case r < 40: // days' supply left to the catalog
				days = 0
				if rng.IntN(3) == 0 {
					qty = 2
				}
			}
			sale++
			soldAt := (p.AsOf - flows.Day(back)).Time().Add(time.Duration(8*3600+rng.IntN(12*3600)) * time.Second)
			ps = append(ps, flows.Purchase{
				ID: fmt.Sprintf("S%03d:%09d:%s", 1+sale%40, sale, d.Code), CustomerKey: key,
				StoreID: fmt.Sprintf("S%03d", 1+sale%40), SoldAt: soldAt, DrugCode: d.Code,
				Quantity: qty, DaysSupply: days,
			})
			step := regular[i].PackDaysSupply
			if step == 0 {
				step = 30
			}
			next[i] += step - 3 + rng.IntN(late+4) // refill interval: pack days − 3 … + late
		}
		if err := emit(ps); err != nil {
			return err
		}
	}
	return nil
}

// CacheDir is where built data sets are kept: $PHARMACHAIN_BENCH_CACHE, else
// os.UserCacheDir()/pharmachain-bench, else $TMPDIR/pharmachain-bench.
func CacheDir() string {
	if d := os.Getenv("PHARMACHAIN_BENCH_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pharmachain-bench")
	}
	return filepath.Join(os.TempDir(), "pharmachain-bench")
}

// FileName is the cache file name of a data set: it encodes every parameter, the
// generator version and the store schema, so a change builds a new file.
func FileName(p Params) string {
	p = p.withDefaults()
	return fmt.Sprintf("kiosk-store-s%d-g%d-c%d-p%d-seed%d-asof%s-span%d.db",
		store.SchemaVersion, Version, p.Customers, p.Purchases, p.Seed, p.AsOf, p.SpanDays)
}

// Build returns the path of a store file holding the catalog and the purchases of p,
// building it in dir on first use (to a temporary name, renamed when complete, so an
// interrupted build is never mistaken for a finished one).
func Build(ctx context.Context, dir string, p Params) (string, error) {
	p = p.withDefaults()
	path := filepath.Join(dir, FileName(p))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("bench data: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("bench data: %w", err)
	}
	tmp := fmt.Sprintf("%s.building-%d", path, os.Getpid())
	_ = os.Remove(tmp)
	s, err := store.Open(tmp, store.Options{NoSync: true})
	if err != nil {
		return "", fmt.Errorf("bench data: %w", err)
	}
	fail := func(err error) (string, error) {
		_ = s.Close()
		_ = os.Remove(tmp)
		return "", fmt.Errorf("bench data: %w", err)
	}
	if err := s.PutCatalog(Drugs()); err != nil {
		return fail(err)
	}
	var batch []flows.Purchase
	flush := func() error {
		if _, _, err := s.PutPurchases(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	err = Generate(p, func(ps []flows.Purchase) error {
		batch = append(batch, ps...)
		if len(batch) >= 50_000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fail(err)
	}
	if err := s.Close(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("bench data: %w", err)
	}
	// NoSync was on while building: sync the finished file once, then publish it.
	if f, err := os.OpenFile(tmp, os.O_RDWR, 0); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("bench data: %w", err)
	}
	return path, nil
}
