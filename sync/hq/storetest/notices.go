package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
)

func notices(t *testing.T, open Opener) {
	t.Run("ClaimOnce", func(t *testing.T) {
		st := open(t)
		const k = "summary/S001/2026-06-01"
		var wg sync.WaitGroup
		var won atomic.Int32
		for i := range 8 {
			wg.Go(func() {
				ok, err := st.ClaimNotice(bg(), k, string(rune('A'+i)), t0)
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
			t.Fatalf("%d of 8 concurrent claims won, want 1", won.Load())
		}
		if ok, _ := st.ClaimNotice(bg(), k, "Z", t0.Add(24*3600e9)); ok {
			t.Fatal("a later claim of a posted notice won")
		}
		if ok, _ := st.ClaimNotice(bg(), "summary/S002/2026-06-01", "Z", t0); !ok {
			t.Fatal("another key is claimable")
		}
	})
	t.Run("Release", func(t *testing.T) {
		st := open(t)
		const k = "escalate/v-f1"
		if ok, _ := st.ClaimNotice(bg(), k, "A", t0); !ok {
			t.Fatal("first claim")
		}
		if err := st.ReleaseNotice(bg(), k, "B"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.ClaimNotice(bg(), k, "B", t0); ok {
			t.Fatal("another owner released A's claim")
		}
		if err := st.ReleaseNotice(bg(), k, "A"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.ClaimNotice(bg(), k, "B", t0); !ok {
			t.Fatal("a released notice is not claimable again")
		}
		if err := st.ReleaseNotice(bg(), "never-claimed", "A"); err != nil {
			t.Fatal(err)
		}
	})
}
