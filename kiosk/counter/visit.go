package counter

import (
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
)

// Abandon reasons recorded on a visit (flows.Visit.AbandonReason).
const (
	AbandonNewCustomer = "new_customer" // a new customer was scanned mid-visit
	AbandonIdle        = "idle"         // screen lock after the idle time, or a crash
	AbandonPharmacist  = "pharmacist"   // Esc, or the pharmacist signed out
)

// VisitState is what the pages of one visit share.
type VisitState struct {
	Visit    flows.Visit
	Content  Content // the content the visit started with
	Loading  bool    // step 1 waits for the history
	Analysis flows.Analysis
	Offline  bool   // HQ did not answer: this store's records only
	HQErr    string // why
	Q        flows.Questionnaire
	Answers  map[string]string
	Recs     []flows.Recommendation
	Accepted [2]bool // step 3: the customer's answer to each recommendation so far
	Consent  map[string]bool
	Name     string // insured person's name (insurance QR), display only, never saved
}

// Visit is the open (or just finished) visit's state, if there is one.
func (c *Core) Visit() (VisitState, bool) {
	if c.visit == nil || c.vs == nil {
		return VisitState{}, false
	}
	vs := *c.vs
	vs.Visit = *c.visit
	return vs, true
}

// Loading reports whether step 1 is still waiting for the history.
func (c *Core) Loading() bool { return c.vs != nil && c.vs.Loading }

func (c *Core) visitOpen() bool {
	return c.visit != nil && c.visit.Outcome == flows.OutcomeInProgress
}

// startVisit opens a visit, saves it, and fetches the history (HQ within HQBudget, else
// local) for step 1.
func (c *Core) startVisit(s devices.Scan, name string) {
	v := flows.NewVisit(c.newID(), c.cfg.StoreID, c.pharmacist.ID,
		flows.Customer{Key: s.CustomerKey, Masked: s.Masked}, c.now())
	v.ContentVersion = c.content.Version
	c.visit = &v
	c.vs = &VisitState{Content: c.content, Loading: true, Answers: map[string]string{}, Consent: map[string]bool{}, Name: name}
	c.clearMessage()
	c.saveVisit()
	c.show(&IdentifyPage{})
	c.loadHistoryAsync(v.ID, s.CustomerKey, flows.DayOf(c.now()))
}

// saveVisit writes the visit as it is now (after every step) and kicks the drainer once
// it is finished.
func (c *Core) saveVisit() {
	if c.visit == nil {
		return
	}
	if err := c.deps.Store.SaveVisit(c.ctx, *c.visit); err != nil {
		c.log.Error("save visit", "visit", c.visit.ID, "err", err)
		c.say(true, "msg.save_failed", map[string]any{"Err": err.Error()})
		return
	}
	if c.visit.Outcome != flows.OutcomeInProgress {
		if c.deps.Kick != nil {
			c.deps.Kick()
		}
		c.refreshStats()
	}
}

// abandon ends the open visit as abandoned with reason and saves it.
func (c *Core) abandon(reason string) {
	if !c.visitOpen() {
		return
	}
	if err := flows.Abandon(c.visit, reason, c.now()); err != nil {
		c.log.Error("abandon visit", "err", err)
		return
	}
	c.saveVisit()
	c.visit, c.vs = nil, nil
	c.visitEnded()
}

// finishVisit forgets the finished visit (after the summary).
func (c *Core) finishVisit() {
	c.visit, c.vs = nil, nil
	c.visitEnded()
}
