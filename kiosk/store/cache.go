package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/wire"
)

// RosterEntry is a cached pharmacist. Local marks one added at the kiosk (offline install)
// rather than received from HQ.
type RosterEntry struct {
	flows.Pharmacist
	Local bool `json:"local,omitempty"`
}

// RosterCache is the roster as cached for offline sign-in.
type RosterCache struct {
	StoreID     string        `json:"store_id"`
	UpdatedAt   time.Time     `json:"updated_at,omitzero"` // last PutRoster from HQ
	Pharmacists []RosterEntry `json:"pharmacists"`
}

// PutRoster replaces the HQ part of the cached roster with HQ's answer for storeID.
// Locally added pharmacists are kept unless HQ now knows the same id (HQ wins).
func (s *Store) PutRoster(storeID string, ps []flows.Pharmacist) error {
	vals := make([][]byte, len(ps))
	for i, p := range ps {
		if p.ID == "" {
			return fmt.Errorf("put roster: item %d: %w: pharmacist without id", i, ErrInvalid)
		}
		v, err := json.Marshal(RosterEntry{Pharmacist: p})
		if err != nil {
			return fmt.Errorf("put roster: encode %s: %w", p.ID, err)
		}
		vals[i] = v
	}
	now := s.now()
	err := s.update(context.Background(), func(tx *bolt.Tx) error {
		b := tx.Bucket(bRoster)
		var drop [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			var e RosterEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("roster entry %q: %w", k, err)
			}
			if !e.Local {
				drop = append(drop, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for i, p := range ps {
			if err := b.Put([]byte(p.ID), vals[i]); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bSettings)
		if err := meta.Put(keyRosterStore, []byte(storeID)); err != nil {
			return err
		}
		ts, err := now.MarshalText()
		if err != nil {
			return err
		}
		return meta.Put(keyRosterAt, ts)
	})
	if err != nil {
		return fmt.Errorf("put roster: %w", err)
	}
	return nil
}

// AddLocalPharmacist adds (or replaces) a pharmacist created at the kiosk, flagged local,
// for an install that has not reached HQ yet. It refuses to replace an HQ entry.
func (s *Store) AddLocalPharmacist(p flows.Pharmacist) error {
	if p.ID == "" {
		return fmt.Errorf("add local pharmacist: %w: no id", ErrInvalid)
	}
	v, err := json.Marshal(RosterEntry{Pharmacist: p, Local: true})
	if err != nil {
		return fmt.Errorf("add local pharmacist: %w", err)
	}
	err = s.update(context.Background(), func(tx *bolt.Tx) error {
		b := tx.Bucket(bRoster)
		if old := b.Get([]byte(p.ID)); old != nil {
			var e RosterEntry
			if err := json.Unmarshal(old, &e); err != nil {
				return err
			}
			if !e.Local {
				return fmt.Errorf("%w: %s is on HQ's roster", ErrInvalid, p.ID)
			}
		}
		meta := tx.Bucket(bSettings)
		if meta.Get(keyRosterStore) == nil && p.StoreID != "" {
			if err := meta.Put(keyRosterStore, []byte(p.StoreID)); err != nil {
				return err
			}
		}
		return b.Put([]byte(p.ID), v)
	})
	if err != nil {
		return fmt.Errorf("add local pharmacist %s: %w", p.ID, err)
	}
	return nil
}

// Roster returns the cached roster (pharmacists in id order).
func (s *Store) Roster() (RosterCache, error) {
	var r RosterCache
	err := s.view(context.Background(), func(tx *bolt.Tx) error {
		meta := tx.Bucket(bSettings)
		r.StoreID = string(meta.Get(keyRosterStore))
		if v := meta.Get(keyRosterAt); v != nil {
			if err := r.UpdatedAt.UnmarshalText(v); err != nil {
				return err
			}
		}
		return tx.Bucket(bRoster).ForEach(func(k, v []byte) error {
			var e RosterEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("roster entry %q: %w", k, err)
			}
			r.Pharmacists = append(r.Pharmacists, e)
			return nil
		})
	})
	if err != nil {
		return RosterCache{}, fmt.Errorf("roster: %w", err)
	}
	return r, nil
}

// PutPoints replaces the cached points table (from HQ's GET /api/v1/points).
func (s *Store) PutPoints(rows []wire.PointsRow) error {
	err := s.update(context.Background(), func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bPoints); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bPoints)
		if err != nil {
			return err
		}
		for _, r := range rows {
			v, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(r.StoreID+"/"+r.PharmacistID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put points: %w", err)
	}
	return nil
}

// Points returns the cached points rows (by store, then pharmacist).
func (s *Store) Points() ([]wire.PointsRow, error) {
	var out []wire.PointsRow
	err := s.view(context.Background(), func(tx *bolt.Tx) error {
		return tx.Bucket(bPoints).ForEach(func(k, v []byte) error {
			var r wire.PointsRow
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("points row %q: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("points: %w", err)
	}
	return out, nil
}

// SaveConfig stores the kiosk settings blob v as JSON (the UI's settings screen).
func (s *Store) SaveConfig(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save config: encode: %w", err)
	}
	err = s.update(context.Background(), func(tx *bolt.Tx) error {
		return tx.Bucket(bSettings).Put(keyConfig, b)
	})
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// LoadConfig decodes the stored settings blob into v. It returns ErrNotFound (v
// untouched) when no config was ever saved.
func (s *Store) LoadConfig(v any) error {
	var b []byte
	err := s.view(context.Background(), func(tx *bolt.Tx) error {
		b = append([]byte(nil), tx.Bucket(bSettings).Get(keyConfig)...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	if len(b) == 0 {
		return fmt.Errorf("load config: %w: no config saved yet", ErrNotFound)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("load config: decode: %w", err)
	}
	return nil
}
