package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
)

var keyAssign = []byte("assign")

func versionKey(n int) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], uint32(n))
	return k[:]
}

// PublishContent implements hq.ContentStore.
func (s *Store) PublishContent(ctx context.Context, p hq.ContentPublish) (content.Version, error) {
	if err := hq.CheckPublish(p); err != nil {
		return content.Version{}, err
	}
	var v content.Version
	err := s.update(ctx, "publish content", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bContentMeta)
		n := 1
		if k, _ := meta.Cursor().Last(); k != nil {
			n = int(binary.BigEndian.Uint32(k)) + 1
		}
		v = content.Version{Number: n, Hash: p.Pack.Hash(), Author: p.Author, At: p.At.UTC(), Note: p.Note}
		if err := putJSON(meta, versionKey(n), v); err != nil {
			return err
		}
		files := tx.Bucket(bContentFiles)
		for name, b := range p.Pack.Files() {
			if err := files.Put(append(versionKey(n), name...), b); err != nil {
				return err
			}
		}
		if err := appendAudit(tx, []hq.AuditEntry{hq.PublishAudit(v, p.Assign)}); err != nil {
			return err
		}
		if !p.Assign.All && len(p.Assign.Stores) == 0 {
			return nil
		}
		a := p.Assign
		a.Version = n
		return assign(tx, a)
	})
	if err != nil {
		return content.Version{}, err
	}
	return v, nil
}

func assignments(tx *bolt.Tx) (hq.ContentAssignments, error) {
	a := hq.ContentAssignments{Stores: map[string]int{}}
	b := tx.Bucket(bContentAssign)
	if b == nil {
		return a, nil
	}
	if v := b.Get(keyAssign); v != nil {
		if err := json.Unmarshal(v, &a); err != nil {
			return a, fmt.Errorf("content assignments: %w", err)
		}
		if a.Stores == nil {
			a.Stores = map[string]int{}
		}
	}
	return a, nil
}

func assign(tx *bolt.Tx, x hq.ContentAssign) error {
	if x.Version != content.DefaultVersion && tx.Bucket(bContentMeta).Get(versionKey(x.Version)) == nil {
		return fmt.Errorf("content version %d: %w", x.Version, hq.ErrNotFound)
	}
	a, err := assignments(tx)
	if err != nil {
		return err
	}
	return putJSON(tx.Bucket(bContentAssign), keyAssign, a.Apply(x))
}

// ContentVersions implements hq.ContentStore.
func (s *Store) ContentVersions(ctx context.Context) ([]content.Version, error) {
	var out []content.Version
	err := s.view(ctx, "content versions", func(tx *bolt.Tx) error {
		b := tx.Bucket(bContentMeta)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var cv content.Version
			if err := json.Unmarshal(v, &cv); err != nil {
				return fmt.Errorf("version %d: %w", binary.BigEndian.Uint32(k), err)
			}
			out = append(out, cv)
			return nil
		})
	})
	return out, err
}

// ContentPack implements hq.ContentStore.
func (s *Store) ContentPack(ctx context.Context, n int) (content.Version, content.Pack, error) {
	var v content.Version
	files := map[string][]byte{}
	err := s.view(ctx, "content pack", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bContentMeta)
		if n < 1 || meta == nil {
			return fmt.Errorf("content version %d: %w", n, hq.ErrNotFound)
		}
		raw := meta.Get(versionKey(n))
		if raw == nil {
			return fmt.Errorf("content version %d: %w", n, hq.ErrNotFound)
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		prefix := versionKey(n)
		c := tx.Bucket(bContentFiles).Cursor()
		for k, b := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, b = c.Next() {
			files[string(k[len(prefix):])] = bytes.Clone(b)
		}
		return nil
	})
	if err != nil {
		return content.Version{}, content.Pack{}, err
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
	return s.update(ctx, "assign content", func(tx *bolt.Tx) error {
		if err := assign(tx, a); err != nil {
			return err
		}
		return appendAudit(tx, []hq.AuditEntry{hq.AssignAudit(a)})
	})
}

// ContentAssignments implements hq.ContentStore.
func (s *Store) ContentAssignments(ctx context.Context) (hq.ContentAssignments, error) {
	var a hq.ContentAssignments
	err := s.view(ctx, "content assignments", func(tx *bolt.Tx) error {
		var err error
		a, err = assignments(tx)
		return err
	})
	return a, err
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
	return s.update(ctx, "record content status", func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bContentStatus), []byte(st.StoreID), st)
	})
}

// ContentStatuses implements hq.ContentStore.
func (s *Store) ContentStatuses(ctx context.Context) ([]hq.ContentStatus, error) {
	var out []hq.ContentStatus
	err := s.view(ctx, "content statuses", func(tx *bolt.Tx) error {
		b := tx.Bucket(bContentStatus)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var st hq.ContentStatus
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("content status of %s: %w", k, err)
			}
			out = append(out, st)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].StoreID < out[j].StoreID })
	return out, err
}
