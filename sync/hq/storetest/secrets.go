package storetest

import (
	"bytes"
	"sync"
	"testing"
)

func secrets(t *testing.T, open Opener) {
	t.Run("CreatedOnceAndShared", func(t *testing.T) {
		st := open(t)
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		for i := range got {
			wg.Go(func() {
				b, err := st.LoadOrCreateSecret(bg(), "link", 32)
				if err != nil {
					t.Error(err)
				}
				got[i] = b
			})
		}
		wg.Wait()
		for i := range got {
			if len(got[i]) != 32 || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("secret %d = %x, first %x: every caller must get the same 32 bytes", i, got[i], got[0])
			}
		}
		other, err := st.LoadOrCreateSecret(bg(), "other", 32)
		if err != nil || bytes.Equal(other, got[0]) {
			t.Fatalf("another name: %x %v", other, err)
		}
		if bytes.Equal(got[0], make([]byte, 32)) {
			t.Fatal("secret is all zeros")
		}
	})
}
