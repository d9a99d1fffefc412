package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/sync/hq"
)

// Audit implements hq.AuditStore.
func (s *Store) Audit(ctx context.Context, entries ...hq.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.tx(ctx, "audit", func(tx pgx.Tx) error { return appendAudit(ctx, tx, entries) })
}

// appendAudit appends entries in the caller's transaction, in order (seq from the
// audit table's sequence).
func appendAudit(ctx context.Context, tx execer, entries []hq.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	n := len(entries)
	ats := make([]timeT, n)
	actors, actions, details := make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		ats[i], actors[i], actions[i], details[i] = e.At.UTC(), e.Actor, e.Action, e.Detail
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit (at, actor, action, detail)
		SELECT at, actor, action, detail FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS e(at, actor, action, detail, n) ORDER BY n`,
		ats, actors, actions, details)
	return err
}

// AuditEntries implements hq.AuditStore.
func (s *Store) AuditEntries(ctx context.Context, q hq.AuditQuery) ([]hq.AuditEntry, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	rows, err := s.pool.Query(ctx, `SELECT seq, at, actor, action, detail FROM audit
		WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2) AND ($3 = '' OR actor = $3)
		ORDER BY seq DESC LIMIT $4`, ts(q.From), ts(q.To), q.Actor, limit)
	if err != nil {
		return nil, wrap("audit entries", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hq.AuditEntry, error) {
		var e hq.AuditEntry
		var seq int64
		err := r.Scan(&seq, &e.At, &e.Actor, &e.Action, &e.Detail)
		e.Seq, e.At = uint64(seq), e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, wrap("audit entries", err)
	}
	return out, nil
}
