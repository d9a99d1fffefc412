package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// exportBatch is how many items one ExportBatch holds at most.
const exportBatch = 5000

// Export implements hq.ExportStore from one read transaction (a consistent snapshot
// while HQ goes on writing).
func (s *Store) Export(ctx context.Context, fn func(hq.ExportBatch) error) error {
	return s.view(ctx, "export", func(tx *bolt.Tx) error {
		e := &exporter{ctx: ctx, tx: tx, fn: fn}
		for _, step := range []func() error{e.tokens, e.roster, e.secrets, e.visits, e.purchases, e.rollups,
			e.pointsEvents, e.pointsTotals, e.followUps, e.attempts, e.bookings, e.notices, e.contacts, e.audit,
			e.sessions, e.content, e.assignments, e.statuses} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

// ExportCounts implements hq.ExportStore by counting what Export emits.
func (s *Store) ExportCounts(ctx context.Context) (hq.ExportCounts, error) {
	c := hq.ExportCounts{}
	err := s.Export(ctx, func(b hq.ExportBatch) error { b.Count(c); return nil })
	return c, err
}

type exporter struct {
	ctx context.Context
	tx  *bolt.Tx
	fn  func(hq.ExportBatch) error
}

// each walks a bucket, calling add for every pair and emitting (flush) every
// exportBatch items and at the end.
func (e *exporter) each(bucket []byte, add func(k, v []byte) error, n func() int, flush func() error) error {
	b := e.tx.Bucket(bucket)
	if b != nil {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				continue // a nested bucket
			}
			if err := add(k, v); err != nil {
				return fmt.Errorf("export %s %q: %w", bucket, k, err)
			}
			if n() >= exportBatch {
				if err := e.ctx.Err(); err != nil {
					return err
				}
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if n() > 0 {
		return flush()
	}
	return nil
}

func (e *exporter) tokens() error {
	var out []hq.TokenRecord
	return e.each(bTokens, func(k, v []byte) error {
		var p hq.Principal
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		out = append(out, hq.TokenRecord{Hash: string(k), Principal: p})
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Tokens: out}); out = nil; return err })
}

func (e *exporter) roster() error {
	var out []flows.Pharmacist
	return e.each(bRoster, func(k, v []byte) error {
		var p flows.Pharmacist
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Pharmacists: out}); out = nil; return err })
}

func (e *exporter) secrets() error {
	var out []hq.SecretRecord
	return e.each(bSecrets, func(k, v []byte) error {
		out = append(out, hq.SecretRecord{Name: string(k), Value: bytes.Clone(v)})
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Secrets: out}); out = nil; return err })
}

func (e *exporter) visits() error {
	var out []hq.VisitRecord
	return e.each(bVisits, func(k, v []byte) error {
		store, id := splitPair(k)
		var head struct {
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal(v, &head); err != nil {
			return err
		}
		r := hq.VisitRecord{StoreID: store, ID: id}
		if head.Outcome == outcomePurged {
			r.Purged = true
		} else {
			r.Raw = bytes.Clone(v)
		}
		out = append(out, r)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Visits: out}); out = nil; return err })
}

func (e *exporter) purchases() error {
	var out []flows.Purchase
	return e.each(bHist, func(k, v []byte) error {
		if len(k) < 20 {
			return fmt.Errorf("short history key")
		}
		p, err := decodeHist(k, v)
		if err != nil {
			return err
		}
		p.CustomerKey = hex.EncodeToString(k[:16])
		out = append(out, p)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Purchases: out}); out = nil; return err })
}

// rollups exports the pharmacist-level rows per content version (rollups_cv); the
// per-store sums and the rows without version are the same data summed.
func (e *exporter) rollups() error {
	var out []hq.RollupRow
	return e.each(bRollupsCV, func(k, v []byte) error {
		if len(k) < 4 {
			return fmt.Errorf("corrupt content rollup key")
		}
		version := int(binary.BigEndian.Uint32(k))
		rk := k[4:]
		i := bytes.IndexByte(rk, 0)
		if i < 0 || len(rk) < i+5 {
			return fmt.Errorf("corrupt content rollup key")
		}
		r, err := decodeRollup(v)
		if err != nil {
			return err
		}
		out = append(out, hq.RollupRow{StoreID: string(rk[:i]), PharmacistID: string(rk[i+5:]), Day: codec.Day(rk[i+1 : i+5]),
			ContentVersion: version, Rollup: r})
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Rollups: out}); out = nil; return err })
}

func (e *exporter) pointsEvents() error {
	var out []flows.PointsEvent
	return e.each(bPEvents, func(k, v []byte) error {
		var ev flows.PointsEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{PointsEvents: out}); out = nil; return err })
}

func (e *exporter) pointsTotals() error {
	var out []wire.PointsRow
	return e.each(bPTotals, func(k, v []byte) error {
		st, ph, ok := bytes.Cut(k, []byte{0})
		if !ok || len(v) != 8 {
			return fmt.Errorf("corrupt points total")
		}
		out = append(out, wire.PointsRow{StoreID: string(st), PharmacistID: string(ph), Points: int(int64(binary.BigEndian.Uint64(v)))})
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{PointsTotals: out}); out = nil; return err })
}

func (e *exporter) followUps() error {
	var out []hq.FollowUpItem
	return e.each(bItems, func(k, v []byte) error {
		var it hq.FollowUpItem
		if err := json.Unmarshal(v, &it); err != nil {
			return err
		}
		out = append(out, it)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{FollowUps: out}); out = nil; return err })
}

func (e *exporter) attempts() error {
	var out []hq.SendAttempt
	return e.each(bSends, func(k, v []byte) error {
		var a hq.SendAttempt
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Attempts: out}); out = nil; return err })
}

func (e *exporter) bookings() error {
	var out []hq.Booking
	return e.each(bBookings, func(k, v []byte) error {
		var b hq.Booking
		if err := json.Unmarshal(v, &b); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Bookings: out}); out = nil; return err })
}

func (e *exporter) notices() error {
	var out []hq.NoticeRecord
	return e.each(bNotices, func(k, v []byte) error {
		var c noticeClaim
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		out = append(out, hq.NoticeRecord{Key: string(k), Owner: c.Owner, At: c.At})
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Notices: out}); out = nil; return err })
}

func (e *exporter) contacts() error {
	var out []hq.Contact
	return e.each(bContacts, func(k, v []byte) error {
		var c hq.Contact
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Contacts: out}); out = nil; return err })
}

func (e *exporter) audit() error {
	var out []hq.AuditEntry
	return e.each(bAudit, func(k, v []byte) error {
		var a hq.AuditEntry
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Audit: out}); out = nil; return err })
}

func (e *exporter) sessions() error {
	var out []hq.SessionRecord
	return e.each(bSessions, func(k, v []byte) error {
		var se hq.Session
		if err := json.Unmarshal(v, &se); err != nil {
			return err
		}
		out = append(out, hq.SessionRecord{IDHash: string(k), Session: se})
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Sessions: out}); out = nil; return err })
}

// content exports each version with its files, a few at a time (packs are small).
func (e *exporter) content() error {
	meta := e.tx.Bucket(bContentMeta)
	if meta == nil {
		return nil
	}
	var out []hq.ContentRecord
	err := meta.ForEach(func(k, v []byte) error {
		var cv content.Version
		if err := json.Unmarshal(v, &cv); err != nil {
			return fmt.Errorf("export content version: %w", err)
		}
		files := map[string][]byte{}
		c := e.tx.Bucket(bContentFiles).Cursor()
		for fk, fb := c.Seek(k); fk != nil && bytes.HasPrefix(fk, k); fk, fb = c.Next() {
			files[string(fk[len(k):])] = bytes.Clone(fb)
		}
		p, err := content.New(files)
		if err != nil {
			return fmt.Errorf("export content version %d: %w", cv.Number, err)
		}
		out = append(out, hq.ContentRecord{Version: cv, Pack: p})
		if len(out) >= 16 {
			err := e.fn(hq.ExportBatch{Content: out})
			out = nil
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(out) > 0 {
		return e.fn(hq.ExportBatch{Content: out})
	}
	return nil
}

func (e *exporter) assignments() error {
	a, err := assignments(e.tx)
	if err != nil {
		return err
	}
	return e.fn(hq.ExportBatch{Assignments: &a})
}

func (e *exporter) statuses() error {
	var out []hq.ContentStatus
	return e.each(bContentStatus, func(k, v []byte) error {
		var st hq.ContentStatus
		if err := json.Unmarshal(v, &st); err != nil {
			return err
		}
		out = append(out, st)
		return nil
	}, func() int { return len(out) }, func() error { err := e.fn(hq.ExportBatch{Statuses: out}); out = nil; return err })
}

// Import implements hq.ExportStore in one transaction. Keys that exist are
// overwritten with the imported values (the same values on a rerun); rollups and
// totals are set, not added; the derived buckets (store sums, due and unopened
// follow-ups, effect indexes) are kept in step.
func (s *Store) Import(ctx context.Context, b hq.ExportBatch) error {
	return s.update(ctx, "import", func(tx *bolt.Tx) error {
		for _, t := range b.Tokens {
			if err := putJSON(tx.Bucket(bTokens), []byte(t.Hash), t.Principal); err != nil {
				return err
			}
		}
		for _, p := range b.Pharmacists {
			if err := putJSON(tx.Bucket(bRoster), pair(p.StoreID, p.ID), p); err != nil {
				return err
			}
		}
		for _, sec := range b.Secrets {
			if err := tx.Bucket(bSecrets).Put([]byte(sec.Name), bytes.Clone(sec.Value)); err != nil {
				return err
			}
		}
		if err := importVisits(tx, b.Visits); err != nil {
			return err
		}
		for i := range b.Purchases {
			p := &b.Purchases[i]
			ck, err := keyBytes(p.CustomerKey)
			if err != nil {
				return fmt.Errorf("import purchase %s: %w", p.ID, err)
			}
			if err := tx.Bucket(bPurchases).Put([]byte(p.ID), ck); err != nil {
				return err
			}
			if err := tx.Bucket(bHist).Put(histKey(ck, flows.DayOf(p.SoldAt), p.ID), codec.EncodePurchase(p)); err != nil {
				return err
			}
			if err := indexPurchase(tx, p.StoreID, flows.DayOf(p.SoldAt), ck); err != nil {
				return err
			}
		}
		if err := importRollups(tx, b.Rollups); err != nil {
			return err
		}
		for _, ev := range b.PointsEvents {
			if err := putJSON(tx.Bucket(bPEvents), pair(ev.StoreID, ev.ID), ev); err != nil {
				return err
			}
		}
		for _, t := range b.PointsTotals {
			if err := tx.Bucket(bPTotals).Put(pair(t.StoreID, t.PharmacistID), binary.BigEndian.AppendUint64(nil, uint64(int64(t.Points)))); err != nil {
				return err
			}
		}
		for _, it := range b.FollowUps {
			if err := importFollowUp(tx, it); err != nil {
				return err
			}
		}
		for _, a := range b.Attempts {
			if err := putJSON(tx.Bucket(bSends), sendKey(a.FollowUpID, a.Attempt), a); err != nil {
				return err
			}
		}
		for _, bk := range b.Bookings {
			if err := putJSON(tx.Bucket(bBookings), []byte(bk.FollowUpID), bk); err != nil {
				return err
			}
		}
		for _, n := range b.Notices {
			if err := putJSON(tx.Bucket(bNotices), []byte(n.Key), noticeClaim{Owner: n.Owner, At: n.At}); err != nil {
				return err
			}
		}
		for _, c := range b.Contacts {
			if err := putJSON(tx.Bucket(bContacts), pair(c.StoreID, c.CustomerKey), c); err != nil {
				return err
			}
		}
		if err := importAudit(tx, b.Audit); err != nil {
			return err
		}
		for _, se := range b.Sessions {
			if err := putJSON(tx.Bucket(bSessions), []byte(se.IDHash), se.Session); err != nil {
				return err
			}
		}
		for _, c := range b.Content {
			if err := importContent(tx, c); err != nil {
				return err
			}
		}
		if b.Assignments != nil {
			a := hq.ContentAssignments{Default: b.Assignments.Default, Stores: map[string]int{}}
			for st, v := range b.Assignments.Stores {
				a.Stores[st] = v
			}
			if err := putJSON(tx.Bucket(bContentAssign), keyAssign, a); err != nil {
				return err
			}
		}
		for _, st := range b.Statuses {
			if err := putJSON(tx.Bucket(bContentStatus), []byte(st.StoreID), st); err != nil {
				return err
			}
		}
		return nil
	})
}

func importVisits(tx *bolt.Tx, vs []hq.VisitRecord) error {
	vb := tx.Bucket(bVisits)
	for _, r := range vs {
		k := pair(r.StoreID, r.ID)
		if r.Purged {
			tomb, err := json.Marshal(map[string]string{"id": r.ID, "outcome": outcomePurged})
			if err != nil {
				return err
			}
			if err := vb.Put(k, tomb); err != nil {
				return err
			}
			continue
		}
		var v flows.Visit
		if err := json.Unmarshal(r.Raw, &v); err != nil {
			return fmt.Errorf("import visit %s: %w", r.ID, err)
		}
		if err := vb.Put(k, bytes.Clone(r.Raw)); err != nil {
			return err
		}
		if err := indexVisit(tx, &v); err != nil {
			return fmt.Errorf("import visit %s: %w", r.ID, err)
		}
	}
	return nil
}

// importRollups sets the imported content-version rows and recomputes, for every
// store and day they touch, the pharmacist rows and the store sums from all the
// content-version rows of that store and day.
func importRollups(tx *bolt.Tx, rows []hq.RollupRow) error {
	if len(rows) == 0 {
		return nil
	}
	cv := tx.Bucket(bRollupsCV)
	type sd struct {
		store string
		day   flows.Day
	}
	touched := map[sd]bool{}
	for _, r := range rows {
		if err := cv.Put([]byte(cvKey(r.ContentVersion, r.StoreID, r.Day, r.PharmacistID)), encodeRollup(r.Rollup)); err != nil {
			return err
		}
		touched[sd{r.StoreID, r.Day}] = true
	}
	keys := make([]sd, 0, len(touched))
	for k := range touched {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sd) int {
		if c := bytes.Compare([]byte(a.store), []byte(b.store)); c != 0 {
			return c
		}
		return int(a.day) - int(b.day)
	})
	rb, sb := tx.Bucket(bRollups), tx.Bucket(bRollupsSD)
	for _, k := range keys {
		pharm := map[string]*flows.Rollup{}
		var sum flows.Rollup
		// Every version's rows of this store and day.
		c := cv.Cursor()
		for ck, _ := c.First(); ck != nil; {
			version := binary.BigEndian.Uint32(ck)
			prefix := []byte(cvKey(int(version), k.store, k.day, ""))
			ck2, v2 := c.Seek(prefix)
			for ; ck2 != nil && bytes.HasPrefix(ck2, prefix); ck2, v2 = c.Next() {
				r, err := decodeRollup(v2)
				if err != nil {
					return err
				}
				p := string(ck2[len(prefix):])
				if pharm[p] == nil {
					pharm[p] = &flows.Rollup{}
				}
				pharm[p].Merge(r)
				sum.Merge(r)
			}
			if version == math.MaxUint32 {
				break
			}
			ck, _ = c.Seek(binary.BigEndian.AppendUint32(nil, version+1))
		}
		for p, r := range pharm {
			if err := rb.Put(rollupKey(k.store, k.day, p), encodeRollup(*r)); err != nil {
				return err
			}
		}
		if err := sb.Put(rollupKey(k.store, k.day, ""), encodeRollup(sum)); err != nil {
			return err
		}
	}
	return nil
}

// importFollowUp writes a follow-up as it was, with its due and unopened index
// entries (the old due entry of a follow-up imported before is removed).
func importFollowUp(tx *bolt.Tx, it hq.FollowUpItem) error {
	id := it.FollowUp.ID
	if old, ok, err := getItem(tx, id); err != nil {
		return err
	} else if ok {
		if err := tx.Bucket(bDue).Delete(dueKey(old.NextAt, id)); err != nil {
			return err
		}
	}
	if err := putItem(tx, it); err != nil {
		return err
	}
	if err := indexFollowUp(tx, it.FollowUp); err != nil {
		return err
	}
	if it.Status == hq.StatusScheduled {
		if err := tx.Bucket(bDue).Put(dueKey(it.NextAt, id), nil); err != nil {
			return err
		}
	}
	if it.Status == hq.StatusSending {
		if err := tx.Bucket(bSending).Put([]byte(id), nil); err != nil {
			return err
		}
	}
	if it.OpenedAt.IsZero() {
		return tx.Bucket(bOpen).Put([]byte(id), []byte(it.FollowUp.StoreID))
	}
	return tx.Bucket(bOpen).Delete([]byte(id))
}

// importAudit writes entries under their own sequence numbers and moves the bucket's
// sequence past them.
func importAudit(tx *bolt.Tx, es []hq.AuditEntry) error {
	b := tx.Bucket(bAudit)
	for _, e := range es {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], e.Seq)
		if err := putJSON(b, k[:], e); err != nil {
			return err
		}
		if e.Seq > b.Sequence() {
			if err := b.SetSequence(e.Seq); err != nil {
				return err
			}
		}
	}
	return nil
}

func importContent(tx *bolt.Tx, c hq.ContentRecord) error {
	k := versionKey(c.Version.Number)
	if tx.Bucket(bContentMeta).Get(k) != nil {
		return nil // versions never change
	}
	if err := putJSON(tx.Bucket(bContentMeta), k, c.Version); err != nil {
		return err
	}
	for name, b := range c.Pack.Files() {
		if err := tx.Bucket(bContentFiles).Put(append(bytes.Clone(k), name...), b); err != nil {
			return err
		}
	}
	return nil
}
