package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/sync/hq"
)

// Token buckets:
//
//	tokens       sha256-hex(token)        → JSON storedToken (principal, revocation)
//	token_use    sha256-hex(token)        → JSON {last_used, last_addr}
//	store_addrs  store 0x00 address       → BE unix-nano last seen
var (
	bTokenUse   = []byte("token_use")
	bStoreAddrs = []byte("store_addrs")
)

// storedToken is a token's record: its principal and, once revoked, when.
type storedToken struct {
	hq.Principal
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

type tokenUse struct {
	LastUsed time.Time `json:"last_used"`
	LastAddr string    `json:"last_addr,omitempty"`
}

// PutToken implements hq.TokenStore.
func (s *Store) PutToken(ctx context.Context, hash string, p hq.Principal) error {
	if hash == "" {
		return fmt.Errorf("put token: empty hash: %w", hq.ErrInvalid)
	}
	b, err := json.Marshal(storedToken{Principal: p})
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	return s.update(ctx, "put token", func(tx *bolt.Tx) error {
		return tx.Bucket(bTokens).Put([]byte(hash), b)
	})
}

// LookupToken implements hq.TokenStore.
func (s *Store) LookupToken(ctx context.Context, hash string) (hq.Principal, error) {
	var t storedToken
	err := s.view(ctx, "lookup token", func(tx *bolt.Tx) error {
		v := tx.Bucket(bTokens).Get([]byte(hash))
		if v == nil {
			return hq.ErrNotFound
		}
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		if !t.RevokedAt.IsZero() {
			return hq.ErrNotFound
		}
		return nil
	})
	return t.Principal, err
}

func tokenInfo(tx *bolt.Tx, hash, v []byte) (hq.TokenInfo, error) {
	var t storedToken
	if err := json.Unmarshal(v, &t); err != nil {
		return hq.TokenInfo{}, fmt.Errorf("token %s: %w", hq.TokenID(string(hash)), err)
	}
	info := hq.TokenInfo{ID: hq.TokenID(string(hash)), Principal: t.Principal, RevokedAt: t.RevokedAt}
	if u := tx.Bucket(bTokenUse).Get(hash); u != nil {
		var use tokenUse
		if err := json.Unmarshal(u, &use); err != nil {
			return hq.TokenInfo{}, fmt.Errorf("token use %s: %w", info.ID, err)
		}
		info.LastUsed, info.LastAddr = use.LastUsed, use.LastAddr
	}
	return info, nil
}

// Tokens implements hq.TokenStore.
func (s *Store) Tokens(ctx context.Context) ([]hq.TokenInfo, error) {
	out := []hq.TokenInfo{}
	err := s.view(ctx, "list tokens", func(tx *bolt.Tx) error {
		return tx.Bucket(bTokens).ForEach(func(k, v []byte) error {
			info, err := tokenInfo(tx, k, v)
			if err != nil {
				return err
			}
			out = append(out, info)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// RevokeToken implements hq.TokenStore: the id is a prefix of the hash (the keys'
// order), one cursor seek.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time, audit []hq.AuditEntry) (hq.TokenInfo, error) {
	var info hq.TokenInfo
	if len(id) != hq.TokenIDLen {
		return info, fmt.Errorf("revoke token %q: %w", id, hq.ErrNotFound)
	}
	err := s.update(ctx, "revoke token", func(tx *bolt.Tx) error {
		b := tx.Bucket(bTokens)
		k, v := b.Cursor().Seek([]byte(id))
		if k == nil || !bytes.HasPrefix(k, []byte(id)) {
			return fmt.Errorf("token %s: %w", id, hq.ErrNotFound)
		}
		hash := bytes.Clone(k)
		var t storedToken
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		if t.RevokedAt.IsZero() {
			t.RevokedAt = at.UTC()
			if err := putJSON(b, hash, t); err != nil {
				return err
			}
			if err := appendAudit(tx, audit); err != nil {
				return err
			}
		}
		var err error
		info, err = tokenInfo(tx, hash, b.Get(hash))
		return err
	})
	return info, err
}

// NoteTokenUse implements hq.TokenStore.
func (s *Store) NoteTokenUse(ctx context.Context, uses []hq.TokenUse) error {
	if len(uses) == 0 {
		return nil
	}
	return s.update(ctx, "note token use", func(tx *bolt.Tx) error {
		tb, ub, ab := tx.Bucket(bTokens), tx.Bucket(bTokenUse), tx.Bucket(bStoreAddrs)
		for _, u := range uses {
			v := tb.Get([]byte(u.Hash))
			if v == nil {
				continue
			}
			var t storedToken
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			var old tokenUse
			if prev := ub.Get([]byte(u.Hash)); prev != nil {
				if err := json.Unmarshal(prev, &old); err != nil {
					return err
				}
			}
			if old.LastUsed.IsZero() || u.At.After(old.LastUsed) {
				if err := putJSON(ub, []byte(u.Hash), tokenUse{LastUsed: u.At.UTC(), LastAddr: u.Addr}); err != nil {
					return err
				}
			}
			if t.StoreID == "" || u.Addr == "" {
				continue
			}
			k := pair(t.StoreID, u.Addr)
			if prev := ab.Get(k); len(prev) == 8 && int64(binary.BigEndian.Uint64(prev)) >= u.At.UnixNano() {
				continue
			}
			var buf [8]byte
			binary.BigEndian.PutUint64(buf[:], uint64(u.At.UnixNano()))
			if err := ab.Put(k, buf[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// StoreAddresses implements hq.TokenStore.
func (s *Store) StoreAddresses(ctx context.Context, storeID string, since time.Time) ([]string, error) {
	out := []string{}
	prefix := append([]byte(storeID), 0)
	err := s.view(ctx, "store addresses", func(tx *bolt.Tx) error {
		c := tx.Bucket(bStoreAddrs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= since.UnixNano() {
				out = append(out, string(k[len(prefix):]))
			}
		}
		return nil
	})
	return out, err
}
