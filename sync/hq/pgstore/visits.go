package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// IngestVisits implements hq.VisitStore in one transaction: the batch's visits are
// inserted with ON CONFLICT DO NOTHING RETURNING id, and only the returned (new) ones
// bring their rollups, points, follow-ups and audit entries, sent together in one
// round trip. A concurrent transaction inserting the same id waits for this one and
// then finds it a duplicate, so a batch posted to two replicas at once counts once.
func (s *Store) IngestVisits(ctx context.Context, storeID string, batch []hq.VisitIngest) (hq.IngestResult, error) {
	n := len(batch)
	if storeID == "" {
		return hq.IngestResult{}, fmt.Errorf("ingest visits: store id missing: %w", hq.ErrInvalid)
	}
	if n == 0 {
		return hq.IngestResult{}, nil
	}
	ids := make([]string, n)
	stores := make([]string, n)
	days := make([]int32, n)
	keys := make([][]byte, n)
	bodies := make([][]byte, n)
	for i := range batch {
		v := &batch[i].Visit
		if v.ID == "" {
			return hq.IngestResult{}, fmt.Errorf("ingest visits: records[%d].id: missing: %w", i, hq.ErrInvalid)
		}
		if v.StoreID != storeID {
			return hq.IngestResult{}, fmt.Errorf("ingest visits: records[%d].store_id: %q in a batch of store %q: %w", i, v.StoreID, storeID, hq.ErrInvalid)
		}
		if v.CustomerKey != "" {
			ck, err := keyBytes(v.CustomerKey)
			if err != nil {
				return hq.IngestResult{}, fmt.Errorf("ingest visits: records[%d].customer_key: %w", i, err)
			}
			keys[i] = ck
		}
		body := batch[i].Raw
		if body == nil {
			var err error
			if body, err = json.Marshal(v); err != nil {
				return hq.IngestResult{}, fmt.Errorf("ingest visits: encode visit %s: %w", v.ID, err)
			}
		}
		ids[i], stores[i], days[i], bodies[i] = v.ID, storeID, int32(flows.VisitDay(*v)), body
	}
	var res hq.IngestResult
	err := s.tx(ctx, "ingest visits", func(tx pgx.Tx) error {
		res = hq.IngestResult{}
		rows, err := tx.Query(ctx, `INSERT INTO visits (id, store_id, day, customer_key, body)
			SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::bytea[], $5::bytea[]) ORDER BY 1
			ON CONFLICT (store_id, id) DO NOTHING RETURNING id`, ids, stores, days, keys, bodies)
		if err != nil {
			return err
		}
		inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		isNew := make(map[string]bool, len(inserted))
		for _, id := range inserted {
			isNew[id] = true
		}
		deltas := newRollupDeltas()
		var facts []factRow
		var events []flows.PointsEvent
		var fus []hq.FollowUpItem
		var audit []hq.AuditEntry
		var flags []hq.Flag
		for i := range batch {
			in := &batch[i]
			v := &in.Visit
			if !isNew[v.ID] {
				res.Duplicates++
				continue
			}
			delete(isNew, v.ID) // a repeat later in the batch is a duplicate
			for _, ev := range in.Points {
				if err := checkEvent(ev); err != nil {
					return fmt.Errorf("records[%d]: %w", i, err)
				}
			}
			for _, it := range in.FollowUps {
				if err := hq.ValidateFollowUp(it); err != nil {
					return fmt.Errorf("records[%d]: %w", i, err)
				}
				if it.FollowUp.StoreID != v.StoreID {
					return fmt.Errorf("records[%d]: follow-up %s of store %q in a visit of store %q: %w", i, it.FollowUp.ID, it.FollowUp.StoreID, v.StoreID, hq.ErrInvalid)
				}
			}
			deltas.add(storeID, v.PharmacistID, flows.VisitDay(*v), v.ContentVersion, flows.VisitContribution(*v))
			fr, err := factRowOf(v, storeID)
			if err != nil {
				return fmt.Errorf("records[%d]: %w", i, err)
			}
			facts = append(facts, fr)
			events = append(events, in.Points...)
			fus = append(fus, in.FollowUps...)
			audit = append(audit, in.Audit...)
			flags = append(flags, in.Flags...)
			res.Accepted++
			res.AcceptedIDs = append(res.AcceptedIDs, v.ID)
		}
		if res.Accepted == 0 {
			return nil
		}
		// Everything the new visits bring, in one round trip.
		p := &pipeline{}
		if err := queueCredit(ctx, p, events); err != nil {
			return err
		}
		if err := deltas.apply(ctx, p); err != nil {
			return err
		}
		if err := insertFacts(ctx, p, facts); err != nil {
			return err
		}
		if err := scheduleFollowUps(ctx, p, fus); err != nil {
			return err
		}
		if err := appendFlags(ctx, p, flags); err != nil {
			return err
		}
		if err := appendAudit(ctx, p, audit); err != nil {
			return err
		}
		return p.flush(ctx, tx)
	})
	if err != nil {
		return hq.IngestResult{}, err
	}
	return res, nil
}

// Visit implements hq.VisitStore.
func (s *Store) Visit(ctx context.Context, storeID, id string) (flows.Visit, error) {
	var v flows.Visit
	var body []byte
	var purged bool
	err := s.pool.QueryRow(ctx, `SELECT body, purged FROM visits WHERE store_id = $1 AND id = $2`, storeID, id).Scan(&body, &purged)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && purged {
		return v, hq.ErrNotFound
	}
	if err != nil {
		return v, wrap("get visit", err)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("get visit: decode %s/%s: %w", storeID, id, err)
	}
	return v, nil
}

// VisitsWithID implements hq.VisitStore (index visits_id).
func (s *Store) VisitsWithID(ctx context.Context, id string) ([]flows.Visit, error) {
	rows, err := s.pool.Query(ctx, `SELECT body FROM visits WHERE id = $1 AND NOT purged ORDER BY store_id`, id)
	if err != nil {
		return nil, wrap("visits with id", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (flows.Visit, error) {
		var body []byte
		var v flows.Visit
		if err := r.Scan(&body); err != nil {
			return v, err
		}
		return v, json.Unmarshal(body, &v)
	})
	if err != nil {
		return nil, wrap("visits with id", err)
	}
	if out == nil {
		out = []flows.Visit{}
	}
	return out, nil
}
