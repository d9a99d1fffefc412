package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
)

func readsArea(t *testing.T, open Opener) {
	t.Run("LogQueryForgetPurge", func(t *testing.T) {
		st := open(t)
		a, b := key("a"), key("b")
		old := t0.AddDate(-4, 0, 0)
		err := st.LogReads(bg(), []hq.HistoryRead{
			{At: old, Reader: "store:S001", StoreID: "S001", CustomerKey: a},
			{At: t0, Reader: "store:S001", StoreID: "S001", CustomerKey: a},
			{At: t0.Add(time.Minute), Reader: "store:S002", StoreID: "S002", CustomerKey: a},
			{At: t0.Add(2 * time.Minute), Reader: "admin:ops", CustomerKey: b},
		})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := st.Reads(bg(), hq.ReadQuery{CustomerKey: a})
		if err != nil || len(rs) != 3 || rs[0].StoreID != "S002" || rs[0].CustomerKey != a || !rs[0].At.Equal(t0.Add(time.Minute)) ||
			rs[0].Reader != "store:S002" || !rs[2].At.Equal(old) {
			t.Fatalf("a's reads: %+v %v, want 3, newest first", rs, err)
		}
		if rs, _ := st.Reads(bg(), hq.ReadQuery{StoreID: "S001"}); len(rs) != 2 {
			t.Fatalf("S001's reads: %+v", rs)
		}
		if rs, _ := st.Reads(bg(), hq.ReadQuery{From: t0, Limit: 2}); len(rs) != 2 || rs[0].CustomerKey != b {
			t.Fatalf("newest two since t0: %+v", rs)
		}
		if _, err := st.Reads(bg(), hq.ReadQuery{CustomerKey: "11010519491231002X"}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("an ID number as key: %v", err)
		}
		if err := st.LogReads(bg(), []hq.HistoryRead{{At: t0, Reader: "store:S001", CustomerKey: "bad"}}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("a malformed key logged: %v", err)
		}
		// Retention, then the customer's PIPL deletion.
		if _, err := st.PurgeBefore(bg(), flows.DayOf(t0.AddDate(-3, 0, 0))); err != nil {
			t.Fatal(err)
		}
		if rs, _ := st.Reads(bg(), hq.ReadQuery{CustomerKey: a}); len(rs) != 2 {
			t.Fatalf("after the purge: %+v, want the 2 recent reads", rs)
		}
		if _, err := st.ForgetCustomer(bg(), a, t0); err != nil {
			t.Fatal(err)
		}
		if rs, _ := st.Reads(bg(), hq.ReadQuery{CustomerKey: a}); len(rs) != 0 {
			t.Fatalf("a forgotten customer's reads: %+v", rs)
		}
		if rs, _ := st.Reads(bg(), hq.ReadQuery{}); len(rs) != 1 || rs[0].CustomerKey != b {
			t.Fatalf("another customer's reads went: %+v", rs)
		}
	})
}
