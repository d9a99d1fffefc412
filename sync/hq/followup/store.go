// Package followup is HQ's side of step 4 (效果追踪): it keeps the follow-ups that arrive
// with the visit records in the HQ's bbolt file, sends them when due through a Channel
// (WeCom customer contact, a log-only demo channel), serves the signed tracked link
// (/f/{token}) with its revisit-booking form, credits points exactly once, flags overdue
// follow-ups and keeps an append-only audit log. See docs/followups.md.
package followup

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pharmachain/counter/flows"
	bolt "go.etcd.io/bbolt"
)

// Bucket names this package owns in the HQ's bbolt file. All start with "fu_" so they
// cannot clash with the HQ server's own buckets.
var (
	bucketItems    = []byte("fu_items")    // follow-up id → Item (JSON)
	bucketDue      = []byte("fu_due")      // BE unix-nano next attempt + id → nil
	bucketSending  = []byte("fu_sending")  // follow-up id → nil: an attempt is in flight
	bucketOpen     = []byte("fu_open")     // follow-up id → store id: not yet opened (overdue candidates)
	bucketSends    = []byte("fu_sends")    // follow-up id + 0x00 + BE attempt → SendAttempt (JSON)
	bucketClicks   = []byte("fu_clicks")   // follow-up id → Click (JSON)
	bucketBookings = []byte("fu_bookings") // follow-up id → Booking (JSON)
	bucketAudit    = []byte("fu_audit")    // BE seq → AuditEntry (JSON), append-only
	bucketContacts = []byte("fu_contacts") // store id + 0x00 + customer key → Contact (JSON)
	bucketSummary  = []byte("fu_summary")  // store id + 0x00 + YYYY-MM-DD → nil: daily summary sent
	allBuckets     = [][]byte{bucketItems, bucketDue, bucketSending, bucketOpen, bucketSends,
		bucketClicks, bucketBookings, bucketAudit, bucketContacts, bucketSummary}
)

// Item statuses.
const (
	StatusScheduled = "scheduled" // waiting for its due time (or a retry)
	StatusSending   = "sending"   // attempt recorded, result not yet recorded
	StatusSent      = "sent"      // the channel confirmed the send
	StatusFailed    = "failed"    // the channel refused it for good (reason kept)
	// StatusUnknown: HQ stopped (or the channel gave an ambiguous error) between
	// recording an attempt and its result. It is never resent automatically; a person
	// checks (e.g. in the WeCom admin console) and resolves it.
	StatusUnknown = "unknown"
)

// ErrInvalid marks bad input (a follow-up without id or due time, a store mismatch…).
// The HQ server answers it with 400.
var ErrInvalid = errors.New("invalid follow-up")

// ErrNotFound is returned when a follow-up id is not known.
var ErrNotFound = errors.New("follow-up not found")

// Item is one follow-up as HQ keeps it.
type Item struct {
	FollowUp    flows.FollowUp  `json:"followup"`
	Consent     map[string]bool `json:"consent"` // per channel, as recorded at the counter
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	NextAt      time.Time       `json:"next_at"` // next attempt (due time, or after a retry-later)
	EnqueuedAt  time.Time       `json:"enqueued_at"`
	SentAt      time.Time       `json:"sent_at,omitzero"`
	LastCode    string          `json:"last_code,omitempty"`   // reason code of the last failure (wecom_unreachable …)
	LastReason  string          `json:"last_reason,omitempty"` // its message, secrets scrubbed
	OpenedAt    time.Time       `json:"opened_at,omitzero"`
	BookedAt    time.Time       `json:"booked_at,omitzero"`
	EscalatedAt time.Time       `json:"escalated_at,omitzero"` // overdue notice posted to the store group
}

// SendAttempt is one recorded attempt: written as "sending" before the channel is
// called, and completed with the result afterwards.
type SendAttempt struct {
	FollowUpID string    `json:"followup_id"`
	Attempt    int       `json:"attempt"`
	Channel    string    `json:"channel"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Status     string    `json:"status"` // sending | sent | retry | failed | unknown
	Code       string    `json:"code,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	MsgID      string    `json:"msg_id,omitempty"`
}

// Click is the first valid open of a tracked link.
type Click struct {
	FollowUpID string    `json:"followup_id"`
	At         time.Time `json:"at"`
	Credited   bool      `json:"credited"`
}

// Booking is a revisit booked through the tracked link.
type Booking struct {
	FollowUpID string    `json:"followup_id"`
	StoreID    string    `json:"store_id"`
	Date       flows.Day `json:"date"`
	Slot       string    `json:"slot"`
	At         time.Time `json:"at"`
	Credited   bool      `json:"credited"`
}

// Contact binds a customer (by customer key, never a raw ID) of a store to the WeCom
// external contact that the customer created by adding the store's staff member as a
// WeCom contact, with consent. Sender is the staff member's WeCom userid.
type Contact struct {
	StoreID        string    `json:"store_id"`
	CustomerKey    string    `json:"customer_key"`
	Sender         string    `json:"sender"`
	ExternalUserID string    `json:"external_userid"` // WeCom's opaque external contact id
	ConsentAt      time.Time `json:"consent_at"`
	// VisitID is the visit whose QR code the customer used (WeCom callback bindings).
	VisitID string `json:"visit_id,omitempty"`
}

// Store keeps follow-ups, attempts, clicks, bookings, contacts and the audit log in
// buckets of a bbolt database owned by the caller (the HQ server).
type Store struct {
	db *bolt.DB
}

// NewStore creates this package's buckets in db if needed.
func NewStore(db *bolt.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("followup: nil bbolt database")
	}
	if err := createBuckets(db, allBuckets...); err != nil {
		return nil, fmt.Errorf("followup: init store: %w", err)
	}
	return &Store{db: db}, nil
}

// createBuckets makes sure the named buckets exist.
func createBuckets(db *bolt.DB, names ...[]byte) error {
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range names {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
}

// DB returns the underlying database.
func (s *Store) DB() *bolt.DB { return s.db }

func dueKey(t time.Time, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	copy(k[8:], id)
	return k
}

func sendKey(id string, attempt int) []byte {
	k := make([]byte, 0, len(id)+5)
	k = append(k, id...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(attempt))
}

func pairKey(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", k, err)
	}
	return b.Put(k, data)
}

func getItem(tx *bolt.Tx, id string) (Item, bool, error) {
	data := tx.Bucket(bucketItems).Get([]byte(id))
	if data == nil {
		return Item{}, false, nil
	}
	var it Item
	if err := json.Unmarshal(data, &it); err != nil {
		return Item{}, false, fmt.Errorf("decode follow-up %s: %w", id, err)
	}
	return it, true, nil
}

func putItem(tx *bolt.Tx, it Item) error {
	return putJSON(tx.Bucket(bucketItems), []byte(it.FollowUp.ID), it)
}

// EnqueueTx schedules the visit's follow-up inside the caller's transaction (the HQ's
// record-ingest batch), so a visit and its follow-up are stored together or not at all.
// It does nothing when the visit has no scheduled follow-up, and schedules nothing when
// the customer gave no consent for the follow-up's channel (HQ sends nothing without
// consent; the skip is audited). It is idempotent by follow-up id: a replayed visit
// changes nothing. Errors wrapping ErrInvalid mean bad input.
func (s *Store) EnqueueTx(tx *bolt.Tx, v flows.Visit) error {
	if v.FollowUp == nil || v.FollowUp.FollowUp == nil {
		return nil
	}
	fu := *v.FollowUp.FollowUp
	if fu.ID == "" {
		return fmt.Errorf("%w: visit %s: followup.scheduled.id is empty", ErrInvalid, v.ID)
	}
	if fu.DueAt.IsZero() {
		return fmt.Errorf("%w: follow-up %s: due_at is missing", ErrInvalid, fu.ID)
	}
	if fu.StoreID == "" {
		fu.StoreID = v.StoreID
	}
	if fu.StoreID != v.StoreID {
		return fmt.Errorf("%w: follow-up %s: store_id %q differs from the visit's %q", ErrInvalid, fu.ID, fu.StoreID, v.StoreID)
	}
	if fu.VisitID == "" {
		fu.VisitID = v.ID
	}
	if fu.PharmacistID == "" {
		fu.PharmacistID = v.PharmacistID
	}
	if fu.CustomerKey == "" {
		fu.CustomerKey = v.CustomerKey
	}
	if fu.Channel == "" {
		fu.Channel = flows.ChannelWeCom
	}
	if _, ok, err := getItem(tx, fu.ID); err != nil {
		return err
	} else if ok {
		return nil // idempotent
	}
	now := time.Now()
	consent := v.FollowUp.Consent[fu.Channel] && fu.Consent && !v.FollowUp.Declined
	if !consent {
		return s.AuditTx(tx, "store:"+v.StoreID, "followup.skip_no_consent",
			fmt.Sprintf("followup=%s channel=%s", fu.ID, fu.Channel), now)
	}
	it := Item{
		FollowUp:   fu,
		Consent:    copyConsent(v.FollowUp.Consent),
		Status:     StatusScheduled,
		NextAt:     fu.DueAt,
		EnqueuedAt: now,
	}
	if err := putItem(tx, it); err != nil {
		return err
	}
	if err := tx.Bucket(bucketDue).Put(dueKey(fu.DueAt, fu.ID), nil); err != nil {
		return fmt.Errorf("index follow-up %s: %w", fu.ID, err)
	}
	if err := tx.Bucket(bucketOpen).Put([]byte(fu.ID), []byte(fu.StoreID)); err != nil {
		return fmt.Errorf("index follow-up %s: %w", fu.ID, err)
	}
	return s.AuditTx(tx, "store:"+v.StoreID, "followup.enqueue",
		fmt.Sprintf("followup=%s channel=%s due=%s", fu.ID, fu.Channel, fu.DueAt.UTC().Format(time.RFC3339)), now)
}

func copyConsent(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Enqueue is EnqueueTx in its own transaction (tests, tools).
func (s *Store) Enqueue(ctx context.Context, v flows.Visit) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return s.EnqueueTx(tx, v) })
}

// Get returns one follow-up.
func (s *Store) Get(ctx context.Context, id string) (Item, error) {
	if err := ctx.Err(); err != nil {
		return Item{}, err
	}
	var it Item
	err := s.db.View(func(tx *bolt.Tx) error {
		var ok bool
		var err error
		it, ok, err = getItem(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil
	})
	return it, err
}

// Attempts returns the recorded send attempts of a follow-up, oldest first.
func (s *Store) Attempts(ctx context.Context, id string) ([]SendAttempt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []SendAttempt
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(id), 0)
		c := tx.Bucket(bucketSends).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var a SendAttempt
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode attempt %x: %w", k, err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// Booking returns the booking of a follow-up, if any.
func (s *Store) Booking(ctx context.Context, id string) (Booking, bool, error) {
	if err := ctx.Err(); err != nil {
		return Booking{}, false, err
	}
	var b Booking
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketBookings).Get([]byte(id))
		if data == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(data, &b)
	})
	return b, ok, err
}

// PutContact records (or replaces) a customer's WeCom contact binding for a store, audited
// as an admin action (demo / import). The WeCom add-contact callback uses BindContact
// (see sync/followup/hqwire).
func (s *Store) PutContact(ctx context.Context, c Contact) error {
	return s.BindContact(ctx, c, "admin", "store="+c.StoreID, time.Now())
}

// Contact looks up a customer's WeCom contact binding for a store.
func (s *Store) Contact(ctx context.Context, storeID, customerKey string) (Contact, bool, error) {
	if err := ctx.Err(); err != nil {
		return Contact{}, false, err
	}
	var c Contact
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketContacts).Get(pairKey(storeID, customerKey))
		if data == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(data, &c)
	})
	return c, ok, err
}

// markCredited sets Credited on a click or booking record.
func (s *Store) markCredited(bucket []byte, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		data := b.Get([]byte(id))
		if data == nil {
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		m["credited"] = true
		return putJSON(b, []byte(id), m)
	})
}

// ReconcilePoints credits clicks and bookings whose points were not yet confirmed
// (HQ stopped between recording them and crediting a non-transactional ledger). The
// ledger is idempotent by event id, so this is safe to run at any time (e.g. at start-up).
func (s *Store) ReconcilePoints(ctx context.Context, ledger PointsLedger, rules flows.PointsRules) (int, error) {
	if rules == nil {
		rules = flows.DefaultPointsRules()
	}
	type pending struct {
		bucket []byte
		kind   string
		id     string
		at     time.Time
	}
	var todo []pending
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketClicks).ForEach(func(k, v []byte) error {
			var c Click
			if err := json.Unmarshal(v, &c); err == nil && !c.Credited {
				todo = append(todo, pending{bucketClicks, flows.PointsLinkOpened, string(k), c.At})
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketBookings).ForEach(func(k, v []byte) error {
			var b Booking
			if err := json.Unmarshal(v, &b); err == nil && !b.Credited {
				todo = append(todo, pending{bucketBookings, flows.PointsRevisitBooked, string(k), b.At})
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("reconcile points: %w", err)
	}
	n := 0
	for _, p := range todo {
		it, err := s.Get(ctx, p.id)
		if err != nil {
			return n, fmt.Errorf("reconcile points: %w", err)
		}
		fu := it.FollowUp
		ev := pointsEvent(rules, fu, p.kind, p.at)
		if ev.Points != 0 {
			if _, err := ledger.Credit(ctx, ev); err != nil {
				return n, fmt.Errorf("reconcile points %s: %w", ev.ID, err)
			}
		}
		if err := s.markCredited(p.bucket, p.id); err != nil {
			return n, fmt.Errorf("reconcile points %s: %w", ev.ID, err)
		}
		n++
	}
	return n, nil
}

// Resolve settles a follow-up whose send outcome is "unknown", after a person checked the
// channel (e.g. the WeCom admin console): sent=true records it as sent at now (its 72 h
// open window starts); sent=false schedules it to be sent again at once. Only "unknown"
// follow-ups can be resolved. Audited with actor.
func (s *Store) Resolve(ctx context.Context, id, actor string, sent bool, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		it, ok, err := getItem(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		if it.Status != StatusUnknown {
			return fmt.Errorf("%w: follow-up %s is %s, only unknown ones can be resolved", ErrInvalid, id, it.Status)
		}
		verdict := "resend"
		if sent {
			verdict = "sent"
			it.Status, it.SentAt = StatusSent, now
		} else {
			it.Status, it.NextAt = StatusScheduled, now
			if err := tx.Bucket(bucketDue).Put(dueKey(now, id), nil); err != nil {
				return err
			}
		}
		it.LastCode, it.LastReason = "resolved", "resolved by "+actor+": "+verdict
		if err := putItem(tx, it); err != nil {
			return err
		}
		return s.AuditTx(tx, actor, "followup.resolve", "followup="+id+" verdict="+verdict, now)
	})
}
