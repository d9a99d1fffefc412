package main

import (
	"context"
	"strings"
	"testing"
)

func TestContentAssignOffline(t *testing.T) {
	dir := newHQDir(t)
	for _, n := range []string{"2", "3"} {
		if code, _, errs := runHQ(t, "content", "publish", "--data", dir, "--from", contentDir(t, points(n))); code != 0 {
			t.Fatal(errs)
		}
	}
	assignments := func() func(string) int {
		st, err := openStore(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		a, err := st.ContentAssignments(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return a.For
	}
	if code, out, _ := runHQ(t, "content", "assign", "2", "--stores", "S001,S002", "--data", dir); code != 0 || out != "version 2 assigned to S001, S002\n" {
		t.Fatalf("pilot: %d %q", code, out)
	}
	if f := assignments(); f("S001") != 2 || f("S003") != 0 {
		t.Fatal("pilot assignment")
	}
	if code, _, _ := runHQ(t, "content", "assign", "2", "--all", "--data", dir); code != 0 || assignments()("S003") != 2 {
		t.Fatal("all")
	}
	// Rollback: to version 1 everywhere, then one store back to the embedded default.
	runHQ(t, "content", "assign", "1", "--all", "--data", dir)
	if code, out, _ := runHQ(t, "content", "assign", "0", "--stores", "S009", "--data", dir, "--author", "ops"); code != 0 || !strings.Contains(out, "version 0") {
		t.Fatal(out)
	}
	if f := assignments(); f("S001") != 1 || f("S009") != 0 {
		t.Fatal("rollback")
	}
	if code, _, errs := runHQ(t, "content", "assign", "7", "--all", "--data", dir); code != 1 || !strings.Contains(errs, "content version 7: not found") {
		t.Fatalf("unknown version: %d %q", code, errs)
	}
	// The audit log names who did it.
	st, err := openStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, _ := st.AuditEntries(context.Background(), hqAuditAll())
	if len(es) == 0 || es[0].Action != "content.assign" || es[0].Actor != "ops" || es[0].Detail != "version=0 stores=S009" {
		t.Fatalf("audit %+v", es)
	}
}
