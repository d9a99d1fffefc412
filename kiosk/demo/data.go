// Package demo is the data set, local HQ and virtual scanner behind `make run`
// (kiosk --demo): a catalog and questionnaires from assets, customers whose histories
// give red, yellow and ok alerts, a roster, a month of visits for the manager view,
// an in-process HQ on 127.0.0.1 (real HTTP) and a demo scanner feeding a real PTY.
package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/oklog/ulid/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
)

// Fixed, public demo identifiers (they exist only in a --demo run).
const (
	StoreID    = "S001"
	OtherStore = "S002" // a sister store whose sales only HQ knows (chain-wide history)
	StoreToken = "hqs_demo_S001_not_secret"
	AdminToken = "hqa_demo_admin_not_secret"
	// Secret is the demo chain secret (≥ 16 bytes; real installs provision a file).
	Secret = "demo-chain-secret-not-for-production"
)

// Pharmacist is a demo roster entry with its PIN in clear (demo only).
type Pharmacist struct {
	ID, Name, PIN, Badge string
	Manager              bool
}

// Pharmacists returns the demo roster (the same as `hq serve --demo`).
func Pharmacists() []Pharmacist {
	return []Pharmacist{
		{"P01", "王芳", "1234", "0001", true},
		{"P02", "李娜", "2345", "0002", false},
		{"P03", "陈明", "3456", "0003", false},
	}
}

// Roster returns the demo pharmacists with bcrypt PIN hashes (MinCost: demo only).
func Roster() ([]flows.Pharmacist, error) {
	out := make([]flows.Pharmacist, 0, len(Pharmacists()))
	for _, p := range Pharmacists() {
		h, err := bcrypt.GenerateFromPassword([]byte(p.PIN), bcrypt.MinCost)
		if err != nil {
			return nil, fmt.Errorf("demo roster: %w", err)
		}
		out = append(out, flows.Pharmacist{ID: p.ID, StoreID: StoreID, Name: p.Name, Manager: p.Manager,
			PINHash: string(h), Badge: p.Badge})
	}
	return out, nil
}

// Customer is a demo customer: a public GB 11643 example ID number and a story.
type Customer struct {
	Label string // A, B, C, D on the demo scanner
	ID    string // ID number (public example) — the demo scanner "reads" it from the card
	Name  string // shown only for insurance QR scans, masked
	Story string
	Fills []Fill
}

// Fill is one demo purchase: days before today, catalog code, packs, store.
type Fill struct {
	DaysAgo int
	Code    string
	Packs   float64
	Store   string
}

// Customers returns a red, a yellow and an ok story plus a first-time customer.
func Customers() []Customer {
	return []Customer{
		{"A", "11010519491231002X", "张三", "高血压：氨氯地平 28 天装，最近一次在姐妹店购买，已断药 12 天 → 黄色",
			[]Fill{{96, "6930120010006", 1, StoreID}, {68, "6930120010006", 1, StoreID}, {40, "6930120010006", 1, OtherStore}}},
		{"B", "440524188001010014", "李四", "糖尿病：二甲双胍按时取药 → 正常；另有他汀",
			[]Fill{{85, "6931550016668", 2, StoreID}, {55, "6931550016668", 2, StoreID}, {25, "6931550016668", 2, StoreID}, {28, "6935620020739", 1, StoreID}}},
		{"C", "34052419800101001X", "王五", "高血压：缬沙坦 7 天装，长期断药 → 红色",
			[]Fill{{120, "6931550010741", 1, StoreID}, {30, "6931550010741", 1, StoreID}}},
		{"D", "513101198201130014", "赵六", "新顾客：无购药记录", nil},
	}
}

// DrugCodes returns the demo scanner's drug boxes.
func DrugCodes() []string { return []string{"6930120010006", "6931550016668"} }

// Purchases returns the demo customers' purchases as of now, keyed with secret. Ids are
// fixed, so seeding twice adds nothing.
func Purchases(secret []byte, cat *flows.Catalog, now time.Time) ([]flows.Purchase, error) {
	var ps []flows.Purchase
	for ci, c := range Customers() {
		id, err := devices.NormaliseIDNumber(c.ID, now)
		if err != nil {
			return nil, fmt.Errorf("demo customer %s: %w", c.Label, err)
		}
		key := customerkey.Hash(secret, id).String()
		for fi, f := range c.Fills {
			sold := flows.DayOf(now).Time().AddDate(0, 0, -f.DaysAgo).Add(10 * time.Hour)
			p := flows.Purchase{ID: fmt.Sprintf("%s:DEMO-%d-%d:%s", f.Store, ci+1, fi+1, f.Code), CustomerKey: key,
				StoreID: f.Store, SoldAt: sold, DrugCode: f.Code, Quantity: f.Packs}
			flows.ResolvePurchase(cat, &p)
			ps = append(ps, p)
		}
	}
	return ps, nil
}

// Visits returns a month of plausible visits (30 days up to yesterday, plus a few
// today) for the demo roster, so the manager view is not empty: P01 completes most
// visits, P02 often stops at step 3, P03 at step 2. Deterministic for a given day.
func Visits(qs flows.QuestionnaireSet, kb *flows.KnowledgeBase, now time.Time) ([]flows.Visit, error) {
	zh, en, err := i18n.Both()
	if err != nil {
		return nil, fmt.Errorf("demo visits: %w", err)
	}
	msgs, err := assets.Read(flows.MessagesFile)
	if err != nil {
		return nil, fmt.Errorf("demo visits: %w", err)
	}
	m, err := flows.LoadFollowUpMessages(msgs, nil)
	if err != nil {
		return nil, fmt.Errorf("demo visits: %w", err)
	}
	tx := texts{zh, en, m.Reminder}
	today := flows.DayOf(now)
	rng := rand.New(rand.NewPCG(uint64(today), 42))
	// Probability of continuing past each step, per pharmacist.
	cont := map[string][4]float64{
		"P01": {0.98, 0.97, 0.95, 0.97},
		"P02": {0.95, 0.90, 0.62, 0.90},
		"P03": {0.90, 0.65, 0.85, 0.85},
	}
	var out []flows.Visit
	seq := 0
	for d := today - 29; d <= today; d++ {
		for _, p := range Pharmacists() {
			n := 3 + rng.IntN(6)
			if d == today {
				n = 1 + rng.IntN(2)
			}
			for i := 0; i < n; i++ {
				seq++
				start := d.Time().Add(time.Duration(9*3600+rng.IntN(9*3600)) * time.Second)
				if d == today && start.After(now) {
					start = now.Add(-time.Duration(10+rng.IntN(50)) * time.Minute)
				}
				v, err := visit(qs, kb, tx, p.ID, seq, start, cont[p.ID], rng)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func visit(qs flows.QuestionnaireSet, kb *flows.KnowledgeBase, tx texts, pharmacist string, seq int, start time.Time, cont [4]float64, rng *rand.Rand) (flows.Visit, error) {
	sum := sha256.Sum256(fmt.Appendf(nil, "demo-customer-%d", rng.IntN(400)))
	key := hex.EncodeToString(sum[:16])
	masked := fmt.Sprintf("%04d**********%03dX", 1100+rng.IntN(5000), rng.IntN(1000))[:18]
	var ent [10]byte
	binary.BigEndian.PutUint64(ent[:8], rng.Uint64())
	binary.BigEndian.PutUint16(ent[8:], uint16(seq))
	id, err := ulid.New(ulid.Timestamp(start), bytes.NewReader(ent[:]))
	if err != nil {
		return flows.Visit{}, fmt.Errorf("demo visit id: %w", err)
	}
	v := flows.NewVisit(id.String(), StoreID, pharmacist, flows.Customer{Key: key, Masked: masked}, start)
	t := start
	step := func() time.Time { t = t.Add(time.Duration(12+rng.IntN(30)) * time.Second); return t }
	classes := flows.Classes()
	class := classes[rng.IntN(len(classes))]
	level := []string{flows.LevelOK, flows.LevelYellow, flows.LevelRed}[rng.IntN(3)]
	a := flows.Analysis{AsOf: flows.DayOf(start), Classes: []flows.ClassResult{{Class: class, Level: level,
		PDC: 0.5 + rng.Float64()/2, PeriodDays: 90, CoveredDays: 60, DaysWithoutSupply: rng.IntN(20), Fills: 2 + rng.IntN(3)}}}
	end := func(reason string) (flows.Visit, error) {
		if err := flows.Abandon(&v, reason, step()); err != nil {
			return v, fmt.Errorf("demo visit: %w", err)
		}
		return v, nil
	}
	if rng.Float64() > cont[0] {
		return end("new_customer")
	}
	if err := flows.RecordIdentify(&v, a, false, step()); err != nil {
		return v, fmt.Errorf("demo visit: %w", err)
	}
	if rng.Float64() > cont[1] {
		return end("pharmacist")
	}
	q := qs.For(class)
	answers := map[string]string{}
	for _, qu := range q.Visible(answers) {
		if qu.Mandatory {
			answers[qu.ID] = qu.Choices[rng.IntN(len(qu.Choices))].ID
		}
	}
	if err := flows.RecordAnswers(&v, q, answers, step()); err != nil {
		return v, fmt.Errorf("demo visit: %w", err)
	}
	if rng.Float64() > cont[2] {
		return end("idle")
	}
	recs, err := kb.Recommend(class, level, answers, i18n.ReasonWords(tx.zh.L, tx.en.L, class, level))
	if err != nil {
		return v, fmt.Errorf("demo visit: %w", err)
	}
	for i := range recs {
		acc := rng.IntN(2) == 0
		recs[i].Accepted = &acc
	}
	if err := flows.RecordRecommendations(&v, recs, step()); err != nil {
		return v, fmt.Errorf("demo visit: %w", err)
	}
	if rng.Float64() > cont[3] {
		return end("new_customer")
	}
	consent := map[string]bool{flows.ChannelWeCom: rng.IntN(3) > 0}
	policy := flows.DefaultFollowUpPolicy()
	policy.Text, policy.ClassNames = tx.reminder, i18n.FollowUpClassNames(tx.zh.L)
	if err := flows.RecordFollowUp(&v, consent, policy, step()); err != nil {
		return v, fmt.Errorf("demo visit: %w", err)
	}
	return v, nil
}

// Seeder is what Seed writes to (kiosk/store.Store satisfies it).
type Seeder interface {
	PutCatalog(drugs []flows.Drug) error
	PutRoster(storeID string, ps []flows.Pharmacist) error
	PutPurchases(ctx context.Context, ps []flows.Purchase) (added, dup int, err error)
	Visits(ctx context.Context, from, to flows.Day) ([]flows.Visit, error)
	SaveVisit(ctx context.Context, v flows.Visit) error
}

// SeedLocal fills the kiosk store for the demo (idempotent): catalog, roster, this
// store's own sales of the demo customers (not the sister store's: those only HQ knows)
// and, on the first run, a month of visits.
func SeedLocal(ctx context.Context, st Seeder, cat *flows.Catalog, qs flows.QuestionnaireSet, kb *flows.KnowledgeBase, now time.Time) error {
	if err := st.PutCatalog(cat.All()); err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	roster, err := Roster()
	if err != nil {
		return err
	}
	if err := st.PutRoster(StoreID, roster); err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	ps, err := Purchases([]byte(Secret), cat, now)
	if err != nil {
		return err
	}
	var local []flows.Purchase
	for _, p := range ps {
		if p.StoreID == StoreID {
			local = append(local, p)
		}
	}
	if _, _, err := st.PutPurchases(ctx, local); err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	today := flows.DayOf(now)
	have, err := st.Visits(ctx, today-40, today)
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	if len(have) > 0 {
		return nil
	}
	vs, err := Visits(qs, kb, now)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if err := st.SaveVisit(ctx, v); err != nil {
			return fmt.Errorf("demo seed: visit %s: %w", v.ID, err)
		}
	}
	return nil
}

// texts are the translations a demo visit records its texts with (as the counter does)
// and the reminder's template.
type texts struct {
	zh, en   *i18n.Texts
	reminder string
}
