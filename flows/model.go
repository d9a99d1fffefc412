// Package flows is the pure domain of the chronic-disease service four-step method:
// continuity (PDC) analysis, questionnaires, recommendations, follow-ups, completion
// metrics and points. It knows nothing of Fyne, bbolt or HTTP.
package flows

import (
	"fmt"
	"time"
)

// shanghai is the zone every local date is taken in (Shanghai).
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// Shanghai is the zone every local date is taken in. China has had no daylight saving
// since 1991, so a fixed +08:00 zone is exact and needs no tzdata on the store PC.
func Shanghai() *time.Location { return shanghai }

// Day is a local calendar date (Asia/Shanghai) counted in days since 1970-01-01.
// Day arithmetic is plain integer arithmetic.
type Day int32

// DayOf returns the Asia/Shanghai local date of t.
func DayOf(t time.Time) Day {
	y, m, d := t.In(shanghai).Date()
	return DayFromDate(y, m, d)
}

// DayFromDate builds a Day from a calendar date.
func DayFromDate(y int, m time.Month, d int) Day {
	u := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Day(u.Unix() / 86400)
}

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD: %w", s, err)
	}
	return DayFromDate(t.Date()), nil
}

// Time returns local midnight of the day in Asia/Shanghai.
func (d Day) Time() time.Time {
	u := time.Unix(int64(d)*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, shanghai)
}

// String formats the day as YYYY-MM-DD.
func (d Day) String() string { return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02") }

// MarshalText / UnmarshalText make Day a YYYY-MM-DD string in JSON.
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses YYYY-MM-DD.
func (d *Day) UnmarshalText(b []byte) error {
	v, err := ParseDay(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Customer is known only by its key: the first 32 lower-case hex characters of
// HMAC-SHA256(chain secret, normalised ID number). A raw ID number never enters flows.
type Customer struct {
	Key    string `json:"customer_key"`
	Masked string `json:"masked,omitempty"` // e.g. 1101**********002X, display only
}

// Purchase is one dispensed line (a fill) from a POS sale.
type Purchase struct {
	ID          string    `json:"id"` // unique per sale line, chain-wide (store + sale id + line)
	CustomerKey string    `json:"customer_key"`
	StoreID     string    `json:"store_id"`
	SoldAt      time.Time `json:"sold_at"`
	DrugCode    string    `json:"drug_code"`
	Name        string    `json:"name,omitempty"`
	Ingredient  string    `json:"ingredient,omitempty"`
	ATC         string    `json:"atc,omitempty"`
	Quantity    float64   `json:"quantity"`
	DaysSupply  int       `json:"days_supply,omitempty"` // 0: not given on the sale
	// AmountFen is the line total in fen (分); nil: the sale did not say (older POS
	// exports and clients). Never negative.
	AmountFen *int64 `json:"amount_fen,omitempty"`
	// ReceiptID groups the lines of one sale (小票); empty: the sale id inside ID.
	ReceiptID string `json:"receipt_id,omitempty"`
	// Kind is rx, otc or nondrug; empty: the catalog's kind for DrugCode.
	Kind string `json:"kind,omitempty"`
}

// Purchase kinds: prescription drug, over-the-counter drug, non-drug product
// (blood-pressure monitor, pill organiser …).
const (
	KindRx      = "rx"
	KindOTC     = "otc"
	KindNonDrug = "nondrug"
)

// ValidKind reports whether k is a purchase kind (or empty: not given).
func ValidKind(k string) bool {
	return k == "" || k == KindRx || k == KindOTC || k == KindNonDrug
}

// Drug is one catalog entry: a medicine or (Kind nondrug) another product the pharmacy
// sells. Code is a GTIN, a trace-code drug id (first 7 digits) or a POS code.
type Drug struct {
	Code           string `json:"code"`
	Name           string `json:"name"`
	Ingredient     string `json:"ingredient"`
	ATC            string `json:"atc"`
	PackDaysSupply int    `json:"pack_days_supply"` // days one pack lasts at the usual dose; 0 unknown
	// AltCodes are further codes of the same product: the 7-digit trace-code drug id,
	// POS item codes, GTINs of other pack levels. Catalog.Lookup matches them too.
	AltCodes []string `json:"alt_codes,omitempty"`
	// Kind is rx, otc or nondrug: the kind of a purchase of this product that does not
	// state its own. Omitted in a catalog file: rx for an entry with an ATC code (a
	// catalog written before the field listed medicines only). A nondrug entry (a
	// blood-pressure monitor, a pill organiser) has no ATC code. NewCatalog fills the
	// default, so a catalog's entries always have a kind.
	Kind string `json:"kind,omitempty"`
}

// Pharmacist is one member of a store's roster.
type Pharmacist struct {
	ID      string `json:"id"`
	StoreID string `json:"store_id"`
	Name    string `json:"name"`
	Manager bool   `json:"manager,omitempty"`
	PINHash string `json:"pin_hash,omitempty"` // slow hash (bcrypt); never the PIN
	Badge   string `json:"badge,omitempty"`    // staff badge id (scan STAFF-<badge>)
}

// Step numbers of the four-step method.
const (
	StepIdentify      = 1 // 进店识别
	StepQuestionnaire = 2 // 需求挖掘
	StepRecommend     = 3 // 方案推荐
	StepFollowUp      = 4 // 效果追踪
)

// Visit outcomes.
const (
	OutcomeInProgress = "in_progress"
	OutcomeComplete   = "complete"
	OutcomeAbandoned  = "abandoned"
)

// Visit is one service at the counter. It is the "service record" sent to HQ.
type Visit struct {
	ID             string    `json:"id"` // ULID
	StoreID        string    `json:"store_id"`
	PharmacistID   string    `json:"pharmacist_id"`
	CustomerKey    string    `json:"customer_key"`
	CustomerMasked string    `json:"customer_masked,omitempty"`
	StartedAt      time.Time `json:"started_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	EndedAt        time.Time `json:"ended_at,omitzero"`
	Outcome        string    `json:"outcome"`
	AbandonReason  string    `json:"abandon_reason,omitempty"` // "new_customer", "idle", "pharmacist"
	// ContentVersion is the version of the content pack (questionnaires, knowledge base,
	// catalog, rules, messages) the visit ran on; 0 is the default embedded in the kiosk,
	// which is also what every visit recorded before content packs ran on. A kiosk
	// switches packs only between visits, so one visit has one version.
	ContentVersion int `json:"content_version,omitempty"`

	Identify      *IdentifyStep      `json:"identify,omitempty"`
	Questionnaire *QuestionnaireStep `json:"questionnaire,omitempty"`
	Recommend     *RecommendStep     `json:"recommend,omitempty"`
	FollowUp      *FollowUpStep      `json:"followup,omitempty"`
}

// IdentifyStep records step 1: the continuity analysis shown.
type IdentifyStep struct {
	At        time.Time     `json:"at"`
	AsOf      Day           `json:"as_of"`
	Offline   bool          `json:"offline,omitempty"` // history came from this store only
	Adherence []ClassResult `json:"adherence"`
}

// QuestionnaireStep records step 2.
type QuestionnaireStep struct {
	At      time.Time         `json:"at"`
	Class   string            `json:"class"`
	Answers map[string]string `json:"answers"` // question id → choice id
}

// RecommendStep records step 3: the two recommendations and the customer's choice.
type RecommendStep struct {
	At    time.Time        `json:"at"`
	Items []Recommendation `json:"items"`
}

// Recommendation is one knowledge-base item offered, with the reason shown.
type Recommendation struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Reason   string `json:"reason"`
	Accepted *bool  `json:"accepted,omitempty"`  // nil until recorded
	TitleEn  string `json:"title_en,omitempty"`  // English title (UI locale en)
	ReasonEn string `json:"reason_en,omitempty"` // English reason (UI locale en)
}

// FollowUpStep records step 4.
type FollowUpStep struct {
	At       time.Time       `json:"at"`
	Consent  map[string]bool `json:"consent"`            // channel → consent given
	Declined bool            `json:"declined,omitempty"` // no consent: done, nothing scheduled
	FollowUp *FollowUp       `json:"scheduled,omitempty"`
}

// Follow-up channels.
const (
	ChannelWeCom = "wecom" // WeCom customer contact (add_msg_template)
	ChannelSMS   = "sms"
)

// FollowUp is a reminder due 24 h (configurable) after the visit ended.
type FollowUp struct {
	ID           string    `json:"id"` // = visit id + "-f1"
	VisitID      string    `json:"visit_id"`
	StoreID      string    `json:"store_id"`
	PharmacistID string    `json:"pharmacist_id"`
	CustomerKey  string    `json:"customer_key"`
	Channel      string    `json:"channel"`
	DueAt        time.Time `json:"due_at"`
	Text         string    `json:"text"`
	Consent      bool      `json:"consent"`
}

// Points event kinds.
const (
	PointsVisitComplete = "visit_complete"
	PointsLinkOpened    = "link_opened"
	PointsRevisitBooked = "revisit_booked"
)

// PointsEvent credits a pharmacist. ID makes it idempotent (one event earns once).
type PointsEvent struct {
	ID           string    `json:"id"` // e.g. visit id + ":" + kind
	StoreID      string    `json:"store_id"`
	PharmacistID string    `json:"pharmacist_id"`
	Kind         string    `json:"kind"`
	Points       int       `json:"points"`
	At           time.Time `json:"at"`
	Ref          string    `json:"ref,omitempty"` // visit or follow-up id
}

// Adherence levels.
const (
	LevelOK     = "ok"
	LevelYellow = "yellow"
	LevelRed    = "red"
	// LevelUnknown: the class has purchases in the horizon but none whose days' supply
	// is known, so no PDC can be computed (the alert says so).
	LevelUnknown = "unknown"
)

// ClassResult is the PQA-style PDC over a 90-day lookback for one chronic class
// (see docs/adherence.md).
type ClassResult struct {
	Class             string   `json:"class"` // hypertension | diabetes | hyperlipidemia
	PDC               float64  `json:"pdc"`
	CoveredDays       int      `json:"covered_days"`
	PeriodDays        int      `json:"period_days"`
	PeriodStart       Day      `json:"period_start"`
	DaysWithoutSupply int      `json:"days_without_supply"`
	Fills             int      `json:"fills"`
	Level             string   `json:"level"`
	FillIDs           []string `json:"fill_ids,omitempty"`      // purchases the result was computed from
	Uncounted         []string `json:"uncounted,omitempty"`     // purchases of the class whose days' supply is unknown
	LookbackDays      int      `json:"lookback_days,omitempty"` // L the result was computed with (90 by default)
}
