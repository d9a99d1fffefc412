package counter

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pharmachain/counter/kiosk/store"
)

// Maintenance settings: a daily hot backup of the store into DATA/backups (kept for a
// week, copy them off the PC with the chain's backup tool) and the retention purge.
const (
	BackupDir       = "backups"
	BackupsKept     = 7
	maintenanceWait = time.Minute // after start, so the first scan is never slowed
)

// Maintain runs MaintainOnce a minute after start and then daily until ctx ends.
func Maintain(ctx context.Context, st *store.Store, dataDir string, log *slog.Logger) {
	t := time.NewTimer(maintenanceWait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := MaintainOnce(ctx, st, dataDir, time.Now(), log); err != nil {
				log.Warn("maintenance", "err", err)
			}
			t.Reset(24 * time.Hour)
		}
	}
}

// MaintainOnce makes today's backup (DATA/backups/kiosk-YYYYMMDD.db, once a day, checked
// before it replaces anything), deletes backups beyond the newest BackupsKept, and
// purges records older than the store's retention.
func MaintainOnce(ctx context.Context, st *store.Store, dataDir string, now time.Time, log *slog.Logger) error {
	dir := filepath.Join(dataDir, BackupDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup dir: %w", err)
	}
	name := filepath.Join(dir, "kiosk-"+now.Format("20060102")+".db")
	if _, err := os.Stat(name); os.IsNotExist(err) {
		if err := backupTo(ctx, st, name); err != nil {
			return err
		}
		log.Info("daily backup written", "file", name)
	}
	if err := pruneBackups(dir, BackupsKept); err != nil {
		return err
	}
	ps, err := st.Purge(ctx, now)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	if ps.Purchases+ps.Visits > 0 {
		log.Info("retention purge", "purchases", ps.Purchases, "visits", ps.Visits, "retention", ps.RetentionApplied)
	}
	return nil
}

func backupTo(ctx context.Context, st *store.Store, name string) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	_, err = st.Backup(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = store.Check(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// pruneBackups keeps the newest n kiosk-*.db files (their names sort by date).
func pruneBackups(dir string, n int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("backups: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "kiosk-") && strings.HasSuffix(e.Name(), ".db") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for len(names) > n {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return fmt.Errorf("prune backups: %w", err)
		}
		names = names[1:]
	}
	return nil
}
