package pgstore

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

// LogReads implements hq.ReadLogStore: one insert for the batch.
func (s *Store) LogReads(ctx context.Context, reads []hq.HistoryRead) error {
	if len(reads) == 0 {
		return nil
	}
	n := len(reads)
	ats := make([]timeT, n)
	readers, stores := make([]string, n), make([]string, n)
	keys := make([][]byte, n)
	for i, r := range reads {
		ck, err := keyBytes(r.CustomerKey)
		if err != nil {
			return fmt.Errorf("log reads: %w", err)
		}
		ats[i], readers[i], stores[i], keys[i] = r.At.UTC(), r.Reader, r.StoreID, ck
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO history_reads (at, reader, store_id, customer_key)
		SELECT at, reader, store_id, customer_key FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bytea[])
			WITH ORDINALITY AS r(at, reader, store_id, customer_key, n) ORDER BY n`, ats, readers, stores, keys)
	if err != nil {
		return wrap("log reads", err)
	}
	return nil
}

// Reads implements hq.ReadLogStore.
func (s *Store) Reads(ctx context.Context, q hq.ReadQuery) ([]hq.HistoryRead, error) {
	var ck []byte
	if q.CustomerKey != "" {
		var err error
		if ck, err = keyBytes(q.CustomerKey); err != nil {
			return nil, fmt.Errorf("reads: %w", err)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT at, reader, store_id, customer_key FROM history_reads
		WHERE ($1::bytea IS NULL OR customer_key = $1) AND ($2 = '' OR store_id = $2)
			AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
		ORDER BY seq DESC LIMIT $5`, ck, q.StoreID, ts(q.From), ts(q.To), q.EffectiveLimit())
	if err != nil {
		return nil, wrap("reads", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hq.HistoryRead, error) {
		var h hq.HistoryRead
		var key []byte
		err := r.Scan(&h.At, &h.Reader, &h.StoreID, &key)
		h.At = h.At.UTC()
		if err == nil {
			h.CustomerKey = hex.EncodeToString(key)
		}
		return h, err
	})
	if err != nil {
		return nil, wrap("reads", err)
	}
	return out, nil
}

// purgeReads deletes the reads made before cutoff's start, in chunks.
func (s *Store) purgeReads(ctx context.Context, cutoff flows.Day) error {
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM history_reads WHERE seq IN (SELECT seq FROM history_reads WHERE at < $1 LIMIT $2)`, cutoff.Time().UTC(), purgeChunk)
		if err != nil {
			return wrap("purge reads", err)
		}
		if tag.RowsAffected() < purgeChunk {
			return nil
		}
	}
}
