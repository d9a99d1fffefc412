package storetest

import (
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

func audit(t *testing.T, open Opener) {
	t.Run("AppendOnlyNewestFirstAndQuery", func(t *testing.T) {
		st := open(t)
		if err := st.Audit(bg()); err != nil {
			t.Fatalf("appending nothing: %v", err)
		}
		for i := range 10 {
			actor := "admin"
			if i%2 == 1 {
				actor = "store:S001"
			}
			if err := st.Audit(bg(), hq.AuditEntry{At: t0.Add(time.Duration(i) * time.Hour), Actor: actor, Action: "export", Detail: "table=stores"}); err != nil {
				t.Fatal(err)
			}
		}
		all, err := st.AuditEntries(bg(), hq.AuditQuery{})
		if err != nil || len(all) != 10 {
			t.Fatalf("all: %d %v", len(all), err)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Seq >= all[i-1].Seq {
				t.Fatalf("not newest first: seq %d after %d", all[i].Seq, all[i-1].Seq)
			}
		}
		if !all[0].At.Equal(t0.Add(9*time.Hour)) || all[0].Detail != "table=stores" || all[0].Action != "export" {
			t.Fatalf("newest: %+v", all[0])
		}
		win, _ := st.AuditEntries(bg(), hq.AuditQuery{From: t0.Add(2 * time.Hour), To: t0.Add(6 * time.Hour), Actor: "admin"})
		if len(win) != 2 || !win[0].At.Equal(t0.Add(4*time.Hour)) || !win[1].At.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("window [2h, 6h) of admin: %+v", win)
		}
		if lim, _ := st.AuditEntries(bg(), hq.AuditQuery{Limit: 3}); len(lim) != 3 || lim[0].Seq != all[0].Seq {
			t.Fatalf("limit 3: %+v", lim)
		}
		// Several entries in one call keep their order.
		if err := st.Audit(bg(), hq.AuditEntry{At: t0, Actor: "hq", Action: "one"}, hq.AuditEntry{At: t0, Actor: "hq", Action: "two"}); err != nil {
			t.Fatal(err)
		}
		two, _ := st.AuditEntries(bg(), hq.AuditQuery{Actor: "hq"})
		if len(two) != 2 || two[0].Action != "two" || two[1].Action != "one" {
			t.Fatalf("entries of one call: %+v", two)
		}
	})
}
