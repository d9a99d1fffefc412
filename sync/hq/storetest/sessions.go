package storetest

import (
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

func sessions(t *testing.T, open Opener) {
	t.Run("PutGetDelete", func(t *testing.T) {
		st := open(t)
		s := hq.Session{CSRF: "csrf-1", Expires: t0.Add(8 * time.Hour), TokenHash: hq.HashToken("admin")}
		if _, ok, err := st.GetSession(bg(), "h1"); err != nil || ok {
			t.Fatalf("no session yet: %v %v", ok, err)
		}
		if err := st.PutSession(bg(), "h1", s, t0); err != nil {
			t.Fatal(err)
		}
		got, ok, err := st.GetSession(bg(), "h1")
		if err != nil || !ok || got.CSRF != "csrf-1" || !got.Expires.Equal(s.Expires) || got.TokenHash != s.TokenHash {
			t.Fatalf("%+v %v %v", got, ok, err)
		}
		if err := st.PutSession(bg(), "h2", hq.Session{CSRF: "csrf-2", Expires: t0.Add(9 * time.Hour)}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := st.GetSession(bg(), "h1"); !ok {
			t.Fatal("a live session was dropped by another sign-in")
		}
		if err := st.DeleteSession(bg(), "h1"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := st.GetSession(bg(), "h1"); ok {
			t.Fatal("session alive after delete")
		}
		if err := st.DeleteSession(bg(), "h1"); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
		if _, ok, _ := st.GetSession(bg(), "h2"); !ok {
			t.Fatal("the other session went too")
		}
	})
	t.Run("SigninFailures", func(t *testing.T) {
		st := open(t)
		for i := range 5 {
			if err := st.NoteSigninFailure(bg(), "203.0.113.7", t0.Add(time.Duration(i)*10*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.NoteSigninFailure(bg(), "203.0.113.70", t0); err != nil {
			t.Fatal(err)
		}
		if err := st.NoteSigninFailure(bg(), "203.0.113.7", t0.Add(40*time.Second)); err != nil { // same instant twice
			t.Fatal(err)
		}
		for _, c := range []struct {
			since time.Time
			want  int
		}{{t0, 6}, {t0.Add(25 * time.Second), 3}, {t0.Add(time.Minute), 0}} {
			if n, err := st.SigninFailures(bg(), "203.0.113.7", c.since); err != nil || n != c.want {
				t.Fatalf("failures since %v: %d %v, want %d", c.since.Sub(t0), n, err, c.want)
			}
		}
		if n, _ := st.SigninFailures(bg(), "198.51.100.1", t0); n != 0 {
			t.Fatalf("another address: %d", n)
		}
	})
}
