package storetest

import (
	"errors"
	"testing"

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
}
