package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// exportBatch is how many rows one ExportBatch holds at most.
const exportBatch = 5000

// Export implements hq.ExportStore from one REPEATABLE READ transaction (a
// consistent snapshot while replicas go on writing), each table read in key order.
func (s *Store) Export(ctx context.Context, fn func(hq.ExportBatch) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return wrap("export", err)
	}
	defer tx.Rollback(context.Background())
	e := &pgExporter{ctx: ctx, tx: tx, fn: fn}
	for _, step := range []func() error{e.tokens, e.roster, e.secrets, e.visits, e.purchases, e.rollups, e.pointsEvents,
		e.pointsTotals, e.followUps, e.attempts, e.bookings, e.notices, e.contacts, e.audit, e.sessions, e.content,
		e.assignments, e.statuses} {
		if err := step(); err != nil {
			return fmt.Errorf("export: %w", classify(err))
		}
	}
	return nil
}

// ExportCounts implements hq.ExportStore with one count per table.
func (s *Store) ExportCounts(ctx context.Context) (hq.ExportCounts, error) {
	c := hq.ExportCounts{}
	for kind, sql := range map[string]string{
		hq.KindTokens: `tokens`, hq.KindRoster: `roster`, hq.KindSecrets: `secrets`, hq.KindVisits: `visits`,
		hq.KindPurchases: `purchases`, hq.KindRollups: `rollup_content_day`, hq.KindPointsEvents: `points_events`,
		hq.KindPointsTotals: `points_totals`, hq.KindFollowUps: `followups`, hq.KindAttempts: `followup_attempts`,
		hq.KindBookings: `bookings`, hq.KindNotices: `notices`, hq.KindContacts: `contacts`, hq.KindAudit: `audit`,
		hq.KindSessions: `sessions`, hq.KindContent: `content_versions`, hq.KindContentStatus: `content_status`,
	} {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+sql).Scan(&n); err != nil {
			return nil, wrap("export counts", err)
		}
		c[kind] = n
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM content_assignments WHERE store_id <> ''`).Scan(&n); err != nil {
		return nil, wrap("export counts", err)
	}
	c[hq.KindAssignments] = n + 1 // the default, stored or not
	return c, nil
}

type pgExporter struct {
	ctx context.Context
	tx  pgx.Tx
	fn  func(hq.ExportBatch) error
}

// rows runs sql and calls add for each row, emitting every exportBatch rows.
func (e *pgExporter) rows(sql string, add func(pgx.Rows) error, n func() int, flush func() error) error {
	rows, err := e.tx.Query(e.ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := add(rows); err != nil {
			return err
		}
		if n() >= exportBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n() > 0 {
		return flush()
	}
	return nil
}

func (e *pgExporter) tokens() error {
	var out []hq.TokenRecord
	return e.rows(`SELECT hash, store_id, admin, label, created_at FROM tokens ORDER BY hash`, func(r pgx.Rows) error {
		var t hq.TokenRecord
		var at *time.Time
		err := r.Scan(&t.Hash, &t.Principal.StoreID, &t.Principal.Admin, &t.Principal.Label, &at)
		t.Principal.CreatedAt = tm(at)
		out = append(out, t)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Tokens: out}); out = nil; return err })
}

func (e *pgExporter) roster() error {
	var out []flows.Pharmacist
	return e.rows(`SELECT body FROM roster ORDER BY store_id, pharmacist_id`, func(r pgx.Rows) error {
		var b []byte
		var p flows.Pharmacist
		if err := r.Scan(&b); err != nil {
			return err
		}
		out = append(out, p)
		return json.Unmarshal(b, &out[len(out)-1])
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Pharmacists: out}); out = nil; return err })
}

func (e *pgExporter) secrets() error {
	var out []hq.SecretRecord
	return e.rows(`SELECT name, value FROM secrets ORDER BY name`, func(r pgx.Rows) error {
		var sec hq.SecretRecord
		err := r.Scan(&sec.Name, &sec.Value)
		out = append(out, sec)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Secrets: out}); out = nil; return err })
}

func (e *pgExporter) visits() error {
	var out []hq.VisitRecord
	return e.rows(`SELECT store_id, id, purged, body FROM visits ORDER BY store_id, id`, func(r pgx.Rows) error {
		var v hq.VisitRecord
		err := r.Scan(&v.StoreID, &v.ID, &v.Purged, &v.Raw)
		if v.Purged {
			v.Raw = nil
		}
		out = append(out, v)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Visits: out}); out = nil; return err })
}

func (e *pgExporter) purchases() error {
	var out []flows.Purchase
	return e.rows(`SELECT id, encode(customer_key, 'hex'), store_id, sold_at, drug_code, name, ingredient, atc, quantity, days_supply, amount_fen, receipt_id, kind
		FROM purchases ORDER BY id`, func(r pgx.Rows) error {
		var p flows.Purchase
		var supply int32
		err := r.Scan(&p.ID, &p.CustomerKey, &p.StoreID, &p.SoldAt, &p.DrugCode, &p.Name, &p.Ingredient, &p.ATC, &p.Quantity, &supply, &p.AmountFen, &p.ReceiptID, &p.Kind)
		p.DaysSupply, p.SoldAt = int(supply), p.SoldAt.In(flows.Shanghai())
		out = append(out, p)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Purchases: out}); out = nil; return err })
}

func (e *pgExporter) rollups() error {
	var out []hq.RollupRow
	ints := make([]int64, nInts)
	secs := make([]float64, 4)
	return e.rows(`SELECT content_version, store_id, day, pharmacist_id, `+joinCols()+` FROM rollup_content_day
		ORDER BY content_version, store_id, day, pharmacist_id`, func(r pgx.Rows) error {
		var row hq.RollupRow
		var cv, day int32
		dest := []any{&cv, &row.StoreID, &day, &row.PharmacistID}
		for i := range ints {
			dest = append(dest, &ints[i])
		}
		for i := range secs {
			dest = append(dest, &secs[i])
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		row.ContentVersion, row.Day, row.Rollup = int(cv), flows.Day(day), rollupFrom(ints, secs)
		out = append(out, row)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Rollups: out}); out = nil; return err })
}

func joinCols() string {
	s := ""
	for i, c := range metricCols {
		if i > 0 {
			s += ", "
		}
		s += c
	}
	return s
}

func (e *pgExporter) pointsEvents() error {
	var out []flows.PointsEvent
	return e.rows(`SELECT id, store_id, pharmacist_id, kind, points, at, ref FROM points_events ORDER BY store_id, id`, func(r pgx.Rows) error {
		var ev flows.PointsEvent
		var at *time.Time
		err := r.Scan(&ev.ID, &ev.StoreID, &ev.PharmacistID, &ev.Kind, &ev.Points, &at, &ev.Ref)
		ev.At = tm(at)
		out = append(out, ev)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{PointsEvents: out}); out = nil; return err })
}

func (e *pgExporter) pointsTotals() error {
	var out []wire.PointsRow
	return e.rows(`SELECT store_id, pharmacist_id, points FROM points_totals ORDER BY 1, 2`, func(r pgx.Rows) error {
		var p wire.PointsRow
		var n int64
		err := r.Scan(&p.StoreID, &p.PharmacistID, &n)
		p.Points = int(n)
		out = append(out, p)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{PointsTotals: out}); out = nil; return err })
}

func (e *pgExporter) followUps() error {
	var out []hq.FollowUpItem
	return e.rows(`SELECT `+fuCols+` FROM followups ORDER BY id`, func(r pgx.Rows) error {
		it, err := scanItem(r)
		out = append(out, it)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{FollowUps: out}); out = nil; return err })
}

func (e *pgExporter) attempts() error {
	var out []hq.SendAttempt
	return e.rows(`SELECT followup_id, attempt, channel, started_at, finished_at, status, code, reason, msg_id
		FROM followup_attempts ORDER BY followup_id, attempt`, func(r pgx.Rows) error {
		var a hq.SendAttempt
		var started, finished *time.Time
		err := r.Scan(&a.FollowUpID, &a.Attempt, &a.Channel, &started, &finished, &a.Status, &a.Code, &a.Reason, &a.MsgID)
		a.StartedAt, a.FinishedAt = tm(started), tm(finished)
		out = append(out, a)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Attempts: out}); out = nil; return err })
}

func (e *pgExporter) bookings() error {
	var out []hq.Booking
	return e.rows(`SELECT followup_id, store_id, day, slot, at FROM bookings ORDER BY followup_id`, func(r pgx.Rows) error {
		var b hq.Booking
		var day int32
		err := r.Scan(&b.FollowUpID, &b.StoreID, &day, &b.Slot, &b.At)
		b.Date = flows.Day(day)
		out = append(out, b)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Bookings: out}); out = nil; return err })
}

func (e *pgExporter) notices() error {
	var out []hq.NoticeRecord
	return e.rows(`SELECT key, owner, at FROM notices ORDER BY key`, func(r pgx.Rows) error {
		var n hq.NoticeRecord
		err := r.Scan(&n.Key, &n.Owner, &n.At)
		out = append(out, n)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Notices: out}); out = nil; return err })
}

func (e *pgExporter) contacts() error {
	var out []hq.Contact
	return e.rows(`SELECT store_id, customer_key, sender, external_userid, consent_at, visit_id FROM contacts ORDER BY 1, 2`, func(r pgx.Rows) error {
		var c hq.Contact
		var at *time.Time
		err := r.Scan(&c.StoreID, &c.CustomerKey, &c.Sender, &c.ExternalUserID, &at, &c.VisitID)
		c.ConsentAt = tm(at)
		out = append(out, c)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Contacts: out}); out = nil; return err })
}

func (e *pgExporter) audit() error {
	var out []hq.AuditEntry
	return e.rows(`SELECT seq, at, actor, action, detail FROM audit ORDER BY seq`, func(r pgx.Rows) error {
		var a hq.AuditEntry
		var seq int64
		err := r.Scan(&seq, &a.At, &a.Actor, &a.Action, &a.Detail)
		a.Seq, a.At = uint64(seq), a.At.UTC()
		out = append(out, a)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Audit: out}); out = nil; return err })
}

func (e *pgExporter) sessions() error {
	var out []hq.SessionRecord
	return e.rows(`SELECT id_hash, csrf, expires FROM sessions ORDER BY id_hash`, func(r pgx.Rows) error {
		var s hq.SessionRecord
		err := r.Scan(&s.IDHash, &s.Session.CSRF, &s.Session.Expires)
		out = append(out, s)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Sessions: out}); out = nil; return err })
}

func (e *pgExporter) content() error {
	rows, err := e.tx.Query(e.ctx, `SELECT number, hash, author, at, note FROM content_versions ORDER BY number`)
	if err != nil {
		return err
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (content.Version, error) {
		var v content.Version
		err := r.Scan(&v.Number, &v.Hash, &v.Author, &v.At, &v.Note)
		v.At = v.At.UTC()
		return v, err
	})
	if err != nil {
		return err
	}
	var out []hq.ContentRecord
	for _, v := range vs {
		rows, err := e.tx.Query(e.ctx, `SELECT name, data FROM content_files WHERE version = $1`, v.Number)
		if err != nil {
			return err
		}
		files := map[string][]byte{}
		for rows.Next() {
			var name string
			var b []byte
			if err := rows.Scan(&name, &b); err != nil {
				rows.Close()
				return err
			}
			files[name] = b
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		p, err := content.New(files)
		if err != nil {
			return fmt.Errorf("content version %d: %w", v.Number, err)
		}
		out = append(out, hq.ContentRecord{Version: v, Pack: p})
		if len(out) >= 16 {
			if err := e.fn(hq.ExportBatch{Content: out}); err != nil {
				return err
			}
			out = nil
		}
	}
	if len(out) > 0 {
		return e.fn(hq.ExportBatch{Content: out})
	}
	return nil
}

func (e *pgExporter) assignments() error {
	a := hq.ContentAssignments{Stores: map[string]int{}}
	rows, err := e.tx.Query(e.ctx, `SELECT store_id, version FROM content_assignments`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var store string
		var v int
		if err := rows.Scan(&store, &v); err != nil {
			rows.Close()
			return err
		}
		if store == "" {
			a.Default = v
		} else {
			a.Stores[store] = v
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return e.fn(hq.ExportBatch{Assignments: &a})
}

func (e *pgExporter) statuses() error {
	var out []hq.ContentStatus
	return e.rows(`SELECT status FROM content_status ORDER BY store_id`, func(r pgx.Rows) error {
		var b []byte
		if err := r.Scan(&b); err != nil {
			return err
		}
		var st hq.ContentStatus
		err := json.Unmarshal(b, &st)
		out = append(out, st)
		return err
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Statuses: out}); out = nil; return err })
}
