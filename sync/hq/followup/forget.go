package followup

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ForgetCustomerTx removes a customer from the follow-up store inside the caller's
// transaction (HQ's PIPL deletion): WeCom contact bindings are deleted, the customer key
// is scrubbed from every follow-up, and follow-ups not yet sent are cancelled (status
// failed, "customer data deleted") so nothing more is sent to them. It returns how many
// items it changed.
func (s *Store) ForgetCustomerTx(tx *bolt.Tx, customerKey string, now time.Time) (int, error) {
	if customerKey == "" {
		return 0, fmt.Errorf("forget: empty customer key: %w", ErrInvalid)
	}
	n := 0
	cb := tx.Bucket(bucketContacts)
	var drop [][]byte
	suffix := append([]byte{0}, customerKey...)
	if err := cb.ForEach(func(k, _ []byte) error {
		if bytes.HasSuffix(k, suffix) {
			drop = append(drop, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, k := range drop {
		if err := cb.Delete(k); err != nil {
			return 0, err
		}
		n++
	}
	var items []Item
	if err := tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, []byte(customerKey)) {
			return nil
		}
		it, ok, err := getItem(tx, string(k))
		if err != nil || !ok || it.FollowUp.CustomerKey != customerKey {
			return err
		}
		items = append(items, it)
		return nil
	}); err != nil {
		return 0, err
	}
	for _, it := range items {
		it.FollowUp.CustomerKey = ""
		if it.Status == StatusScheduled {
			it.Status = StatusFailed
			it.LastCode, it.LastReason = "customer_deleted", "customer data deleted (PIPL request)"
		}
		if err := putItem(tx, it); err != nil {
			return 0, err
		}
		n++
	}
	if err := s.AuditTx(tx, "hq", "customer.forget", fmt.Sprintf("followups=%d contacts=%d", len(items), len(drop)), now); err != nil {
		return 0, err
	}
	return n, nil
}
