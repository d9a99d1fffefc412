package store

import (
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Check opens the store file at path read-only (for example a backup just written), runs
// bbolt's consistency check over every page and verifies the schema version and the
// buckets. It does not change the file.
func Check(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultLockTimeout})
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
			if len(errs) >= 10 {
				break
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("bbolt consistency: %w", errors.Join(errs...))
		}
		meta := tx.Bucket(bMeta)
		if meta == nil {
			return fmt.Errorf("no meta bucket: not a kiosk store")
		}
		v := getU64(meta, keySchema)
		if v == 0 || v > SchemaVersion {
			return fmt.Errorf("schema version %d: this program knows 1..%d", v, SchemaVersion)
		}
		if v == SchemaVersion {
			for _, b := range [][]byte{bPurchases, bPurchaseIDs, bCatalog, bVisits, bVisitsByDay, bVisitsOpen, bOutbox, bOutboxParked, bRoster, bPoints, bSettings} {
				if tx.Bucket(b) == nil {
					return fmt.Errorf("bucket %s missing", b)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	return nil
}
