package pgstore

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// metricCols are a flows.Rollup's counters, in the order of rollupValues.
var metricCols = []string{"visits", "completed", "abandoned", "in_progress",
	"funnel1", "funnel2", "funnel3", "funnel4", "stalled1", "stalled2", "stalled3", "stalled4",
	"timed1", "timed2", "timed3", "timed4", "seconds1", "seconds2", "seconds3", "seconds4"}

// nInts: the first nInts metric columns are int8, the rest float8.
const nInts = 16

func rollupInts(r *flows.Rollup) [nInts]int32 {
	return [nInts]int32{int32(r.Visits), int32(r.Completed), int32(r.Abandoned), int32(r.InProgress),
		int32(r.Funnel[0]), int32(r.Funnel[1]), int32(r.Funnel[2]), int32(r.Funnel[3]),
		int32(r.Stalled[0]), int32(r.Stalled[1]), int32(r.Stalled[2]), int32(r.Stalled[3]),
		int32(r.StepTimed[0]), int32(r.StepTimed[1]), int32(r.StepTimed[2]), int32(r.StepTimed[3])}
}

func rollupFrom(ints []int64, secs []float64) flows.Rollup {
	var r flows.Rollup
	r.Visits, r.Completed, r.Abandoned, r.InProgress = int(ints[0]), int(ints[1]), int(ints[2]), int(ints[3])
	for i := 0; i < 4; i++ {
		r.Funnel[i] = int(ints[4+i])
		r.Stalled[i] = int(ints[8+i])
		r.StepTimed[i] = int(ints[12+i])
		r.StepSeconds[i] = secs[i]
	}
	return r
}

// Month is a calendar month as year*12 + month-1.
type Month int32

// MonthOf is the month of a local day.
func MonthOf(d flows.Day) Month {
	t := time.Unix(int64(d)*86400, 0).UTC()
	return Month(t.Year()*12 + int(t.Month()) - 1)
}

// FirstDay is the month's first local day.
func (m Month) FirstDay() flows.Day {
	return flows.DayFromDate(int(m)/12, time.Month(int(m)%12+1), 1)
}

// rollupKey identifies one rollup row: pharmacist "" for the per-store sums, and per
// month (period is a Month) or per day (a Day).
type rollupKey struct {
	cv     int32 // content version (content tables only)
	store  string
	period int32
	pharm  string
}

// rollupDeltas are what one commit adds to the rollups, per table.
type rollupDeltas struct {
	day, storeDay, month, storeMonth, cvDay, cvMonth map[rollupKey]*flows.Rollup
}

func newRollupDeltas() *rollupDeltas {
	return &rollupDeltas{day: map[rollupKey]*flows.Rollup{}, storeDay: map[rollupKey]*flows.Rollup{},
		month: map[rollupKey]*flows.Rollup{}, storeMonth: map[rollupKey]*flows.Rollup{},
		cvDay: map[rollupKey]*flows.Rollup{}, cvMonth: map[rollupKey]*flows.Rollup{}}
}

func addTo(m map[rollupKey]*flows.Rollup, k rollupKey, r *flows.Rollup) {
	c := m[k]
	if c == nil {
		c = &flows.Rollup{}
		m[k] = c
	}
	c.Merge(*r)
}

// add counts r for a store's pharmacist on a day with a content version, in all six
// tables.
func (d *rollupDeltas) add(store, pharm string, day flows.Day, cv int, r flows.Rollup) {
	mo := int32(MonthOf(day))
	addTo(d.day, rollupKey{0, store, int32(day), pharm}, &r)
	addTo(d.storeDay, rollupKey{0, store, int32(day), ""}, &r)
	addTo(d.month, rollupKey{0, store, mo, pharm}, &r)
	addTo(d.storeMonth, rollupKey{0, store, mo, ""}, &r)
	addTo(d.cvDay, rollupKey{int32(cv), store, int32(day), pharm}, &r)
	addTo(d.cvMonth, rollupKey{int32(cv), store, mo, pharm}, &r)
}

func (d *rollupDeltas) empty() bool { return len(d.day) == 0 }

// apply adds the deltas to the tables: one upsert per table, rows in key order so that
// concurrent commits lock rows in the same order (no deadlocks).
func (d *rollupDeltas) apply(ctx context.Context, tx execer) error {
	for _, t := range []struct {
		table, period string
		pharm, cv     bool
		m             map[rollupKey]*flows.Rollup
	}{
		{"rollup_day", "day", true, false, d.day},
		{"rollup_store_day", "day", false, false, d.storeDay},
		{"rollup_month", "month", true, false, d.month},
		{"rollup_store_month", "month", false, false, d.storeMonth},
		{"rollup_content_day", "day", true, true, d.cvDay},
		{"rollup_content_month", "month", true, true, d.cvMonth},
	} {
		if len(t.m) == 0 {
			continue
		}
		if err := upsertRollups(ctx, tx, t.table, t.period, t.pharm, t.cv, t.m, "+"); err != nil {
			return fmt.Errorf("%s: %w", t.table, err)
		}
	}
	return nil
}

// upsertRollups adds (op "+") or writes (op "=": imports) rows into table.
func upsertRollups(ctx context.Context, tx execer, table, period string, withPharm, withCV bool, m map[rollupKey]*flows.Rollup, op string) error {
	keys := make([]rollupKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.cv != b.cv {
			return a.cv < b.cv
		}
		if a.store != b.store {
			return a.store < b.store
		}
		if a.period != b.period {
			return a.period < b.period
		}
		return a.pharm < b.pharm
	})
	n := len(keys)
	stores, pharms := make([]string, n), make([]string, n)
	periods, cvs := make([]int32, n), make([]int32, n)
	ints := make([][]int32, nInts)
	for i := range ints {
		ints[i] = make([]int32, n)
	}
	secs := make([][]float64, 4)
	for i := range secs {
		secs[i] = make([]float64, n)
	}
	for i, k := range keys {
		stores[i], periods[i], pharms[i], cvs[i] = k.store, k.period, k.pharm, k.cv
		r := m[k]
		v := rollupInts(r)
		for c := range v {
			ints[c][i] = v[c]
		}
		for c := 0; c < 4; c++ {
			secs[c][i] = r.StepSeconds[c]
		}
	}
	var cols, types, sets []string
	args := []any{stores, periods}
	cols = append(cols, "store_id", period)
	types = append(types, "text[]", "int4[]")
	conflict := "store_id, " + period
	if withPharm {
		cols = append(cols, "pharmacist_id")
		types = append(types, "text[]")
		args = append(args, pharms)
		conflict += ", pharmacist_id"
	}
	if withCV {
		cols = append(cols, "content_version")
		types = append(types, "int4[]")
		args = append(args, cvs)
		conflict = "content_version, " + conflict
	}
	for i, c := range metricCols {
		cols = append(cols, c)
		if i < nInts {
			types = append(types, "int4[]")
			args = append(args, ints[i])
		} else {
			types = append(types, "float8[]")
			args = append(args, secs[i-nInts])
		}
		if op == "+" {
			sets = append(sets, fmt.Sprintf("%s = %s.%s + EXCLUDED.%s", c, table, c, c))
		} else {
			sets = append(sets, fmt.Sprintf("%s = EXCLUDED.%s", c, c))
		}
	}
	params := make([]string, len(types))
	for i, t := range types {
		params[i] = fmt.Sprintf("$%d::%s", i+1, t)
	}
	sql := fmt.Sprintf("INSERT INTO %s (%s) SELECT * FROM unnest(%s) ON CONFLICT (%s) DO UPDATE SET %s",
		table, strings.Join(cols, ", "), strings.Join(params, ", "), conflict, strings.Join(sets, ", "))
	_, err := tx.Exec(ctx, sql, args...)
	return err
}

// AddRollups implements hq.CompletionStore.
func (s *Store) AddRollups(ctx context.Context, rows []hq.RollupRow) error {
	d := newRollupDeltas()
	for i := range rows {
		r := &rows[i]
		if r.StoreID == "" {
			return fmt.Errorf("add rollups: rows[%d].store_id missing: %w", i, hq.ErrInvalid)
		}
		if r.ContentVersion < 0 {
			return fmt.Errorf("add rollups: rows[%d].content_version %d: %w", i, r.ContentVersion, hq.ErrInvalid)
		}
		d.add(r.StoreID, r.PharmacistID, r.Day, r.ContentVersion, r.Rollup)
	}
	if d.empty() {
		return nil
	}
	return s.tx(ctx, "add rollups", func(tx pgx.Tx) error { return d.apply(ctx, tx) })
}

// Completion implements hq.CompletionStore. A report over whole months reads the
// monthly rollups (12 rows per store for a year) and only its partial months' edges
// from the daily ones; a report by day reads the daily rollups.
func (s *Store) Completion(ctx context.Context, q hq.CompletionQuery) ([]hq.CompletionGroup, error) {
	sql, args := completionSQL(q)
	if sql == "" {
		return nil, nil
	}
	var out []hq.CompletionGroup
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// A chain-wide report aggregates 20 counters for thousands of stores: enough
		// memory to do it without spilling to disk.
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '64MB'"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = scanGroups(rows, q)
		return err
	})
	if err != nil {
		return nil, wrap("completion report", err)
	}
	if q.GroupBy == hq.GroupByContentVersion {
		sort.Slice(out, func(i, j int) bool { return *out[i].ContentVersion < *out[j].ContentVersion })
	} else {
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	}
	return out, nil
}

// scanGroups reads the report's rows.
func scanGroups(rows pgx.Rows, q hq.CompletionQuery) ([]hq.CompletionGroup, error) {
	defer rows.Close()
	var out []hq.CompletionGroup
	ints := make([]int64, nInts)
	secs := make([]float64, 4)
	for rows.Next() {
		var g hq.CompletionGroup
		dest := make([]any, 0, 2+len(metricCols))
		var day, cv int32
		switch q.GroupBy {
		case hq.GroupByPharmacist:
			dest = append(dest, &g.StoreID, &g.PharmacistID)
		case hq.GroupByDay:
			dest = append(dest, &day)
		case hq.GroupByContentVersion:
			dest = append(dest, &cv)
		default:
			dest = append(dest, &g.StoreID)
		}
		for i := range ints {
			dest = append(dest, &ints[i])
		}
		for i := range secs {
			dest = append(dest, &secs[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		g.Rollup = rollupFrom(ints, secs)
		switch q.GroupBy {
		case hq.GroupByPharmacist:
			g.Key = g.StoreID + "/" + g.PharmacistID
		case hq.GroupByDay:
			g.Day = flows.Day(day)
			g.Key = g.Day.String()
		case hq.GroupByContentVersion:
			n := int(cv)
			g.ContentVersion, g.Key = &n, strconv.Itoa(n)
		default:
			g.Key = g.StoreID
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// completionSQL builds the report's query.
func completionSQL(q hq.CompletionQuery) (string, []any) {
	from, to := int32(q.From), int32(q.To)
	if q.From == 0 {
		from = math.MinInt32
	}
	if q.To == 0 {
		to = math.MaxInt32
	}
	if from > to {
		return "", nil
	}
	pharmLevel := q.PharmacistID != "" || q.GroupBy == hq.GroupByPharmacist
	dayTable, monthTable := "rollup_store_day", "rollup_store_month"
	if pharmLevel {
		dayTable, monthTable = "rollup_day", "rollup_month"
	}
	keys := keyCols(pharmLevel)
	var group string
	switch q.GroupBy {
	case hq.GroupByPharmacist:
		group = "store_id, pharmacist_id"
	case hq.GroupByDay:
		group = "day"
	case hq.GroupByContentVersion:
		group = "content_version"
		dayTable, monthTable, keys = "rollup_content_day", "rollup_content_month", "content_version, store_id, pharmacist_id"
	default:
		group = "store_id"
	}
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var filter string
	if q.StoreID != "" {
		filter += " AND store_id = " + arg(q.StoreID)
	}
	if q.PharmacistID != "" {
		filter += " AND pharmacist_id = " + arg(q.PharmacistID)
	}
	sums := make([]string, len(metricCols))
	for i, c := range metricCols {
		if i < nInts {
			sums[i] = "sum(" + c + ")"
		} else {
			sums[i] = "sum(" + c + ")"
		}
	}
	metrics := strings.Join(metricCols, ", ")
	var parts []string
	dayRange := func(a, b int32) {
		if a <= b {
			parts = append(parts, fmt.Sprintf("SELECT %s, day, %s FROM %s WHERE day BETWEEN %s AND %s%s",
				keys, metrics, dayTable, arg(a), arg(b), filter))
		}
	}
	// Whole months inside [from, to]; days for the rest (all days when grouping by day).
	firstFull, lastFull := int32(math.MinInt32), int32(math.MaxInt32)
	if q.From != 0 {
		firstFull = int32(MonthOf(q.From))
		if Month(firstFull).FirstDay() != q.From {
			firstFull++
		}
	}
	if q.To != 0 {
		lastFull = int32(MonthOf(q.To))
		if Month(lastFull+1).FirstDay()-1 != q.To {
			lastFull--
		}
	}
	if q.GroupBy == hq.GroupByDay || firstFull > lastFull {
		dayRange(from, to)
	} else {
		if q.From != 0 {
			dayRange(from, int32(Month(firstFull).FirstDay())-1)
		}
		parts = append(parts, fmt.Sprintf("SELECT %s, 0 AS day, %s FROM %s WHERE month BETWEEN %s AND %s%s",
			keys, metrics, monthTable, arg(firstFull), arg(lastFull), filter))
		if q.To != 0 {
			dayRange(int32(Month(lastFull+1).FirstDay()), to)
		}
	}
	sql := fmt.Sprintf("SELECT %s, %s FROM (%s) r GROUP BY %s", group, strings.Join(sums, ", "),
		strings.Join(parts, " UNION ALL "), group)
	return sql, args
}

func keyCols(pharm bool) string {
	if pharm {
		return "store_id, pharmacist_id"
	}
	return "store_id"
}
