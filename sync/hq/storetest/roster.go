package storetest

import (
	"errors"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func roster(t *testing.T, open Opener) {
	t.Run("PutReplaceSorted", func(t *testing.T) {
		st := open(t)
		if r, err := st.Roster(bg(), "S001"); err != nil || r == nil || len(r) != 0 {
			t.Fatalf("empty roster: %#v %v (want an empty, non-nil list)", r, err)
		}
		for _, p := range []flows.Pharmacist{
			{StoreID: "S001", ID: "P02", Name: "李娜"},
			{StoreID: "S001", ID: "P01", Name: "王芳", Manager: true, PINHash: "$2a$10$x", Badge: "0001"},
			{StoreID: "S002", ID: "P01", Name: "别店"},
			{StoreID: "S001", ID: "P02", Name: "李娜娜"},
		} {
			if err := st.PutPharmacist(bg(), p); err != nil {
				t.Fatal(err)
			}
		}
		r, err := st.Roster(bg(), "S001")
		if err != nil || len(r) != 2 || r[0].ID != "P01" || !r[0].Manager || r[0].PINHash != "$2a$10$x" || r[0].Badge != "0001" || r[1].Name != "李娜娜" {
			t.Fatalf("%+v %v", r, err)
		}
		if err := st.PutPharmacist(bg(), flows.Pharmacist{ID: "P9"}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("no store: %v", err)
		}
	})
}
