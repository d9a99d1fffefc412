package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

func tokens(t *testing.T, open Opener) {
	t.Run("PutLookupReplace", func(t *testing.T) {
		st := open(t)
		p := hq.Principal{StoreID: "S001", Label: "kiosk 1", CreatedAt: t0}
		if err := st.PutToken(bg(), "h1", p); err != nil {
			t.Fatal(err)
		}
		got, err := st.LookupToken(bg(), "h1")
		if err != nil || got.StoreID != "S001" || got.Label != "kiosk 1" || !got.CreatedAt.Equal(t0) || got.Admin {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		if err := st.PutToken(bg(), "h1", hq.Principal{Admin: true, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.LookupToken(bg(), "h1"); !got.Admin || got.StoreID != "" {
			t.Fatalf("replaced: %+v", got)
		}
		if _, err := st.LookupToken(bg(), "nope"); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("unknown hash: %v, want ErrNotFound", err)
		}
		if err := st.PutToken(bg(), "", p); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("empty hash: %v, want ErrInvalid", err)
		}
	})
	t.Run("CreateToken", func(t *testing.T) {
		st := open(t)
		tok, err := hq.CreateToken(bg(), st, hq.Principal{StoreID: "S002"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := st.LookupToken(bg(), hq.HashToken(tok)); err != nil || got.StoreID != "S002" {
			t.Fatalf("created token: %+v %v", got, err)
		}
		if _, err := st.LookupToken(bg(), tok); !errors.Is(err, hq.ErrNotFound) {
			t.Fatal("the token text itself was stored")
		}
	})
	t.Run("ListRevokeExpire", func(t *testing.T) {
		st := open(t)
		if ts, err := st.Tokens(bg()); err != nil || ts == nil || len(ts) != 0 {
			t.Fatalf("no tokens: %#v %v, want empty", ts, err)
		}
		h1, h2 := hq.HashToken("tok-1"), hq.HashToken("tok-2")
		exp := t0.Add(90 * 24 * time.Hour)
		if err := st.PutToken(bg(), h2, hq.Principal{StoreID: "S001", Label: "kiosk", CreatedAt: t0.Add(time.Hour), ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutToken(bg(), h1, hq.Principal{Admin: true, Label: "ops", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		ts, err := st.Tokens(bg())
		if err != nil || len(ts) != 2 || ts[0].ID != hq.TokenID(h1) || ts[1].ID != hq.TokenID(h2) || !ts[0].Admin ||
			ts[1].StoreID != "S001" || ts[1].Label != "kiosk" || !ts[1].ExpiresAt.Equal(exp) || !ts[1].CreatedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("tokens: %+v %v", ts, err)
		}
		if got, err := st.LookupToken(bg(), h2); err != nil || !got.ExpiresAt.Equal(exp) {
			t.Fatalf("lookup keeps the expiry: %+v %v", got, err)
		}
		at := t0.Add(2 * time.Hour)
		audit := []hq.AuditEntry{{At: at, Actor: "admin:ops", Action: "token.revoke", Detail: "id=" + hq.TokenID(h2)}}
		info, err := st.RevokeToken(bg(), hq.TokenID(h2), at, audit)
		if err != nil || info.ID != hq.TokenID(h2) || !info.RevokedAt.Equal(at) || info.StoreID != "S001" {
			t.Fatalf("revoke: %+v %v", info, err)
		}
		if _, err := st.LookupToken(bg(), h2); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("a revoked token: %v, want ErrNotFound", err)
		}
		if _, err := st.LookupToken(bg(), h1); err != nil {
			t.Fatalf("another token went with it: %v", err)
		}
		again, err := st.RevokeToken(bg(), hq.TokenID(h2), at.Add(time.Hour), audit)
		if err != nil || !again.RevokedAt.Equal(at) {
			t.Fatalf("revoked again: %+v %v, want the first revocation kept", again, err)
		}
		if a := auditActions(t, st); a["token.revoke"] != 1 {
			t.Fatalf("audit %v, want one token.revoke", a)
		}
		if ts, _ := st.Tokens(bg()); len(ts) != 2 || !ts[1].RevokedAt.Equal(at) || !ts[0].RevokedAt.IsZero() {
			t.Fatalf("list after revoke: %+v", ts)
		}
		if _, err := st.RevokeToken(bg(), "000000000000", at, nil); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		if _, err := st.RevokeToken(bg(), hq.TokenID(h1)[:6], at, nil); !errors.Is(err, hq.ErrNotFound) {
			t.Fatalf("a short id must not match: %v", err)
		}
	})
	t.Run("UseAndStoreAddresses", func(t *testing.T) {
		st := open(t)
		hs, ha := hq.HashToken("store"), hq.HashToken("admin")
		if err := st.PutToken(bg(), hs, hq.Principal{StoreID: "S001", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutToken(bg(), ha, hq.Principal{Admin: true, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		err := st.NoteTokenUse(bg(), []hq.TokenUse{
			{Hash: hs, At: t0.Add(time.Minute), Addr: "203.0.113.5"},
			{Hash: hs, At: t0.Add(3 * time.Minute), Addr: "203.0.113.9"},
			{Hash: hs, At: t0.Add(2 * time.Minute), Addr: "203.0.113.5"},
			{Hash: ha, At: t0.Add(time.Minute), Addr: "198.51.100.1"},
			{Hash: hq.HashToken("unknown"), At: t0, Addr: "192.0.2.1"},
		})
		if err != nil {
			t.Fatal(err)
		}
		// An older use later changes nothing.
		if err := st.NoteTokenUse(bg(), []hq.TokenUse{{Hash: hs, At: t0, Addr: "192.0.2.99"}}); err != nil {
			t.Fatal(err)
		}
		ts, err := st.Tokens(bg())
		if err != nil || len(ts) != 2 {
			t.Fatal(ts, err)
		}
		for _, tk := range ts {
			switch tk.ID {
			case hq.TokenID(hs):
				if !tk.LastUsed.Equal(t0.Add(3*time.Minute)) || tk.LastAddr != "203.0.113.9" {
					t.Fatalf("store token's last use: %v %s", tk.LastUsed, tk.LastAddr)
				}
			case hq.TokenID(ha):
				if !tk.LastUsed.Equal(t0.Add(time.Minute)) {
					t.Fatalf("admin token's last use: %v", tk.LastUsed)
				}
			}
		}
		addrs, err := st.StoreAddresses(bg(), "S001", t0)
		if err != nil || !equalStrings(addrs, []string{"192.0.2.99", "203.0.113.5", "203.0.113.9"}) {
			t.Fatalf("S001's addresses: %v %v", addrs, err)
		}
		if addrs, _ := st.StoreAddresses(bg(), "S001", t0.Add(150*time.Second)); !equalStrings(addrs, []string{"203.0.113.9"}) {
			t.Fatalf("S001's addresses since +2.5 min: %v", addrs)
		}
		if addrs, err := st.StoreAddresses(bg(), "S002", t0); err != nil || addrs == nil || len(addrs) != 0 {
			t.Fatalf("S002's addresses: %#v %v, want empty", addrs, err)
		}
	})
}
