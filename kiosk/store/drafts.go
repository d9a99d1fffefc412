package store

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// maxDraft bounds a draft (a few answers and choices take a few hundred bytes).
const maxDraft = 64 << 10

// SaveDraft keeps what the pharmacist entered in an open visit's current step and has
// not recorded yet (answers given so far, recommendations toggled, consent), so that a
// visit a crash interrupted can resume where it was. The draft is the value of the
// visit's open-visit index entry: it needs no bucket of its own and goes with the entry
// when the visit is finished. ErrNotFound when the visit is not open.
func (s *Store) SaveDraft(ctx context.Context, id string, draft []byte) error {
	if len(draft) > maxDraft {
		return fmt.Errorf("save draft %s: %w: %d bytes (at most %d)", id, ErrInvalid, len(draft), maxDraft)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		open := tx.Bucket(bVisitsOpen)
		if open.Get([]byte(id)) == nil {
			return fmt.Errorf("%w: no open visit %s", ErrNotFound, id)
		}
		return open.Put([]byte(id), bytes.Clone(draft))
	})
	if err != nil {
		return fmt.Errorf("save draft %s: %w", id, err)
	}
	return nil
}

// Draft returns an open visit's draft (nil when it has none); ErrNotFound when the visit
// is not open.
func (s *Store) Draft(ctx context.Context, id string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bVisitsOpen).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: no open visit %s", ErrNotFound, id)
		}
		if len(v) > 0 {
			out = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("draft %s: %w", id, err)
	}
	return out, nil
}
