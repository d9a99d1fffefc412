package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
)

// contentLock serialises publishes (pg_advisory_xact_lock), so concurrent publishes on
// several replicas get consecutive numbers ("hqcont").
const contentLock int64 = 0x6871_636f_6e74

// PublishContent implements hq.ContentStore.
func (s *Store) PublishContent(ctx context.Context, p hq.ContentPublish) (content.Version, error) {
	if err := hq.CheckPublish(p); err != nil {
		return content.Version{}, err
	}
	var v content.Version
	err := s.tx(ctx, "publish content", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, contentLock); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(number), 0) + 1 FROM content_versions`).Scan(&n); err != nil {
			return err
		}
		v = content.Version{Number: n, Hash: p.Pack.Hash(), Author: p.Author, At: p.At.UTC(), Note: p.Note}
		if _, err := tx.Exec(ctx, `INSERT INTO content_versions (number, hash, author, at, note) VALUES ($1, $2, $3, $4, $5)`,
			v.Number, v.Hash, v.Author, v.At, v.Note); err != nil {
			return err
		}
		var names []string
		var datas [][]byte
		for name, b := range p.Pack.Files() {
			names = append(names, name)
			datas = append(datas, b)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO content_files (version, name, data) SELECT $1, * FROM unnest($2::text[], $3::bytea[])`,
			n, names, datas); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, []hq.AuditEntry{hq.PublishAudit(v, p.Assign)}); err != nil {
			return err
		}
		if !p.Assign.All && len(p.Assign.Stores) == 0 {
			return nil
		}
		a := p.Assign
		a.Version = n
		return assignContent(ctx, tx, a)
	})
	if err != nil {
		return content.Version{}, err
	}
	return v, nil
}

func assignContent(ctx context.Context, tx pgx.Tx, a hq.ContentAssign) error {
	if a.Version != content.DefaultVersion {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM content_versions WHERE number = $1)`, a.Version).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("content version %d: %w", a.Version, hq.ErrNotFound)
		}
	}
	if a.All {
		if _, err := tx.Exec(ctx, `DELETE FROM content_assignments`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO content_assignments (store_id, version) VALUES ('', $1)`, a.Version)
		return err
	}
	stores := append([]string(nil), a.Stores...)
	sort.Strings(stores)
	_, err := tx.Exec(ctx, `INSERT INTO content_assignments (store_id, version) SELECT DISTINCT unnest($1::text[]), $2::int4 ORDER BY 1
		ON CONFLICT (store_id) DO UPDATE SET version = EXCLUDED.version`, stores, a.Version)
	return err
}

// ContentVersions implements hq.ContentStore.
func (s *Store) ContentVersions(ctx context.Context) ([]content.Version, error) {
	rows, err := s.pool.Query(ctx, `SELECT number, hash, author, at, note FROM content_versions ORDER BY number`)
	if err != nil {
		return nil, wrap("content versions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (content.Version, error) {
		var v content.Version
		err := r.Scan(&v.Number, &v.Hash, &v.Author, &v.At, &v.Note)
		v.At = v.At.UTC()
		return v, err
	})
	if err != nil {
		return nil, wrap("content versions", err)
	}
	return out, nil
}

// ContentPack implements hq.ContentStore.
func (s *Store) ContentPack(ctx context.Context, n int) (content.Version, content.Pack, error) {
	var v content.Version
	files := map[string][]byte{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT number, hash, author, at, note FROM content_versions WHERE number = $1`, n).
			Scan(&v.Number, &v.Hash, &v.Author, &v.At, &v.Note)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("content version %d: %w", n, hq.ErrNotFound)
		}
		if err != nil {
			return err
		}
		v.At = v.At.UTC()
		rows, err := tx.Query(ctx, `SELECT name, data FROM content_files WHERE version = $1`, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var b []byte
			if err := rows.Scan(&name, &b); err != nil {
				return err
			}
			files[name] = b
		}
		return rows.Err()
	})
	if err != nil {
		if errors.Is(err, hq.ErrNotFound) {
			return content.Version{}, content.Pack{}, err
		}
		return content.Version{}, content.Pack{}, wrap("content pack", err)
	}
	p, err := content.New(files)
	if err != nil {
		return content.Version{}, content.Pack{}, fmt.Errorf("content version %d: %w", n, err)
	}
	if p.Hash() != v.Hash {
		return content.Version{}, content.Pack{}, fmt.Errorf("content version %d: stored files hash to %s, not %s (the database is damaged)", n, p.Hash(), v.Hash)
	}
	return v, p, nil
}

// AssignContent implements hq.ContentStore.
func (s *Store) AssignContent(ctx context.Context, a hq.ContentAssign) error {
	if err := hq.CheckAssign(a); err != nil {
		return err
	}
	return s.tx(ctx, "assign content", func(tx pgx.Tx) error {
		if err := assignContent(ctx, tx, a); err != nil {
			return err
		}
		return appendAudit(ctx, tx, []hq.AuditEntry{hq.AssignAudit(a)})
	})
}

// ContentAssignments implements hq.ContentStore.
func (s *Store) ContentAssignments(ctx context.Context) (hq.ContentAssignments, error) {
	a := hq.ContentAssignments{Stores: map[string]int{}}
	rows, err := s.pool.Query(ctx, `SELECT store_id, version FROM content_assignments`)
	if err != nil {
		return a, wrap("content assignments", err)
	}
	defer rows.Close()
	for rows.Next() {
		var store string
		var v int
		if err := rows.Scan(&store, &v); err != nil {
			return a, wrap("content assignments", err)
		}
		if store == "" {
			a.Default = v
		} else {
			a.Stores[store] = v
		}
	}
	if err := rows.Err(); err != nil {
		return a, wrap("content assignments", err)
	}
	return a, nil
}

// RecordContentStatus implements hq.ContentStore.
func (s *Store) RecordContentStatus(ctx context.Context, st hq.ContentStatus) error {
	if err := hq.CheckStatus(st); err != nil {
		return err
	}
	st.At = st.At.UTC()
	if st.Refused != nil {
		r := *st.Refused
		r.At = r.At.UTC()
		st.Refused = &r
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("record content status: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO content_status (store_id, status) VALUES ($1, $2)
		ON CONFLICT (store_id) DO UPDATE SET status = EXCLUDED.status`, st.StoreID, b); err != nil {
		return wrap("record content status", err)
	}
	return nil
}

// ContentStatuses implements hq.ContentStore.
func (s *Store) ContentStatuses(ctx context.Context) ([]hq.ContentStatus, error) {
	rows, err := s.pool.Query(ctx, `SELECT status FROM content_status ORDER BY store_id`)
	if err != nil {
		return nil, wrap("content statuses", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hq.ContentStatus, error) {
		var b []byte
		var st hq.ContentStatus
		if err := r.Scan(&b); err != nil {
			return st, err
		}
		return st, json.Unmarshal(b, &st)
	})
	if err != nil {
		return nil, wrap("content statuses", err)
	}
	return out, nil
}
