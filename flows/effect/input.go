// Package effect is the outcome side of the four-step service (效果验证):
// cohorts of served and comparison customers per chronic class, their outcomes
// (continuity PDC, 30-day revisit, Rx basket, non-drug spend, recommendation
// conversion), a difference-in-differences effect estimate matched on store and
// baseline level with a stratified bootstrap interval, and the process-health report
// (completeness, rhythm, coordination). Definitions: docs/effect.md.
//
// The package is pure: it reads plain facts (VisitFact, PurchaseFact, FollowUpFact)
// that a caller streams into a Builder in any order, and returns codes and numbers,
// never sentences. The continuity PDC is flows' own (flows.ReadPurchase and
// flows.ClassCoverage), so every number matches what the counter showed.
//
// Layout for speed: customers, stores, drug facts and knowledge-base items are
// interned to small integers once, at Add time; a built Data keeps each customer's
// purchases and complete visits contiguous and sorted (day ints, no maps or strings in
// the loops a report runs), and one Data answers any number of reports.
package effect

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows"
)

// VisitFact is what the reports need of one visit.
type VisitFact struct {
	VisitID     string // only for error messages
	CustomerKey string // may be empty (then the visit counts only for process health)
	StoreID     string
	StartedAt   time.Time
	// Complete: all four steps done and the outcome complete (flows.Complete).
	Complete bool
	// StepsDone is the number of consecutive steps done from step 1 (0–4).
	StepsDone int
	// StepSeconds[i] is how long step i+1 took (from the previous step, or the visit
	// start for step 1) where StepTimed[i] (flows.VisitContribution).
	StepSeconds [4]float64
	StepTimed   [4]bool
	// VisitSeconds is start → end of a complete visit, where VisitTimed.
	VisitSeconds float64
	VisitTimed   bool
	// Classes are the chronic classes step 1's continuity analysis listed.
	Classes []string
	// QuestionnaireClass is the class step 2 asked about (hypertension … or general).
	QuestionnaireClass string
	// Recommendations are step 3's items with the customer's choice.
	Recommendations []RecommendationFact
	// ContentVersion is the content the counter served the visit with (0: the content
	// built into the kiosk): its knowledge base names the recommendations' products.
	ContentVersion int
}

// RecommendationFact is one recommendation made in step 3.
type RecommendationFact struct {
	ItemID   string // knowledge-base item id
	Accepted *bool  // nil: not recorded
}

// VisitFactOf reads a visit.
func VisitFactOf(v flows.Visit) VisitFact {
	c := flows.VisitContribution(v)
	f := VisitFact{
		VisitID: v.ID, CustomerKey: v.CustomerKey, StoreID: v.StoreID, StartedAt: v.StartedAt,
		Complete: flows.Complete(v), StepsDone: flows.StepsDone(v), StepSeconds: c.StepSeconds,
		ContentVersion: v.ContentVersion,
	}
	for i := range f.StepTimed {
		f.StepTimed[i] = c.StepTimed[i] == 1
	}
	if f.Complete && !v.EndedAt.IsZero() && !v.StartedAt.IsZero() {
		if s := v.EndedAt.Sub(v.StartedAt).Seconds(); s >= 0 {
			f.VisitSeconds, f.VisitTimed = s, true
		}
	}
	if v.Identify != nil {
		for _, r := range v.Identify.Adherence {
			f.Classes = append(f.Classes, r.Class)
		}
	}
	if v.Questionnaire != nil {
		f.QuestionnaireClass = v.Questionnaire.Class
	}
	if v.Recommend != nil {
		for _, it := range v.Recommend.Items {
			f.Recommendations = append(f.Recommendations, RecommendationFact{ItemID: it.ID, Accepted: it.Accepted})
		}
	}
	return f
}

// PurchaseFact is what the reports need of one purchase line.
type PurchaseFact struct {
	CustomerKey string
	StoreID     string
	// Day is the local (Asia/Shanghai) date of the sale; Second the seconds since its
	// local midnight (orders same-day sales).
	Day    flows.Day
	Second int32
	// The drug facts as on flows.Purchase (the catalog fills what is empty).
	DrugCode, Ingredient, ATC, Kind string
	Quantity                        float64
	DaysSupply                      int
	// AmountFen is the line total in fen where HasAmount.
	AmountFen int64
	HasAmount bool
	// Receipt identifies the sale (小票) the line belongs to: ReceiptKey(store, receipt).
	Receipt uint64
}

// PurchaseFactOf reads a purchase. Its receipt is ReceiptID, else the sale id inside ID
// (STORE:SALE:…, the POS import's and the kiosk's form), else the whole ID (a line on
// its own).
func PurchaseFactOf(p flows.Purchase) PurchaseFact {
	f := PurchaseFact{
		CustomerKey: p.CustomerKey, StoreID: p.StoreID, DrugCode: p.DrugCode, Ingredient: p.Ingredient,
		ATC: p.ATC, Kind: p.Kind, Quantity: p.Quantity, DaysSupply: p.DaysSupply,
	}
	f.Day, f.Second = DayAndSecond(p.SoldAt)
	if p.AmountFen != nil {
		f.AmountFen, f.HasAmount = *p.AmountFen, true
	}
	f.Receipt = ReceiptKey(p.StoreID, ReceiptOf(p))
	return f
}

// ReceiptOf is the receipt id of a purchase: ReceiptID, else the sale id inside ID
// (the second field of STORE:SALE:CODE[:n]), else ID.
func ReceiptOf(p flows.Purchase) string {
	if p.ReceiptID != "" {
		return p.ReceiptID
	}
	return string(saleOf([]byte(p.ID)))
}

// saleOf is the sale id inside a purchase id STORE:SALE:CODE[:n], else the id.
func saleOf(id []byte) []byte {
	i := bytes.IndexByte(id, ':')
	if i < 0 {
		return id
	}
	j := bytes.IndexByte(id[i+1:], ':')
	if j <= 0 {
		return id
	}
	return id[i+1 : i+1+j]
}

// ReceiptKey is a 64-bit key of a store's receipt id (FNV-1a). Two receipts of one
// customer colliding is about 10⁻¹⁷ likely.
func ReceiptKey(storeID, receipt string) uint64 {
	h := fnvAdd(fnvOffset, storeID)
	h = fnvByte(h, 0)
	return fnvAdd(h, receipt)
}

// ReceiptKeyOf is ReceiptKey(store, ReceiptOf(purchase)) over a stored purchase's raw
// fields, without allocating (storage backends decoding many purchases).
func ReceiptKeyOf(store, receiptID, purchaseID []byte) uint64 {
	r := receiptID
	if len(r) == 0 {
		r = saleOf(purchaseID)
	}
	h := fnvAddBytes(fnvOffset, store)
	h = fnvByte(h, 0)
	return fnvAddBytes(h, r)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}

func fnvAddBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = fnvByte(h, c)
	}
	return h
}

// DayAndSecond is flows.DayOf(t) and the seconds since that local midnight, with
// integer arithmetic (Asia/Shanghai is a fixed +08:00).
func DayAndSecond(t time.Time) (flows.Day, int32) {
	s := t.Unix() + 8*3600
	d := s / 86400
	r := s % 86400
	if r < 0 {
		d--
		r += 86400
	}
	return flows.Day(d), int32(r)
}

// FollowUpFact is what the coordination report needs of one follow-up.
type FollowUpFact struct {
	FollowUpID string // only for error messages
	StoreID    string
	DueAt      time.Time
	SentAt     time.Time // zero: not (yet) confirmed sent
	OpenedAt   time.Time // zero: the link not (yet) opened
}

// ErrInvalid marks a fact the builder refuses.
const ErrInvalid = sentinel("invalid fact")

// Builder collects facts. It is not safe for concurrent use; Build it once.
type Builder struct {
	cat *flows.Catalog
	kb  *flows.KnowledgeBase

	custIdx   map[string]int32
	custKeys  []string
	lastCust  string
	lastCustI int32

	storeIdx   map[string]int32
	stores     []string
	lastStore  string
	lastStoreI int32

	infoIdx  map[infoKey]int32
	infos    []lineInfo
	ingrIdx  map[string]int32
	entryIdx map[string]int32 // catalog primary code (or a code the catalog lacks) → entry id

	// Knowledge-base items: a variant is one item of one content version's knowledge
	// base (its product codes may differ between versions); the report counts items by
	// id over every version.
	itemIdx  map[string]int32         // version 0: item id → variant
	verItems map[int]map[string]int32 // version ≥ 1: item id → variant
	kbFor    func(version int) (*flows.KnowledgeBase, *flows.Catalog)
	itemEnt  [][]int32        // variant → entry ids of its product codes
	itemOf   []int32          // variant → report item
	itemIDs  []string         // report item → id
	idItem   map[string]int32 // id → report item

	lines []pline
	lcust []int32
	vis   []vrec
	vcust []int32
	hl    []hrec
	fl    []frec
}

// NewBuilder starts a builder. cat resolves drug codes (may be nil: then only the
// sales' own ingredient and ATC classify them and no kind comes from a catalog); kb
// names the recommendations' product codes (may be nil: no conversions).
func NewBuilder(cat *flows.Catalog, kb *flows.KnowledgeBase) *Builder {
	b := &Builder{
		cat: cat, kb: kb,
		custIdx: map[string]int32{}, storeIdx: map[string]int32{}, lastCustI: -1, lastStoreI: -1,
		infoIdx: map[infoKey]int32{}, ingrIdx: map[string]int32{}, entryIdx: map[string]int32{},
		verItems: map[int]map[string]int32{}, idItem: map[string]int32{},
	}
	b.itemIdx = b.addKnowledge(kb, cat)
	return b
}

// KnowledgeFor says where the knowledge base of a content version comes from: fn(v)
// gives, for visits the counter served with content version v ≥ 1 (VisitFact.
// ContentVersion), the knowledge base that named their recommendations' products and
// the catalog its product codes resolve in (nil catalog: NewBuilder's). A nil knowledge
// base, or no fn, reads them with NewBuilder's (version 0's). Call it before AddVisit;
// fn is called once per version.
func (b *Builder) KnowledgeFor(fn func(version int) (*flows.KnowledgeBase, *flows.Catalog)) {
	b.kbFor = fn
}

// addKnowledge adds kb's items as variants and returns item id → variant.
func (b *Builder) addKnowledge(kb *flows.KnowledgeBase, cat *flows.Catalog) map[string]int32 {
	idx := map[string]int32{}
	if kb == nil {
		return idx
	}
	for _, it := range kb.Items {
		var ents []int32
		for _, code := range it.ProductCodes {
			d, ok := cat.Lookup(code)
			if !ok {
				continue
			}
			if cat != b.cat {
				// A product a newer catalog added: HQ's catalog may not know it, and its
				// sales then carry their own code (info).
				if hd, ok := b.cat.Lookup(d.Code); ok {
					d = hd
				} else {
					for _, alt := range d.AltCodes {
						ents = append(ents, b.entry(strings.TrimSpace(alt)))
					}
				}
			}
			ents = append(ents, b.entry(d.Code))
		}
		r, ok := b.idItem[it.ID]
		if !ok {
			r = int32(len(b.itemIDs))
			b.idItem[it.ID] = r
			b.itemIDs = append(b.itemIDs, it.ID)
		}
		idx[it.ID] = int32(len(b.itemEnt))
		b.itemEnt = append(b.itemEnt, ents)
		b.itemOf = append(b.itemOf, r)
	}
	return idx
}

// items is item id → variant for visits served with content version v.
func (b *Builder) items(v int) map[string]int32 {
	if v == 0 || b.kbFor == nil {
		return b.itemIdx
	}
	if idx, ok := b.verItems[v]; ok {
		return idx
	}
	idx := b.itemIdx
	if kb, cat := b.kbFor(v); kb != nil {
		if cat == nil {
			cat = b.cat
		}
		idx = b.addKnowledge(kb, cat)
	}
	b.verItems[v] = idx
	return idx
}

// Grow reserves room for about this many facts of each kind (optional).
func (b *Builder) Grow(visits, purchases, followUps int) {
	b.lines = slices.Grow(b.lines, purchases)
	b.lcust = slices.Grow(b.lcust, purchases)
	b.hl = slices.Grow(b.hl, visits)
	b.fl = slices.Grow(b.fl, followUps)
}

func (b *Builder) entry(code string) int32 {
	if e, ok := b.entryIdx[code]; ok {
		return e
	}
	e := int32(len(b.entryIdx))
	b.entryIdx[code] = e
	return e
}

func (b *Builder) customer(key string) int32 {
	if key == b.lastCust && b.lastCustI >= 0 {
		return b.lastCustI
	}
	i, ok := b.custIdx[key]
	if !ok {
		i = int32(len(b.custKeys))
		b.custIdx[key] = i
		b.custKeys = append(b.custKeys, key)
	}
	b.lastCust, b.lastCustI = key, i
	return i
}

func (b *Builder) store(id string) int32 {
	if id == b.lastStore && b.lastStoreI >= 0 {
		return b.lastStoreI
	}
	i, ok := b.storeIdx[id]
	if !ok {
		i = int32(len(b.stores))
		b.storeIdx[id] = i
		b.stores = append(b.stores, id)
	}
	b.lastStore, b.lastStoreI = id, i
	return i
}

// Kinds as small integers.
const (
	kindUnknown uint8 = iota
	kindRx
	kindOTC
	kindNonDrug
)

func kindCode(k string) uint8 {
	switch k {
	case flows.KindRx:
		return kindRx
	case flows.KindOTC:
		return kindOTC
	case flows.KindNonDrug:
		return kindNonDrug
	}
	return kindUnknown
}

// lineInfo is flows.ReadPurchase's reading of a purchase, interned.
type lineInfo struct {
	class   int8 // 0 hypertension, 1 diabetes, 2 hyperlipidemia, -1 none
	counted bool
	ret     bool // a return line (quantity < 0)
	kind    uint8
	supply  int32
	ingr    int32
	entry   int32 // catalog entry (the code itself when not in the catalog), -1 no code
}

// infoKey is every field ReadPurchase's result depends on (besides id, date, name).
type infoKey struct {
	code, ingr, atc, kind string
	days                  int
	qty                   float64
}

func (b *Builder) info(p *PurchaseFact) int32 {
	if p.Quantity != p.Quantity {
		p.Quantity = 0 // NaN reads like 0 (not a return, no pack supply) and must be one map key
	}
	k := infoKey{p.DrugCode, p.Ingredient, p.ATC, p.Kind, p.DaysSupply, p.Quantity}
	if i, ok := b.infoIdx[k]; ok {
		return i
	}
	ln := flows.ReadPurchase(flows.Purchase{DrugCode: p.DrugCode, Ingredient: p.Ingredient, ATC: p.ATC, Kind: p.Kind,
		DaysSupply: p.DaysSupply, Quantity: p.Quantity}, b.cat)
	li := lineInfo{class: int8(classIndex(ln.Class)), counted: ln.Counted, ret: ln.Unknown == "return",
		kind: kindCode(ln.Kind), supply: int32(ln.DaysSupply), entry: -1}
	if ln.Counted {
		ik := flows.IngredientKey(ln)
		g, ok := b.ingrIdx[ik]
		if !ok {
			g = int32(len(b.ingrIdx))
			b.ingrIdx[ik] = g
		}
		li.ingr = g
	}
	if d, ok := b.cat.Lookup(p.DrugCode); ok {
		li.entry = b.entry(d.Code)
	} else if code := strings.TrimSpace(p.DrugCode); code != "" {
		li.entry = b.entry(code) // maybe a product only a newer content version's catalog knows
	}
	i := int32(len(b.infos))
	b.infos = append(b.infos, li)
	b.infoIdx[k] = i
	return i
}

// pline is one purchase line (32 bytes).
type pline struct {
	day     flows.Day
	sec     int32
	store   int32
	info    int32
	amount  int64 // fen; -1: not given
	receipt uint64
}

// AddPurchase adds a purchase line. It refuses (ErrInvalid) a line without customer or
// store, with a kind other than rx|otc|nondrug|"" or a negative amount.
func (b *Builder) AddPurchase(p PurchaseFact) error {
	switch {
	case p.CustomerKey == "":
		return fmt.Errorf("%w: purchase of store %q on %s: no customer key", ErrInvalid, p.StoreID, p.Day)
	case p.StoreID == "":
		return fmt.Errorf("%w: purchase on %s: no store id", ErrInvalid, p.Day)
	case !flows.ValidKind(p.Kind):
		return fmt.Errorf("%w: purchase of store %s on %s: kind %q, want rx, otc or nondrug", ErrInvalid, p.StoreID, p.Day, p.Kind)
	case p.HasAmount && p.AmountFen < 0:
		return fmt.Errorf("%w: purchase of store %s on %s: amount_fen %d is negative", ErrInvalid, p.StoreID, p.Day, p.AmountFen)
	}
	amt := int64(-1)
	if p.HasAmount {
		amt = p.AmountFen
	}
	sec := min(max(p.Second, 0), 86399)
	b.lines = append(b.lines, pline{day: p.Day, sec: sec, store: b.store(p.StoreID), info: b.info(&p), amount: amt, receipt: p.Receipt})
	b.lcust = append(b.lcust, b.customer(p.CustomerKey))
	return nil
}

// vrec is one complete visit of a customer.
type vrec struct {
	day     flows.Day
	sec     int32
	store   int32
	classes uint8 // bit per chronic class listed by step 1
	qclass  int8  // step 2's class index (-1 general/none)
	recs    [2]rec
}

type rec struct {
	item     int32 // knowledge-base item index, -1 unknown or none
	accepted int8  // 1 accepted, 0 declined, -1 not recorded
}

// hrec is one visit for the health report.
type hrec struct {
	day      flows.Day
	store    int32
	steps    int8
	complete bool
	timed    uint8 // bit i: step i+1 timed; bit 4: visit timed
	stepSec  [4]float32
	visitSec float32
}

// AddVisit adds a visit. It refuses (ErrInvalid) a visit without store or start time.
func (b *Builder) AddVisit(v VisitFact) error {
	switch {
	case v.StoreID == "":
		return fmt.Errorf("%w: visit %s: no store id", ErrInvalid, v.VisitID)
	case v.StartedAt.IsZero():
		return fmt.Errorf("%w: visit %s: no start time", ErrInvalid, v.VisitID)
	}
	day, sec := DayAndSecond(v.StartedAt)
	st := b.store(v.StoreID)
	h := hrec{day: day, store: st, steps: int8(min(max(v.StepsDone, 0), 4)), complete: v.Complete}
	for i := range 4 {
		if v.StepTimed[i] && v.StepSeconds[i] >= 0 && !math.IsInf(v.StepSeconds[i], 0) {
			h.timed |= 1 << i
			h.stepSec[i] = float32(v.StepSeconds[i]) + 0 // + 0 turns −0 into +0 (radix order)
		}
	}
	if v.VisitTimed && v.Complete && v.VisitSeconds >= 0 && !math.IsInf(v.VisitSeconds, 0) {
		h.timed |= 1 << 4
		h.visitSec = float32(v.VisitSeconds) + 0
	}
	b.hl = append(b.hl, h)
	if !v.Complete || v.CustomerKey == "" {
		return nil
	}
	r := vrec{day: day, sec: sec, store: st, qclass: int8(classIndex(v.QuestionnaireClass)), recs: [2]rec{{-1, -1}, {-1, -1}}}
	for _, c := range v.Classes {
		if ci := classIndex(c); ci >= 0 {
			r.classes |= 1 << ci
		}
	}
	items := b.items(v.ContentVersion)
	for i, it := range v.Recommendations {
		if i >= len(r.recs) {
			break
		}
		if k, ok := items[it.ItemID]; ok {
			r.recs[i].item = k
		}
		if it.Accepted != nil {
			r.recs[i].accepted = 0
			if *it.Accepted {
				r.recs[i].accepted = 1
			}
		}
	}
	b.vis = append(b.vis, r)
	b.vcust = append(b.vcust, b.customer(v.CustomerKey))
	return nil
}

// frec is one follow-up (unix seconds; 0 = not happened).
type frec struct {
	store             int32
	due, sent, opened int64
}

// AddFollowUp adds a follow-up. It refuses (ErrInvalid) one without store or due time.
func (b *Builder) AddFollowUp(f FollowUpFact) error {
	switch {
	case f.StoreID == "":
		return fmt.Errorf("%w: follow-up %s: no store id", ErrInvalid, f.FollowUpID)
	case f.DueAt.IsZero():
		return fmt.Errorf("%w: follow-up %s: no due time", ErrInvalid, f.FollowUpID)
	}
	r := frec{store: b.store(f.StoreID), due: f.DueAt.Unix()}
	if !f.SentAt.IsZero() {
		r.sent = f.SentAt.Unix()
	}
	if !f.OpenedAt.IsZero() {
		r.opened = f.OpenedAt.Unix()
	}
	b.fl = append(b.fl, r)
	return nil
}

// Data is the built, immutable fact base. It is safe for concurrent reports.
type Data struct {
	stores   []string // sorted; store index = rank
	storeIdx map[string]int32
	keys     []string // customer keys, in the canonical order (Build)
	cmask    []uint8  // per customer: bit c if a counted class-c fill or a complete visit listing c
	infos    []lineInfo
	itemEnt  [][]int32 // variant → entries of its products
	itemOf   []int32   // variant → report item
	itemIDs  []string  // report item → knowledge-base item id

	lineOff []int32 // customer u's lines are lines[lineOff[u]:lineOff[u+1]], by (day, second, store)
	lines   []pline
	visOff  []int32 // customer u's complete visits, by (day, second, store)
	vis     []vrec
	health  []hrec
	follow  []frec
}

// Build groups the facts per customer and sorts them. The builder must not be used
// afterwards.
func (b *Builder) Build() *Data {
	d := &Data{infos: b.infos, itemEnt: b.itemEnt, itemOf: b.itemOf, itemIDs: b.itemIDs, health: b.hl, follow: b.fl}
	// Stores in id order, so the store index orders like the id.
	order := make([]int32, len(b.stores))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(b.stores[x], b.stores[y]) })
	rank := make([]int32, len(b.stores))
	d.storeIdx = make(map[string]int32, len(b.stores))
	for r, i := range order {
		rank[i] = int32(r)
		d.stores = append(d.stores, b.stores[i])
		d.storeIdx[b.stores[i]] = int32(r)
	}
	for i := range b.lines {
		b.lines[i].store = rank[b.lines[i].store]
	}
	for i := range b.vis {
		b.vis[i].store = rank[b.vis[i].store]
	}
	for i := range d.health {
		d.health[i].store = rank[d.health[i].store]
	}
	for i := range d.follow {
		d.follow[i].store = rank[d.follow[i].store]
	}
	// Customers in a canonical order, (FNV-1a of the key, key), whatever order the facts
	// came in: reports walk customers in this order, so the order of a stratum's
	// customers (and so the bootstrap's draws) depends on the facts only.
	n := len(b.custKeys)
	hash := make([]uint64, n)
	for u, k := range b.custKeys {
		h := fnv.New64a()
		h.Write([]byte(k))
		hash[u] = h.Sum64()
	}
	perm := make([]int32, n) // canonical position → builder index
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(x, y int32) int {
		return cmp.Or(cmp.Compare(hash[x], hash[y]), strings.Compare(b.custKeys[x], b.custKeys[y]))
	})
	pos := make([]int32, n) // builder index → canonical position
	d.keys = make([]string, n)
	for i, u := range perm {
		pos[u] = int32(i)
		d.keys[i] = b.custKeys[u]
	}
	for i, u := range b.lcust {
		b.lcust[i] = pos[u]
	}
	for i, u := range b.vcust {
		b.vcust[i] = pos[u]
	}
	d.lineOff, d.lines = group(n, b.lcust, b.lines, func(x, y pline) int {
		return cmp.Or(cmp.Compare(x.day, y.day), cmp.Compare(x.sec, y.sec), cmp.Compare(x.store, y.store))
	})
	d.visOff, d.vis = group(n, b.vcust, b.vis, func(x, y vrec) int {
		return cmp.Or(cmp.Compare(x.day, y.day), cmp.Compare(x.sec, y.sec), cmp.Compare(x.store, y.store))
	})
	d.cmask = make([]uint8, n)
	for u := range n {
		var m uint8
		for _, l := range d.lines[d.lineOff[u]:d.lineOff[u+1]] {
			if inf := &d.infos[l.info]; inf.counted {
				m |= 1 << inf.class
			}
		}
		for _, v := range d.vis[d.visOff[u]:d.visOff[u+1]] {
			m |= v.classes
		}
		d.cmask[u] = m
	}
	*b = Builder{}
	return d
}

// group is a stable counting sort of recs by customer, then a stable sort of each
// customer's records.
func group[T any](n int, cust []int32, recs []T, less func(x, y T) int) ([]int32, []T) {
	off := make([]int32, n+1)
	for _, u := range cust {
		off[u+1]++
	}
	for u := 0; u < n; u++ {
		off[u+1] += off[u]
	}
	out := make([]T, len(recs))
	next := make([]int32, n)
	copy(next, off[:n])
	for i, u := range cust {
		out[next[u]] = recs[i]
		next[u]++
	}
	for u := 0; u < n; u++ {
		s := out[off[u]:off[u+1]]
		if len(s) > 1 && !slices.IsSortedFunc(s, less) {
			slices.SortStableFunc(s, less)
		}
	}
	return off, out
}

// CustomerCount is the number of distinct customers in the facts.
func (d *Data) CustomerCount() int { return len(d.keys) }

// Stores lists the store ids in the facts, sorted.
func (d *Data) Stores() []string { return slices.Clone(d.stores) }

func classIndex(class string) int {
	switch class {
	case flows.ClassHypertension:
		return 0
	case flows.ClassDiabetes:
		return 1
	case flows.ClassHyperlipidemia:
		return 2
	}
	return -1
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
