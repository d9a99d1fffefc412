// Package boltstore is the embedded HQ storage (hq.Store) on a bbolt file.
//
// Layout (one bucket each):
//
//	tokens    sha256-hex(token)               → JSON hq.Principal
//	visits    visit id                        → JSON flows.Visit (dedup by id)
//	purchases purchase id                     → customer key (16 bytes) (dedup by id)
//	phist     custkey(16) day(4) purchase id  → compact purchase (history index)
//	rollups   store 0x00 day(4) pharmacist    → flows.Rollup, fixed binary (completion report)
//	rollups_sd store 0x00 day(4)              → the same summed over pharmacists
//	pevents   points event id                 → JSON flows.PointsEvent (idempotent credit)
//	ptotals   store 0x00 pharmacist           → int64 points
//	roster    store 0x00 pharmacist id        → JSON flows.Pharmacist
//
// Other packages (the follow-up dispatcher) may keep their own buckets in the same
// file through DB(), and hook into record ingest with Options.OnVisit, which runs in
// the ingest transaction.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

var (
	bTokens    = []byte("tokens")
	bVisits    = []byte("visits")
	bPurchases = []byte("purchases")
	bHist      = []byte("phist")
	bRollups   = []byte("rollups")
	bRollupsSD = []byte("rollups_sd")
	bPEvents   = []byte("pevents")
	bPTotals   = []byte("ptotals")
	bRoster    = []byte("roster")
	bMeta      = []byte("meta")

	allBuckets = [][]byte{bTokens, bVisits, bPurchases, bHist, bRollups, bRollupsSD, bPEvents, bPTotals, bRoster, bMeta}
)

// Options configures a Store.
type Options struct {
	// Logger receives storage logs; nil: discard.
	Logger *slog.Logger
	// OnVisit, if set, runs for every NEW visit of an ingest batch inside the ingest
	// transaction (after the visit and its points events are written; the batch's
	// rollups and point totals are merged once, at the end of the same transaction).
	// Returning an error aborts the whole batch (nothing of it is stored). The
	// follow-up dispatcher uses it to enqueue due follow-ups atomically with the record.
	OnVisit func(tx *bolt.Tx, v flows.Visit) error
	// NoSync disables fsync (tests and generators only; never in production).
	NoSync bool
	// Timeout waits this long for the file lock (another process holding it); 0: 2 s.
	Timeout time.Duration
}

// Store is hq.Store on bbolt.
type Store struct {
	db   *bolt.DB
	opts Options
	log  *slog.Logger
}

var _ hq.Store = (*Store)(nil)

// Open opens (creating if needed) the HQ database file at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open hq store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init hq store %s: %w", path, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{db: db, opts: opts, log: log}, nil
}

// DB exposes the bbolt handle so other HQ parts can keep their buckets in the same file.
func (s *Store) DB() *bolt.DB { return s.db }

// Close closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close hq store: %w", err)
	}
	return nil
}

// PutToken implements hq.Store.
func (s *Store) PutToken(ctx context.Context, hash string, p hq.Principal) error {
	if hash == "" {
		return fmt.Errorf("put token: empty hash: %w", hq.ErrInvalid)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	return s.update(ctx, "put token", func(tx *bolt.Tx) error {
		return tx.Bucket(bTokens).Put([]byte(hash), b)
	})
}

// LookupToken implements hq.Store.
func (s *Store) LookupToken(ctx context.Context, hash string) (hq.Principal, error) {
	var p hq.Principal
	err := s.view(ctx, "lookup token", func(tx *bolt.Tx) error {
		v := tx.Bucket(bTokens).Get([]byte(hash))
		if v == nil {
			return hq.ErrNotFound
		}
		return json.Unmarshal(v, &p)
	})
	return p, err
}

// IngestVisits implements hq.Store.
func (s *Store) IngestVisits(ctx context.Context, storeID string, batch []hq.VisitIngest) (hq.IngestResult, error) {
	var res hq.IngestResult
	err := s.update(ctx, "ingest visits", func(tx *bolt.Tx) error {
		res = hq.IngestResult{}
		vb := tx.Bucket(bVisits)
		deltas := map[string]*flows.Rollup{}
		points := map[string]int64{} // store 0x00 pharmacist → points credited by the batch
		for i := range batch {
			v := &batch[i].Visit
			if v.ID == "" {
				return fmt.Errorf("records[%d].id: missing: %w", i, hq.ErrInvalid)
			}
			if vb.Get([]byte(v.ID)) != nil {
				res.Duplicates++
				continue
			}
			body := batch[i].Raw
			if body == nil {
				var err error
				if body, err = json.Marshal(v); err != nil {
					return fmt.Errorf("encode visit %s: %w", v.ID, err)
				}
			}
			if err := vb.Put([]byte(v.ID), body); err != nil {
				return fmt.Errorf("put visit %s: %w", v.ID, err)
			}
			k := string(rollupKey(storeID, VisitDay(*v), v.PharmacistID))
			c := deltas[k]
			if c == nil {
				c = &flows.Rollup{}
				deltas[k] = c
			}
			c.Merge(flows.VisitContribution(*v))
			for _, ev := range batch[i].Points {
				credited, err := recordEvent(tx, ev)
				if err != nil {
					return err
				}
				if credited {
					points[string(pair(ev.StoreID, ev.PharmacistID))] += int64(ev.Points)
				}
			}
			if s.opts.OnVisit != nil {
				if err := s.opts.OnVisit(tx, *v); err != nil {
					return fmt.Errorf("on-visit hook for %s: %w", v.ID, err)
				}
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
		return applyRollups(tx, deltas)
	})
	if err != nil {
		return hq.IngestResult{}, err
	}
	return res, nil
}

// IngestPurchases implements hq.Store.
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
			res.Accepted++
		}
		return nil
	})
	if err != nil {
		return hq.IngestResult{}, err
	}
	return res, nil
}

// History implements hq.Store.
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
	return out, nil
}

// Completion implements hq.Store. Reports that need no pharmacist detail read the
// store×day rollups (one row per store and day); the others the store×day×pharmacist
// rollups. Rows are merged straight from their encoding, allocation-free per row.
func (s *Store) Completion(ctx context.Context, q hq.CompletionQuery) ([]hq.CompletionGroup, error) {
	to := q.To
	if to == 0 {
		to = math.MaxInt32 - 1
	}
	from := q.From
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
			day := dayFrom(k[i+1 : i+5])
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

// CreditPoints implements hq.Store: credits ev once, in its own transaction.
func (s *Store) CreditPoints(ctx context.Context, ev flows.PointsEvent) (bool, error) {
	var credited bool
	err := s.update(ctx, "credit points", func(tx *bolt.Tx) error {
		var err error
		credited, err = CreditPointsTx(tx, ev)
		return err
	})
	return credited, err
}

// CreditPointsTx credits ev inside tx, once per event id (a repeated id credits
// nothing and returns false). Use it from hooks that already hold a transaction.
func CreditPointsTx(tx *bolt.Tx, ev flows.PointsEvent) (bool, error) {
	credited, err := recordEvent(tx, ev)
	if err != nil || !credited {
		return credited, err
	}
	if err := addPoints(tx.Bucket(bPTotals), pair(ev.StoreID, ev.PharmacistID), int64(ev.Points)); err != nil {
		return false, fmt.Errorf("credit points %s: %w", ev.ID, err)
	}
	return true, nil
}

// recordEvent stores ev under its id unless it is there already (credited=false); the
// caller adds its points to the totals.
func recordEvent(tx *bolt.Tx, ev flows.PointsEvent) (bool, error) {
	if ev.ID == "" || ev.StoreID == "" || ev.PharmacistID == "" {
		return false, fmt.Errorf("credit points: event needs id, store_id and pharmacist_id: %w", hq.ErrInvalid)
	}
	eb := tx.Bucket(bPEvents)
	if eb.Get([]byte(ev.ID)) != nil {
		return false, nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("credit points %s: %w", ev.ID, err)
	}
	if err := eb.Put([]byte(ev.ID), b); err != nil {
		return false, fmt.Errorf("credit points %s: %w", ev.ID, err)
	}
	return true, nil
}

// addPoints adds n to the total under k (store 0x00 pharmacist).
func addPoints(tb *bolt.Bucket, k []byte, n int64) error {
	var total int64
	if v := tb.Get(k); len(v) == 8 {
		total = int64(binary.BigEndian.Uint64(v))
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(total+n))
	return tb.Put(k, buf[:])
}

// Points implements hq.Store.
func (s *Store) Points(ctx context.Context, storeID, pharmacistID string) ([]wire.PointsRow, error) {
	var rows []wire.PointsRow
	err := s.view(ctx, "points", func(tx *bolt.Tx) error {
		c := tx.Bucket(bPTotals).Cursor()
		var prefix []byte
		if storeID != "" {
			prefix = append([]byte(storeID), 0)
		}
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			st, ph, ok := bytes.Cut(k, []byte{0})
			if !ok || len(v) != 8 {
				return fmt.Errorf("corrupt points total %q", k)
			}
			if pharmacistID != "" && string(ph) != pharmacistID {
				continue
			}
			rows = append(rows, wire.PointsRow{StoreID: string(st), PharmacistID: string(ph), Points: int(int64(binary.BigEndian.Uint64(v)))})
		}
		return nil
	})
	if rows == nil {
		rows = []wire.PointsRow{}
	}
	return rows, err
}

// PutPharmacist implements hq.Store.
func (s *Store) PutPharmacist(ctx context.Context, p flows.Pharmacist) error {
	if p.StoreID == "" || p.ID == "" {
		return fmt.Errorf("put pharmacist: store_id and id are required: %w", hq.ErrInvalid)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("put pharmacist: %w", err)
	}
	return s.update(ctx, "put pharmacist", func(tx *bolt.Tx) error {
		return tx.Bucket(bRoster).Put(pair(p.StoreID, p.ID), b)
	})
}

// Roster implements hq.Store.
func (s *Store) Roster(ctx context.Context, storeID string) ([]flows.Pharmacist, error) {
	out := []flows.Pharmacist{}
	err := s.view(ctx, "roster", func(tx *bolt.Tx) error {
		c := tx.Bucket(bRoster).Cursor()
		prefix := append([]byte(storeID), 0)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p flows.Pharmacist
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode pharmacist %q: %w", k, err)
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// Visit returns a stored visit by id (ErrNotFound if absent).
func (s *Store) Visit(ctx context.Context, id string) (flows.Visit, error) {
	var v flows.Visit
	err := s.view(ctx, "get visit", func(tx *bolt.Tx) error {
		b := tx.Bucket(bVisits).Get([]byte(id))
		if b == nil {
			return hq.ErrNotFound
		}
		return json.Unmarshal(b, &v)
	})
	return v, err
}

// VisitDay is the local day a visit counts on: the day it started (Asia/Shanghai).
func VisitDay(v flows.Visit) flows.Day { return flows.DayOf(v.StartedAt) }

// Rollup is one pre-aggregated row: what a store's pharmacist did on one day.
type Rollup struct {
	StoreID, PharmacistID string
	Day                   flows.Day
	Rollup                flows.Rollup
}

// AddRollups merges pre-aggregated rows into the daily rollups in one transaction,
// through the same code path record ingest uses. It serves bulk loads (migrating a
// chain's history, benchmark data sets); it stores no visits and credits no points.
func (s *Store) AddRollups(ctx context.Context, rows []Rollup) error {
	deltas := make(map[string]*flows.Rollup, len(rows))
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
	}
	return s.update(ctx, "add rollups", func(tx *bolt.Tx) error { return applyRollups(tx, deltas) })
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

// dayBytes encodes a day so that byte order is numeric order (sign bit flipped).
func dayBytes(b []byte, d flows.Day) {
	binary.BigEndian.PutUint32(b, uint32(d)^0x80000000)
}

func dayFrom(b []byte) flows.Day { return flows.Day(int32(binary.BigEndian.Uint32(b) ^ 0x80000000)) }

func rollupKey(store string, d flows.Day, pharm string) []byte {
	k := make([]byte, 0, len(store)+5+len(pharm))
	k = append(k, store...)
	k = append(k, 0, 0, 0, 0, 0)
	dayBytes(k[len(store)+1:], d)
	return append(k, pharm...)
}

func pair(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// keyBytes decodes a customer key (32 lower-case hex characters) to 16 bytes.
func keyBytes(key string) ([]byte, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("want 32 lower-case hex characters, got %d characters: %w", len(key), hq.ErrInvalid)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, fmt.Errorf("want 32 lower-case hex characters: %w", hq.ErrInvalid)
		}
	}
	b, err := hex.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, hq.ErrInvalid)
	}
	return b, nil
}

func histKey(ck []byte, d flows.Day, id string) []byte {
	k := make([]byte, 20, 20+len(id))
	copy(k, ck)
	dayBytes(k[16:], d)
	return append(k, id...)
}

// encodePurchase is a compact binary form (history rows are the bulk of HQ's data).
func encodePurchase(p *flows.Purchase) []byte {
	b := make([]byte, 0, 64+len(p.ID)+len(p.Name)+len(p.Ingredient))
	b = append(b, 1) // version
	for _, s := range []string{p.ID, p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, p.SoldAt.Unix())
	b = binary.AppendUvarint(b, uint64(p.SoldAt.Nanosecond()))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Quantity))
	b = binary.AppendVarint(b, int64(p.DaysSupply))
	return b
}

var errCorrupt = errors.New("corrupt purchase encoding")

func decodePurchase(b []byte) (flows.Purchase, error) {
	var p flows.Purchase
	if len(b) == 0 || b[0] != 1 {
		return p, errCorrupt
	}
	b = b[1:]
	var strs [6]string
	for i := range strs {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return p, errCorrupt
		}
		strs[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	p.ID, p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC = strs[0], strs[1], strs[2], strs[3], strs[4], strs[5]
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
	p.SoldAt = time.Unix(sec, int64(ns)).In(flows.Shanghai)
	p.Quantity = math.Float64frombits(binary.BigEndian.Uint64(b))
	b = b[8:]
	ds, w := binary.Varint(b)
	if w <= 0 {
		return p, errCorrupt
	}
	p.DaysSupply = int(ds)
	return p, nil
}

func (s *Store) update(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (s *Store) view(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := s.db.View(fn); err != nil {
		if errors.Is(err, hq.ErrNotFound) {
			return err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
