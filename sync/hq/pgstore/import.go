package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// Import implements hq.ExportStore in one transaction: rows are inserted, or replaced
// by the imported values when their key exists (rollups and totals set, not added);
// purchases, points events and content versions, which never change, are inserted
// when new. The per-store and per-month rollup sums of the days touched are computed
// again from the imported rows, and each visit gets its effect fact.
func (s *Store) Import(ctx context.Context, b hq.ExportBatch) error {
	keys := make([][]byte, len(b.Purchases))
	for i := range b.Purchases {
		ck, err := keyBytes(b.Purchases[i].CustomerKey)
		if err != nil {
			return fmt.Errorf("import purchase %s: %w", b.Purchases[i].ID, err)
		}
		keys[i] = ck
	}
	return s.tx(ctx, "import", func(tx pgx.Tx) error {
		q := &pgx.Batch{}
		for _, t := range b.Tokens {
			q.Queue(`INSERT INTO tokens (hash, store_id, admin, label, created_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (hash) DO UPDATE SET store_id = EXCLUDED.store_id, admin = EXCLUDED.admin, label = EXCLUDED.label, created_at = EXCLUDED.created_at`,
				t.Hash, t.Principal.StoreID, t.Principal.Admin, t.Principal.Label, ts(t.Principal.CreatedAt))
		}
		for _, p := range b.Pharmacists {
			body, err := json.Marshal(p)
			if err != nil {
				return err
			}
			q.Queue(`INSERT INTO roster (store_id, pharmacist_id, body) VALUES ($1, $2, $3)
				ON CONFLICT (store_id, pharmacist_id) DO UPDATE SET body = EXCLUDED.body`, p.StoreID, p.ID, body)
		}
		for _, sec := range b.Secrets {
			q.Queue(`INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, sec.Name, sec.Value)
		}
		for _, ev := range b.PointsEvents {
			q.Queue(`INSERT INTO points_events (id, store_id, pharmacist_id, kind, points, at, ref) VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (store_id, id) DO NOTHING`, ev.ID, ev.StoreID, ev.PharmacistID, ev.Kind, int32(ev.Points), ts(ev.At), ev.Ref)
		}
		for _, t := range b.PointsTotals {
			q.Queue(`INSERT INTO points_totals (store_id, pharmacist_id, points) VALUES ($1, $2, $3)
				ON CONFLICT (store_id, pharmacist_id) DO UPDATE SET points = EXCLUDED.points`, t.StoreID, t.PharmacistID, int64(t.Points))
		}
		for _, n := range b.Notices {
			q.Queue(`INSERT INTO notices (key, owner, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, at = EXCLUDED.at`,
				n.Key, n.Owner, n.At)
		}
		for _, c := range b.Contacts {
			q.Queue(`INSERT INTO contacts (store_id, customer_key, sender, external_userid, consent_at, visit_id) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (store_id, customer_key) DO UPDATE SET sender = EXCLUDED.sender, external_userid = EXCLUDED.external_userid,
					consent_at = EXCLUDED.consent_at, visit_id = EXCLUDED.visit_id`,
				c.StoreID, c.CustomerKey, c.Sender, c.ExternalUserID, ts(c.ConsentAt), c.VisitID)
		}
		for _, a := range b.Audit {
			q.Queue(`INSERT INTO audit (seq, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING`,
				int64(a.Seq), a.At.UTC(), a.Actor, a.Action, a.Detail)
		}
		if len(b.Audit) > 0 {
			q.Queue(`SELECT setval(pg_get_serial_sequence('audit', 'seq'), greatest((SELECT max(seq) FROM audit), 1))`)
		}
		for _, se := range b.Sessions {
			q.Queue(`INSERT INTO sessions (id_hash, csrf, expires) VALUES ($1, $2, $3)
				ON CONFLICT (id_hash) DO UPDATE SET csrf = EXCLUDED.csrf, expires = EXCLUDED.expires`, se.IDHash, se.Session.CSRF, se.Session.Expires)
		}
		for _, c := range b.Content {
			q.Queue(`INSERT INTO content_versions (number, hash, author, at, note) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number) DO NOTHING`,
				c.Version.Number, c.Version.Hash, c.Version.Author, c.Version.At, c.Version.Note)
			for name, data := range c.Pack.Files() {
				q.Queue(`INSERT INTO content_files (version, name, data) VALUES ($1, $2, $3) ON CONFLICT (version, name) DO NOTHING`,
					c.Version.Number, name, data)
			}
		}
		if a := b.Assignments; a != nil {
			q.Queue(`DELETE FROM content_assignments`)
			q.Queue(`INSERT INTO content_assignments (store_id, version) VALUES ('', $1)`, a.Default)
			for store, v := range a.Stores {
				q.Queue(`INSERT INTO content_assignments (store_id, version) VALUES ($1, $2)`, store, v)
			}
		}
		for _, st := range b.Statuses {
			body, err := json.Marshal(st)
			if err != nil {
				return err
			}
			q.Queue(`INSERT INTO content_status (store_id, status) VALUES ($1, $2) ON CONFLICT (store_id) DO UPDATE SET status = EXCLUDED.status`, st.StoreID, body)
		}
		if q.Len() > 0 {
			if err := tx.SendBatch(ctx, q).Close(); err != nil {
				return err
			}
		}
		if err := importVisits(ctx, tx, b.Visits); err != nil {
			return fmt.Errorf("visits: %w", err)
		}
		if len(b.Purchases) > 0 {
			if _, err := copyPurchases(ctx, tx, b.Purchases, keys); err != nil {
				return fmt.Errorf("purchases: %w", err)
			}
		}
		if err := importRollups(ctx, tx, b.Rollups); err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
		if err := importFollowUps(ctx, tx, b.FollowUps, b.Attempts, b.Bookings); err != nil {
			return fmt.Errorf("follow-ups: %w", err)
		}
		return nil
	})
}

func importVisits(ctx context.Context, tx pgx.Tx, vs []hq.VisitRecord) error {
	if len(vs) == 0 {
		return nil
	}
	n := len(vs)
	ids, stores := make([]string, n), make([]string, n)
	days := make([]int32, n)
	keys, bodies := make([][]byte, n), make([][]byte, n)
	purged := make([]bool, n)
	var facts []factRow
	for i, r := range vs {
		ids[i], stores[i], purged[i] = r.ID, r.StoreID, r.Purged
		if r.Purged {
			continue
		}
		var v flows.Visit
		if err := json.Unmarshal(r.Raw, &v); err != nil {
			return fmt.Errorf("visit %s: %w", r.ID, err)
		}
		days[i], bodies[i] = int32(flows.VisitDay(v)), r.Raw
		if v.CustomerKey != "" {
			ck, err := keyBytes(v.CustomerKey)
			if err != nil {
				return fmt.Errorf("visit %s: %w", r.ID, err)
			}
			keys[i] = ck
		}
		f, err := factRowOf(&v, r.StoreID)
		if err != nil {
			return fmt.Errorf("visit %s: %w", r.ID, err)
		}
		facts = append(facts, f)
	}
	_, err := tx.Exec(ctx, `INSERT INTO visits (id, store_id, day, customer_key, purged, body)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::bytea[], $5::bool[], $6::bytea[]) ORDER BY 2, 1
		ON CONFLICT (store_id, id) DO UPDATE SET day = EXCLUDED.day, customer_key = EXCLUDED.customer_key, purged = EXCLUDED.purged, body = EXCLUDED.body`,
		ids, stores, days, keys, purged, bodies)
	if err != nil {
		return err
	}
	return insertFacts(ctx, tx, facts)
}

// importRollups sets the imported per-content-version rows, then computes every other
// rollup table again for the store days and store months they touch.
func importRollups(ctx context.Context, tx pgx.Tx, rows []hq.RollupRow) error {
	if len(rows) == 0 {
		return nil
	}
	m := map[rollupKey]*flows.Rollup{}
	for _, r := range rows {
		if r.StoreID == "" || r.ContentVersion < 0 {
			return fmt.Errorf("rollup of store %q, content version %d: %w", r.StoreID, r.ContentVersion, hq.ErrInvalid)
		}
		addTo(m, rollupKey{int32(r.ContentVersion), r.StoreID, int32(r.Day), r.PharmacistID}, &r.Rollup)
	}
	if err := upsertRollups(ctx, tx, "rollup_content_day", "day", true, true, m, "="); err != nil {
		return err
	}
	type sd struct {
		store string
		day   int32
	}
	seen := map[sd]bool{}
	var stores []string
	var days []int32
	for k := range m {
		if !seen[sd{k.store, k.period}] {
			seen[sd{k.store, k.period}] = true
			stores, days = append(stores, k.store), append(days, k.period)
		}
	}
	idx := make([]int, len(stores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		if stores[idx[a]] != stores[idx[b]] {
			return stores[idx[a]] < stores[idx[b]]
		}
		return days[idx[a]] < days[idx[b]]
	})
	ss, ds := make([]string, len(idx)), make([]int32, len(idx))
	for i, j := range idx {
		ss[i], ds[i] = stores[j], days[j]
	}
	sums := make([]string, len(metricCols))
	for i, c := range metricCols {
		sums[i] = "sum(" + c + ")"
	}
	sum := strings.Join(sums, ", ")
	month := `(extract(year FROM date '1970-01-01' + day) * 12 + extract(month FROM date '1970-01-01' + day) - 1)::int4`
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_days ON COMMIT DROP AS SELECT s AS store_id, d AS day, `+
		strings.ReplaceAll(month, "day", "d")+` AS month FROM unnest($1::text[], $2::int4[]) AS x(s, d)`, ss, ds); err != nil {
		return err
	}
	for _, sql := range []string{
		`DELETE FROM rollup_day r USING import_days i WHERE r.store_id = i.store_id AND r.day = i.day`,
		`INSERT INTO rollup_day SELECT c.store_id, c.day, c.pharmacist_id, ` + sum + ` FROM rollup_content_day c
			JOIN import_days i ON c.store_id = i.store_id AND c.day = i.day GROUP BY 1, 2, 3`,
		`DELETE FROM rollup_store_day r USING import_days i WHERE r.store_id = i.store_id AND r.day = i.day`,
		`INSERT INTO rollup_store_day SELECT c.store_id, c.day, ` + sum + ` FROM rollup_content_day c
			JOIN import_days i ON c.store_id = i.store_id AND c.day = i.day GROUP BY 1, 2`,
		`CREATE TEMP TABLE import_months ON COMMIT DROP AS SELECT DISTINCT store_id, month FROM import_days`,
		`DELETE FROM rollup_content_month r USING import_months i WHERE r.store_id = i.store_id AND r.month = i.month`,
		`INSERT INTO rollup_content_month (store_id, month, pharmacist_id, ` + joinCols() + `, content_version)
			SELECT c.store_id, ` + strings.ReplaceAll(month, "day", "c.day") + `, c.pharmacist_id, ` + sum + `, c.content_version
			FROM rollup_content_day c JOIN import_months i ON c.store_id = i.store_id
			AND c.day BETWEEN (make_date((i.month / 12)::int, (i.month % 12 + 1)::int, 1) - date '1970-01-01')
			AND ((make_date((i.month / 12)::int, (i.month % 12 + 1)::int, 1) + interval '1 month')::date - date '1970-01-01' - 1)
			GROUP BY c.store_id, 2, c.pharmacist_id, c.content_version`,
		`DELETE FROM rollup_month r USING import_months i WHERE r.store_id = i.store_id AND r.month = i.month`,
		`INSERT INTO rollup_month SELECT c.store_id, c.month, c.pharmacist_id, ` + sum + ` FROM rollup_content_month c
			JOIN import_months i ON c.store_id = i.store_id AND c.month = i.month GROUP BY 1, 2, 3`,
		`DELETE FROM rollup_store_month r USING import_months i WHERE r.store_id = i.store_id AND r.month = i.month`,
		`INSERT INTO rollup_store_month SELECT c.store_id, c.month, ` + sum + ` FROM rollup_month c
			JOIN import_months i ON c.store_id = i.store_id AND c.month = i.month GROUP BY 1, 2`,
		`DROP TABLE import_days`, `DROP TABLE import_months`,
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%.60s…: %w", sql, err)
		}
	}
	return nil
}

// importFollowUps writes follow-ups with their state (replacing), then their attempts
// and bookings.
func importFollowUps(ctx context.Context, tx pgx.Tx, items []hq.FollowUpItem, attempts []hq.SendAttempt, bookings []hq.Booking) error {
	q := &pgx.Batch{}
	for _, it := range items {
		f := &it.FollowUp
		fu, err := json.Marshal(it.FollowUp)
		if err != nil {
			return err
		}
		consent := it.Consent
		if consent == nil {
			consent = map[string]bool{}
		}
		cb, err := json.Marshal(consent)
		if err != nil {
			return err
		}
		q.Queue(`INSERT INTO followups (id, store_id, customer_key, channel, due_at, due_day, followup, consent, status, attempts, next_at,
				enqueued_at, sent_at, last_code, last_reason, opened_at, booked_at, escalated_at, lease_owner, lease_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			ON CONFLICT (id) DO UPDATE SET store_id = EXCLUDED.store_id, customer_key = EXCLUDED.customer_key, channel = EXCLUDED.channel,
				due_at = EXCLUDED.due_at, due_day = EXCLUDED.due_day, followup = EXCLUDED.followup, consent = EXCLUDED.consent,
				status = EXCLUDED.status, attempts = EXCLUDED.attempts, next_at = EXCLUDED.next_at, enqueued_at = EXCLUDED.enqueued_at,
				sent_at = EXCLUDED.sent_at, last_code = EXCLUDED.last_code, last_reason = EXCLUDED.last_reason, opened_at = EXCLUDED.opened_at,
				booked_at = EXCLUDED.booked_at, escalated_at = EXCLUDED.escalated_at, lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until`,
			f.ID, f.StoreID, f.CustomerKey, f.Channel, f.DueAt, int32(flows.DayOf(f.DueAt)), fu, cb, it.Status, int32(it.Attempts), it.NextAt,
			ts(it.EnqueuedAt), ts(it.SentAt), it.LastCode, it.LastReason, ts(it.OpenedAt), ts(it.BookedAt), ts(it.EscalatedAt), it.LeaseOwner, ts(it.LeaseUntil))
	}
	for _, a := range attempts {
		q.Queue(`INSERT INTO followup_attempts (followup_id, attempt, channel, started_at, finished_at, status, code, reason, msg_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (followup_id, attempt) DO UPDATE SET channel = EXCLUDED.channel, started_at = EXCLUDED.started_at,
				finished_at = EXCLUDED.finished_at, status = EXCLUDED.status, code = EXCLUDED.code, reason = EXCLUDED.reason, msg_id = EXCLUDED.msg_id`,
			a.FollowUpID, int32(a.Attempt), a.Channel, ts(a.StartedAt), ts(a.FinishedAt), a.Status, a.Code, a.Reason, a.MsgID)
	}
	for _, b := range bookings {
		q.Queue(`INSERT INTO bookings (followup_id, store_id, day, slot, at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (followup_id) DO UPDATE SET store_id = EXCLUDED.store_id, day = EXCLUDED.day, slot = EXCLUDED.slot, at = EXCLUDED.at`,
			b.FollowUpID, b.StoreID, int32(b.Date), b.Slot, b.At)
	}
	if q.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, q).Close()
}
