package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func noncesArea(t *testing.T, open Opener) {
	t.Run("ClaimOnceWhileValid", func(t *testing.T) {
		st := open(t)
		until := t0.Add(time.Hour)
		var wg sync.WaitGroup
		var won atomic.Int32
		for range 8 {
			wg.Go(func() {
				ok, err := st.ClaimNonce(bg(), "wecom:abc", t0, until)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d concurrent claims won, want 1", won.Load())
		}
		if ok, _ := st.ClaimNonce(bg(), "wecom:abc", t0.Add(59*time.Minute), until); ok {
			t.Fatal("a replay within the window was claimed")
		}
		if ok, _ := st.ClaimNonce(bg(), "wecom:other", t0, until); !ok {
			t.Fatal("another key refused")
		}
		// After its window the key may be taken again (the message itself is stale by then).
		if ok, err := st.ClaimNonce(bg(), "wecom:abc", until, until.Add(time.Hour)); !ok || err != nil {
			t.Fatalf("claim after the window: %v %v", ok, err)
		}
		// A released key (its message failed) is taken by the retry.
		if err := st.ReleaseNonce(bg(), "wecom:other"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.ClaimNonce(bg(), "wecom:other", t0.Add(time.Minute), until); !ok {
			t.Fatal("a released key refused")
		}
		if err := st.ReleaseNonce(bg(), "never"); err != nil {
			t.Fatalf("releasing an unknown key: %v", err)
		}
	})
}
