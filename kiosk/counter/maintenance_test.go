package counter

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

func TestDailyBackupPruneAndPurge(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, flows.Shanghai())
	key := "0123456789abcdef0123456789abcdef"
	if _, _, err := st.PutPurchases(ctx, []flows.Purchase{
		{ID: "old", CustomerKey: key, StoreID: "S001", SoldAt: now.AddDate(-4, 0, 0), DrugCode: "x", Quantity: 1, DaysSupply: 30},
		{ID: "new", CustomerKey: key, StoreID: "S001", SoldAt: now.AddDate(0, 0, -3), DrugCode: "x", Quantity: 1, DaysSupply: 30},
	}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for d := 0; d < 9; d++ {
		if err := MaintainOnce(ctx, st, dir, now.AddDate(0, 0, d), log); err != nil {
			t.Fatal(err)
		}
	}
	// Twice the same day: no second file.
	if err := MaintainOnce(ctx, st, dir, now.AddDate(0, 0, 8).Add(time.Hour), log); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, BackupDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != BackupsKept {
		t.Fatalf("%d backups kept, want %d", len(entries), BackupsKept)
	}
	if entries[0].Name() != "kiosk-20261129.db" || entries[len(entries)-1].Name() != "kiosk-20261205.db" {
		t.Fatalf("kept %s … %s, want the newest week", entries[0].Name(), entries[len(entries)-1].Name())
	}
	if err := store.Check(filepath.Join(dir, BackupDir, entries[0].Name())); err != nil {
		t.Fatalf("backup does not check: %v", err)
	}
	h, err := st.History(ctx, key, 0, flows.DayOf(now)+1)
	if err != nil || len(h) != 1 || h[0].ID != "new" {
		t.Fatalf("after purge: %v %v (want only the recent purchase)", h, err)
	}
}
